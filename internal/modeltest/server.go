// Package modeltest is a scripted model server for tests: it speaks the Anthropic Messages API, streamed,
// the way Claude Code calls it, and answers each agent turn with the next step of a script (a text, a
// tool call, an HTTP error, or silence). Point a real agent CLI at Server.URL to test it offline.
package modeltest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Step is one model turn of the script.
type Step struct {
	Text      string // assistant text; the final answer when there is no tool
	ToolName  string // tool to call, e.g. "Write", "Bash", "Edit"
	ToolInput any    // the tool's input, marshalled to JSON, e.g. map[string]any{"file_path": abs, "content": c}
	Status    int    // non-zero: answer this HTTP status with Anthropic's error JSON instead
	Hang      bool   // never answer, until the client goes away or the server closes
	// Hold, when not nil, delays the answer until it is closed (or the client goes away, or the server
	// closes): a test keeps an agent in mid-turn for as long as it needs. Only the Anthropic server
	// (NewServer) honours it.
	Hold <-chan struct{}
	// InputTokens and OutputTokens, when not zero, are the tokens the answer reports using, in place
	// of an estimate from the sizes of the request and the answer: a test makes a turn cost what it
	// needs (Claude Code prices its tokens itself). Only the Anthropic server (NewServer) honours them.
	InputTokens, OutputTokens int
}

// Write is a step that calls Claude Code's Write tool. Its file_path must be absolute.
func Write(path, content string) Step {
	return Step{ToolName: "Write", ToolInput: map[string]any{"file_path": path, "content": content}}
}

// Bash is a step that calls Claude Code's Bash tool.
func Bash(command string) Step {
	return Step{ToolName: "Bash", ToolInput: map[string]any{"command": command, "description": "Run a command"}}
}

// Edit is a step that calls Claude Code's Edit tool. Its file_path must be absolute.
func Edit(path, oldString, newString string) Step {
	return Step{ToolName: "Edit", ToolInput: map[string]any{"file_path": path, "old_string": oldString,
		"new_string": newString}}
}

// Request is one request the server received.
type Request struct {
	Time    time.Time
	Method  string
	Path    string
	Query   string
	Headers http.Header // X-Api-Key is "set" (with KeyIDHeader naming which key) or "missing", Authorization (when sent) "set": never a secret
	Body    []byte
	Step    int  // index of the script step that answered it; -1 when the script was not used
	Retry   bool // the same conversation as the agent turn before: answered with that turn's step again
}

// Server is a scripted Anthropic Messages API on 127.0.0.1.
//
// Every POST /v1/messages that carries tools is an agent turn and gets the next step, in order (the
// same conversation sent again right after a normal answer is a retry, and gets that answer again);
// once the script is used up it gets the final text "done". Other requests never consume a step: HEAD (the
// CLI probes the base URL) gets 200, a message request without tools (a title or summary) gets a short
// text, /v1/messages/count_tokens gets a count, anything else a 404 in Anthropic's error JSON.
type Server struct {
	URL string

	srv     *httptest.Server
	closing chan struct{}
	once    sync.Once

	mu       sync.Mutex
	steps    []Step
	next     int
	lastTurn [sha256.Size]byte // the conversation of the last agent turn that took a step
	lastStep int               // the step it took; -1 when none since the script was set
	reqs     []Request
}

// NewServer starts a server that answers with steps; it is closed when the test ends.
func NewServer(t testing.TB, steps ...Step) *Server {
	t.Helper()
	s := &Server{steps: steps, closing: make(chan struct{}), lastStep: -1}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.Close)
	return s
}

// SetSteps replaces the script (for a test that can only write it once the server is running); the
// next agent turn gets its first step.
func (s *Server) SetSteps(steps ...Step) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.steps, s.next, s.lastStep = steps, 0, -1
}

// Close answers hanging requests and shuts the server down. It is safe to call twice.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.closing)
		s.srv.CloseClientConnections()
		s.srv.Close()
	})
}

// Requests returns the requests received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// messagesRequest is the part of a Messages API request body the server looks at.
type messagesRequest struct {
	Model    string            `json:"model"`
	Stream   bool              `json:"stream"`
	Tools    []json.RawMessage `json:"tools"`
	Messages json.RawMessage   `json:"messages"`
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec := Request{Time: time.Now(), Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Headers: redact(r.Header), Body: body, Step: -1}

	var req messagesRequest
	isMessages := r.Method == http.MethodPost && r.URL.Path == "/v1/messages"
	if isMessages {
		if err := json.Unmarshal(body, &req); err != nil {
			s.record(rec)
			writeError(w, http.StatusBadRequest, "req_modeltest_bad_json")
			return
		}
	}
	step := Step{Text: "done"}
	switch {
	case isMessages && len(req.Tools) > 0:
		// A client that retries a turn whose answer it did not get whole (cut short, timed out) sends
		// the same conversation again: it gets the same step, as a model would answer the same
		// question, and the script does not move on. A retry after an error or a hang step moves on,
		// as scripts of transient failures expect.
		turn := sha256.Sum256(req.Messages)
		s.mu.Lock()
		switch {
		case s.lastStep >= 0 && turn == s.lastTurn && s.lastStep < len(s.steps) &&
			s.steps[s.lastStep].Status == 0 && !s.steps[s.lastStep].Hang:
			step, rec.Step, rec.Retry = s.steps[s.lastStep], s.lastStep, true
		case s.next < len(s.steps):
			step, rec.Step = s.steps[s.next], s.next
			s.lastTurn, s.lastStep = turn, s.next
			s.next++
		}
		s.mu.Unlock()
	case isMessages:
		step = Step{Text: "Scripted task"}
	}
	n := s.record(rec)
	requestID := fmt.Sprintf("req_modeltest_%d", n)

	switch {
	case r.Method == http.MethodHead:
		w.WriteHeader(http.StatusOK)
	case r.Method == http.MethodPost && r.URL.Path == "/v1/messages/count_tokens":
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]int{"input_tokens": tokens(body)})
	case !isMessages:
		writeError(w, http.StatusNotFound, requestID)
	case step.Hang:
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
	case step.Status != 0:
		writeError(w, step.Status, requestID)
	case !s.held(r, step): // the client or the server went away while the answer was held
	default:
		model := req.Model
		if model == "" {
			model = "claude-modeltest"
		}
		t := turn{MsgID: fmt.Sprintf("msg_modeltest_%d", n), Model: model,
			ToolID: fmt.Sprintf("toolu_modeltest_%d", n), InputTokens: tokens(body), Step: step}
		if step.InputTokens > 0 {
			t.InputTokens = step.InputTokens
		}
		s.answer(w, req.Stream, t, requestID)
	}
}

// held waits until step's Hold is closed and reports whether it was: false when the client went away
// or the server is closing first.
func (s *Server) held(r *http.Request, step Step) bool {
	if step.Hold == nil {
		return true
	}
	select {
	case <-step.Hold:
		return true
	case <-r.Context().Done():
	case <-s.closing:
	}
	return false
}

// answer writes t as a stream or, when the request did not ask for one, as one JSON message.
func (s *Server) answer(w http.ResponseWriter, stream bool, t turn, requestID string) {
	input, err := toolInput(t.Step) // a bad ToolInput fails before anything is sent
	if err != nil {
		writeError(w, http.StatusInternalServerError, requestID)
		return
	}
	t.OutputTokens = 1 + (len(t.Step.Text)+len(input))/4
	if t.Step.OutputTokens > 0 {
		t.OutputTokens = t.Step.OutputTokens
	}
	w.Header().Set("Request-Id", requestID)
	if !stream {
		msg, err := message(t)
		if err != nil {
			writeError(w, http.StatusInternalServerError, requestID)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(msg)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	_ = writeStream(w, t)
}

// record appends rec to the log and returns its 1-based sequence number.
func (s *Server) record(rec Request) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, rec)
	return len(s.reqs)
}

// tokens estimates the input tokens of a request body: about four bytes a token.
func tokens(body []byte) int {
	return max(1, len(body)/4)
}

// KeyIDHeader is the recorded header that tells which API key a request carried, as KeyID gives it.
const KeyIDHeader = "X-Api-Key-Id"

// KeyID names an API key without revealing it: the first 12 hex digits of its SHA-256.
func KeyID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:6])
}

func redact(h http.Header) http.Header {
	h = h.Clone()
	if key := h.Get("X-Api-Key"); key != "" {
		h.Set("X-Api-Key", "set")
		h.Set(KeyIDHeader, KeyID(key))
	} else {
		h.Set("X-Api-Key", "missing")
	}
	if h.Get("Authorization") != "" {
		h.Set("Authorization", "set")
	}
	return h
}
