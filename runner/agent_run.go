package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/agent"
	"github.com/sesame-works/sesame/sandbox"
)

// maxOutput caps what one tool result keeps in an event; the rest is cut with a note.
const maxOutput = 16 << 10

// maxLine caps one line of the agent's stdout in memory, whatever the agent prints. A line of a JSON
// stream can be long for good reasons (Claude Code puts a whole file in a Write call's input, and up to
// 25,000 tokens of a file in a Read result), so the cap is generous; a longer line is cut, not read,
// and said to be so in the log.
const maxLine = 1 << 20

// runAgent runs argv in sb with env added to its environment (what the runtime setup installed),
// turning each line of its stream into task events as it comes, within the budget b. It returns the
// agent's result, what the run spent, and an error saying in words why the run failed:
// errTimeBudget when b's time ran out, errCostBudget when the spending passed b's cost (the agent
// was stopped), the cause of ctx when ctx ended.
func (r *Runner) runAgent(ctx context.Context, t *sesame.Task, adapter agent.Adapter, sb sandbox.Sandbox, argv []string, env map[string]string, b budget, log *slog.Logger) (agent.Result, spend, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, b.time, errTimeBudget)
	defer cancel()
	ctx, stop := context.WithCancelCause(ctx) // stopped at the cost budget
	defer stop(nil)
	meter := newCostMeter(b.prices, b.model)
	parser := adapter.NewParser()
	stdout := &lineWriter{max: maxLine, fn: func(line []byte, dropped int) {
		if dropped > 0 {
			r.recordAgentEvent(ctx, t, cutLine(line, dropped))
			return
		}
		for _, e := range parser.Feed(line) {
			r.recordAgentEvent(ctx, t, e)
			r.watchSpend(ctx, t, b, meter, e, stop)
		}
	}}
	stderr := &tailBuffer{max: 4 << 10}
	r.note(ctx, t, "agent started", map[string]any{"agent": adapter.Name()})
	code, err := sb.Exec(ctx, sandbox.ExecRequest{Argv: argv, Env: env, Stdout: stdout, Stderr: stderr})
	stdout.Flush()
	res := parser.Result()
	meter.add(agent.Event{Type: agent.EventResult, Usage: &res.Usage}) // the parser's last word on the usage
	spent := meter.spent()
	if ctx.Err() != nil {
		return res, spent, context.Cause(ctx)
	}
	if err != nil {
		log.Error("run agent", "err", err, "exit_code", code)
		return res, spent, fmt.Errorf("%s could not be started.", adapter.DisplayName())
	}
	if code != 0 || !res.OK {
		why := res.Error
		if why == "" {
			why = lastLine(stderr.String())
		}
		if why == "" {
			why = fmt.Sprintf("exit code %d", code)
		}
		log.Warn("agent failed", "exit_code", code, "error", r.masker().String(why))
		return res, spent, fmt.Errorf("%s failed: %s", adapter.DisplayName(), r.masker().String(why))
	}
	return res, spent, nil
}

// recordAgentEvent stores and publishes one normalized agent event.
func (r *Runner) recordAgentEvent(ctx context.Context, t *sesame.Task, e agent.Event) {
	data := map[string]any{"kind": string(e.Type)}
	if e.Tool != "" {
		data["tool"], data["tool_id"] = e.Tool, e.ToolID
	}
	if len(e.Input) > 0 {
		var input any
		if json.Unmarshal(e.Input, &input) == nil {
			data["input"] = input
		}
	}
	if e.Output != "" {
		data["output"] = truncate(e.Output, maxOutput)
	}
	if e.IsError {
		data["is_error"] = true
	}
	if e.Usage != nil {
		data["usage"] = map[string]any{"input_tokens": e.Usage.InputTokens, "output_tokens": e.Usage.OutputTokens, "cost_usd": e.Usage.CostUSD}
	}
	if e.Model != "" {
		data["model"] = e.Model
	}
	msg := e.Text
	if msg == "" && e.Tool != "" {
		msg = e.Tool
	}
	if e.Type == agent.EventToolCall {
		r.progress(ctx, t, stepLine(e))
	}
	if _, err := r.recorder().Add(context.WithoutCancel(ctx), sesame.TaskEvent{TaskID: t.ID, Type: "agent", Message: truncate(msg, maxOutput), Data: data}); err != nil {
		r.Logger.Warn("record agent event", "task_id", t.ID, "err", err)
	}
}

// cutLine is the event for a line of stdout longer than maxLine: the parser does not see it (half a JSON
// line does not parse), the log shows its start and its length.
func cutLine(head []byte, dropped int) agent.Event {
	const mark = "… [line truncated]"
	keep := min(len(head), maxOutput-len(mark))
	return agent.Event{
		Type:   agent.EventError,
		Text:   fmt.Sprintf("The agent printed a line of %d bytes, more than the %d Sesame reads: the line was skipped.", len(head)+dropped, maxLine),
		Output: string(head[:keep]) + mark,
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("\n… (%d more bytes)", len(s)-n)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// lineWriter calls fn with each line written to it, without its newline, and holds at most max bytes
// of a line whatever is written: a longer line reaches fn cut to its first max bytes, with the number
// of bytes dropped (0 for a whole line), once its newline comes. line is valid only during the call,
// as bufio.Scanner's Bytes: fn copies what it keeps.
type lineWriter struct {
	mu      sync.Mutex
	max     int // bytes of a line kept
	buf     []byte
	dropped int // bytes of the current line past max
	fn      func(line []byte, dropped int)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	for {
		part, rest, ended := bytes.Cut(p, []byte{'\n'})
		w.add(part)
		if !ended {
			return n, nil
		}
		w.emit()
		p = rest
	}
}

// add appends what fits of part to the current line, and counts the rest as dropped. The buffer
// grows to max at most.
func (w *lineWriter) add(part []byte) {
	if room := w.max - len(w.buf); len(part) > room {
		w.dropped += len(part) - room
		part = part[:room]
	}
	if need := len(w.buf) + len(part); need > cap(w.buf) {
		grown := make([]byte, len(w.buf), min(max(need, 2*cap(w.buf), 512), w.max))
		copy(grown, w.buf)
		w.buf = grown
	}
	w.buf = append(w.buf, part...)
}

func (w *lineWriter) emit() {
	w.fn(w.buf, w.dropped)
	w.buf, w.dropped = w.buf[:0], 0
}

// Flush hands over a last line that had no newline.
func (w *lineWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 || w.dropped > 0 {
		w.emit()
	}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(p)
	if len(p) > b.max {
		p = p[len(p)-b.max:] // never copy more than max of one big write
	}
	if over := len(b.buf) + len(p) - b.max; over > 0 {
		b.buf = b.buf[:copy(b.buf, b.buf[over:])]
	}
	b.buf = append(b.buf, p...)
	return n, nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// stepLine says in one short line what a tool call does, for the requester's progress: the tool and
// its command, file or pattern.
func stepLine(e agent.Event) string {
	step := e.Tool
	var input map[string]any
	if json.Unmarshal(e.Input, &input) == nil {
		for _, key := range []string{"command", "file_path", "path", "pattern", "url", "description"} {
			if v, ok := input[key].(string); ok && strings.TrimSpace(v) != "" {
				line, _, _ := strings.Cut(strings.TrimSpace(v), "\n")
				step += ": " + line
				break
			}
		}
	}
	if r := []rune(step); len(r) > 100 {
		step = string(r[:99]) + "…"
	}
	return step
}
