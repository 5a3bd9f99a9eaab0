package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// codexLine is one line of codex exec --json output; fields of every type it cares about.
type codexLine struct {
	Type     string      `json:"type"` // thread.started, turn.started, item.*, turn.completed, turn.failed, error
	ThreadID string      `json:"thread_id"`
	Item     *codexItem  `json:"item"`    // item.started, item.updated, item.completed
	Usage    *codexUsage `json:"usage"`   // turn.completed
	Error    *codexError `json:"error"`   // turn.failed
	Message  string      `json:"message"` // error
}

type codexItem struct {
	ID   string `json:"id"`
	Type string `json:"type"` // agent_message, reasoning, command_execution, file_change, mcp_tool_call, web_search, todo_list, error

	Text string `json:"text"` // agent_message, reasoning

	Command          string `json:"command"` // command_execution
	AggregatedOutput string `json:"aggregated_output"`
	ExitCode         *int   `json:"exit_code"`
	Status           string `json:"status"` // in_progress, completed, failed, declined

	Changes json.RawMessage `json:"changes"` // file_change: [{"path":…,"kind":"add"|"delete"|"update"}]

	Server    string          `json:"server"` // mcp_tool_call
	Tool      string          `json:"tool"`
	Arguments json.RawMessage `json:"arguments"`
	Result    json.RawMessage `json:"result"`
	ItemError *codexError     `json:"error"`

	Query string `json:"query"` // web_search

	Message string `json:"message"` // error
}

type codexUsage struct {
	InputTokens       int `json:"input_tokens"`
	CachedInputTokens int `json:"cached_input_tokens"`
	CacheWriteTokens  int `json:"cache_write_input_tokens"`
	OutputTokens      int `json:"output_tokens"`
}

type codexError struct {
	Message string `json:"message"`
}

// codexParser parses codex exec --json output. Codex runs the prompt as one turn of many model calls;
// the turn ends with turn.completed (success, with the turn's usage) or turn.failed.
type codexParser struct {
	started   map[string]bool // ids of items whose tool call was reported
	lastText  string          // the last agent message: the summary
	lastError string          // the last error reported
	turns     int             // turns started
	completed int             // turns completed
	failed    string          // the error of a failed turn, "" when none failed
	usage     Usage
}

func (p *codexParser) Feed(line []byte) []Event {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] != '{' {
		return nil
	}
	var l codexLine
	if err := unmarshal(line, &l); err != nil {
		return []Event{{Type: EventError, Text: fmt.Sprintf("Codex printed a line that is not valid JSON: %v", err)}}
	}
	switch l.Type {
	case "thread.started":
		return []Event{{Type: EventSystem, Text: "init"}}
	case "turn.started":
		p.turns++
	case "item.started":
		if l.Item != nil {
			return p.call(l.Item)
		}
	case "item.completed":
		if l.Item != nil {
			return p.done(l.Item)
		}
	case "turn.completed":
		p.completed++
		if u := l.Usage; u != nil {
			// OpenAI counts cached tokens within the input tokens; Usage counts them apart, as Anthropic does.
			p.usage.InputTokens += max(0, u.InputTokens-u.CachedInputTokens)
			p.usage.CacheReadTokens += u.CachedInputTokens
			p.usage.CacheWriteTokens += u.CacheWriteTokens
			p.usage.OutputTokens += u.OutputTokens
		}
		return p.result()
	case "turn.failed":
		p.failed = "Codex failed"
		if l.Error != nil && l.Error.Message != "" {
			p.failed = l.Error.Message
		}
		return p.result()
	case "error":
		if l.Message != "" {
			p.lastError = l.Message
			return []Event{{Type: EventError, Text: l.Message}}
		}
	}
	return nil
}

// call reports the tool call of an item that is one: a command, a file change, an MCP tool call or a
// web search.
func (p *codexParser) call(it *codexItem) []Event {
	var input any
	switch it.Type {
	case "command_execution":
		input = map[string]any{"command": it.Command}
	case "file_change":
		input = map[string]any{"changes": it.Changes}
	case "mcp_tool_call":
		input = map[string]any{"server": it.Server, "tool": it.Tool, "arguments": it.Arguments}
	case "web_search":
		input = map[string]any{"query": it.Query}
	default:
		return nil
	}
	if p.started == nil {
		p.started = map[string]bool{}
	}
	if p.started[it.ID] {
		return nil
	}
	p.started[it.ID] = true
	raw, _ := json.Marshal(input)
	return []Event{{Type: EventToolCall, Tool: codexTool(it), ToolID: it.ID, Input: raw}}
}

func (p *codexParser) done(it *codexItem) []Event {
	switch it.Type {
	case "agent_message":
		if it.Text == "" {
			return nil
		}
		p.lastText = it.Text
		return []Event{{Type: EventText, Text: it.Text}}
	case "error":
		if it.Message == "" {
			return nil
		}
		p.lastError = it.Message
		return []Event{{Type: EventError, Text: it.Message}}
	}
	events := p.call(it) // an item may be reported only once it is done
	if events == nil && !p.started[it.ID] {
		return nil // not a tool
	}
	r := Event{Type: EventToolResult, Tool: codexTool(it), ToolID: it.ID,
		IsError: it.Status == "failed" || it.Status == "declined"}
	switch it.Type {
	case "command_execution":
		r.Output = it.AggregatedOutput
		r.IsError = r.IsError || it.ExitCode != nil && *it.ExitCode != 0
	case "file_change":
		r.Output = string(it.Changes)
	case "mcp_tool_call":
		r.Output = string(it.Result)
		if it.ItemError != nil && it.ItemError.Message != "" {
			r.Output, r.IsError = it.ItemError.Message, true
		}
	}
	return append(events, r)
}

// codexTool names the tool of an item: its type, or the MCP server and tool it called.
func codexTool(it *codexItem) string {
	if it.Type == "mcp_tool_call" && it.Tool != "" {
		return it.Server + "." + it.Tool
	}
	return it.Type
}

func (p *codexParser) result() []Event {
	r := p.Result()
	return []Event{resultEvent(r)}
}

// Result is OK when every turn that started completed and none failed.
func (p *codexParser) Result() Result {
	r := Result{Summary: p.lastText, Usage: p.usage, Turns: p.turns}
	switch {
	case p.failed != "":
		r.Error = p.failed
	case p.completed == 0 || p.completed < p.turns:
		r.Error = "Codex ended without finishing its turn"
		if p.lastError != "" {
			r.Error += ": " + p.lastError
		}
	default:
		r.OK = true
	}
	return r
}
