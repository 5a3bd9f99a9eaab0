package runner

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/command"
	"github.com/sesame-works/sesame/internal/textsafe"
)

func progressReply(t *sesame.Task, taskURL string) string {
	agent := t.Agent
	if agent == "" {
		agent = DefaultAgent
	}
	var b strings.Builder
	fmt.Fprintf(&b, "👀 **Sesame is on it.**\n\n")
	fmt.Fprintf(&b, "Task [`%s`](%s) · agent `%s`", t.ID, taskURL, agent)
	if t.Model != "" {
		fmt.Fprintf(&b, " · model `%s`", t.Model)
	}
	fmt.Fprintf(&b, "\n\nI'll update this comment as the task moves on. [Follow it live](%s).", taskURL)
	return b.String()
}

func helpReply() string { return command.Usage() }

func usageReply(reason string) string {
	return fmt.Sprintf("⚠️ Sesame could not read that command: %s\n\n%s", reason, command.Usage())
}

func deniedReply(login, repo, role string) string {
	return fmt.Sprintf("🔒 Sorry @%s, running Sesame on %s takes write, maintain or admin access to the repository, "+
		"and you have %s access. Ask a maintainer to run the command for you.", login, repo, role)
}

// stoppedBeforeStartReply tells a requester that their task was stopped while it waited to start.
func stoppedBeforeStartReply(by, taskURL string) string {
	if by == "" {
		by = "request"
	}
	return fmt.Sprintf("⏹️ Sesame stopped this task before it started (stopped by %s).\n\n<sub>[task log](%s)</sub>", by, taskURL)
}

// resultReply is the progress comment's final text.
func resultReply(t *sesame.Task, o outcome, taskURL string) string {
	var b strings.Builder
	switch {
	case o.prURL != "":
		fmt.Fprintf(&b, "🚀 **Sesame opened #%d.**\n\n", o.prNumber)
	case o.noChanges:
		fmt.Fprintf(&b, "🤷 **Sesame finished without changing anything**, so there is no pull request.\n\n")
	case o.status == sesame.StatusStopped:
		fmt.Fprintf(&b, "⏹️ **Sesame stopped this task.** %s\n\n", o.reason)
	default:
		fmt.Fprintf(&b, "❌ **Sesame could not finish this task.** %s\n\n", o.reason)
	}
	if s := strings.TrimSpace(textsafe.StripInvisible(o.summary)); s != "" {
		fmt.Fprintf(&b, "%s\n\n", quote(truncate(s, 4000)))
	}
	if note := sandboxNote(o); note != "" {
		fmt.Fprintf(&b, "%s\n\n", note)
	}
	if note := restartNote(o); note != "" {
		fmt.Fprintf(&b, "%s\n\n", note)
	}
	fmt.Fprintf(&b, "<sub>%s · [task log](%s)</sub>", runFacts(o), taskURL)
	return b.String()
}

// sandboxNote says what the sandbox did: that OS-level restrictions were off, or what they
// blocked. Empty when the agent did not run, or ran confined and nothing was blocked.
func sandboxNote(o outcome) string {
	switch {
	case o.violations == nil:
		return ""
	case !o.secured:
		return "⚠️ OS-level restrictions were off for this task: the agent's file and network access was not confined to its workspace and allowlist."
	}
	if s := o.violations.summary(); s != "" {
		return "🛡️ The sandbox blocked what the agent tried outside its limits: " + s + "."
	}
	return ""
}

// prBody describes the pull request: what was asked, by whom, what the agent said, and what it took.
// The instruction and the agent's summary come without invisible characters (textsafe.StripInvisible),
// so that neither can show a reviewer other words than it holds.
func prBody(t *sesame.Task, o outcome, taskURL string) string {
	var b strings.Builder
	if s := strings.TrimSpace(textsafe.StripInvisible(o.summary)); s != "" {
		fmt.Fprintf(&b, "%s\n\n", truncate(s, 20000))
	}
	switch {
	case t.Source == sesame.SourceWeb:
		fmt.Fprintf(&b, "Requested by %s in Sesame", requester(t))
	case t.IsPullRequest:
		fmt.Fprintf(&b, "Requested in #%d by @%s", t.IssueNumber, t.Requester)
	default:
		fmt.Fprintf(&b, "Fixes #%d by @%s", t.IssueNumber, t.Requester)
	}
	fmt.Fprintf(&b, ":\n\n%s\n\n", quote(textsafe.StripInvisible(t.Instruction)))
	if note := sandboxNote(o); note != "" {
		fmt.Fprintf(&b, "%s\n\n", note)
	}
	fmt.Fprintf(&b, "---\n<sub>Written by Sesame · [task %s](%s) · %s</sub>\n", t.ID, taskURL, runFacts(o))
	return b.String()
}

func runFacts(o outcome) string {
	facts := []string{"agent `" + o.agent + "`"}
	if o.model != "" {
		facts = append(facts, "model `"+o.model+"`")
	}
	if o.duration > 0 {
		facts = append(facts, o.duration.Round(time.Second).String())
	}
	if n := o.usage.InputTokens + o.usage.OutputTokens; n > 0 {
		facts = append(facts, fmt.Sprintf("%d tokens in, %d out", o.usage.InputTokens, o.usage.OutputTokens))
	}
	if o.usage.CostUSD > 0 {
		facts = append(facts, fmt.Sprintf("$%.4f", o.usage.CostUSD))
	}
	return strings.Join(facts, " · ")
}

// commitMessage names the request in the commit.
func commitMessage(t *sesame.Task, taskURL string) string {
	if t.Source == sesame.SourceWeb {
		return fmt.Sprintf("%s\n\nRequested by %s in Sesame.\nSesame task: %s", title(t.Instruction), requester(t), taskURL)
	}
	return fmt.Sprintf("%s\n\nRequested by @%s in %s#%d.\nSesame task: %s", title(t.Instruction), t.Requester, t.Repo, t.IssueNumber, taskURL)
}

// requester names who asked for a task from the web app (a name a user chose: without invisible characters).
func requester(t *sesame.Task) string {
	if r := strings.TrimSpace(textsafe.StripInvisible(t.Requester)); r != "" {
		return r
	}
	return "a Sesame user"
}

// title is the instruction's first line, cut to fit a commit subject or a pull request title, without
// invisible characters (textsafe.StripInvisible): a bidi override must not make a title read other than
// it says.
func title(instruction string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(textsafe.StripInvisible(instruction)), "\n")
	line = strings.TrimSpace(line)
	if r := []rune(line); len(r) > 72 {
		line = strings.TrimSpace(string(r[:71])) + "…"
	}
	if line == "" {
		return "Changes requested through Sesame"
	}
	r, size := utf8.DecodeRuneInString(line)
	return string(unicode.ToUpper(r)) + line[size:]
}

func quote(s string) string {
	return "> " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n> ")
}
