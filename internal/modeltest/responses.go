package modeltest

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// AddFile is a step that calls Codex's apply_patch tool (a custom tool: its input is the patch, not
// JSON) to create path, relative to the agent's working directory or absolute, holding content.
func AddFile(path, content string) Step {
	var patch strings.Builder
	patch.WriteString("*** Begin Patch\n*** Add File: " + path + "\n")
	for _, line := range strings.Split(strings.TrimSuffix(content, "\n"), "\n") {
		patch.WriteString("+" + line + "\n")
	}
	patch.WriteString("*** End Patch\n")
	return Step{ToolName: "apply_patch", ToolInput: patch.String()}
}

// ExecCommand is a step that calls Codex's exec_command tool.
func ExecCommand(cmd string) Step {
	return Step{ToolName: "exec_command", ToolInput: map[string]any{"cmd": cmd}}
}

// ResponsesServer is a scripted OpenAI Responses API on 127.0.0.1, the way Codex calls it: its base URL
// is URL+"/v1".
//
// Every POST /v1/responses that carries tools is an agent turn and gets the next step, streamed as
// server-sent events with event names (response.created, response.output_item.added, ...,
// response.completed with usage), the same conversation sent again right after a normal answer gets that
// answer again, and once the script is used up a turn gets the final text "done". A step whose ToolInput
// is a string calls a custom (freeform) tool with that input, as Codex's apply_patch; any other
// ToolInput calls a function tool with it as JSON arguments. A response request without tools gets a
// short text and does not take a step; any other request a 404 in OpenAI's error JSON.
type ResponsesServer struct {
	URL string
	script
}

// NewResponsesServer starts a server that answers with steps; it is closed when the test ends.
func NewResponsesServer(t testing.TB, steps ...Step) *ResponsesServer {
	t.Helper()
	s := &ResponsesServer{}
	s.init(steps)
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.Close)
	return s
}

// responsesRequest is the part of a Responses API request body the server looks at.
type responsesRequest struct {
	Model string            `json:"model"`
	Tools []json.RawMessage `json:"tools"`
	Input json.RawMessage   `json:"input"`
}

func (s *ResponsesServer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec := Request{Time: time.Now(), Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Headers: redact(r.Header), Body: body, Step: -1}
	if r.Method != http.MethodPost || r.URL.Path != "/v1/responses" {
		n := s.record(rec)
		writeOpenAIError(w, http.StatusNotFound, fmt.Sprintf("req_modeltest_%d", n))
		return
	}
	var req responsesRequest
	if err := json.Unmarshal(body, &req); err != nil {
		s.record(rec)
		writeOpenAIError(w, http.StatusBadRequest, "req_modeltest_bad_json")
		return
	}
	step := Step{Text: "Scripted task"}
	if len(req.Tools) > 0 {
		step = s.take(req.Input, &rec)
	}
	n := s.record(rec)
	requestID := fmt.Sprintf("req_modeltest_%d", n)
	switch {
	case step.Hang:
		s.hang(r)
	case step.Status != 0:
		writeOpenAIError(w, step.Status, requestID)
	default:
		model := req.Model
		if model == "" {
			model = "gpt-modeltest"
		}
		t := responsesTurn{ID: fmt.Sprintf("resp_modeltest_%d", n), Model: model, Created: time.Now().Unix(),
			CallID: fmt.Sprintf("call_modeltest_%d", n), InputTokens: tokens(body), Step: step}
		input, err := responsesInput(step)
		if err != nil {
			writeOpenAIError(w, http.StatusInternalServerError, requestID)
			return
		}
		t.OutputTokens = 1 + (len(step.Text)+len(input))/4
		w.Header().Set("X-Request-Id", requestID)
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		_ = writeResponsesStream(w, t)
	}
}

// responsesTurn is everything one streamed Responses answer needs; explicit ids, time and token counts
// let a test reproduce a recorded answer byte for byte.
type responsesTurn struct {
	ID           string // resp_...; the message item is msg_ID
	Model        string
	Created      int64
	CallID       string // of the tool call, when the step calls a tool
	InputTokens  int
	OutputTokens int
	Step         Step
}

// writeResponsesStream writes t as the Responses API streams it: response.created,
// response.in_progress, then per output item (a message with the text, then the tool call) its added
// event, its deltas and done events, response.output_item.done, and last response.completed with
// the output and usage. Each output item spans six sequence numbers, as in the recorded answers.
// Payloads are maps so that keys come out sorted, as in the recordings.
func writeResponsesStream(w io.Writer, t responsesTurn) error {
	input, err := responsesInput(t.Step)
	if err != nil {
		return err
	}
	response := func(status string, output []any) map[string]any {
		return map[string]any{"created_at": t.Created, "id": t.ID, "model": t.Model, "object": "response",
			"output": output, "status": status}
	}
	events := []map[string]any{
		{"type": "response.created", "response": response("in_progress", []any{})},
		{"type": "response.in_progress", "response": response("in_progress", []any{})},
	}
	var output []any
	seq := map[int]int{0: 0, 1: 1} // sequence number by event index, where not the next item's
	item := func(index int, added, done map[string]any, middle ...map[string]any) {
		base := 2 + 6*index
		seq[len(events)] = base
		events = append(events, map[string]any{"type": "response.output_item.added", "item": added,
			"output_index": index})
		for i, m := range middle {
			m["output_index"] = index
			seq[len(events)] = base + 1 + i
			events = append(events, m)
		}
		seq[len(events)] = base + 5
		events = append(events, map[string]any{"type": "response.output_item.done", "item": done,
			"output_index": index})
		output = append(output, done)
	}
	if text := stepText(t.Step); text != "" {
		id := "msg_" + t.ID
		part := func(text string) map[string]any {
			return map[string]any{"annotations": []any{}, "text": text, "type": "output_text"}
		}
		message := func(status string, content []any) map[string]any {
			return map[string]any{"content": content, "id": id, "role": "assistant", "status": status,
				"type": "message"}
		}
		item(len(output), message("in_progress", []any{}), message("completed", []any{part(text)}),
			map[string]any{"type": "response.content_part.added", "content_index": 0, "item_id": id,
				"part": part("")},
			map[string]any{"type": "response.output_text.delta", "content_index": 0, "item_id": id,
				"delta": text},
			map[string]any{"type": "response.output_text.done", "content_index": 0, "item_id": id,
				"text": text},
			map[string]any{"type": "response.content_part.done", "content_index": 0, "item_id": id,
				"part": part(text)})
	}
	if t.Step.ToolName != "" {
		call := func(status string) map[string]any {
			m := map[string]any{"call_id": t.CallID, "name": t.Step.ToolName, "status": status}
			if _, custom := t.Step.ToolInput.(string); custom {
				m["id"], m["type"], m["input"] = "ctc_"+t.CallID, "custom_tool_call", string(input)
			} else {
				m["id"], m["type"], m["arguments"] = "fc_"+t.CallID, "function_call", string(input)
			}
			return m
		}
		added := call("in_progress")
		id := added["id"]
		if _, custom := t.Step.ToolInput.(string); custom {
			item(len(output), added, call("completed"),
				map[string]any{"type": "response.custom_tool_call_input.delta", "item_id": id, "delta": string(input)},
				map[string]any{"type": "response.custom_tool_call_input.done", "item_id": id, "input": string(input)})
		} else {
			item(len(output), added, call("completed"),
				map[string]any{"type": "response.function_call_arguments.delta", "item_id": id, "delta": string(input)},
				map[string]any{"type": "response.function_call_arguments.done", "item_id": id, "arguments": string(input)})
		}
	}
	done := response("completed", output)
	done["usage"] = map[string]any{
		"input_tokens": t.InputTokens, "input_tokens_details": map[string]any{"cached_tokens": 0},
		"output_tokens": t.OutputTokens, "output_tokens_details": map[string]any{"reasoning_tokens": 0},
		"total_tokens": t.InputTokens + t.OutputTokens,
	}
	seq[len(events)] = 2 + 6*len(output)
	events = append(events, map[string]any{"type": "response.completed", "response": done})

	flusher, _ := w.(http.Flusher)
	for i, e := range events {
		e["sequence_number"] = seq[i]
		data, err := json.Marshal(e)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e["type"], data); err != nil {
			return err
		}
		if flusher != nil {
			flusher.Flush()
		}
	}
	return nil
}

// responsesInput is a tool call's input: a custom tool's text as is, a function's arguments as JSON.
func responsesInput(s Step) ([]byte, error) {
	if text, ok := s.ToolInput.(string); ok && s.ToolName != "" {
		return []byte(text), nil
	}
	return toolInput(s)
}

// openAIError returns the error type, code and message OpenAI's API answers status with.
func openAIError(status int) (typ, code, msg string) {
	switch status {
	case http.StatusBadRequest:
		return "invalid_request_error", "", "invalid request"
	case http.StatusUnauthorized:
		return "invalid_request_error", "invalid_api_key", "Incorrect API key provided."
	case http.StatusForbidden:
		return "invalid_request_error", "unsupported_country_region_territory", "Country, region, or territory not supported"
	case http.StatusNotFound:
		return "invalid_request_error", "", "Not found"
	case http.StatusTooManyRequests:
		return "insufficient_quota", "insufficient_quota", "You exceeded your current quota, please check your plan and billing details."
	case http.StatusServiceUnavailable:
		return "server_error", "", "The engine is currently overloaded, please try again later"
	default:
		return "server_error", "", "The server had an error while processing your request."
	}
}

// writeOpenAIError answers status with OpenAI's error JSON.
func writeOpenAIError(w http.ResponseWriter, status int, requestID string) {
	typ, code, msg := openAIError(status)
	var c any
	if code != "" {
		c = code
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Request-Id", requestID)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": c},
	})
}

// script is what the OpenAI-style servers share: the steps, the request log, the retry rule and the
// requests left hanging until the client goes away or the server closes.
type script struct {
	srv     *httptest.Server
	closing chan struct{}
	once    sync.Once

	mu       sync.Mutex
	steps    []Step
	next     int
	lastTurn [sha256.Size]byte
	lastStep int
	reqs     []Request
}

func (s *script) init(steps []Step) {
	s.steps, s.closing, s.lastStep = steps, make(chan struct{}), -1
}

// SetSteps replaces the script; the next agent turn gets its first step.
func (s *script) SetSteps(steps ...Step) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.steps, s.next, s.lastStep = steps, 0, -1
}

// Close answers hanging requests and shuts the server down. It is safe to call twice.
func (s *script) Close() {
	s.once.Do(func() {
		close(s.closing)
		s.srv.CloseClientConnections()
		s.srv.Close()
	})
}

// Requests returns the requests received so far, in order.
func (s *script) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// take returns the step for an agent turn whose conversation is conversation, and notes it in rec. As
// in Server, the same conversation sent again right after a normal answer is a retry and gets the same
// step; after an error or a hang the script moves on; past its end a turn gets the final text "done".
func (s *script) take(conversation []byte, rec *Request) Step {
	turn := sha256.Sum256(conversation)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.lastStep >= 0 && turn == s.lastTurn && s.lastStep < len(s.steps) &&
		s.steps[s.lastStep].Status == 0 && !s.steps[s.lastStep].Hang:
		rec.Step, rec.Retry = s.lastStep, true
		return s.steps[s.lastStep]
	case s.next < len(s.steps):
		rec.Step = s.next
		s.lastTurn, s.lastStep = turn, s.next
		s.next++
		return s.steps[rec.Step]
	}
	return Step{Text: "done"}
}

// record appends rec to the log and returns its 1-based sequence number.
func (s *script) record(rec Request) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, rec)
	return len(s.reqs)
}

// hang blocks until the client goes away or the server closes.
func (s *script) hang(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-s.closing:
	}
}
