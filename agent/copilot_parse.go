package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// copilotLine is one line of Copilot CLI's --output-format json stream: a session event, or the
// final result.
type copilotLine struct {
	Type      string      `json:"type"`      // assistant.message, tool.execution_complete, session.error, result, ...
	Ephemeral bool        `json:"ephemeral"` // a progress event (deltas, starts) that the session log does not keep
	Data      copilotData `json:"data"`

	// result
	ExitCode json.RawMessage `json:"exitCode"` // a number; anything else is not a success
	Usage    *copilotUsage   `json:"usage"`
}

// copilotData is the data of the session events the parser reads; fields of every type it cares about.
type copilotData struct {
	Model string `json:"model"` // session.tools_updated, assistant.message, model.call_failure

	// assistant.message
	Content      string               `json:"content"`
	ToolRequests []copilotToolRequest `json:"toolRequests"`

	// tool.execution_complete
	ToolCallID string          `json:"toolCallId"`
	Success    bool            `json:"success"`
	Result     *copilotResult  `json:"result"`
	Error      json.RawMessage `json:"error"` // a string or {"message": ...}

	// session.error, model.call_failure
	Message      string `json:"message"`
	ErrorType    string `json:"errorType"`
	ErrorMessage string `json:"errorMessage"`
	StatusCode   int    `json:"statusCode"`

	// assistant.usage
	InputTokens      int     `json:"inputTokens"`
	OutputTokens     int     `json:"outputTokens"`
	CacheReadTokens  int     `json:"cacheReadTokens"`
	CacheWriteTokens int     `json:"cacheWriteTokens"`
	Cost             float64 `json:"cost"` // the model's premium-request multiplier, not dollars
}

type copilotToolRequest struct {
	ToolCallID string          `json:"toolCallId"`
	Name       string          `json:"name"`
	Arguments  json.RawMessage `json:"arguments"` // an object, or a string for a custom tool (apply_patch)
}

type copilotResult struct {
	Content string `json:"content"`
}

type copilotUsage struct {
	PremiumRequests float64 `json:"premiumRequests"`
}

// copilotParser parses Copilot CLI's JSON Lines output.
type copilotParser struct {
	tools     map[string]string // tool name by tool call id, to name tool results
	model     string            // the model, once known
	lastText  string            // the last assistant text
	lastError string            // the last error reported
	failed    bool              // a session.error came: the session failed, whatever the exit code says
	turns     int               // assistant messages
	usage     Usage             // summed from assistant.usage events, when the CLI prints them
	result    *copilotLine
}

func (p *copilotParser) Feed(line []byte) []Event {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] != '{' {
		return nil // not part of the stream: a blank line or stray output
	}
	var l copilotLine
	if err := unmarshal(line, &l); err != nil {
		return []Event{{Type: EventError, Text: fmt.Sprintf("Copilot CLI printed a line that is not valid JSON: %v", err)}}
	}
	d := l.Data
	switch l.Type {
	case "session.tools_updated":
		// The first event that names the model; it comes once the session is set up.
		if p.model == "" && d.Model != "" {
			p.model = d.Model
			return []Event{{Type: EventSystem, Text: "init", Model: d.Model}}
		}
	case "assistant.message":
		if l.Ephemeral {
			return nil
		}
		return p.assistant(d)
	case "tool.execution_complete":
		if l.Ephemeral {
			return nil
		}
		e := Event{Type: EventToolResult, Tool: p.tools[d.ToolCallID], ToolID: d.ToolCallID, IsError: !d.Success}
		if d.Result != nil {
			e.Output = d.Result.Content
		}
		if e.IsError && e.Output == "" {
			e.Output = copilotErrorText(d.Error)
		}
		return []Event{e}
	case "assistant.usage":
		// Its cost is the model's multiplier of premium requests (what the Copilot plan bills), not
		// dollars: the usage has no cost, and is counted from its tokens.
		u := Usage{InputTokens: d.InputTokens - d.CacheReadTokens, OutputTokens: d.OutputTokens,
			CacheReadTokens: d.CacheReadTokens, CacheWriteTokens: d.CacheWriteTokens}
		p.usage.InputTokens += u.InputTokens
		p.usage.OutputTokens += u.OutputTokens
		p.usage.CacheReadTokens += u.CacheReadTokens
		p.usage.CacheWriteTokens += u.CacheWriteTokens
		return []Event{{Type: EventUsage, Usage: &u, Model: d.Model}}
	case "session.error", "model.call_failure":
		msg := copilotErrorMessage(l.Type, d)
		p.lastError = msg
		// A failed model call may be retried and succeed; a session error ends the session.
		p.failed = p.failed || l.Type == "session.error"
		return []Event{{Type: EventError, Text: msg}}
	case "result":
		return p.finish(l)
	}
	return nil
}

func (p *copilotParser) assistant(d copilotData) []Event {
	p.turns++
	var events []Event
	if d.Content != "" {
		p.lastText = d.Content
		events = append(events, Event{Type: EventText, Text: d.Content})
	}
	for _, t := range d.ToolRequests {
		p.tools[t.ToolCallID] = t.Name
		events = append(events, Event{Type: EventToolCall, Tool: t.Name, ToolID: t.ToolCallID,
			Input: bytes.Clone(t.Arguments)})
	}
	return events
}

// copilotErrorMessage is the text of a session.error or model.call_failure, with its kind and status.
func copilotErrorMessage(typ string, d copilotData) string {
	msg := firstNonEmpty(d.Message, providerErrorText(d.ErrorMessage))
	if msg == "" {
		msg = "the model call failed"
		if typ == "session.error" {
			msg = "the session failed"
		}
	}
	var detail []string
	if d.ErrorType != "" && !strings.Contains(strings.ToLower(msg), strings.ToLower(d.ErrorType)) {
		detail = append(detail, d.ErrorType)
	}
	if d.StatusCode != 0 && !strings.Contains(msg, fmt.Sprint(d.StatusCode)) {
		detail = append(detail, fmt.Sprintf("HTTP %d", d.StatusCode))
	}
	if len(detail) > 0 {
		msg += " (" + strings.Join(detail, ", ") + ")"
	}
	return msg
}

// providerErrorText reads a provider's error, which model.call_failure passes on as the JSON the
// provider answered ({"message": ..., "type": ...}) or as text.
func providerErrorText(s string) string {
	var e struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Error   *struct {
			Message string `json:"message"`
			Type    string `json:"type"`
		} `json:"error"`
	}
	if !strings.HasPrefix(s, "{") || json.Unmarshal([]byte(s), &e) != nil {
		return s
	}
	if e.Error != nil {
		e.Message, e.Type = e.Error.Message, e.Error.Type
	}
	if e.Message == "" {
		return s
	}
	return e.Message
}

// copilotErrorText reads a failed tool's error, given as a string or as {"message": ...}.
func copilotErrorText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var e struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(raw, &e)
	return e.Message
}

func (p *copilotParser) finish(l copilotLine) []Event {
	p.result = &l
	r := p.Result()
	return []Event{resultEvent(r)}
}

// Result is OK only when the result line said exit code 0 and no session.error came before it.
func (p *copilotParser) Result() Result {
	r := Result{Summary: p.lastText, Usage: p.usage, Turns: p.turns}
	l := p.result
	if l == nil {
		r.Error = "Copilot CLI ended without a result"
		if p.lastError != "" {
			r.Error += ": " + p.lastError
		}
		return r
	}
	code := -1
	if json.Unmarshal(l.ExitCode, &code) != nil {
		code = -1
	}
	if code == 0 && !p.failed {
		r.OK = true
		return r
	}
	r.Error = firstNonEmpty(p.lastError, "Copilot CLI failed")
	if code > 0 {
		r.Error += fmt.Sprintf(" (exit code %d)", code)
	}
	return r
}

// ParseCopilotUsage reads the file Copilot CLI writes with --usage-output-file FILE when the session
// ends: the only place it reports tokens. Its stdout has none, so a run's Result has zero usage unless
// the runner passes that flag (FILE inside the sandbox, e.g. under /tmp), reads FILE once the process
// has exited, and puts what this returns into the Result. It sums the tokens of every model the
// session called; Copilot reports no cost in dollars.
func ParseCopilotUsage(data []byte) (Usage, error) {
	var f struct {
		ModelMetrics map[string]struct {
			Usage struct {
				InputTokens      int `json:"inputTokens"`
				OutputTokens     int `json:"outputTokens"`
				CacheReadTokens  int `json:"cacheReadTokens"`
				CacheWriteTokens int `json:"cacheWriteTokens"`
			} `json:"usage"`
		} `json:"modelMetrics"`
	}
	if err := unmarshal(data, &f); err != nil {
		return Usage{}, fmt.Errorf("copilot usage file: %w", err)
	}
	var u Usage
	for _, m := range f.ModelMetrics {
		// inputTokens counts the cached ones too, as in the API's usage.
		u.InputTokens += m.Usage.InputTokens - m.Usage.CacheReadTokens
		u.OutputTokens += m.Usage.OutputTokens
		u.CacheReadTokens += m.Usage.CacheReadTokens
		u.CacheWriteTokens += m.Usage.CacheWriteTokens
	}
	return u, nil
}
