package modeltest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// WriteTool is a step that calls OpenCode's write tool. Its filePath must be absolute.
func WriteTool(path, content string) Step {
	return Step{ToolName: "write", ToolInput: map[string]any{"filePath": path, "content": content}}
}

// BashTool is a step that calls OpenCode's (and Copilot CLI's) bash tool.
func BashTool(command string) Step {
	return Step{ToolName: "bash", ToolInput: map[string]any{"command": command, "description": "Run a command"}}
}

// ChatServer is a scripted OpenAI Chat Completions API on 127.0.0.1, the way OpenAI-compatible
// providers are called (OpenCode's @ai-sdk/openai-compatible, Copilot CLI's provider). Any base URL
// under URL works: the server answers a POST to any path that ends in /chat/completions, so
// URL+"/v1" is a base URL as good as URL.
//
// Every such request that carries tools is an agent turn and gets the next step, streamed as data:
// chunks (the role, the text, the tool call with its arguments, the finish reason, the usage) and then
// "data: [DONE]", or as one chat.completion object when the request did not ask for a stream. The same
// conversation sent again right after a normal answer gets that answer again, and once the script is
// used up a turn gets the final text "done". A request without tools (a title) gets a short text and
// does not take a step; any other request a 404 in OpenAI's error JSON.
type ChatServer struct {
	URL string
	script
}

// NewChatServer starts a server that answers with steps; it is closed when the test ends.
func NewChatServer(t testing.TB, steps ...Step) *ChatServer {
	t.Helper()
	s := &ChatServer{}
	s.init(steps)
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.Close)
	return s
}

// chatRequest is the part of a Chat Completions request body the server looks at.
type chatRequest struct {
	Model    string            `json:"model"`
	Stream   bool              `json:"stream"`
	Tools    []json.RawMessage `json:"tools"`
	Messages json.RawMessage   `json:"messages"`
}

func (s *ChatServer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec := Request{Time: time.Now(), Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Headers: redact(r.Header), Body: body, Step: -1}
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/chat/completions") {
		n := s.record(rec)
		writeOpenAIError(w, http.StatusNotFound, fmt.Sprintf("req_modeltest_%d", n))
		return
	}
	var req chatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		s.record(rec)
		writeOpenAIError(w, http.StatusBadRequest, "req_modeltest_bad_json")
		return
	}
	step := Step{Text: "Scripted task"}
	if len(req.Tools) > 0 {
		step = s.take(req.Messages, &rec)
	}
	n := s.record(rec)
	requestID := fmt.Sprintf("req_modeltest_%d", n)
	switch {
	case step.Hang:
		s.hang(r)
		return
	case step.Status != 0:
		writeOpenAIError(w, step.Status, requestID)
		return
	}
	model := req.Model
	if model == "" {
		model = "gpt-modeltest"
	}
	t := chatTurn{ID: fmt.Sprintf("chatcmpl-modeltest-%d", n), Model: model, Created: time.Now().Unix(),
		CallID: fmt.Sprintf("call_modeltest_%d", n), InputTokens: tokens(body), Step: step}
	input, err := toolInput(step)
	if err != nil {
		writeOpenAIError(w, http.StatusInternalServerError, requestID)
		return
	}
	t.OutputTokens = 1 + (len(step.Text)+len(input))/4
	w.Header().Set("X-Request-Id", requestID)
	if !req.Stream {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(chatCompletion(t, input))
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	_ = writeChatStream(w, t)
}

// chatTurn is everything one Chat Completions answer needs; explicit ids, time and token counts let a
// test reproduce a recorded answer byte for byte.
type chatTurn struct {
	ID           string
	Model        string
	Created      int64
	CallID       string // of the tool call, when the step calls a tool
	InputTokens  int
	OutputTokens int
	Step         Step
}

// writeChatStream writes t as Chat Completions streams it: a first chunk with the role (and the text
// or the tool call's name and id), a chunk with the text or the arguments, a chunk with the finish
// reason, a chunk with the usage and no choices, then "data: [DONE]". Payloads are maps so that keys
// come out sorted, as in the recordings.
func writeChatStream(w io.Writer, t chatTurn) error {
	input, err := toolInput(t.Step)
	if err != nil {
		return err
	}
	chunk := func(choices []any) map[string]any {
		return map[string]any{"choices": choices, "created": t.Created, "id": t.ID, "model": t.Model,
			"object": "chat.completion.chunk"}
	}
	choice := func(delta map[string]any, finish any) []any {
		return []any{map[string]any{"delta": delta, "finish_reason": finish, "index": 0}}
	}
	var chunks []map[string]any
	finish := "stop"
	if text := stepText(t.Step); text != "" {
		chunks = append(chunks,
			chunk(choice(map[string]any{"content": "", "role": "assistant"}, nil)),
			chunk(choice(map[string]any{"content": text}, nil)))
	}
	if t.Step.ToolName != "" {
		finish = "tool_calls"
		first := map[string]any{"tool_calls": []any{map[string]any{"function": map[string]any{
			"arguments": "", "name": t.Step.ToolName}, "id": t.CallID, "index": 0, "type": "function"}}}
		if len(chunks) == 0 {
			first["content"], first["role"] = nil, "assistant"
		}
		chunks = append(chunks,
			chunk(choice(first, nil)),
			chunk(choice(map[string]any{"tool_calls": []any{map[string]any{
				"function": map[string]any{"arguments": string(input)}, "index": 0}}}, nil)))
	}
	chunks = append(chunks, chunk(choice(map[string]any{}, finish)))
	last := chunk([]any{})
	last["usage"] = chatUsage(t)
	chunks = append(chunks, last)

	flusher, _ := w.(http.Flusher)
	flush := func() {
		if flusher != nil {
			flusher.Flush()
		}
	}
	for _, c := range chunks {
		data, err := json.Marshal(c)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "data: %s\n\n", data); err != nil {
			return err
		}
		flush()
	}
	if _, err := io.WriteString(w, "data: [DONE]\n\n"); err != nil {
		return err
	}
	flush()
	return nil
}

// chatCompletion is the answer to a request that did not ask for a stream: the same turn as one
// chat.completion object.
func chatCompletion(t chatTurn, input []byte) map[string]any {
	message := map[string]any{"role": "assistant", "content": nil}
	finish := "stop"
	if text := stepText(t.Step); text != "" {
		message["content"] = text
	}
	if t.Step.ToolName != "" {
		finish = "tool_calls"
		message["tool_calls"] = []any{map[string]any{"id": t.CallID, "type": "function",
			"function": map[string]any{"name": t.Step.ToolName, "arguments": string(input)}}}
	}
	return map[string]any{
		"choices": []any{map[string]any{"finish_reason": finish, "index": 0, "message": message}},
		"created": t.Created, "id": t.ID, "model": t.Model, "object": "chat.completion",
		"usage": chatUsage(t),
	}
}

func chatUsage(t chatTurn) map[string]any {
	return map[string]any{"completion_tokens": t.OutputTokens, "prompt_tokens": t.InputTokens,
		"total_tokens": t.InputTokens + t.OutputTokens}
}
