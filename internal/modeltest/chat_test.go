package modeltest

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The answers OpenCode 1.18.33 accepted in the recorded run (../shared/agent-cli/samples/opencode/reqs),
// byte for byte: the title, write, bash, the final text.
const (
	recordedChat1 = `data: {"choices":[{"delta":{"content":"","role":"assistant"},"finish_reason":null,"index":0}],"created":1795422226,"id":"chatcmpl-fake-1","model":"fake-model","object":"chat.completion.chunk"}

data: {"choices":[{"delta":{"content":"OK"},"finish_reason":null,"index":0}],"created":1795422226,"id":"chatcmpl-fake-1","model":"fake-model","object":"chat.completion.chunk"}

data: {"choices":[{"delta":{},"finish_reason":"stop","index":0}],"created":1795422226,"id":"chatcmpl-fake-1","model":"fake-model","object":"chat.completion.chunk"}

data: {"choices":[],"created":1795422226,"id":"chatcmpl-fake-1","model":"fake-model","object":"chat.completion.chunk","usage":{"completion_tokens":12,"prompt_tokens":627,"total_tokens":639}}

data: [DONE]

`
	recordedChat2 = `data: {"choices":[{"delta":{"content":null,"role":"assistant","tool_calls":[{"function":{"arguments":"","name":"write"},"id":"call_764582_0","index":0,"type":"function"}]},"finish_reason":null,"index":0}],"created":1795422228,"id":"chatcmpl-fake-2","model":"fake-model","object":"chat.completion.chunk"}

data: {"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"{\"content\":\"hello from fake model\\n\",\"filePath\":\"/srv/task/repo/hello.txt\"}"},"index":0}]},"finish_reason":null,"index":0}],"created":1795422228,"id":"chatcmpl-fake-2","model":"fake-model","object":"chat.completion.chunk"}

data: {"choices":[{"delta":{},"finish_reason":"tool_calls","index":0}],"created":1795422228,"id":"chatcmpl-fake-2","model":"fake-model","object":"chat.completion.chunk"}

data: {"choices":[],"created":1795422228,"id":"chatcmpl-fake-2","model":"fake-model","object":"chat.completion.chunk","usage":{"completion_tokens":12,"prompt_tokens":7703,"total_tokens":7715}}

data: [DONE]

`
	recordedChat3 = `data: {"choices":[{"delta":{"content":null,"role":"assistant","tool_calls":[{"function":{"arguments":"","name":"bash"},"id":"call_995374_1","index":0,"type":"function"}]},"finish_reason":null,"index":0}],"created":1795422229,"id":"chatcmpl-fake-3","model":"fake-model","object":"chat.completion.chunk"}

data: {"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"{\"command\":\"echo shell-ok \\u003e shell.txt \\u0026\\u0026 ls\",\"workdir\":\"/srv/task/repo\"}"},"index":0}]},"finish_reason":null,"index":0}],"created":1795422229,"id":"chatcmpl-fake-3","model":"fake-model","object":"chat.completion.chunk"}

data: {"choices":[{"delta":{},"finish_reason":"tool_calls","index":0}],"created":1795422229,"id":"chatcmpl-fake-3","model":"fake-model","object":"chat.completion.chunk"}

data: {"choices":[],"created":1795422229,"id":"chatcmpl-fake-3","model":"fake-model","object":"chat.completion.chunk","usage":{"completion_tokens":12,"prompt_tokens":7784,"total_tokens":7796}}

data: [DONE]

`
	recordedChat4 = `data: {"choices":[{"delta":{"content":"","role":"assistant"},"finish_reason":null,"index":0}],"created":1795422229,"id":"chatcmpl-fake-4","model":"fake-model","object":"chat.completion.chunk"}

data: {"choices":[{"delta":{"content":"Done: wrote hello.txt and ran a shell command."},"finish_reason":null,"index":0}],"created":1795422229,"id":"chatcmpl-fake-4","model":"fake-model","object":"chat.completion.chunk"}

data: {"choices":[{"delta":{},"finish_reason":"stop","index":0}],"created":1795422229,"id":"chatcmpl-fake-4","model":"fake-model","object":"chat.completion.chunk"}

data: {"choices":[],"created":1795422229,"id":"chatcmpl-fake-4","model":"fake-model","object":"chat.completion.chunk","usage":{"completion_tokens":12,"prompt_tokens":7867,"total_tokens":7879}}

data: [DONE]

`
)

func TestWriteChatStreamMatchesRecording(t *testing.T) {
	turn := func(id string, created int64, input int, callID string, step Step) chatTurn {
		return chatTurn{ID: id, Model: "fake-model", Created: created, CallID: callID, InputTokens: input,
			OutputTokens: 12, Step: step}
	}
	tests := []struct {
		name string
		want string
		turn chatTurn
	}{{
		name: "title",
		want: recordedChat1,
		turn: turn("chatcmpl-fake-1", 1795422226, 627, "", Step{Text: "OK"}),
	}, {
		name: "write",
		want: recordedChat2,
		turn: turn("chatcmpl-fake-2", 1795422228, 7703, "call_764582_0", Step{ToolName: "write", ToolInput: map[string]any{
			"content": "hello from fake model\n", "filePath": "/srv/task/repo/hello.txt"}}),
	}, {
		name: "bash",
		want: recordedChat3,
		turn: turn("chatcmpl-fake-3", 1795422229, 7784, "call_995374_1", Step{ToolName: "bash", ToolInput: map[string]any{
			"command": "echo shell-ok > shell.txt && ls", "workdir": "/srv/task/repo"}}),
	}, {
		name: "final text",
		want: recordedChat4,
		turn: turn("chatcmpl-fake-4", 1795422229, 7867, "", Step{Text: "Done: wrote hello.txt and ran a shell command."}),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got bytes.Buffer
			if err := writeChatStream(&got, tt.turn); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got.String()); diff != "" {
				t.Errorf("stream (-want +got):\n%s", diff)
			}
		})
	}
}

const (
	chatTurn1 = `{"model":"m","stream":true,"tools":[{"type":"function","function":{"name":"write"}}],"messages":[{"role":"user","content":"go"}]}`
	chatTurn2 = `{"model":"m","stream":true,"tools":[{"type":"function","function":{"name":"write"}}],"messages":[{"role":"tool","content":"ok"}]}`
)

// chatAnswer is what a streamed Chat Completions answer said, its deltas joined.
type chatAnswer struct {
	Status   int
	Content  string
	Tool     string
	Args     string
	Finish   string
	Usage    bool
	Done     bool
	Body     string // a plain answer's body
	ToolCall string // the id of the tool call
}

func postChat(t *testing.T, url, body string) chatAnswer {
	t.Helper()
	status, names, data, plain := sseEvents(t, url, body)
	a := chatAnswer{Status: status, Body: plain, Done: len(names) > 0 && names[len(names)-1] == "[DONE]"}
	for _, d := range data {
		if d["usage"] != nil {
			a.Usage = true
		}
		for _, c := range d["choices"].([]any) {
			c := c.(map[string]any)
			if f, ok := c["finish_reason"].(string); ok {
				a.Finish = f
			}
			delta := c["delta"].(map[string]any)
			if s, ok := delta["content"].(string); ok {
				a.Content += s
			}
			calls, _ := delta["tool_calls"].([]any)
			for _, call := range calls {
				call := call.(map[string]any)
				fn := call["function"].(map[string]any)
				if n, ok := fn["name"].(string); ok {
					a.Tool += n
				}
				if id, ok := call["id"].(string); ok {
					a.ToolCall = id
				}
				a.Args += fn["arguments"].(string)
			}
		}
	}
	return a
}

func TestChatServerScript(t *testing.T) {
	srv := NewChatServer(t,
		WriteTool("/w/hello.txt", "hi\n"),
		Step{Text: "Now a command.", ToolName: "bash", ToolInput: map[string]any{"command": "ls"}},
		Step{Status: 401},
		Step{Text: "Finished."},
	)
	tests := []struct {
		name string
		path string
		body string
		want chatAnswer
	}{{
		name: "first agent turn: write",
		path: "/v1/chat/completions", body: chatTurn1,
		want: chatAnswer{Status: 200, Tool: "write", ToolCall: "call_modeltest_1", Finish: "tool_calls", Usage: true, Done: true,
			Args: `{"content":"hi\n","filePath":"/w/hello.txt"}`},
	}, {
		name: "a title (no tools) does not take a step; any base path works",
		path: "/chat/completions", body: `{"model":"m","stream":true,"messages":[]}`,
		want: chatAnswer{Status: 200, Content: "Scripted task", Finish: "stop", Usage: true, Done: true},
	}, {
		name: "second agent turn: text and a tool call",
		path: "/api/v1/chat/completions", body: chatTurn2,
		want: chatAnswer{Status: 200, Content: "Now a command.", Tool: "bash", ToolCall: "call_modeltest_3",
			Args: `{"command":"ls"}`, Finish: "tool_calls", Usage: true, Done: true},
	}, {
		name: "third agent turn: 401",
		path: "/v1/chat/completions", body: chatTurn1,
		want: chatAnswer{Status: 401, Body: `{"error":{"code":"invalid_api_key","message":"Incorrect API key provided.","param":null,"type":"invalid_request_error"}}`},
	}, {
		name: "last agent turn, not streamed",
		path: "/v1/chat/completions", body: `{"model":"m","tools":[{}],"messages":[]}`,
		want: chatAnswer{Status: 200, Body: `{"choices":[{"finish_reason":"stop","index":0,"message":{"content":"Finished.","role":"assistant"}}],` +
			`"created":CREATED,"id":"chatcmpl-modeltest-5","model":"m","object":"chat.completion",` +
			`"usage":{"completion_tokens":3,"prompt_tokens":10,"total_tokens":13}}`},
	}, {
		name: "beyond the script: done",
		path: "/v1/chat/completions", body: chatTurn2,
		want: chatAnswer{Status: 200, Content: "done", Finish: "stop", Usage: true, Done: true},
	}, {
		name: "unknown path",
		path: "/v1/models", body: `{}`,
		want: chatAnswer{Status: 404, Body: `{"error":{"code":null,"message":"Not found","param":null,"type":"invalid_request_error"}}`},
	}, {
		name: "bad JSON",
		path: "/v1/chat/completions", body: `{"model":`,
		want: chatAnswer{Status: 400, Body: `{"error":{"code":null,"message":"invalid request","param":null,"type":"invalid_request_error"}}`},
	}}
	for _, tt := range tests {
		got := postChat(t, srv.URL+tt.path, tt.body)
		if i := strings.Index(got.Body, `"created":`); i >= 0 {
			j := i + strings.IndexByte(got.Body[i:], ',')
			got.Body = got.Body[:i] + `"created":CREATED` + got.Body[j:]
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
	var steps []int
	for _, r := range srv.Requests() {
		steps = append(steps, r.Step)
	}
	if diff := cmp.Diff([]int{0, -1, 1, 2, 3, -1, -1, -1}, steps); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
}

func TestChatServerHangsUntilClose(t *testing.T) {
	srv := NewChatServer(t, Step{Hang: true})
	done := make(chan error, 1)
	go func() {
		resp, err := http.Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(chatTurn1))
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	for len(srv.Requests()) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	closed := make(chan struct{})
	go func() { srv.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(3 * time.Second):
		t.Fatal("Close blocked on a hanging request")
	}
	<-done
}
