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

// feedFile feeds every line of a testdata file to p and returns the events.
func feedFile(t *testing.T, p agent.Parser, name string) []agent.Event {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var events []agent.Event
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		events = append(events, p.Feed(sc.Bytes())...)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return events
}

func TestClaudeParserRecordedRuns(t *testing.T) {
	sampleUsage := agent.Usage{InputTokens: 57841, OutputTokens: 36, CostUSD: 0.290105}
	authError := "Invalid API key · Fix external API key (authentication failed, HTTP 401)"
	tests := []struct {
		name       string
		file       string
		wantEvents []agent.Event
		wantResult agent.Result
	}{{
		name: "success: Write, Bash, final text",
		file: "testdata/claude/stdout.jsonl",
		wantEvents: []agent.Event{
			{Type: agent.EventSystem, Text: "init", Model: "claude-opus-4-8[1m]"},
			// Each model call's tokens as Claude Code printed them (the output tokens are those of the
			// stream's start); the three inputs add up to the result's.
			{Type: agent.EventUsage, Usage: &agent.Usage{InputTokens: 19181, OutputTokens: 1}, Model: "claude-opus-4-8"},
			{Type: agent.EventToolCall, Tool: "Write", ToolID: "toolu_call_267107_0",
				Input: json.RawMessage(`{"file_path":"/srv/task/repo/hello.txt","content":"hello from fake model\n"}`)},
			{Type: agent.EventToolResult, Tool: "Write", ToolID: "toolu_call_267107_0",
				Output: "File created successfully at: /srv/task/repo/hello.txt (file state is current in your context — no need to Read it back)"},
			{Type: agent.EventUsage, Usage: &agent.Usage{InputTokens: 19293, OutputTokens: 1}, Model: "claude-opus-4-8"},
			{Type: agent.EventToolCall, Tool: "Bash", ToolID: "toolu_call_564713_1",
				Input: json.RawMessage(`{"command":"echo shell-ok > shell.txt && ls"}`)},
			{Type: agent.EventToolResult, Tool: "Bash", ToolID: "toolu_call_564713_1",
				Output: "README.md\nhello.txt\nshell.txt"},
			{Type: agent.EventUsage, Usage: &agent.Usage{InputTokens: 19367, OutputTokens: 1}, Model: "claude-opus-4-8"},
			{Type: agent.EventText, Text: "Done: wrote hello.txt and ran a shell command."},
			{Type: agent.EventResult, Text: "Done: wrote hello.txt and ran a shell command.", Usage: &sampleUsage},
		},
		wantResult: agent.Result{OK: true, Summary: "Done: wrote hello.txt and ran a shell command.",
			Usage: sampleUsage, Turns: 3},
	}, {
		name: "model answered 401",
		file: "testdata/claude/auth-error.jsonl",
		wantEvents: []agent.Event{
			{Type: agent.EventSystem, Text: "init", Model: "claude-opus-4-8[1m]"},
			{Type: agent.EventError, Text: "Invalid API key · Fix external API key"},
			{Type: agent.EventResult, Text: authError, IsError: true, Usage: &agent.Usage{}},
		},
		wantResult: agent.Result{Error: authError, Turns: 1},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := agent.Claude{}.NewParser()
			if diff := cmp.Diff(tt.wantEvents, feedFile(t, p, tt.file)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantResult, p.Result()); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClaudeParserLines(t *testing.T) {
	tests := []struct {
		name       string
		lines      []string
		wantEvents []agent.Event
		wantResult agent.Result
	}{{
		name:       "blank and non-JSON lines are skipped",
		lines:      []string{"", "   ", "Warning: something on stdout", "[1, 2]"},
		wantResult: agent.Result{Error: "Claude Code ended without a result"},
	}, {
		name:  "truncated JSON is an error event",
		lines: []string{`{"type":"assistant","message":{"content":[{"type":"text","text":"hal`},
		wantEvents: []agent.Event{{Type: agent.EventError,
			Text: "Claude Code printed a line that is not valid JSON: unexpected end of JSON input"}},
		wantResult: agent.Result{Error: "Claude Code ended without a result"},
	}, {
		name: "valid JSON with fields of unexpected types keeps what fits",
		lines: []string{
			`{"type":"system","subtype":"init","model":42}`,
			`{"type":"assistant","message":{"content":[{"type":"text","text":"ok"},{"type":"tool_use","id":"t","name":["?"]}]}}`,
			`{"type":"result","subtype":"success","is_error":false,"num_turns":"3","result":"ok"}`,
		},
		wantEvents: []agent.Event{
			{Type: agent.EventSystem, Text: "init"},
			{Type: agent.EventText, Text: "ok"},
			{Type: agent.EventToolCall, ToolID: "t"},
			{Type: agent.EventResult, Text: "ok", Usage: &agent.Usage{}},
		},
		wantResult: agent.Result{OK: true, Summary: "ok"},
	}, {
		name: "unknown types and system subtypes are ignored",
		lines: []string{
			`{"type":"rate_limit_event","rate_limit_info":{"status":"allowed"}}`,
			`{"type":"system","subtype":"api_retry","attempt":1}`,
			`{"type":"stream_event","event":{}}`,
		},
		wantResult: agent.Result{Error: "Claude Code ended without a result"},
	}, {
		name: "thinking, text and tool use in one message; a string user message",
		lines: []string{
			`{"type":"user","message":{"role":"user","content":"do it"}}`,
			`{"type":"assistant","message":{"content":[{"type":"thinking","thinking":"hmm"},{"type":"text","text":"I will edit."},` +
				`{"type":"tool_use","id":"t1","name":"Edit","input":{"file_path":"/w/a","old_string":"x","new_string":"y"}}]}}`,
		},
		wantEvents: []agent.Event{
			{Type: agent.EventText, Text: "I will edit."},
			{Type: agent.EventToolCall, Tool: "Edit", ToolID: "t1",
				Input: json.RawMessage(`{"file_path":"/w/a","old_string":"x","new_string":"y"}`)},
		},
		wantResult: agent.Result{Summary: "I will edit.", Error: "Claude Code ended without a result"},
	}, {
		name: "tool result given as text parts, with an error",
		lines: []string{
			`{"type":"assistant","message":{"content":[{"type":"tool_use","id":"t2","name":"Bash","input":{"command":"false"}}]}}`,
			`{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"t2","is_error":true,"content":` +
				`[{"type":"text","text":"Exit code 1"},{"type":"image","source":{}},{"type":"text","text":"failed"}]}]}}`,
		},
		wantEvents: []agent.Event{
			{Type: agent.EventToolCall, Tool: "Bash", ToolID: "t2", Input: json.RawMessage(`{"command":"false"}`)},
			{Type: agent.EventToolResult, Tool: "Bash", ToolID: "t2", Output: "Exit code 1\nfailed", IsError: true},
		},
		wantResult: agent.Result{Error: "Claude Code ended without a result"},
	}, {
		name: "API error: subtype success but is_error",
		lines: []string{
			`{"type":"assistant","message":{"model":"<synthetic>","content":[{"type":"text","text":"API Error: 500 {\"type\":\"error\"}"}]},"error":"server_error"}`,
			`{"type":"result","subtype":"success","is_error":true,"api_error_status":500,"num_turns":1,"result":"API Error: 500 {\"type\":\"error\"}","total_cost_usd":0}`,
		},
		wantEvents: []agent.Event{
			{Type: agent.EventError, Text: `API Error: 500 {"type":"error"}`},
			{Type: agent.EventResult, Text: `API Error: 500 {"type":"error"} (server error, HTTP 500)`, IsError: true,
				Usage: &agent.Usage{}},
		},
		wantResult: agent.Result{Error: `API Error: 500 {"type":"error"} (server error, HTTP 500)`, Turns: 1},
	}, {
		name: "error result with is_error and an errors list",
		lines: []string{
			`{"type":"result","subtype":"error_max_turns","is_error":true,"num_turns":5,"total_cost_usd":0.5,` +
				`"usage":{"input_tokens":10,"output_tokens":2,"cache_read_input_tokens":3,"cache_creation_input_tokens":4},` +
				`"errors":["Reached maximum number of turns (5)"]}`,
		},
		wantEvents: []agent.Event{{Type: agent.EventResult,
			Text: "Reached maximum number of turns (5) (error_max_turns)", IsError: true,
			Usage: &agent.Usage{InputTokens: 10, OutputTokens: 2, CacheReadTokens: 3, CacheWriteTokens: 4, CostUSD: 0.5}}},
		wantResult: agent.Result{Error: "Reached maximum number of turns (5) (error_max_turns)", Turns: 5,
			Usage: agent.Usage{InputTokens: 10, OutputTokens: 2, CacheReadTokens: 3, CacheWriteTokens: 4, CostUSD: 0.5}},
	}, {
		name: "one model message in two lines counts its tokens once, and the output that grew",
		lines: []string{
			`{"type":"assistant","message":{"id":"msg_1","model":"claude-opus-4-8","content":[{"type":"text","text":"I will edit."}],` +
				`"usage":{"input_tokens":100,"output_tokens":1,"cache_read_input_tokens":50,"cache_creation_input_tokens":20}}}`,
			`{"type":"assistant","message":{"id":"msg_1","model":"claude-opus-4-8","content":[{"type":"tool_use","id":"t1","name":"Bash","input":{}}],` +
				`"usage":{"input_tokens":100,"output_tokens":30,"cache_read_input_tokens":50,"cache_creation_input_tokens":20}}}`,
			`{"type":"assistant","message":{"id":"msg_1","model":"claude-opus-4-8","content":[{"type":"text","text":"again"}],` +
				`"usage":{"input_tokens":100,"output_tokens":30,"cache_read_input_tokens":50,"cache_creation_input_tokens":20}}}`,
			`{"type":"assistant","message":{"id":"msg_2","model":"claude-opus-4-8","content":[],"usage":{"input_tokens":7,"output_tokens":0}}}`,
			`{"type":"assistant","message":{"id":"msg_3","content":[],"usage":{"input_tokens":0,"output_tokens":0}}}`,
		},
		wantEvents: []agent.Event{
			{Type: agent.EventUsage, Model: "claude-opus-4-8",
				Usage: &agent.Usage{InputTokens: 100, OutputTokens: 1, CacheReadTokens: 50, CacheWriteTokens: 20}},
			{Type: agent.EventText, Text: "I will edit."},
			{Type: agent.EventUsage, Model: "claude-opus-4-8", Usage: &agent.Usage{OutputTokens: 29}},
			{Type: agent.EventToolCall, Tool: "Bash", ToolID: "t1", Input: json.RawMessage(`{}`)},
			{Type: agent.EventText, Text: "again"},
			{Type: agent.EventUsage, Model: "claude-opus-4-8", Usage: &agent.Usage{InputTokens: 7}},
		},
		wantResult: agent.Result{Summary: "again", Error: "Claude Code ended without a result"},
	}, {
		name: "success without result text takes the last assistant text",
		lines: []string{
			`{"type":"assistant","message":{"content":[{"type":"text","text":"All done."}]}}`,
			`{"type":"result","subtype":"success","is_error":false,"num_turns":1,"usage":null}`,
		},
		wantEvents: []agent.Event{
			{Type: agent.EventText, Text: "All done."},
			{Type: agent.EventResult, Text: "All done.", Usage: &agent.Usage{}},
		},
		wantResult: agent.Result{OK: true, Summary: "All done.", Turns: 1},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := agent.Claude{}.NewParser()
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

func FuzzClaudeParser(f *testing.F) {
	for _, name := range []string{"testdata/claude/stdout.jsonl", "testdata/claude/auth-error.jsonl"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range bytes.Split(data, []byte("\n")) {
			f.Add(line)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := agent.Claude{}.NewParser()
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			p.Feed(sc.Bytes())
		}
		if r := p.Result(); r.OK && r.Error != "" {
			t.Errorf("OK result with an error: %+v", r)
		}
	})
}
