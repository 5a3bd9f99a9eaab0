package agent_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sesame-works/sesame/agent"
)

func TestOpenCodeParserRecordedRuns(t *testing.T) {
	step := func(input int) *agent.Usage { return &agent.Usage{InputTokens: input, OutputTokens: 12} }
	authError := "Incorrect API key provided. (HTTP 401)"
	tests := []struct {
		name       string
		file       string
		wantEvents []agent.Event
		wantResult agent.Result
	}{{
		name: "success: write, bash, final text",
		file: "testdata/opencode/stdout.jsonl",
		wantEvents: []agent.Event{
			{Type: agent.EventToolCall, Tool: "write", ToolID: "call_764582_0",
				Input: json.RawMessage(`{"content":"hello from fake model\n","filePath":"/srv/task/repo/hello.txt"}`)},
			{Type: agent.EventToolResult, Tool: "write", ToolID: "call_764582_0", Output: "Wrote file successfully."},
			{Type: agent.EventUsage, Usage: step(7703)},
			{Type: agent.EventToolCall, Tool: "bash", ToolID: "call_995374_1",
				Input: json.RawMessage(`{"command":"echo shell-ok > shell.txt && ls","workdir":"/srv/task/repo"}`)},
			{Type: agent.EventToolResult, Tool: "bash", ToolID: "call_995374_1", Output: "README.md\nhello.txt\nshell.txt\n"},
			{Type: agent.EventUsage, Usage: step(7784)},
			{Type: agent.EventText, Text: "Done: wrote hello.txt and ran a shell command."},
			{Type: agent.EventUsage, Usage: step(7867)},
		},
		wantResult: agent.Result{OK: true, Summary: "Done: wrote hello.txt and ran a shell command.", Turns: 3,
			Usage: agent.Usage{InputTokens: 7703 + 7784 + 7867, OutputTokens: 36}},
	}, {
		name:       "model answered 401",
		file:       "testdata/opencode/auth-error.jsonl",
		wantEvents: []agent.Event{{Type: agent.EventError, Text: authError}},
		wantResult: agent.Result{Error: authError},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := agent.OpenCode{}.NewParser()
			if diff := cmp.Diff(tt.wantEvents, feedFile(t, p, tt.file)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantResult, p.Result()); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOpenCodeParserLines(t *testing.T) {
	unfinished := "OpenCode ended before the agent finished"
	stepStart := `{"type":"step_start","part":{"type":"step-start"}}`
	finish := func(reason string) string {
		return `{"type":"step_finish","part":{"type":"step-finish","reason":"` + reason + `",` +
			`"tokens":{"total":20,"input":10,"output":4,"reasoning":2,"cache":{"write":1,"read":3}},"cost":0.25}}`
	}
	stepUsage := &agent.Usage{InputTokens: 10, OutputTokens: 6, CacheReadTokens: 3, CacheWriteTokens: 1, CostUSD: 0.25}
	tests := []struct {
		name       string
		lines      []string
		wantEvents []agent.Event
		wantResult agent.Result
	}{{
		name:       "blank and non-JSON lines are skipped; nothing finished",
		lines:      []string{"", "  ", "> build · fake-model", "[1]"},
		wantResult: agent.Result{Error: unfinished},
	}, {
		name:  "truncated JSON is an error event",
		lines: []string{`{"type":"text","part":{"text":"Do`},
		wantEvents: []agent.Event{{Type: agent.EventError,
			Text: "OpenCode printed a line that is not valid JSON: unexpected end of JSON input"}},
		wantResult: agent.Result{Error: unfinished},
	}, {
		name:       "killed while the model answered: a step left open",
		lines:      []string{stepStart, finish("tool-calls"), stepStart},
		wantEvents: []agent.Event{{Type: agent.EventUsage, Usage: stepUsage}},
		wantResult: agent.Result{Error: unfinished, Turns: 1, Usage: *stepUsage},
	}, {
		name:       "stopped after a step that asked for tools",
		lines:      []string{stepStart, finish("tool-calls")},
		wantEvents: []agent.Event{{Type: agent.EventUsage, Usage: stepUsage}},
		wantResult: agent.Result{Error: unfinished, Turns: 1, Usage: *stepUsage},
	}, {
		name: "a failed tool, then an answer: costs and tokens add up",
		lines: []string{
			stepStart,
			`{"type":"tool_use","part":{"type":"tool","tool":"bash","callID":"c1","state":{"status":"error","input":{"command":"false"},"error":"exit 1"}}}`,
			finish("tool-calls"),
			stepStart,
			`{"type":"reasoning","part":{"type":"reasoning","text":"hmm"}}`,
			`{"type":"text","part":{"type":"text","text":"It failed."}}`,
			finish("stop"),
		},
		wantEvents: []agent.Event{
			{Type: agent.EventToolCall, Tool: "bash", ToolID: "c1", Input: json.RawMessage(`{"command":"false"}`)},
			{Type: agent.EventToolResult, Tool: "bash", ToolID: "c1", Output: "exit 1", IsError: true},
			{Type: agent.EventUsage, Usage: stepUsage},
			{Type: agent.EventText, Text: "It failed."},
			{Type: agent.EventUsage, Usage: stepUsage},
		},
		wantResult: agent.Result{OK: true, Summary: "It failed.", Turns: 2, Usage: agent.Usage{InputTokens: 20,
			OutputTokens: 12, CacheReadTokens: 6, CacheWriteTokens: 2, CostUSD: 0.5}},
	}, {
		name: "an error after a finished step fails the run",
		lines: []string{
			stepStart, `{"type":"text","part":{"text":"Half done."}}`, finish("stop"),
			`{"type":"error","error":{"name":"UnknownError","data":{"message":"Cannot connect to API"}}}`,
		},
		wantEvents: []agent.Event{
			{Type: agent.EventText, Text: "Half done."},
			{Type: agent.EventUsage, Usage: stepUsage},
			{Type: agent.EventError, Text: "Cannot connect to API"},
		},
		wantResult: agent.Result{Summary: "Half done.", Error: "Cannot connect to API", Turns: 1, Usage: *stepUsage},
	}, {
		name:       "an error given as a string, or with a name only",
		lines:      []string{`{"type":"error","error":"boom"}`, `{"type":"error","error":{"name":"ProviderAuthError"}}`},
		wantEvents: []agent.Event{{Type: agent.EventError, Text: "boom"}, {Type: agent.EventError, Text: "ProviderAuthError"}},
		wantResult: agent.Result{Error: "ProviderAuthError"},
	}, {
		name: "valid JSON with fields of unexpected types keeps what fits",
		lines: []string{
			`{"type":"tool_use","part":{"tool":"write","callID":5,"state":{"status":"completed","input":{},"output":["?"]}}}`,
			`{"type":"step_finish","part":{"reason":"stop","tokens":{"input":"x","output":1},"cost":"free"}}`,
		},
		wantEvents: []agent.Event{
			{Type: agent.EventToolCall, Tool: "write", Input: json.RawMessage(`{}`)},
			{Type: agent.EventToolResult, Tool: "write"},
			{Type: agent.EventUsage, Usage: &agent.Usage{OutputTokens: 1}},
		},
		wantResult: agent.Result{OK: true, Turns: 1, Usage: agent.Usage{OutputTokens: 1}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := agent.OpenCode{}.NewParser()
			var got []agent.Event
			for _, l := range tt.lines {
				got = append(got, p.Feed([]byte(l))...)
			}
			if diff := cmp.Diff(tt.wantEvents, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantResult, p.Result()); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}
}

// TestOpenCodeParserCopiesWhatItKeeps: the runner feeds every line from one reused buffer.
func TestOpenCodeParserCopiesWhatItKeeps(t *testing.T) {
	data, err := os.ReadFile("testdata/opencode/stdout.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	want := feedFile(t, agent.OpenCode{}.NewParser(), "testdata/opencode/stdout.jsonl")
	p := agent.OpenCode{}.NewParser()
	var got []agent.Event
	buf := make([]byte, 0, 4096)
	for _, l := range bytes.Split(data, []byte("\n")) {
		buf = append(buf[:0], l...)
		got = append(got, p.Feed(buf)...)
		for i := range buf {
			buf[i] = '#'
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events after their lines' memory was reused (-want +got):\n%s", diff)
	}
	if r := p.Result(); r.Summary != "Done: wrote hello.txt and ran a shell command." {
		t.Errorf("Result().Summary = %q after the line's memory was reused", r.Summary)
	}
}

func FuzzOpenCodeParser(f *testing.F) {
	for _, name := range []string{"testdata/opencode/stdout.jsonl", "testdata/opencode/auth-error.jsonl"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range bytes.Split(data, []byte("\n")) {
			f.Add(line)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := agent.OpenCode{}.NewParser()
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			p.Feed(sc.Bytes())
		}
		if r := p.Result(); r.OK == (r.Error != "") {
			t.Errorf("result OK and Error disagree: %+v", r)
		}
	})
}
