package agent_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sesame-works/sesame/agent"
)

// TestClaudeParserCopiesWhatItKeeps: the runner feeds every line from one reused buffer, so the parser
// and its events must not keep a reference to it.
func TestClaudeParserCopiesWhatItKeeps(t *testing.T) {
	lines := []string{
		`{"type":"system","subtype":"init","model":"claude-sonnet-4-5"}`,
		`{"type":"assistant","message":{"content":[{"type":"text","text":"Looking."},{"type":"tool_use","id":"tu_1","name":"Read","input":{"file_path":"README.md"}}]}}`,
		`{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"tu_1","content":"# Hello"}]}}`,
		`{"type":"assistant","message":{"content":[{"type":"text","text":"Fixed the typo."}]}}`,
	}
	p := agent.Claude{}.NewParser()
	buf := make([]byte, 0, 1024)
	var events []agent.Event
	for _, l := range lines {
		buf = append(buf[:0], l...)
		events = append(events, p.Feed(buf)...)
		for i := range buf {
			buf[i] = '#' // what the next line would leave there
		}
	}
	want := []agent.Event{
		{Type: agent.EventSystem, Text: "init", Model: "claude-sonnet-4-5"},
		{Type: agent.EventText, Text: "Looking."},
		{Type: agent.EventToolCall, Tool: "Read", ToolID: "tu_1", Input: []byte(`{"file_path":"README.md"}`)},
		{Type: agent.EventToolResult, Tool: "Read", ToolID: "tu_1", Output: "# Hello"},
		{Type: agent.EventText, Text: "Fixed the typo."},
	}
	if diff := cmp.Diff(want, events); diff != "" {
		t.Errorf("events after their lines' memory was reused (-want +got):\n%s", diff)
	}
	if r := p.Result(); r.Summary != "Fixed the typo." {
		t.Errorf("Result().Summary = %q after the line's memory was reused", r.Summary)
	}
}
