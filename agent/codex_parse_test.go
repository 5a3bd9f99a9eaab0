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

func TestCodexParserRecordedRuns(t *testing.T) {
	sampleUsage := agent.Usage{InputTokens: 29071, OutputTokens: 36}
	authError := "unexpected status 401 Unauthorized: Incorrect API key provided., url: " +
		"http://127.0.0.1:44115/v1/responses, request id: req_modeltest_1"
	changes := `[{"path":"/srv/task/repo/hello.txt","kind":"add"}]`
	tests := []struct {
		name       string
		file       string
		wantEvents []agent.Event
		wantResult agent.Result
	}{{
		name: "success: apply_patch, exec_command, final text",
		file: "testdata/codex/stdout.jsonl",
		wantEvents: []agent.Event{
			{Type: agent.EventSystem, Text: "init"},
			{Type: agent.EventToolCall, Tool: "file_change", ToolID: "item_0",
				Input: json.RawMessage(`{"changes":` + changes + `}`)},
			{Type: agent.EventToolResult, Tool: "file_change", ToolID: "item_0", Output: changes},
			{Type: agent.EventToolCall, Tool: "command_execution", ToolID: "item_1",
				Input: json.RawMessage(`{"command":"/bin/bash -lc 'echo shell-ok \u003e shell.txt \u0026\u0026 ls'"}`)},
			{Type: agent.EventToolResult, Tool: "command_execution", ToolID: "item_1",
				Output: "README.md\nhello.txt\nshell.txt\n"},
			{Type: agent.EventText, Text: "Done: wrote hello.txt and ran a shell command."},
			{Type: agent.EventResult, Text: "Done: wrote hello.txt and ran a shell command.", Usage: &sampleUsage},
		},
		wantResult: agent.Result{OK: true, Summary: "Done: wrote hello.txt and ran a shell command.",
			Usage: sampleUsage, Turns: 1},
	}, {
		name: "model answered 401",
		file: "testdata/codex/auth-error.jsonl",
		wantEvents: []agent.Event{
			{Type: agent.EventSystem, Text: "init"},
			{Type: agent.EventError, Text: authError},
			{Type: agent.EventResult, Text: authError, IsError: true, Usage: &agent.Usage{}},
		},
		wantResult: agent.Result{Error: authError, Turns: 1},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := agent.Codex{}.NewParser()
			if diff := cmp.Diff(tt.wantEvents, feedFile(t, p, tt.file)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantResult, p.Result()); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCodexParserLines(t *testing.T) {
	notFinished := "Codex ended without finishing its turn"
	tests := []struct {
		name       string
		lines      []string
		wantEvents []agent.Event
		wantResult agent.Result
	}{{
		name:       "blank and non-JSON lines are skipped",
		lines:      []string{"", "  ", "Reading additional input from stdin...", "[1]"},
		wantResult: agent.Result{Error: notFinished},
	}, {
		name:  "truncated JSON is an error event",
		lines: []string{`{"type":"item.completed","item":{"id":"item_2","type":"agent_message","text":"Do`},
		wantEvents: []agent.Event{{Type: agent.EventError,
			Text: "Codex printed a line that is not valid JSON: unexpected end of JSON input"}},
		wantResult: agent.Result{Error: notFinished},
	}, {
		name: "killed mid-turn: the last error says why",
		lines: []string{
			`{"type":"thread.started","thread_id":"t"}`,
			`{"type":"turn.started"}`,
			`{"type":"error","message":"Reconnecting... 1/5 (stream disconnected before completion)"}`,
			`{"type":"item.completed","item":{"id":"item_0","type":"reasoning","text":"**Thinking**"}}`,
		},
		wantEvents: []agent.Event{
			{Type: agent.EventSystem, Text: "init"},
			{Type: agent.EventError, Text: "Reconnecting... 1/5 (stream disconnected before completion)"},
		},
		wantResult: agent.Result{Turns: 1,
			Error: notFinished + ": Reconnecting... 1/5 (stream disconnected before completion)"},
	}, {
		name: "a failed command, a completed item never started, an MCP call that failed, cached tokens",
		lines: []string{
			`{"type":"turn.started"}`,
			`{"type":"item.started","item":{"id":"item_0","type":"command_execution","command":"false","aggregated_output":"","exit_code":null,"status":"in_progress"}}`,
			`{"type":"item.completed","item":{"id":"item_0","type":"command_execution","command":"false","aggregated_output":"","exit_code":1,"status":"failed"}}`,
			`{"type":"item.completed","item":{"id":"item_1","type":"file_change","changes":[{"path":"a","kind":"update"}],"status":"completed"}}`,
			`{"type":"item.completed","item":{"id":"item_2","type":"mcp_tool_call","server":"gh","tool":"search","arguments":{"q":"x"},"result":null,"error":{"message":"no network"},"status":"failed"}}`,
			`{"type":"item.updated","item":{"id":"item_3","type":"todo_list","items":[]}}`,
			`{"type":"item.completed","item":{"id":"item_4","type":"error","message":"model metadata not found"}}`,
			`{"type":"item.completed","item":{"id":"item_5","type":"agent_message","text":"Could not do it all."}}`,
			`{"type":"turn.completed","usage":{"input_tokens":100,"cached_input_tokens":60,"cache_write_input_tokens":5,"output_tokens":7,"reasoning_output_tokens":3}}`,
		},
		wantEvents: []agent.Event{
			{Type: agent.EventToolCall, Tool: "command_execution", ToolID: "item_0", Input: json.RawMessage(`{"command":"false"}`)},
			{Type: agent.EventToolResult, Tool: "command_execution", ToolID: "item_0", IsError: true},
			{Type: agent.EventToolCall, Tool: "file_change", ToolID: "item_1",
				Input: json.RawMessage(`{"changes":[{"path":"a","kind":"update"}]}`)},
			{Type: agent.EventToolResult, Tool: "file_change", ToolID: "item_1", Output: `[{"path":"a","kind":"update"}]`},
			{Type: agent.EventToolCall, Tool: "gh.search", ToolID: "item_2",
				Input: json.RawMessage(`{"arguments":{"q":"x"},"server":"gh","tool":"search"}`)},
			{Type: agent.EventToolResult, Tool: "gh.search", ToolID: "item_2", Output: "no network", IsError: true},
			{Type: agent.EventError, Text: "model metadata not found"},
			{Type: agent.EventText, Text: "Could not do it all."},
			{Type: agent.EventResult, Text: "Could not do it all.",
				Usage: &agent.Usage{InputTokens: 40, OutputTokens: 7, CacheReadTokens: 60, CacheWriteTokens: 5}},
		},
		wantResult: agent.Result{OK: true, Summary: "Could not do it all.", Turns: 1,
			Usage: agent.Usage{InputTokens: 40, OutputTokens: 7, CacheReadTokens: 60, CacheWriteTokens: 5}},
	}, {
		name: "turn failed without a message",
		lines: []string{
			`{"type":"turn.started"}`,
			`{"type":"turn.failed","error":null}`,
		},
		wantEvents: []agent.Event{{Type: agent.EventResult, Text: "Codex failed", IsError: true, Usage: &agent.Usage{}}},
		wantResult: agent.Result{Error: "Codex failed", Turns: 1},
	}, {
		name: "valid JSON with fields of unexpected types keeps what fits",
		lines: []string{
			`{"type":"turn.started"}`,
			`{"type":"item.completed","item":{"id":7,"type":"agent_message","text":"ok"}}`,
			`{"type":"turn.completed","usage":{"input_tokens":"many","output_tokens":2}}`,
		},
		wantEvents: []agent.Event{
			{Type: agent.EventText, Text: "ok"},
			{Type: agent.EventResult, Text: "ok", Usage: &agent.Usage{OutputTokens: 2}},
		},
		wantResult: agent.Result{OK: true, Summary: "ok", Turns: 1, Usage: agent.Usage{OutputTokens: 2}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := agent.Codex{}.NewParser()
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

// TestCodexParserCopiesWhatItKeeps: the runner feeds every line from one reused buffer.
func TestCodexParserCopiesWhatItKeeps(t *testing.T) {
	data, err := os.ReadFile("testdata/codex/stdout.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	want := feedFile(t, agent.Codex{}.NewParser(), "testdata/codex/stdout.jsonl")
	p := agent.Codex{}.NewParser()
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

func FuzzCodexParser(f *testing.F) {
	for _, name := range []string{"testdata/codex/stdout.jsonl", "testdata/codex/auth-error.jsonl"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range bytes.Split(data, []byte("\n")) {
			f.Add(line)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := agent.Codex{}.NewParser()
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
