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

// runAgent runs argv in sb, turning each line of its stream into task events as it comes. It returns
// the agent's result, and an error saying in words why the run failed: context.DeadlineExceeded when
// the task's maximum duration ran out.
func (r *Runner) runAgent(ctx context.Context, t *sesame.Task, adapter agent.Adapter, sb sandbox.Sandbox, argv []string, log *slog.Logger) (agent.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, r.Settings.MaxDuration)
	defer cancel()
	parser := adapter.NewParser()
	stdout := &lineWriter{fn: func(line []byte) {
		for _, e := range parser.Feed(line) {
			r.recordAgentEvent(ctx, t, e)
		}
	}}
	stderr := &tailBuffer{max: 4 << 10}
	r.note(ctx, t, "agent started", map[string]any{"agent": adapter.Name()})
	code, err := sb.Exec(ctx, sandbox.ExecRequest{Argv: argv, Stdout: stdout, Stderr: stderr})
	stdout.Flush()
	res := parser.Result()
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	if err != nil {
		log.Error("run agent", "err", err, "exit_code", code)
		return res, fmt.Errorf("%s could not be started.", adapter.DisplayName())
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
		return res, fmt.Errorf("%s failed: %s", adapter.DisplayName(), r.masker().String(why))
	}
	return res, nil
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
	if _, err := r.recorder().Add(context.WithoutCancel(ctx), sesame.TaskEvent{TaskID: t.ID, Type: "agent", Message: truncate(msg, maxOutput), Data: data}); err != nil {
		r.Logger.Warn("record agent event", "task_id", t.ID, "err", err)
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

// lineWriter calls fn with each complete line written to it.
type lineWriter struct {
	mu  sync.Mutex
	buf []byte
	fn  func([]byte)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.fn(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

// Flush hands over a last line that had no newline.
func (w *lineWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.fn(w.buf)
		w.buf = nil
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
	b.buf = append(b.buf, p...)
	if len(b.buf) > b.max {
		b.buf = b.buf[len(b.buf)-b.max:]
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
