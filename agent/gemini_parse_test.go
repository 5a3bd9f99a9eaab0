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

func TestGeminiParserRecordedRuns(t *testing.T) {
	sampleUsage := agent.Usage{InputTokens: 37404, OutputTokens: 48}
	authError := "API key not valid. Please pass a valid API key. (HTTP 401, UNAUTHENTICATED)"
	tests := []struct {
		name       string
		file       string
		wantEvents []agent.Event
		wantResult agent.Result
	}{{
		name: "success: write_file, run_shell_command, final text",
		file: "testdata/gemini/stdout.jsonl",
		wantEvents: []agent.Event{
			{Type: agent.EventSystem, Text: "init", Model: "auto"},
			{Type: agent.EventToolCall, Tool: "write_file", ToolID: "write_file__write_file_1795422216932_0",
				Input: json.RawMessage(`{"content":"hello from fake model\n","file_path":"/srv/task/repo/hello.txt"}`)},
			{Type: agent.EventToolResult, Tool: "write_file", ToolID: "write_file__write_file_1795422216932_0"},
			{Type: agent.EventToolCall, Tool: "run_shell_command", ToolID: "run_shell_command__run_shell_command_1795422217058_0",
				Input: json.RawMessage(`{"command":"echo shell-ok > shell.txt && ls"}`)},
			{Type: agent.EventToolResult, Tool: "run_shell_command", ToolID: "run_shell_command__run_shell_command_1795422217058_0",
				Output: "README.md\nhello.txt\nshell.txt"},
			{Type: agent.EventText, Text: "Done: wrote hello.txt and ran a shell command."},
			{Type: agent.EventResult, Text: "Done: wrote hello.txt and ran a shell command.", Usage: &sampleUsage},
		},
		wantResult: agent.Result{OK: true, Summary: "Done: wrote hello.txt and ran a shell command.",
			Usage: sampleUsage, Turns: 3},
	}, {
		name: "model answered 401 (exit code 145)",
		file: "testdata/gemini/auth-error.jsonl",
		wantEvents: []agent.Event{
			{Type: agent.EventSystem, Text: "init", Model: "gemini-2.5-pro"},
			{Type: agent.EventResult, Text: authError, IsError: true, Usage: &agent.Usage{}},
		},
		wantResult: agent.Result{Error: authError},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := agent.Gemini{}.NewParser()
			if diff := cmp.Diff(tt.wantEvents, feedFile(t, p, tt.file)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantResult, p.Result()); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGeminiParserLines(t *testing.T) {
	noResult := "Gemini CLI ended without a result"
	tests := []struct {
		name       string
		lines      []string
		wantEvents []agent.Event
		wantResult agent.Result
	}{{
		name:       "blank and non-JSON lines are skipped",
		lines:      []string{"", "  ", "YOLO mode is enabled.", "[1]"},
		wantResult: agent.Result{Error: noResult},
	}, {
		name:  "truncated JSON is an error event",
		lines: []string{`{"type":"message","role":"assistant","content":"hal`},
		wantEvents: []agent.Event{{Type: agent.EventError,
			Text: "Gemini CLI printed a line that is not valid JSON: unexpected end of JSON input"}},
		wantResult: agent.Result{Error: noResult},
	}, {
		name: "valid JSON with fields of unexpected types keeps what fits",
		lines: []string{
			`{"type":"init","model":7}`,
			`{"type":"tool_use","tool_name":["x"],"tool_id":"t1","parameters":{"a":1}}`,
			`{"type":"result","status":"success","stats":{"input_tokens":"many","output_tokens":3}}`,
		},
		wantEvents: []agent.Event{
			{Type: agent.EventSystem, Text: "init"},
			{Type: agent.EventToolCall, ToolID: "t1", Input: json.RawMessage(`{"a":1}`)},
			{Type: agent.EventResult, Usage: &agent.Usage{OutputTokens: 3}},
		},
		wantResult: agent.Result{OK: true, Usage: agent.Usage{OutputTokens: 3}, Turns: 1},
	}, {
		name: "unknown types and the echoed prompt give nothing",
		lines: []string{
			`{"type":"message","role":"user","content":"do it"}`,
			`{"type":"thought","content":"hmm"}`,
		},
		wantResult: agent.Result{Error: noResult},
	}, {
		name: "the answer in pieces, a tool call, then a new answer; cached tokens",
		lines: []string{
			`{"type":"message","role":"assistant","content":"I will ","delta":true}`,
			`{"type":"message","role":"assistant","content":"edit.","delta":true}`,
			`{"type":"tool_use","tool_name":"replace","tool_id":"r1","parameters":{"file_path":"/w/a"}}`,
			`{"type":"tool_result","tool_id":"r1","status":"success","output":"ok"}`,
			`{"type":"message","role":"assistant","content":"Edited ","delta":true}`,
			`{"type":"message","role":"assistant","content":"a.","delta":true}`,
			`{"type":"result","status":"success","stats":{"input_tokens":100,"output_tokens":9,"cached":40,"input":60}}`,
		},
		wantEvents: []agent.Event{
			{Type: agent.EventText, Text: "I will "},
			{Type: agent.EventText, Text: "edit."},
			{Type: agent.EventToolCall, Tool: "replace", ToolID: "r1", Input: json.RawMessage(`{"file_path":"/w/a"}`)},
			{Type: agent.EventToolResult, Tool: "replace", ToolID: "r1", Output: "ok"},
			{Type: agent.EventText, Text: "Edited "},
			{Type: agent.EventText, Text: "a."},
			{Type: agent.EventResult, Text: "Edited a.",
				Usage: &agent.Usage{InputTokens: 60, OutputTokens: 9, CacheReadTokens: 40}},
		},
		wantResult: agent.Result{OK: true, Summary: "Edited a.",
			Usage: agent.Usage{InputTokens: 60, OutputTokens: 9, CacheReadTokens: 40}, Turns: 2},
	}, {
		name: "a failed tool, a warning and an error, then no result",
		lines: []string{
			`{"type":"tool_use","tool_name":"run_shell_command","tool_id":"s1","parameters":{"command":"false"}}`,
			`{"type":"tool_result","tool_id":"s1","status":"error","error":{"type":"TOOL_EXECUTION_ERROR","message":"exit 1"}}`,
			`{"type":"error","severity":"warning","message":"Loop detected"}`,
			`{"type":"error","severity":"error","message":"Quota exceeded"}`,
		},
		wantEvents: []agent.Event{
			{Type: agent.EventToolCall, Tool: "run_shell_command", ToolID: "s1", Input: json.RawMessage(`{"command":"false"}`)},
			{Type: agent.EventToolResult, Tool: "run_shell_command", ToolID: "s1", Output: "exit 1", IsError: true},
			{Type: agent.EventError, Text: "Quota exceeded"},
		},
		wantResult: agent.Result{Error: noResult + ": Quota exceeded", Turns: 1},
	}, {
		name: "a dead endpoint: error result with an API error that is not JSON",
		lines: []string{
			`{"type":"result","status":"error","error":{"type":"unknown","message":"[API Error: exception TypeError: fetch failed sending request]"},"stats":{"input_tokens":0}}`,
		},
		wantEvents: []agent.Event{{Type: agent.EventResult, IsError: true, Usage: &agent.Usage{},
			Text: "API error: exception TypeError: fetch failed sending request"}},
		wantResult: agent.Result{Error: "API error: exception TypeError: fetch failed sending request"},
	}, {
		name: "turn limit: error result with its type",
		lines: []string{
			`{"type":"result","status":"error","error":{"type":"FatalTurnLimitedError","message":"Reached max session turns for this session."}}`,
		},
		wantEvents: []agent.Event{{Type: agent.EventResult, IsError: true, Usage: &agent.Usage{},
			Text: "Reached max session turns for this session. (FatalTurnLimitedError)"}},
		wantResult: agent.Result{Error: "Reached max session turns for this session. (FatalTurnLimitedError)"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := agent.Gemini{}.NewParser()
			var events []agent.Event
			for _, l := range tt.lines {
				buf := []byte(l)
				events = append(events, p.Feed(buf)...)
				for i := range buf {
					buf[i] = 'x' // the runner reuses the line's memory
				}
			}
			if diff := cmp.Diff(tt.wantEvents, events); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantResult, p.Result()); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzGeminiParser(f *testing.F) {
	for _, name := range []string{"testdata/gemini/stdout.jsonl", "testdata/gemini/auth-error.jsonl"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range bytes.Split(data, []byte("\n")) {
			f.Add(line)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := agent.Gemini{}.NewParser()
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			p.Feed(sc.Bytes())
		}
		if r := p.Result(); r.OK && r.Error != "" || !r.OK && r.Error == "" {
			t.Errorf("result OK and Error disagree: %+v", r)
		}
	})
}
