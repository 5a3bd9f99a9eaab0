package command

import (
	"fmt"
	"strings"
)

// Agents is the list of known agent names, in display order. The first,
// claude (Claude Code), is the default. The slice is new on every call.
func Agents() []string {
	var names []string
	for _, a := range agents() {
		names = append(names, a.name)
	}
	return names
}

type agent struct{ name, title string }

func agents() []agent {
	return []agent{
		{"claude", "Claude Code, the default"},
		{"codex", "OpenAI Codex CLI"},
		{"gemini", "Gemini CLI"},
		{"copilot", "GitHub Copilot CLI"},
		{"opencode", "opencode"},
	}
}

// Usage is the help text (markdown) shown for `/sesame help` and under a
// usage error.
func Usage() string {
	var list []string
	for _, a := range agents() {
		list = append(list, fmt.Sprintf("`%s` (%s)", a.name, a.title))
	}
	// ′ stands for a backquote, which a raw string literal cannot hold.
	return strings.ReplaceAll(`**Usage:** ′/sesame <instruction> [--agent NAME] [--model NAME]′

Start a line with ′/sesame′ (in any case). The instruction is the rest of that line and the lines right after it, up to the first blank line. Quoted (′>′) lines, code blocks and HTML comments are ignored. ′/sesame help′ shows this message.

Flags go on the ′/sesame′ line, before or after the instruction:

- ′--agent NAME′: the coding agent to run, one of `+strings.Join(list, ", ")+`.
- ′--model NAME′: the model the agent should use, as its vendor names it (letters, digits and ′. _ - : / @ [ ]′), e.g. ′claude-sonnet-4-5′.
- ′--′: ends the flags; the rest of the line is instruction, even words starting with a dash.

Examples:

′′′
/sesame fix the typo in the README header
/sesame --agent codex add a test for the login handler
/sesame --agent gemini --model gemini-2.5-pro -- make -v print the version
′′′
`, "′", "`")
}
