package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// claudeLine is one line of Claude Code's stream-json output; fields of every type it cares about.
type claudeLine struct {
	Type    string         `json:"type"`    // system, assistant, user, result, ...
	Subtype string         `json:"subtype"` // system: init; result: success, error_max_turns, ...
	Model   string         `json:"model"`   // system init
	Message *claudeMessage `json:"message"` // assistant, user
	// Error is set on an assistant line that reports a failed API call, e.g. "authentication_failed".
	Error json.RawMessage `json:"error"`

	// result
	IsError   bool            `json:"is_error"`
	Result    string          `json:"result"`
	NumTurns  int             `json:"num_turns"`
	CostUSD   float64         `json:"total_cost_usd"`
	Usage     *claudeUsage    `json:"usage"`
	Errors    json.RawMessage `json:"errors"`
	APIStatus json.RawMessage `json:"api_error_status"`
}

type claudeMessage struct {
	Content json.RawMessage `json:"content"` // a string or a list of blocks
	// assistant: the model's message id, the model and the tokens of the API call that made it
	ID    string       `json:"id"`
	Model string       `json:"model"`
	Usage *claudeUsage `json:"usage"`
}

type claudeBlock struct {
	Type      string          `json:"type"` // text, thinking, tool_use, tool_result, ...
	Text      string          `json:"text"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	ToolUseID string          `json:"tool_use_id"`
	Content   json.RawMessage `json:"content"` // tool_result: a string or a list of blocks
	IsError   bool            `json:"is_error"`
}

type claudeUsage struct {
	InputTokens      int `json:"input_tokens"`
	OutputTokens     int `json:"output_tokens"`
	CacheReadTokens  int `json:"cache_read_input_tokens"`
	CacheWriteTokens int `json:"cache_creation_input_tokens"`
}

// claudeParser parses Claude Code's stream-json output.
type claudeParser struct {
	tools     map[string]string // tool name by tool_use id, to name tool results
	lastText  string            // the last assistant text, a summary when no result came
	lastError string            // the last error reported before the result
	errorKind string            // the kind of that error, e.g. "authentication_failed"
	result    *claudeLine
	// counted is the usage already reported for each model message id: Claude Code prints a
	// message in several lines (one per content block), each with the message's usage so far.
	counted map[string]Usage
}

func (p *claudeParser) Feed(line []byte) []Event {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] != '{' {
		return nil // not part of the stream: a blank line or stray output
	}
	var l claudeLine
	if err := unmarshal(line, &l); err != nil {
		return []Event{{Type: EventError, Text: fmt.Sprintf("Claude Code printed a line that is not valid JSON: %v", err)}}
	}
	switch l.Type {
	case "system":
		if l.Subtype == "init" {
			return []Event{{Type: EventSystem, Text: "init", Model: l.Model}}
		}
	case "assistant":
		return p.assistant(l)
	case "user":
		return p.user(l)
	case "result":
		return p.finish(l)
	}
	return nil
}

func (p *claudeParser) assistant(l claudeLine) []Event {
	var events []Event
	failed := len(l.Error) > 0 && string(l.Error) != "null"
	if failed {
		p.errorKind = "error"
		_ = json.Unmarshal(l.Error, &p.errorKind)
	}
	if e, ok := p.turnUsage(l.Message); ok {
		events = append(events, e)
	}
	for _, b := range blocks(l.Message) {
		switch b.Type {
		case "text":
			if b.Text == "" {
				continue
			}
			if failed {
				p.lastError = b.Text
				events = append(events, Event{Type: EventError, Text: b.Text})
				continue
			}
			p.lastText = b.Text
			events = append(events, Event{Type: EventText, Text: b.Text})
		case "tool_use":
			p.tools[b.ID] = b.Name
			events = append(events, Event{Type: EventToolCall, Tool: b.Name, ToolID: b.ID, Input: b.Input})
		}
	}
	return events
}

// turnUsage is the usage event of an assistant message: the tokens of its API call not reported yet
// for the same message id. Claude Code prints an assistant line as each content block ends, with
// the usage the API had reported by then: the input and cache tokens are whole from the first line,
// the output tokens may still grow. It reports no cost per call (only the result has the run's
// total_cost_usd), so the event has none. ok is false when nothing is new.
func (p *claudeParser) turnUsage(m *claudeMessage) (Event, bool) {
	if m == nil || m.Usage == nil || m.ID == "" {
		return Event{}, false
	}
	now := Usage{InputTokens: m.Usage.InputTokens, OutputTokens: m.Usage.OutputTokens,
		CacheReadTokens: m.Usage.CacheReadTokens, CacheWriteTokens: m.Usage.CacheWriteTokens}
	if p.counted == nil {
		p.counted = map[string]Usage{}
	}
	was := p.counted[m.ID]
	p.counted[m.ID] = Usage{InputTokens: max(now.InputTokens, was.InputTokens), OutputTokens: max(now.OutputTokens, was.OutputTokens),
		CacheReadTokens: max(now.CacheReadTokens, was.CacheReadTokens), CacheWriteTokens: max(now.CacheWriteTokens, was.CacheWriteTokens)}
	u := Usage{InputTokens: max(0, now.InputTokens-was.InputTokens), OutputTokens: max(0, now.OutputTokens-was.OutputTokens),
		CacheReadTokens: max(0, now.CacheReadTokens-was.CacheReadTokens), CacheWriteTokens: max(0, now.CacheWriteTokens-was.CacheWriteTokens)}
	if u == (Usage{}) {
		return Event{}, false
	}
	return Event{Type: EventUsage, Usage: &u, Model: m.Model}, true
}

func (p *claudeParser) user(l claudeLine) []Event {
	var events []Event
	for _, b := range blocks(l.Message) {
		if b.Type != "tool_result" {
			continue
		}
		events = append(events, Event{Type: EventToolResult, Tool: p.tools[b.ToolUseID], ToolID: b.ToolUseID,
			Output: text(b.Content), IsError: b.IsError})
	}
	return events
}

func (p *claudeParser) finish(l claudeLine) []Event {
	p.result = &l
	r := p.Result()
	return []Event{resultEvent(r)}
}

// Result is OK only when a result line said "success" and is_error was false: after a failed API call
// Claude Code can still report subtype "success" with is_error true.
func (p *claudeParser) Result() Result {
	l := p.result
	if l == nil {
		msg := "Claude Code ended without a result"
		if p.lastError != "" {
			msg += ": " + p.lastError
		}
		return Result{Summary: p.lastText, Error: msg}
	}
	r := Result{OK: l.Subtype == "success" && !l.IsError, Turns: l.NumTurns}
	r.Usage.CostUSD = l.CostUSD
	if u := l.Usage; u != nil {
		r.Usage.InputTokens, r.Usage.OutputTokens = u.InputTokens, u.OutputTokens
		r.Usage.CacheReadTokens, r.Usage.CacheWriteTokens = u.CacheReadTokens, u.CacheWriteTokens
	}
	if r.OK {
		r.Summary = l.Result
		if r.Summary == "" {
			r.Summary = p.lastText
		}
		return r
	}
	r.Error = firstNonEmpty(l.Result, errorList(l.Errors), p.lastError, "Claude Code failed")
	// The text alone can be terse ("Invalid API key · Fix external API key"): add the kind and status.
	var detail []string
	if p.errorKind != "" {
		detail = append(detail, strings.ReplaceAll(p.errorKind, "_", " "))
	}
	var status int
	if json.Unmarshal(l.APIStatus, &status) == nil && status != 0 {
		detail = append(detail, fmt.Sprintf("HTTP %d", status))
	}
	if l.Subtype != "success" && l.Subtype != "" {
		detail = append(detail, l.Subtype)
	}
	if len(detail) > 0 {
		r.Error += " (" + strings.Join(detail, ", ") + ")"
	}
	return r
}

// blocks returns the content blocks of m; string content (a plain prompt) has none.
func blocks(m *claudeMessage) []claudeBlock {
	if m == nil || len(m.Content) == 0 || m.Content[0] != '[' {
		return nil
	}
	var bs []claudeBlock
	if unmarshal(m.Content, &bs) != nil {
		return nil
	}
	return bs
}

// text returns tool result content, given as a string or as a list of blocks whose text parts it joins.
func text(content json.RawMessage) string {
	var s string
	if json.Unmarshal(content, &s) == nil {
		return s
	}
	var parts []string
	var bs []claudeBlock
	if unmarshal(content, &bs) == nil {
		for _, b := range bs {
			if b.Type == "text" {
				parts = append(parts, b.Text)
			}
		}
	}
	return strings.Join(parts, "\n")
}

// unmarshal is json.Unmarshal that keeps what it could decode from valid JSON whose fields have other
// types than expected (a newer CLI may change one), and fails only on JSON that does not parse.
func unmarshal(data []byte, v any) error {
	var typeErr *json.UnmarshalTypeError
	if err := json.Unmarshal(data, v); err != nil && !errors.As(err, &typeErr) {
		return err
	}
	return nil
}

// errorList joins the "errors" of a failed result, given as strings.
func errorList(raw json.RawMessage) string {
	var errs []string
	if json.Unmarshal(raw, &errs) != nil {
		return ""
	}
	return strings.Join(errs, "; ")
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
