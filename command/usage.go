package command

import (
	"fmt"
	"strings"

	"github.com/sesame-works/sesame/agent"
)

// Agents is the list of agent names a command may choose with --agent: those of the agent catalog
// (agent.Catalog) that Sesame can run, in its order. The first, claude (Claude Code), is the default.
// The slice is new on every call.
func Agents() []string {
	return agent.Names()
}

// checkAgent returns the catalog name of the agent a --agent value names (matched without regard to
// case), or the reason it cannot be chosen.
func checkAgent(value string) (string, error) {
	name := strings.ToLower(value)
	e, ok := agent.Find(name)
	switch {
	case !ok:
		return "", usageErrorf("unknown agent %s (known agents: %s)", quoteShort(value), strings.Join(Agents(), ", "))
	case !e.Runnable():
		return "", usageErrorf("Sesame cannot run %s yet (agents it runs: %s)", e.Title, strings.Join(Agents(), ", "))
	}
	return name, nil
}

// Usage is the help text (markdown) shown for `/sesame help` and under a
// usage error. It lists the agents of the catalog: those Sesame can run, and
// those it cannot run yet apart.
func Usage() string {
	var list, notYet []string
	for i, e := range agent.Catalog() {
		switch {
		case !e.Runnable():
			notYet = append(notYet, e.Title)
		case i == 0:
			list = append(list, fmt.Sprintf("`%s` (%s, the default)", e.Name, e.Title))
		default:
			list = append(list, fmt.Sprintf("`%s` (%s)", e.Name, e.Title))
		}
	}
	agents := strings.Join(list, ", ")
	if len(notYet) > 0 {
		agents += ". Sesame cannot run " + orList(notYet) + " yet"
	}
	// The --agent example names the last agent Sesame can run (the default when it is the only one).
	example := "claude"
	if names := Agents(); len(names) > 0 {
		example = names[len(names)-1]
	}
	// ′ stands for a backquote, which a raw string literal cannot hold.
	return strings.ReplaceAll(`**Usage:** ′/sesame <instruction> [--agent NAME] [--model NAME]′

Start a line with ′/sesame′ (in any case). The instruction is the rest of that line and the lines right after it, up to the first blank line. Quoted (′>′) lines, code blocks and HTML comments are ignored. ′/sesame help′ shows this message.

Flags go on the ′/sesame′ line, before or after the instruction:

- ′--agent NAME′: the coding agent to run, one of `+agents+`.
- ′--model NAME′: the model the agent should use, as its vendor names it (letters, digits and ′. _ - : / @ [ ]′), e.g. ′claude-sonnet-4-5′.
- ′--′: ends the flags; the rest of the line is instruction, even words starting with a dash.

Examples:

′′′
/sesame fix the typo in the README header
/sesame --agent `+example+` add a test for the login handler
/sesame --model claude-sonnet-4-5 -- make -v print the version
′′′
`, "′", "`")
}

// orList joins words as a sentence lists them: "a", "a or b", "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}
