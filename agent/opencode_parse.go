package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// openCodeLine is one line of opencode run --format json output: an event with a message part, or an
// error.
type openCodeLine struct {
	Type  string          `json:"type"` // step_start, text, reasoning, tool_use, step_finish, error
	Part  *openCodePart   `json:"part"`
	Error json.RawMessage `json:"error"` // error: {"name":…,"data":{"message":…}} or a string
}

type openCodePart struct {
	Text string `json:"text"` // text

	Tool   string         `json:"tool"` // tool_use
	CallID string         `json:"callID"`
	State  *openCodeState `json:"state"`

	Reason string          `json:"reason"` // step_finish: stop, tool-calls, length, ...
	Tokens *openCodeTokens `json:"tokens"`
	Cost   float64         `json:"cost"`
}

type openCodeState struct {
	Status string          `json:"status"` // completed, error
	Input  json.RawMessage `json:"input"`
	Output string          `json:"output"`
	Error  string          `json:"error"`
}

type openCodeTokens struct {
	Input     int `json:"input"`
	Output    int `json:"output"`
	Reasoning int `json:"reasoning"`
	Cache     struct {
		Read  int `json:"read"`
		Write int `json:"write"`
	} `json:"cache"`
}

// openCodeError is what an error event says: OpenCode's named error with its data.
type openCodeError struct {
	Name string `json:"name"`
	Data struct {
		Message    string `json:"message"`
		StatusCode int    `json:"statusCode"`
	} `json:"data"`
	Message string `json:"message"`
}

// openCodeParser parses opencode run --format json output. OpenCode prints no final result: each
// model call is a step (step_start … step_finish with its tokens and cost), and the run is over when
// a step finishes for another reason than calling tools.
type openCodeParser struct {
	steps     int    // steps finished
	open      bool   // a step started and has not finished
	lastStop  string // the reason the last step finished
	lastText  string // the last assistant text: the summary
	lastError string // the last error reported
	usage     Usage
}

func (p *openCodeParser) Feed(line []byte) []Event {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] != '{' {
		return nil
	}
	var l openCodeLine
	if err := unmarshal(line, &l); err != nil {
		return []Event{{Type: EventError, Text: fmt.Sprintf("OpenCode printed a line that is not valid JSON: %v", err)}}
	}
	if l.Type == "error" {
		p.lastError = openCodeErrorText(l.Error)
		return []Event{{Type: EventError, Text: p.lastError}}
	}
	part := l.Part
	if part == nil {
		return nil
	}
	switch l.Type {
	case "step_start":
		p.open = true
	case "text":
		if part.Text == "" {
			return nil
		}
		p.lastText = part.Text
		return []Event{{Type: EventText, Text: part.Text}}
	case "tool_use":
		st := part.State
		if st == nil {
			return nil
		}
		call := Event{Type: EventToolCall, Tool: part.Tool, ToolID: part.CallID, Input: st.Input}
		switch st.Status {
		case "completed":
			return []Event{call, {Type: EventToolResult, Tool: part.Tool, ToolID: part.CallID, Output: st.Output}}
		case "error":
			return []Event{call, {Type: EventToolResult, Tool: part.Tool, ToolID: part.CallID, Output: st.Error,
				IsError: true}}
		}
		return []Event{call}
	case "step_finish":
		p.steps++
		p.open, p.lastStop = false, part.Reason
		var u Usage
		if t := part.Tokens; t != nil {
			// OpenCode counts reasoning tokens apart from output tokens; both are billed as output.
			u = Usage{InputTokens: t.Input, OutputTokens: t.Output + t.Reasoning, CacheReadTokens: t.Cache.Read,
				CacheWriteTokens: t.Cache.Write}
		}
		u.CostUSD = part.Cost
		p.usage.InputTokens += u.InputTokens
		p.usage.OutputTokens += u.OutputTokens
		p.usage.CacheReadTokens += u.CacheReadTokens
		p.usage.CacheWriteTokens += u.CacheWriteTokens
		p.usage.CostUSD += u.CostUSD
		return []Event{{Type: EventUsage, Usage: &u}}
	}
	return nil
}

// openCodeErrorText is the message of an error event, with the HTTP status when it names one.
func openCodeErrorText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil && s != "" {
		return s
	}
	var e openCodeError
	_ = unmarshal(raw, &e)
	msg := firstNonEmpty(e.Data.Message, e.Message, e.Name, "OpenCode reported an error")
	if e.Data.StatusCode != 0 {
		msg += fmt.Sprintf(" (HTTP %d)", e.Data.StatusCode)
	}
	return msg
}

// Result is OK when at least one step finished, the last one without asking for tools (the agent gave
// its answer), no step was left open and no error was reported. The runner still checks the exit code.
func (p *openCodeParser) Result() Result {
	r := Result{Summary: p.lastText, Usage: p.usage, Turns: p.steps}
	switch {
	case p.lastError != "":
		r.Error = p.lastError
	case p.steps == 0 || p.open || p.lastStop == "tool-calls":
		r.Error = "OpenCode ended before the agent finished"
	default:
		r.OK = true
	}
	return r
}
