package runner

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/agent"
	"github.com/sesame-works/sesame/internal/pgtest"
	"github.com/sesame-works/sesame/postgres"
	"github.com/sesame-works/sesame/sandbox"
)

// gotLine is one call of a lineWriter's fn.
type gotLine struct {
	Text    string
	Dropped int
}

func recordLines(max int) (*lineWriter, *[]gotLine) {
	var got []gotLine
	return &lineWriter{max: max, fn: func(line []byte, dropped int) {
		got = append(got, gotLine{string(line), dropped})
	}}, &got
}

func TestLineWriterSplitsLines(t *testing.T) {
	for _, tt := range []struct {
		name   string
		writes []string
		want   []gotLine
	}{
		{"one line", []string{"a\n"}, []gotLine{{"a", 0}}},
		{"lines in one write", []string{"a\nb\n\nc\n"}, []gotLine{{"a", 0}, {"b", 0}, {"", 0}, {"c", 0}}},
		{"a line over writes", []string{"ab", "c", "d\ne"}, []gotLine{{"abcd", 0}, {"e", 0}}},
		{"last line without newline", []string{"a\nb"}, []gotLine{{"a", 0}, {"b", 0}}},
		{"CRLF kept for the parser", []string{"a\r\n"}, []gotLine{{"a\r", 0}}},
		{"nothing", nil, nil},
		{"at the cap", []string{"12345678\n"}, []gotLine{{"12345678", 0}}},
		{"over the cap", []string{"123456789\nok\n"}, []gotLine{{"12345678", 1}, {"ok", 0}}},
		{"over the cap over writes", []string{"12345", "67890", "abc", "\nok"}, []gotLine{{"12345678", 5}, {"ok", 0}}},
		{"cut last line without newline", []string{"a\n1234567890"}, []gotLine{{"a", 0}, {"12345678", 2}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w, got := recordLines(8)
			for _, s := range tt.writes {
				if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
					t.Fatalf("Write(%q) = %d, %v", s, n, err)
				}
			}
			w.Flush()
			w.Flush() // a second Flush hands over nothing more
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLineWriterCapsALongLine: 50 MB without a newline keep the writer at maxLine bytes, written in
// pipe-sized pieces (as the local sandbox copies a process's output) or at once; the line reaches fn
// cut, and the lines after it arrive whole.
func TestLineWriterCapsALongLine(t *testing.T) {
	const size = 50 << 20
	long := bytes.Repeat([]byte("x"), size)
	copy(long, "HEAD")
	for _, tt := range []struct {
		name  string
		chunk int
	}{
		{"in 32 KiB writes", 32 << 10},
		{"in one write", size},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w, got := recordLines(maxLine)
			write(t, w, `{"type":"system"}`+"\n")
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for p := long; len(p) > 0; {
				n := min(tt.chunk, len(p))
				if m, err := w.Write(p[:n]); m != n || err != nil {
					t.Fatalf("Write = %d, %v; want %d", m, err, n)
				}
				if cap(w.buf) > maxLine {
					t.Fatalf("the buffer grew to %d bytes, over %d", cap(w.buf), maxLine)
				}
				p = p[n:]
			}
			runtime.ReadMemStats(&after)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 3*maxLine {
				t.Errorf("writing %d bytes allocated %d bytes, want at most %d", size, alloc, 3*maxLine)
			}
			write(t, w, "\n"+`{"type":"result"}`+"\nlast")
			w.Flush()

			lines := *got
			if len(lines) != 4 {
				t.Fatalf("got %d lines, want 4", len(lines))
			}
			if cut := lines[1]; len(cut.Text) != maxLine || !strings.HasPrefix(cut.Text, "HEADxxx") || cut.Dropped != size-maxLine {
				t.Errorf("the long line reached fn as %d bytes starting %q with %d dropped, want %d bytes starting HEADxxx with %d dropped",
					len(cut.Text), cut.Text[:min(len(cut.Text), 8)], cut.Dropped, maxLine, size-maxLine)
			}
			want := []gotLine{{`{"type":"system"}`, 0}, {`{"type":"result"}`, 0}, {"last", 0}}
			if diff := cmp.Diff(want, []gotLine{lines[0], lines[2], lines[3]}); diff != "" {
				t.Errorf("the other lines (-want +got):\n%s", diff)
			}
		})
	}
}

func write(t *testing.T, w io.Writer, s string) {
	t.Helper()
	if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
		t.Fatalf("Write(%q) = %d, %v", s, n, err)
	}
}

func TestTailBufferKeepsTheEndOfABigWrite(t *testing.T) {
	big := bytes.Repeat([]byte("y"), 50<<20)
	copy(big[len(big)-4:], "TAIL")
	for _, chunk := range []int{len(big), 32 << 10, 1000} {
		b := &tailBuffer{max: 4 << 10}
		write(t, b, "first line\n")
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for p := big; len(p) > 0; {
			n := min(chunk, len(p))
			if m, err := b.Write(p[:n]); m != n || err != nil {
				t.Fatalf("Write = %d, %v; want %d", m, err, n)
			}
			p = p[n:]
		}
		runtime.ReadMemStats(&after)
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
			t.Errorf("chunks of %d: writing 50 MB allocated %d bytes", chunk, alloc)
		}
		if s := b.String(); len(s) != 4<<10 || !strings.HasSuffix(s, "yyyTAIL") {
			t.Errorf("chunks of %d: tail is %d bytes ending %q", chunk, len(s), s[max(0, len(s)-8):])
		}
	}
	b := &tailBuffer{max: 8}
	for _, s := range []string{"abc", "defg", "hij", "k"} {
		write(t, b, s)
	}
	if got := b.String(); got != "defghijk" {
		t.Errorf("tail = %q, want defghijk", got)
	}
}

func TestCutLine(t *testing.T) {
	head := bytes.Repeat([]byte("z"), maxLine)
	e := cutLine(head, 50<<20)
	if e.Type != agent.EventError || !strings.Contains(e.Text, "a line of 53477376 bytes") {
		t.Errorf("event = %s %q", e.Type, e.Text)
	}
	if len(e.Output) > maxOutput || !strings.HasPrefix(e.Output, "zzz") || !strings.HasSuffix(e.Output, "… [line truncated]") {
		t.Errorf("output is %d bytes, starts %q, ends %q", len(e.Output), e.Output[:3], e.Output[max(0, len(e.Output)-20):])
	}
	if short := cutLine([]byte("ab"), 1); short.Output != "ab… [line truncated]" {
		t.Errorf("output of a short head = %q", short.Output)
	}
}

// printer is a sandbox whose one process prints what print writes.
type printer struct {
	print func(stdout io.Writer)
}

func (p printer) Exec(ctx context.Context, req sandbox.ExecRequest) (int, error) {
	p.print(req.Stdout)
	return 0, nil
}
func (printer) Workspace() string                 { return "/workspace" }
func (printer) Destroy(ctx context.Context) error { return nil }

var _ sandbox.Sandbox = printer{}

// TestRunAgentSkipsALongLine: Claude Code's stream with a 50 MB line in the middle still gives the
// run's result, and the task's log says the line was skipped.
func TestRunAgentSkipsALongLine(t *testing.T) {
	ctx := context.Background()
	store := postgres.NewTaskStore(pgtest.Open(t))
	task, _, err := store.CreateTask(ctx, sesame.Request{Source: sesame.SourceWeb, DeliveryID: "web:long-line", Kind: sesame.KindRun,
		Repo: "octo/hello", InstallationID: 9, Requester: "someone", Instruction: "fix it"})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	r := &Runner{Store: store, Settings: Settings{MaxDuration: time.Minute}, Logger: log}
	const size = 50 << 20
	sb := printer{print: func(w io.Writer) {
		io.WriteString(w, `{"type":"system","subtype":"init","model":"claude-test"}`+"\n")
		io.WriteString(w, `{"type":"assistant","message":{"content":[{"type":"text","text":"`)
		chunk := bytes.Repeat([]byte("x"), 32<<10)
		for range size / len(chunk) {
			w.Write(chunk)
		}
		io.WriteString(w, `"}]}}`+"\n")
		io.WriteString(w, `{"type":"result","subtype":"success","is_error":false,"result":"Fixed the typo.","num_turns":2,`+
			`"total_cost_usd":0.01,"usage":{"input_tokens":3,"output_tokens":4}}`+"\n")
	}}
	res, _, err := r.runAgent(ctx, task, agent.Claude{}, sb, []string{"claude"}, nil, budget{time: time.Minute}, log)
	if err != nil || !res.OK || res.Summary != "Fixed the typo." {
		t.Fatalf("runAgent = %+v, %v; want the result after the long line", res, err)
	}
	evs, err := store.Events(ctx, task.ID)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	var cut *sesame.TaskEvent
	for i, e := range evs {
		if e.Type != "agent" {
			continue
		}
		kinds = append(kinds, e.Data["kind"].(string))
		if strings.Contains(e.Message, "more than the 1048576 Sesame reads") {
			cut = &evs[i]
		}
	}
	if diff := cmp.Diff([]string{"system", "error", "result"}, kinds); diff != "" {
		t.Errorf("agent events (-want +got):\n%s", diff)
	}
	if cut == nil {
		t.Fatal("no event says the long line was skipped")
	}
	out, _ := cut.Data["output"].(string)
	if !strings.HasPrefix(out, `{"type":"assistant"`) || !strings.HasSuffix(out, "… [line truncated]") || len(out) > maxOutput {
		t.Errorf("the skipped line's event shows %d bytes: %.40q … %q", len(out), out, out[max(0, len(out)-30):])
	}
}
