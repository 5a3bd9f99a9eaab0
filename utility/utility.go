// Package utility asks the utility model (AI_API_KEY, AI_BASE_URL, AI_MODEL) for the small texts a
// task needs besides the agent's work: the words of its branch name, its commit message and its pull
// request title. Any OpenAI-compatible Chat Completions API works (OpenAI, Anthropic's compatible
// endpoint, Ollama, vLLM, ...).
//
// Every question is bounded (Timeout) and every answer is checked: a branch name's words are a few
// lower-case ASCII words, a subject or a title one line without invisible or control characters, at
// most 72 characters. A caller that gets an error keeps its own deterministic names; the model is a
// nicety, never a step a task can fail on. The package imports only the domain and the standard library.
package utility

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	sesame "github.com/sesame-works/sesame"
)

// Timeout is how long one question to the utility model may take, from the request sent to the answer
// read, unless Client.Timeout says otherwise. A task asks at most two (the branch before the agent
// runs, the commit message and title after), so a model that hangs delays a task by at most twice this.
const Timeout = 10 * time.Second

// Defaults of the settings, as config's registry has them.
const (
	DefaultBaseURL = "https://api.openai.com/v1"
	DefaultModel   = "gpt-4o-mini"
)

// maxAnswer bounds the body of an answer read, in bytes.
const maxAnswer = 1 << 20

// Settings say which model to ask: ai.apiKey (AI_API_KEY, or its alias OPENAI_API_KEY), ai.baseUrl
// and ai.model.
type Settings struct {
	APIKey  string
	BaseURL string // "" means DefaultBaseURL
	Model   string // "" means DefaultModel
}

// Enabled reports whether the settings name a model to ask: an API key is set, or the base URL is
// another than OpenAI's (a local Ollama or vLLM needs no key). With neither, nothing is asked.
func (s Settings) Enabled() bool {
	return s.APIKey != "" || (s.baseURL() != DefaultBaseURL && s.baseURL() != "")
}

func (s Settings) baseURL() string {
	u := strings.TrimRight(strings.TrimSpace(s.BaseURL), "/")
	if u == "" {
		return DefaultBaseURL
	}
	return u
}

// where is the base URL for an error message: without a password it may hold.
func (s Settings) where() string {
	if u, err := url.Parse(s.baseURL()); err == nil {
		return u.Redacted()
	}
	return "the configured AI_BASE_URL"
}

func (s Settings) model() string {
	if m := strings.TrimSpace(s.Model); m != "" {
		return m
	}
	return DefaultModel
}

// Client asks the utility model. Its zero value asks nothing (no settings); it is safe for concurrent use.
type Client struct {
	// Settings returns the settings as they are now; they are read at each question, so that a change
	// saved in the admin settings applies to the next task without a restart. nil: never enabled.
	Settings func() Settings
	// HTTP sends the requests; nil means a client of its own. Its own timeout, if any, also applies.
	HTTP *http.Client
	// Timeout bounds each question; 0 means Timeout.
	Timeout time.Duration
}

// BranchWords returns a few lower-case ASCII words joined by dashes that say what the request asks
// ("fix-login-timeout"), for the caller to make a branch name of. It returns "" and no error when no
// model is configured, and an error when the model failed, was too slow or gave an answer that is not
// such words. req.Diff is not sent.
func (c *Client) BranchWords(ctx context.Context, req sesame.NamingRequest) (string, error) {
	set, ok := c.settings()
	if !ok {
		return "", nil
	}
	req.Diff = ""
	answer, err := c.ask(ctx, set, branchPrompt, requestText(req))
	if err != nil {
		return "", err
	}
	return branchWords(answer)
}

// ChangeNames returns a commit message (subject and body) and a pull request title for req's diff. It
// returns the zero ChangeNames and no error when no model is configured, and an error when the model
// failed, was too slow or gave an answer without a usable subject. A title the model left out or got
// wrong is the subject; a body that breaks a rule is left out.
func (c *Client) ChangeNames(ctx context.Context, req sesame.NamingRequest) (sesame.ChangeNames, error) {
	set, ok := c.settings()
	if !ok {
		return sesame.ChangeNames{}, nil
	}
	answer, err := c.ask(ctx, set, changePrompt, requestText(req))
	if err != nil {
		return sesame.ChangeNames{}, err
	}
	return changeNames(answer)
}

// Enabled reports whether the settings, as they are now, name a model to ask (Settings.Enabled).
func (c *Client) Enabled() bool {
	_, ok := c.settings()
	return ok
}

func (c *Client) settings() (Settings, bool) {
	if c == nil || c.Settings == nil {
		return Settings{}, false
	}
	s := c.Settings()
	return s, s.Enabled()
}

// chatRequest is the body of a Chat Completions request. Neither temperature nor a token limit is
// sent: some models refuse one or the other (OpenAI's reasoning models refuse max_tokens), and the
// timeout bounds an answer anyway.
type chatRequest struct {
	Model    string        `json:"model"`
	Messages []chatMessage `json:"messages"`
	Stream   bool          `json:"stream"`
}

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// chatResponse is the part of a Chat Completions answer read: the first choice's text, which some
// compatible servers send as a list of parts.
type chatResponse struct {
	Choices []struct {
		Message struct {
			Content json.RawMessage `json:"content"`
		} `json:"message"`
	} `json:"choices"`
}

// apiError is OpenAI's error body, which compatible servers copy.
type apiError struct {
	Error struct {
		Message string `json:"message"`
		Type    string `json:"type"`
	} `json:"error"`
}

// ask sends system and user as one question and returns the answer's text.
func (c *Client) ask(ctx context.Context, set Settings, system, user string) (string, error) {
	limit := c.Timeout
	if limit <= 0 {
		limit = Timeout
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	body, err := json.Marshal(chatRequest{Model: set.model(), Messages: []chatMessage{
		{Role: "system", Content: system}, {Role: "user", Content: user}}})
	if err != nil {
		return "", err
	}
	endpoint := set.baseURL() + "/chat/completions"
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("utility model at %s: %w", set.where(), err)
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Accept", "application/json")
	if set.APIKey != "" { // a local Ollama has none, and gets no header
		hr.Header.Set("Authorization", "Bearer "+set.APIKey)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	start := time.Now()
	resp, err := hc.Do(hr)
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return "", fmt.Errorf("utility model at %s gave no answer within %s", set.where(), limit)
		}
		return "", fmt.Errorf("utility model at %s: %w", set.where(), errors.Unwrap(err)) // *url.Error repeats the URL
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return "", fmt.Errorf("utility model at %s gave no whole answer within %s", set.where(), limit)
		}
		return "", fmt.Errorf("utility model at %s: read the answer: %w", set.where(), err)
	}
	if resp.StatusCode/100 != 2 {
		var e apiError
		_ = json.Unmarshal(raw, &e)
		msg := oneLine(e.Error.Message, 200)
		if msg == "" {
			msg = http.StatusText(resp.StatusCode)
		}
		return "", fmt.Errorf("utility model at %s answered %d: %s", set.where(), resp.StatusCode, msg)
	}
	var cr chatResponse
	if err := json.Unmarshal(raw, &cr); err != nil || len(cr.Choices) == 0 {
		return "", fmt.Errorf("utility model at %s answered %d in %s without a Chat Completions choice",
			set.where(), resp.StatusCode, time.Since(start).Round(time.Millisecond))
	}
	return content(cr.Choices[0].Message.Content), nil
}

// content is a message's text: a string, or the text parts of a list.
func content(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) != nil {
		return ""
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "" || p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}
