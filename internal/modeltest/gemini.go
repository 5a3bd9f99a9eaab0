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

// GeminiWrite is a step that calls Gemini CLI's write_file tool. Its file_path must be absolute.
func GeminiWrite(path, content string) Step {
	return Step{ToolName: "write_file", ToolInput: map[string]any{"file_path": path, "content": content}}
}

// GeminiShell is a step that calls Gemini CLI's run_shell_command tool.
func GeminiShell(command string) Step {
	return Step{ToolName: "run_shell_command", ToolInput: map[string]any{"command": command}}
}

// GeminiServer is a scripted Gemini API (generativelanguage.googleapis.com, v1beta) on 127.0.0.1,
// the way Gemini CLI calls it with GOOGLE_GEMINI_BASE_URL.
//
// Every POST /v1beta/models/MODEL:streamGenerateContent whose body carries tools is an agent turn and
// gets the next step, in order, as server-sent events (one "data:" line with a GenerateContentResponse);
// the same conversation sent again right after a normal answer is a retry and gets that answer again;
// once the script is used up a turn gets the final text "done". Other model calls (:generateContent,
// :countTokens, a turn without tools) never consume a step: they get a short text or a count. Anything
// else gets a 404 in Google's error JSON.
type GeminiServer struct {
	URL string
	script
}

// NewGeminiServer starts a server that answers with steps; it is closed when the test ends.
func NewGeminiServer(t testing.TB, steps ...Step) *GeminiServer {
	t.Helper()
	s := &GeminiServer{}
	s.init(steps)
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.Close)
	return s
}

// geminiRequest is the part of a generateContent request body the server looks at.
type geminiRequest struct {
	Contents json.RawMessage   `json:"contents"`
	Tools    []json.RawMessage `json:"tools"`
}

func (s *GeminiServer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h := redact(r.Header)
	if h.Get("X-Goog-Api-Key") != "" {
		h.Set("X-Goog-Api-Key", "set")
	} else {
		h.Set("X-Goog-Api-Key", "missing")
	}
	rec := Request{Time: time.Now(), Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Headers: h, Body: body, Step: -1}

	model, method, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v1beta/models/"), ":")
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/v1beta/models/") || !ok {
		s.record(rec)
		writeGeminiError(w, http.StatusNotFound)
		return
	}
	var req geminiRequest
	if err := json.Unmarshal(body, &req); err != nil {
		s.record(rec)
		writeGeminiError(w, http.StatusBadRequest)
		return
	}
	step := Step{Text: "Scripted answer"}
	if method == "streamGenerateContent" && len(req.Tools) > 0 {
		step = s.take(req.Contents, &rec)
	}
	n := s.record(rec)

	switch {
	case step.Hang:
		s.hang(r)
	case step.Status != 0:
		writeGeminiError(w, step.Status)
	case method == "countTokens":
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]int{"totalTokens": tokens(body)})
	case method == "generateContent" || method == "streamGenerateContent":
		t := turn{MsgID: fmt.Sprintf("modeltest-%d", n), Model: model, InputTokens: tokens(body), Step: step}
		if _, err := toolInput(step); err != nil {
			writeGeminiError(w, http.StatusInternalServerError)
			return
		}
		resp := geminiResponse(t)
		if method == "generateContent" {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(resp)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		_ = writeGeminiStream(w, resp)
	default:
		writeGeminiError(w, http.StatusNotFound)
	}
}

// geminiResponse is t as one GenerateContentResponse: a text part or a functionCall part, finish
// reason STOP (the API says STOP after a function call too), and usage. Maps, so that keys come out
// sorted as in the recorded answers.
func geminiResponse(t turn) map[string]any {
	input, _ := toolInput(t.Step)
	var part map[string]any
	if t.Step.ToolName != "" {
		part = map[string]any{"functionCall": map[string]any{"args": json.RawMessage(input), "name": t.Step.ToolName}}
	} else {
		part = map[string]any{"text": stepText(t.Step)}
	}
	output := t.OutputTokens
	if output == 0 {
		output = 1 + (len(t.Step.Text)+len(input))/4
	}
	return map[string]any{
		"candidates": []any{map[string]any{
			"content":      map[string]any{"parts": []any{part}, "role": "model"},
			"finishReason": "STOP",
			"index":        0,
		}},
		"modelVersion": t.Model,
		"responseId":   t.MsgID,
		"usageMetadata": map[string]any{"candidatesTokenCount": output, "promptTokenCount": t.InputTokens,
			"totalTokenCount": t.InputTokens + output},
	}
}

// writeGeminiStream writes resp as the one event of a streamGenerateContent?alt=sse answer.
func writeGeminiStream(w io.Writer, resp map[string]any) error {
	data, err := json.Marshal(resp)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(w, "data: %s\n\n", data); err != nil {
		return err
	}
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	return nil
}

// geminiStatus is the status name and message Google's APIs answer an HTTP status with.
func geminiStatus(code int) (status, msg string) {
	switch code {
	case http.StatusBadRequest:
		return "INVALID_ARGUMENT", "Request contains an invalid argument."
	case http.StatusUnauthorized:
		return "UNAUTHENTICATED", "API key not valid. Please pass a valid API key."
	case http.StatusForbidden:
		return "PERMISSION_DENIED", "Permission denied on resource."
	case http.StatusNotFound:
		return "NOT_FOUND", "Requested entity was not found."
	case http.StatusTooManyRequests:
		return "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."
	case http.StatusServiceUnavailable:
		return "UNAVAILABLE", "The model is overloaded. Please try again later."
	default:
		return "INTERNAL", "An internal error has occurred."
	}
}

// writeGeminiError answers code with Google's error JSON.
func writeGeminiError(w http.ResponseWriter, code int) {
	status, msg := geminiStatus(code)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"error": map[string]any{"code": code, "message": msg, "status": status},
	})
}
