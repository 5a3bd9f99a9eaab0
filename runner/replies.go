package runner

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/internal/textsafe"
)

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

// prBody describes the pull request: what was asked, by whom (in the origin's words), what the agent
// said, and what it took. The instruction and the agent's summary come without invisible characters
// (textsafe.StripInvisible), so that neither can show a reviewer other words than it holds.
func prBody(t *sesame.Task, d sesame.RequestDescription, o outcome, taskURL string) string {
	var b strings.Builder
	if o.stop != nil {
		fmt.Fprintf(&b, "%s\n\n", draftNote(o))
	}
	if s := strings.TrimSpace(textsafe.StripInvisible(o.summary)); s != "" {
		fmt.Fprintf(&b, "%s\n\n", truncate(s, 20000))
	}
	fmt.Fprintf(&b, "%s:\n\n%s\n\n", textsafe.StripInvisible(d.PullRequest), quote(textsafe.StripInvisible(t.Instruction)))
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
	if o.usage.CostUSD > 0 && o.costEstimated {
		facts = append(facts, fmt.Sprintf("about $%.4f (tokens at listed prices)", o.usage.CostUSD))
	} else if o.usage.CostUSD > 0 {
		facts = append(facts, fmt.Sprintf("$%.4f", o.usage.CostUSD))
	}
	return strings.Join(facts, " · ")
}

// commitMessage names the request in the commit, in its origin's words.
func commitMessage(t *sesame.Task, d sesame.RequestDescription, taskURL string) string {
	return fmt.Sprintf("%s\n\n%s\nSesame task: %s", title(t.Instruction), textsafe.StripInvisible(d.Commit), taskURL)
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
