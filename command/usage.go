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
	return strings.ReplaceAll(`**Usage:** ′/sesame <instruction> [--agent NAME] [--model NAME] [--base BRANCH] [--budget USD]′

Start a line with ′/sesame′ (in any case). The instruction is the rest of that line and the lines right after it, up to the first blank line. Quoted (′>′) lines, code blocks and HTML comments are ignored.

On an issue, the agent starts a new branch and Sesame opens a pull request. On a pull request whose branch is in this repository, the agent works on that branch, knowing the pull request's description and conversation, and Sesame pushes a new commit onto it (never forced); in a review comment, the agent is also told the file and lines, and the answer goes into the comment's thread. A pull request from a fork is answered, not run. One task runs at a time on an issue or pull request: a second request waits its turn.

Flags go on the ′/sesame′ line, before or after the instruction:

- ′--agent NAME′: the coding agent to run, one of `+agents+`.
- ′--model NAME′: the model the agent should use, as its vendor names it (letters, digits and ′. _ - : / @ [ ]′), e.g. ′claude-sonnet-4-5′.
- ′--base BRANCH′: the branch a task on an issue starts from; the repository's default branch when absent.
- ′--budget USD′: the most the task may spend, in US dollars (e.g. ′2.50′), up to the maximum the server allows; the server's budget when absent. An agent that reaches its budget is stopped, and what it did so far becomes a draft pull request.
- ′--′: ends the flags; the rest of the line is instruction, even words starting with a dash.

Commands, each alone on its ′/sesame′ line:

- ′/sesame status′: the tasks of this issue or pull request, with their state and links.
- ′/sesame stop′: stops the task of this issue or pull request that is running; its requester, a maintainer or an admin may.
- ′/sesame retry [--agent NAME] [--model NAME] [--base BRANCH] [--budget USD]′: runs the last failed or stopped task again, with the same instruction and options; the flags given replace them.
- ′/sesame help′: shows this message.

Examples:

′′′
/sesame fix the typo in the README header
/sesame --agent `+example+` add a test for the login handler
/sesame --model claude-sonnet-4-5 -- make -v print the version
/sesame --base release-2.x backport the fix for the login crash
/sesame --budget 2.50 refactor the config loader
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
