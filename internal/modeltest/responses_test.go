package modeltest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The answers Codex 0.169.0 accepted in the recorded run (../shared/agent-cli/samples/codex/reqs), byte
// for byte.
const (
	recordedResponses1 = `event: response.created
data: {"response":{"created_at":1795422213,"id":"resp_fake_1","model":"gpt-5.5","object":"response","output":[],"status":"in_progress"},"sequence_number":0,"type":"response.created"}

event: response.in_progress
data: {"response":{"created_at":1795422213,"id":"resp_fake_1","model":"gpt-5.5","object":"response","output":[],"status":"in_progress"},"sequence_number":1,"type":"response.in_progress"}

event: response.output_item.added
data: {"item":{"call_id":"call_317628_0","id":"ctc_call_317628_0","input":"*** Begin Patch\n*** Add File: hello.txt\n+hello from fake model\n*** End Patch\n","name":"apply_patch","status":"in_progress","type":"custom_tool_call"},"output_index":0,"sequence_number":2,"type":"response.output_item.added"}

event: response.custom_tool_call_input.delta
data: {"delta":"*** Begin Patch\n*** Add File: hello.txt\n+hello from fake model\n*** End Patch\n","item_id":"ctc_call_317628_0","output_index":0,"sequence_number":3,"type":"response.custom_tool_call_input.delta"}

event: response.custom_tool_call_input.done
data: {"input":"*** Begin Patch\n*** Add File: hello.txt\n+hello from fake model\n*** End Patch\n","item_id":"ctc_call_317628_0","output_index":0,"sequence_number":4,"type":"response.custom_tool_call_input.done"}

event: response.output_item.done
data: {"item":{"call_id":"call_317628_0","id":"ctc_call_317628_0","input":"*** Begin Patch\n*** Add File: hello.txt\n+hello from fake model\n*** End Patch\n","name":"apply_patch","status":"completed","type":"custom_tool_call"},"output_index":0,"sequence_number":7,"type":"response.output_item.done"}

event: response.completed
data: {"response":{"created_at":1795422213,"id":"resp_fake_1","model":"gpt-5.5","object":"response","output":[{"call_id":"call_317628_0","id":"ctc_call_317628_0","input":"*** Begin Patch\n*** Add File: hello.txt\n+hello from fake model\n*** End Patch\n","name":"apply_patch","status":"completed","type":"custom_tool_call"}],"status":"completed","usage":{"input_tokens":9576,"input_tokens_details":{"cached_tokens":0},"output_tokens":12,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":9588}},"sequence_number":8,"type":"response.completed"}

`
	recordedResponses2 = `event: response.created
data: {"response":{"created_at":1795422213,"id":"resp_fake_2","model":"gpt-5.5","object":"response","output":[],"status":"in_progress"},"sequence_number":0,"type":"response.created"}

event: response.in_progress
data: {"response":{"created_at":1795422213,"id":"resp_fake_2","model":"gpt-5.5","object":"response","output":[],"status":"in_progress"},"sequence_number":1,"type":"response.in_progress"}

event: response.output_item.added
data: {"item":{"arguments":"{\"cmd\":\"echo shell-ok \\u003e shell.txt \\u0026\\u0026 ls\",\"workdir\":\"/srv/task/repo\"}","call_id":"call_623430_1","id":"fc_call_623430_1","name":"exec_command","status":"in_progress","type":"function_call"},"output_index":0,"sequence_number":2,"type":"response.output_item.added"}

event: response.function_call_arguments.delta
data: {"delta":"{\"cmd\":\"echo shell-ok \\u003e shell.txt \\u0026\\u0026 ls\",\"workdir\":\"/srv/task/repo\"}","item_id":"fc_call_623430_1","output_index":0,"sequence_number":3,"type":"response.function_call_arguments.delta"}

event: response.function_call_arguments.done
data: {"arguments":"{\"cmd\":\"echo shell-ok \\u003e shell.txt \\u0026\\u0026 ls\",\"workdir\":\"/srv/task/repo\"}","item_id":"fc_call_623430_1","output_index":0,"sequence_number":4,"type":"response.function_call_arguments.done"}

event: response.output_item.done
data: {"item":{"arguments":"{\"cmd\":\"echo shell-ok \\u003e shell.txt \\u0026\\u0026 ls\",\"workdir\":\"/srv/task/repo\"}","call_id":"call_623430_1","id":"fc_call_623430_1","name":"exec_command","status":"completed","type":"function_call"},"output_index":0,"sequence_number":7,"type":"response.output_item.done"}

event: response.completed
data: {"response":{"created_at":1795422213,"id":"resp_fake_2","model":"gpt-5.5","object":"response","output":[{"arguments":"{\"cmd\":\"echo shell-ok \\u003e shell.txt \\u0026\\u0026 ls\",\"workdir\":\"/srv/task/repo\"}","call_id":"call_623430_1","id":"fc_call_623430_1","name":"exec_command","status":"completed","type":"function_call"}],"status":"completed","usage":{"input_tokens":9684,"input_tokens_details":{"cached_tokens":0},"output_tokens":12,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":9696}},"sequence_number":8,"type":"response.completed"}

`
	recordedResponses3 = `event: response.created
data: {"response":{"created_at":1795422213,"id":"resp_fake_3","model":"gpt-5.5","object":"response","output":[],"status":"in_progress"},"sequence_number":0,"type":"response.created"}

event: response.in_progress
data: {"response":{"created_at":1795422213,"id":"resp_fake_3","model":"gpt-5.5","object":"response","output":[],"status":"in_progress"},"sequence_number":1,"type":"response.in_progress"}

event: response.output_item.added
data: {"item":{"content":[],"id":"msg_resp_fake_3","role":"assistant","status":"in_progress","type":"message"},"output_index":0,"sequence_number":2,"type":"response.output_item.added"}

event: response.content_part.added
data: {"content_index":0,"item_id":"msg_resp_fake_3","output_index":0,"part":{"annotations":[],"text":"","type":"output_text"},"sequence_number":3,"type":"response.content_part.added"}

event: response.output_text.delta
data: {"content_index":0,"delta":"Done: wrote hello.txt and ran a shell command.","item_id":"msg_resp_fake_3","output_index":0,"sequence_number":4,"type":"response.output_text.delta"}

event: response.output_text.done
data: {"content_index":0,"item_id":"msg_resp_fake_3","output_index":0,"sequence_number":5,"text":"Done: wrote hello.txt and ran a shell command.","type":"response.output_text.done"}

event: response.content_part.done
data: {"content_index":0,"item_id":"msg_resp_fake_3","output_index":0,"part":{"annotations":[],"text":"Done: wrote hello.txt and ran a shell command.","type":"output_text"},"sequence_number":6,"type":"response.content_part.done"}

event: response.output_item.done
data: {"item":{"content":[{"annotations":[],"text":"Done: wrote hello.txt and ran a shell command.","type":"output_text"}],"id":"msg_resp_fake_3","role":"assistant","status":"completed","type":"message"},"output_index":0,"sequence_number":7,"type":"response.output_item.done"}

event: response.completed
data: {"response":{"created_at":1795422213,"id":"resp_fake_3","model":"gpt-5.5","object":"response","output":[{"content":[{"annotations":[],"text":"Done: wrote hello.txt and ran a shell command.","type":"output_text"}],"id":"msg_resp_fake_3","role":"assistant","status":"completed","type":"message"}],"status":"completed","usage":{"input_tokens":9811,"input_tokens_details":{"cached_tokens":0},"output_tokens":12,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":9823}},"sequence_number":8,"type":"response.completed"}

`
)

func TestWriteResponsesStreamMatchesRecording(t *testing.T) {
	patch := "*** Begin Patch\n*** Add File: hello.txt\n+hello from fake model\n*** End Patch\n"
	tests := []struct {
		name string
		want string
		turn responsesTurn
	}{{
		name: "apply_patch, a custom tool",
		want: recordedResponses1,
		turn: responsesTurn{ID: "resp_fake_1", Model: "gpt-5.5", Created: 1795422213, CallID: "call_317628_0",
			InputTokens: 9576, OutputTokens: 12, Step: AddFile("hello.txt", "hello from fake model\n")},
	}, {
		name: "exec_command, a function",
		want: recordedResponses2,
		turn: responsesTurn{ID: "resp_fake_2", Model: "gpt-5.5", Created: 1795422213, CallID: "call_623430_1",
			InputTokens: 9684, OutputTokens: 12, Step: Step{ToolName: "exec_command",
				ToolInput: map[string]any{"cmd": "echo shell-ok > shell.txt && ls", "workdir": "/srv/task/repo"}}},
	}, {
		name: "final text",
		want: recordedResponses3,
		turn: responsesTurn{ID: "resp_fake_3", Model: "gpt-5.5", Created: 1795422213, InputTokens: 9811,
			OutputTokens: 12, Step: Step{Text: "Done: wrote hello.txt and ran a shell command."}},
	}}
	if got := AddFile("hello.txt", "hello from fake model\n").ToolInput; got != patch {
		t.Errorf("AddFile patch = %q, want %q", got, patch)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got bytes.Buffer
			if err := writeResponsesStream(&got, tt.turn); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got.String()); diff != "" {
				t.Errorf("stream (-want +got):\n%s", diff)
			}
		})
	}
}

// sseEvents posts body to url and returns the status, the event names (or, for Chat Completions,
// "data" per data line and "[DONE]") and the data payloads of the answer, or its body when it is not
// a stream.
func sseEvents(t *testing.T, url, body string) (status int, names []string, data []map[string]any, plain string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, nil, nil, strings.TrimSpace(string(b))
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutPrefix(line, "event: "); ok {
			names = append(names, name)
		}
		d, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		if d == "[DONE]" {
			names = append(names, d)
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(d), &m); err != nil {
			t.Fatalf("data %q: %v", d, err)
		}
		data = append(data, m)
	}
	return resp.StatusCode, names, data, ""
}

const (
	responsesTurn1 = `{"model":"gpt-5.5","stream":true,"tools":[{"type":"custom","name":"apply_patch"}],"input":[]}`
	responsesTurn2 = `{"model":"gpt-5.5","stream":true,"tools":[{"type":"custom","name":"apply_patch"}],"input":[{"type":"message"}]}`
)

func TestResponsesServerScript(t *testing.T) {
	srv := NewResponsesServer(t, AddFile("a.txt", "x\n"), ExecCommand("ls"), Step{Status: 401}, Step{Text: "Finished."})
	url := srv.URL + "/v1/responses"

	_, names, data, _ := sseEvents(t, url, responsesTurn1)
	wantNames := []string{"response.created", "response.in_progress", "response.output_item.added",
		"response.custom_tool_call_input.delta", "response.custom_tool_call_input.done",
		"response.output_item.done", "response.completed"}
	if diff := cmp.Diff(wantNames, names); diff != "" {
		t.Errorf("custom tool call events (-want +got):\n%s", diff)
	}
	if item := data[5]["item"].(map[string]any); item["name"] != "apply_patch" || item["input"] != AddFile("a.txt", "x\n").ToolInput {
		t.Errorf("apply_patch item = %v", item)
	}

	_, names, data, _ = sseEvents(t, url, responsesTurn1) // the same conversation again: a retry
	if item := data[5]["item"].(map[string]any); names[3] != "response.custom_tool_call_input.delta" || item["name"] != "apply_patch" {
		t.Errorf("the retried turn answered %v", names)
	}

	_, _, data, _ = sseEvents(t, url, `{"model":"gpt-5.5","input":[]}`) // no tools: does not take a step
	if text := data[4]["delta"]; text != "Scripted task" {
		t.Errorf("a request without tools answered %v", text)
	}

	_, names, data, _ = sseEvents(t, url, responsesTurn2)
	if item := data[5]["item"].(map[string]any); names[3] != "response.function_call_arguments.delta" ||
		item["type"] != "function_call" || item["name"] != "exec_command" || item["arguments"] != `{"cmd":"ls"}` {
		t.Errorf("exec_command: %v %v", names, item)
	}
	usage := data[6]["response"].(map[string]any)["usage"].(map[string]any)
	if usage["input_tokens"].(float64) == 0 || usage["output_tokens"].(float64) == 0 {
		t.Errorf("usage = %v", usage)
	}

	status, _, _, body := sseEvents(t, url, strings.Replace(responsesTurn2, `"message"`, `"function_call_output"`, 1))
	if want := `{"error":{"code":"invalid_api_key","message":"Incorrect API key provided.","param":null,"type":"invalid_request_error"}}`; status != 401 || body != want {
		t.Errorf("401 step answered %d %s", status, body)
	}
	_, names, data, _ = sseEvents(t, url, responsesTurn1)
	if names[3] != "response.content_part.added" || data[4]["delta"] != "Finished." {
		t.Errorf("final step answered %v %v", names, data)
	}
	_, _, data, _ = sseEvents(t, url, responsesTurn2)
	if data[4]["delta"] != "done" {
		t.Errorf("beyond the script: %v", data[4])
	}
	if status, _, _, _ := sseEvents(t, srv.URL+"/v1/models", "{}"); status != 404 {
		t.Errorf("unknown path answered %d", status)
	}
	if status, _, _, _ := sseEvents(t, url, `{"model":`); status != 400 {
		t.Errorf("bad JSON answered %d", status)
	}

	var steps []int
	for _, r := range srv.Requests() {
		steps = append(steps, r.Step)
	}
	if diff := cmp.Diff([]int{0, 0, -1, 1, 2, 3, -1, -1, -1}, steps); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
}

func TestResponsesServerHangsUntilClientGoesAway(t *testing.T) {
	srv := NewResponsesServer(t, Step{Hang: true}, Step{Text: "after"})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/responses", strings.NewReader(responsesTurn1))
	start := time.Now()
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("a hanging step answered %s", resp.Status)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("gave up after %v, before the client did", d)
	}
	if _, _, data, _ := sseEvents(t, srv.URL+"/v1/responses", responsesTurn1); data[4]["delta"] != "after" {
		t.Errorf("the step after the hang answered %v", data)
	}
	srv.Close()
	srv.Close() // twice is fine
}
