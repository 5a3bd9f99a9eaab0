package modeltest

import (
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

// UtilityServer is an OpenAI-compatible Chat Completions API on 127.0.0.1 as Sesame's utility model
// is asked (utility.Client): one question at a time, not streamed, without tools, a system message
// saying what is asked and a user message with the request. Any base URL under URL works (a POST to
// any path ending in /chat/completions is a question).
//
// Each question is answered by the function given (SetAnswer replaces it): a Step's Text is the
// answer's content, Hang never answers (until the client goes away or the server closes), Status
// answers that HTTP status with OpenAI's error JSON. Every request is recorded, its Authorization
// header as "set" when sent (never the key) and absent when not.
type UtilityServer struct {
	URL string
	script

	answerMu sync.Mutex
	answer   func(Question) Step
}

// Question is what a utility request asked, read from its JSON body.
type Question struct {
	Model  string
	System string // the system messages, joined by blank lines
	User   string // the user messages, joined by blank lines
}

// NewUtilityServer starts a server that answers each question with answer; it is closed when the
// test ends.
func NewUtilityServer(t testing.TB, answer func(Question) Step) *UtilityServer {
	t.Helper()
	s := &UtilityServer{answer: answer}
	s.init(nil)
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.Close)
	return s
}

// SetAnswer replaces the function that answers the next questions.
func (s *UtilityServer) SetAnswer(answer func(Question) Step) {
	s.answerMu.Lock()
	defer s.answerMu.Unlock()
	s.answer = answer
}

// Questions returns the questions received so far, in order (requests whose body was not a Chat
// Completions request are left out).
func (s *UtilityServer) Questions() []Question {
	var out []Question
	for _, r := range s.Requests() {
		if q, err := question(r.Body); err == nil {
			out = append(out, q)
		}
	}
	return out
}

// question reads a Chat Completions request body.
func question(body []byte) (Question, error) {
	var req struct {
		Model    string `json:"model"`
		Messages []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return Question{}, err
	}
	q := Question{Model: req.Model}
	var system, user []string
	for _, m := range req.Messages {
		switch m.Role {
		case "system", "developer":
			system = append(system, m.Content)
		case "user":
			user = append(user, m.Content)
		}
	}
	q.System, q.User = strings.Join(system, "\n\n"), strings.Join(user, "\n\n")
	return q, nil
}

func (s *UtilityServer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec := Request{Time: time.Now(), Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Headers: redact(r.Header), Body: body, Step: -1}
	n := s.record(rec)
	requestID := fmt.Sprintf("req_modeltest_%d", n)
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/chat/completions") {
		writeOpenAIError(w, http.StatusNotFound, requestID)
		return
	}
	q, err := question(body)
	if err != nil {
		writeOpenAIError(w, http.StatusBadRequest, requestID)
		return
	}
	s.answerMu.Lock()
	answer := s.answer
	s.answerMu.Unlock()
	step := Step{Text: "done"}
	if answer != nil {
		step = answer(q)
	}
	switch {
	case step.Hang:
		s.hang(r)
		return
	case step.Status != 0:
		writeOpenAIError(w, step.Status, requestID)
		return
	}
	model := q.Model
	if model == "" {
		model = "gpt-modeltest"
	}
	t := chatTurn{ID: fmt.Sprintf("chatcmpl-modeltest-%d", n), Model: model, Created: time.Now().Unix(),
		InputTokens: tokens(body), OutputTokens: 1 + len(step.Text)/4, Step: Step{Text: step.Text}}
	w.Header().Set("X-Request-Id", requestID)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(chatCompletion(t, nil))
}
