package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// geminiLine is one line of Gemini CLI's stream-json output; fields of every type it cares about.
type geminiLine struct {
	Type  string `json:"type"`  // init, message, tool_use, tool_result, error, result
	Model string `json:"model"` // init

	// message
	Role    string `json:"role"` // user, assistant
	Content string `json:"content"`
	Delta   bool   `json:"delta"` // a piece of the assistant's text, to append to the pieces before it

	// tool_use, tool_result
	ToolName   string          `json:"tool_name"`
	ToolID     string          `json:"tool_id"`
	Parameters json.RawMessage `json:"parameters"`
	Status     string          `json:"status"` // tool_result and result: success, error
	Output     string          `json:"output"`

	// error (a warning or an error during the run), and tool_result and result when they failed
	Severity string       `json:"severity"`
	Message  string       `json:"message"`
	Error    *geminiError `json:"error"`
	Stats    *geminiStats `json:"stats"`
}

type geminiError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

type geminiStats struct {
	InputTokens  int `json:"input_tokens"`
	OutputTokens int `json:"output_tokens"`
	Cached       int `json:"cached"`
}

// geminiParser parses Gemini CLI's stream-json output.
type geminiParser struct {
	tools     map[string]string // tool name by tool_id, to name tool results
	text      strings.Builder   // the assistant's text since the last tool call: the answer so far
	lastText  string            // the last assistant text before a tool call or the end
	lastError string            // the last error the stream reported
	turns     int               // model turns: text, tool calls, or text then tool calls
	last      string            // the type of the last message, tool_use or tool_result line
	result    *geminiLine
}

func (p *geminiParser) Feed(line []byte) []Event {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] != '{' {
		return nil // not part of the stream: a blank line or stray output
	}
	var l geminiLine
	if err := unmarshal(line, &l); err != nil {
		return []Event{{Type: EventError, Text: fmt.Sprintf("Gemini CLI printed a line that is not valid JSON: %v", err)}}
	}
	switch l.Type {
	case "init":
		return []Event{{Type: EventSystem, Text: "init", Model: l.Model}}
	case "message":
		if l.Role != "assistant" || l.Content == "" {
			return nil // the prompt echoed back
		}
		// The answer comes in pieces ("delta": true); a piece after a tool call starts a new turn.
		if p.last != "message" {
			p.turns++
			p.text.Reset()
		} else if !l.Delta {
			p.text.Reset()
		}
		p.last = "message"
		p.text.WriteString(l.Content)
		p.lastText = p.text.String()
		return []Event{{Type: EventText, Text: l.Content}}
	case "tool_use":
		// Calls right after a text or another call belong to the same turn; a call after a tool's
		// result is the model's next turn.
		if p.last == "" || p.last == "tool_result" {
			p.turns++
		}
		p.last = "tool_use"
		p.text.Reset()
		p.tools[l.ToolID] = l.ToolName
		return []Event{{Type: EventToolCall, Tool: l.ToolName, ToolID: l.ToolID, Input: l.Parameters}}
	case "tool_result":
		p.last = "tool_result"
		e := Event{Type: EventToolResult, Tool: p.tools[l.ToolID], ToolID: l.ToolID, Output: l.Output,
			IsError: l.Status != "success"}
		if e.IsError && e.Output == "" && l.Error != nil {
			e.Output = l.Error.Message
		}
		return []Event{e}
	case "error":
		msg := firstNonEmpty(l.Message, errorMessage(l.Error))
		if msg == "" {
			return nil
		}
		if l.Severity == "warning" {
			return nil // e.g. a loop warning: the run goes on
		}
		p.lastError = msg
		return []Event{{Type: EventError, Text: msg}}
	case "result":
		return p.finish(l)
	}
	return nil
}

func errorMessage(e *geminiError) string {
	if e == nil {
		return ""
	}
	return e.Message
}

func (p *geminiParser) finish(l geminiLine) []Event {
	p.result = &l
	r := p.Result()
	return []Event{resultEvent(r)}
}

// Result is OK only when a result line said "success". The summary is the assistant's last text: the
// result line carries only the status and the stats.
func (p *geminiParser) Result() Result {
	l := p.result
	if l == nil {
		msg := "Gemini CLI ended without a result"
		if p.lastError != "" {
			msg += ": " + p.lastError
		}
		return Result{Summary: p.lastText, Error: msg, Turns: p.turns}
	}
	r := Result{OK: l.Status == "success", Summary: p.lastText, Turns: p.turns}
	if s := l.Stats; s != nil {
		// input_tokens counts the cached ones too.
		r.Usage.InputTokens, r.Usage.OutputTokens = s.InputTokens-s.Cached, s.OutputTokens
		r.Usage.CacheReadTokens = s.Cached
	}
	if !r.OK {
		r.Error = firstNonEmpty(apiErrorText(errorMessage(l.Error)), p.lastError, "Gemini CLI failed")
		if l.Error != nil && l.Error.Type != "" && l.Error.Type != "unknown" && !strings.Contains(r.Error, l.Error.Type) {
			r.Error += " (" + l.Error.Type + ")"
		}
	}
	return r
}

// apiErrorText makes a failed API call's message readable: Gemini CLI reports it as
// `[API Error: {"error":{"code":401,"message":"API key not valid...","status":"UNAUTHENTICATED"}}]`,
// which becomes "API key not valid... (HTTP 401, UNAUTHENTICATED)". Other messages are kept.
func apiErrorText(msg string) string {
	body, ok := strings.CutPrefix(msg, "[API Error: ")
	if !ok {
		return msg
	}
	body = strings.TrimSuffix(body, "]")
	var e struct {
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			Status  string `json:"status"`
		} `json:"error"`
	}
	if !strings.HasPrefix(body, "{") || json.Unmarshal([]byte(body), &e) != nil || e.Error.Message == "" {
		return "API error: " + body
	}
	var detail []string
	if e.Error.Code != 0 {
		detail = append(detail, fmt.Sprintf("HTTP %d", e.Error.Code))
	}
	if e.Error.Status != "" {
		detail = append(detail, e.Error.Status)
	}
	if len(detail) == 0 {
		return e.Error.Message
	}
	return e.Error.Message + " (" + strings.Join(detail, ", ") + ")"
}
