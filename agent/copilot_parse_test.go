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

func TestCopilotParserRecordedRuns(t *testing.T) {
	done := "Done: wrote hello.txt and ran a shell command."
	authError := "Authentication failed with provider at http://127.0.0.1:44479 (HTTP 401).\n  Check your " +
		"COPILOT_PROVIDER_API_KEY, COPILOT_PROVIDER_API_KEY_COMMAND, or COPILOT_PROVIDER_BEARER_TOKEN."
	tests := []struct {
		name       string
		file       string
		wantEvents []agent.Event
		wantResult agent.Result
	}{{
		name: "success with a GPT model: apply_patch, bash, final text",
		file: "testdata/copilot/stdout.jsonl",
		wantEvents: []agent.Event{
			{Type: agent.EventSystem, Text: "init", Model: "gpt-5.4"},
			{Type: agent.EventToolCall, Tool: "apply_patch", ToolID: "call_606198_0",
				Input: json.RawMessage(`"*** Begin Patch\n*** Add File: hello.txt\n+hello from fake model\n*** End Patch\n"`)},
			{Type: agent.EventToolResult, Tool: "apply_patch", ToolID: "call_606198_0",
				Output: "Added 1 file(s): /srv/task/repo/hello.txt"},
			{Type: agent.EventToolCall, Tool: "bash", ToolID: "call_251879_1",
				Input: json.RawMessage(`{"command":"echo shell-ok > shell.txt && ls","description":"fake description"}`)},
			{Type: agent.EventToolResult, Tool: "bash", ToolID: "call_251879_1",
				Output: "README.md\nhello.txt\nshell.txt\n<shellId: 0 completed with exit code 0>"},
			{Type: agent.EventText, Text: done},
			{Type: agent.EventResult, Text: done, Usage: &agent.Usage{}},
		},
		wantResult: agent.Result{OK: true, Summary: done, Turns: 3},
	}, {
		name: "provider answered 401 (exit code 1)",
		file: "testdata/copilot/auth-error.jsonl",
		wantEvents: []agent.Event{
			{Type: agent.EventSystem, Text: "init", Model: "claude-sonnet-4.6"},
			{Type: agent.EventError, Text: "invalid x-api-key (authentication_error, HTTP 401)"},
			{Type: agent.EventError, Text: authError},
			{Type: agent.EventResult, Text: authError + " (exit code 1)", IsError: true, Usage: &agent.Usage{}},
		},
		wantResult: agent.Result{Error: authError + " (exit code 1)"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := agent.Copilot{}.NewParser()
			if diff := cmp.Diff(tt.wantEvents, feedFile(t, p, tt.file)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantResult, p.Result()); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCopilotParserLines(t *testing.T) {
	noResult := "Copilot CLI ended without a result"
	tests := []struct {
		name       string
		lines      []string
		wantEvents []agent.Event
		wantResult agent.Result
	}{{
		name:       "blank and non-JSON lines are skipped",
		lines:      []string{"", " ", "Update available", "[]"},
		wantResult: agent.Result{Error: noResult},
	}, {
		name:  "truncated JSON is an error event",
		lines: []string{`{"type":"assistant.message","data":{"content":"hal`},
		wantEvents: []agent.Event{{Type: agent.EventError,
			Text: "Copilot CLI printed a line that is not valid JSON: unexpected end of JSON input"}},
		wantResult: agent.Result{Error: noResult},
	}, {
		name: "valid JSON with fields of unexpected types keeps what fits",
		lines: []string{
			`{"type":"assistant.message","data":{"content":"ok","toolRequests":[{"toolCallId":"t","name":7,"arguments":{}}]}}`,
			`{"type":"result","exitCode":"0"}`,
		},
		wantEvents: []agent.Event{
			{Type: agent.EventText, Text: "ok"},
			{Type: agent.EventToolCall, ToolID: "t", Input: json.RawMessage(`{}`)},
			{Type: agent.EventResult, Text: "Copilot CLI failed", IsError: true, Usage: &agent.Usage{}},
		},
		wantResult: agent.Result{Summary: "ok", Error: "Copilot CLI failed", Turns: 1},
	}, {
		name: "ephemeral events and unknown types give nothing",
		lines: []string{
			`{"type":"assistant.message_delta","data":{"deltaContent":"Do"},"ephemeral":true}`,
			`{"type":"assistant.message","data":{"content":"Do"},"ephemeral":true}`,
			`{"type":"tool.execution_complete","data":{"toolCallId":"x","success":true},"ephemeral":true}`,
			`{"type":"session.background_tasks_changed","data":{},"ephemeral":true}`,
			`{"type":"assistant.turn_end","data":{"turnId":"0"}}`,
		},
		wantResult: agent.Result{Error: noResult},
	}, {
		name: "a failed tool, a retried model call, usage, then success",
		lines: []string{
			`{"type":"session.tools_updated","data":{"model":"claude-sonnet-4.6"},"ephemeral":true}`,
			`{"type":"session.tools_updated","data":{"model":"claude-sonnet-4.6"},"ephemeral":true}`,
			`{"type":"assistant.message","data":{"content":"Running.","toolRequests":[{"toolCallId":"b1","name":"bash","arguments":{"command":"false"}}]}}`,
			`{"type":"tool.execution_complete","data":{"toolCallId":"b1","success":false,"error":{"message":"exit code 1"}}}`,
			`{"type":"model.call_failure","data":{"statusCode":503,"errorMessage":"overloaded"},"ephemeral":true}`,
			`{"type":"assistant.usage","data":{"model":"m","inputTokens":100,"outputTokens":7,"cacheReadTokens":30,"cost":0.5},"ephemeral":true}`,
			`{"type":"assistant.message","data":{"content":"It failed.","toolRequests":[]}}`,
			`{"type":"result","exitCode":0,"usage":{"premiumRequests":1}}`,
		},
		wantEvents: []agent.Event{
			{Type: agent.EventSystem, Text: "init", Model: "claude-sonnet-4.6"},
			{Type: agent.EventText, Text: "Running."},
			{Type: agent.EventToolCall, Tool: "bash", ToolID: "b1", Input: json.RawMessage(`{"command":"false"}`)},
			{Type: agent.EventToolResult, Tool: "bash", ToolID: "b1", Output: "exit code 1", IsError: true},
			{Type: agent.EventError, Text: "overloaded (HTTP 503)"},
			// "cost" is the model's premium-request multiplier, not dollars: no cost.
			{Type: agent.EventUsage, Usage: &agent.Usage{InputTokens: 70, OutputTokens: 7, CacheReadTokens: 30}, Model: "m"},
			{Type: agent.EventText, Text: "It failed."},
			{Type: agent.EventResult, Text: "It failed.",
				Usage: &agent.Usage{InputTokens: 70, OutputTokens: 7, CacheReadTokens: 30}},
		},
		wantResult: agent.Result{OK: true, Summary: "It failed.", Turns: 2,
			Usage: agent.Usage{InputTokens: 70, OutputTokens: 7, CacheReadTokens: 30}},
	}, {
		name: "a session error fails the run even with exit code 0",
		lines: []string{
			`{"type":"session.error","data":{"errorType":"quota","message":"You have run out of premium requests."}}`,
			`{"type":"result","exitCode":0}`,
		},
		wantEvents: []agent.Event{
			{Type: agent.EventError, Text: "You have run out of premium requests. (quota)"},
			{Type: agent.EventResult, Text: "You have run out of premium requests. (quota)", IsError: true, Usage: &agent.Usage{}},
		},
		wantResult: agent.Result{Error: "You have run out of premium requests. (quota)"},
	}, {
		name: "a session error and no result",
		lines: []string{
			`{"type":"session.error","data":{"errorType":"rate_limit","message":"Rate limited","statusCode":429}}`,
		},
		wantEvents: []agent.Event{{Type: agent.EventError, Text: "Rate limited (rate_limit, HTTP 429)"}},
		wantResult: agent.Result{Error: noResult + ": Rate limited (rate_limit, HTTP 429)"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := agent.Copilot{}.NewParser()
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

func TestParseCopilotUsage(t *testing.T) {
	// The shape of the file Copilot CLI 1.0.102 wrote for one run (shortened).
	file := `{"totalPremiumRequestCost":0,"totalUserRequests":1,"totalApiDurationMs":49,
		"codeChanges":{"linesAdded":0,"linesRemoved":0,"filesModifiedCount":0,"filesModified":[]},
		"modelMetrics":{
			"claude-sonnet-4.6":{"requests":{"count":1,"cost":0},"usage":{"inputTokens":12121,"outputTokens":1,"cacheReadTokens":100,"cacheWriteTokens":5}},
			"gpt-5.4-mini":{"requests":{"count":1,"cost":0},"usage":{"inputTokens":20,"outputTokens":3,"cacheReadTokens":0,"cacheWriteTokens":0}}},
		"currentModel":"claude-sonnet-4.6","lastCallInputTokens":12121,"lastCallOutputTokens":1}`
	got, err := agent.ParseCopilotUsage([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	want := agent.Usage{InputTokens: 12041, OutputTokens: 4, CacheReadTokens: 100, CacheWriteTokens: 5}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("usage (-want +got):\n%s", diff)
	}
	if _, err := agent.ParseCopilotUsage([]byte(`{"modelMetrics":`)); err == nil {
		t.Error("no error for a truncated file")
	}
}

func FuzzCopilotParser(f *testing.F) {
	for _, name := range []string{"testdata/copilot/stdout.jsonl", "testdata/copilot/auth-error.jsonl"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range bytes.Split(data, []byte("\n")) {
			f.Add(line)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := agent.Copilot{}.NewParser()
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
