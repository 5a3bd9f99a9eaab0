package bot

import (
	"fmt"
	"strings"
	"time"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/command"
	"github.com/sesame-works/sesame/internal/textsafe"
)

// The words of Sesame's GitHub comments.

// progressReply is the progress comment: what was taken and, once it moves, where it is now.
func progressReply(t *sesame.Task, taskURL string, now *progressComment) string {
	agent := t.Agent
	if agent == "" {
		agent = "claude"
	}
	var b strings.Builder
	if now != nil && now.restarts > 0 {
		fmt.Fprintf(&b, "🔁 **Sesame is on it again.** The worker running this task stopped before it finished, "+
			"so the task is running again from the start (restart %d).\n\n", now.restarts)
	} else {
		fmt.Fprintf(&b, "👀 **Sesame is on it.**\n\n")
	}
	fmt.Fprintf(&b, "Task [`%s`](%s) · agent `%s`", t.ID, taskURL, agent)
	if t.Model != "" {
		fmt.Fprintf(&b, " · model `%s`", t.Model)
	}
	if now != nil {
		if line := progressLine(now); line != "" {
			fmt.Fprintf(&b, "\n\n%s", line)
		}
	}
	fmt.Fprintf(&b, "\n\nI'll update this comment as the task moves on. [Follow it live](%s).", taskURL)
	return b.String()
}

// progressLine is where the task is: its stage, how long the agent has run, its latest step.
func progressLine(pc *progressComment) string {
	var stage string
	switch pc.status {
	case sesame.StatusPreparing:
		stage = "⏳ Preparing the workspace"
	case sesame.StatusRunning:
		stage = "⚙️ The agent is working"
	case sesame.StatusPushing:
		stage = "⬆️ Pushing the branch"
	default:
		return ""
	}
	if !pc.running.IsZero() && pc.status == sesame.StatusRunning {
		stage += fmt.Sprintf(" (%s)", time.Since(pc.running).Round(time.Second))
	}
	if pc.step != "" && pc.status == sesame.StatusRunning {
		stage += " · latest: `" + strings.ReplaceAll(textsafe.StripInvisible(pc.step), "`", "'") + "`"
	}
	return stage
}

func helpReply() string { return command.Usage() }

func usageReply(reason string) string {
	return fmt.Sprintf("⚠️ Sesame could not read that command: %s\n\n%s", reason, command.Usage())
}

func deniedReply(login, repo, role string) string {
	return fmt.Sprintf("🔒 Sorry @%s, running Sesame on %s takes write, maintain or admin access to the repository, "+
		"and you have %s access. Ask a maintainer to run the command for you.", login, repo, role)
}

// resultReply is the progress comment's final text.
func resultReply(rep sesame.TaskReport, taskURL string) string {
	var b strings.Builder
	switch {
	case rep.Status == sesame.StatusStopped && rep.PRURL != "": // stopped at a budget: its partial work is there
		fmt.Fprintf(&b, "⏹️ **Stopped at budget.** %s\n\n", rep.Reason)
	case rep.OnPullRequest && rep.PRURL != "":
		b.WriteString(pushedLine(rep))
	case rep.PRURL != "":
		fmt.Fprintf(&b, "🚀 **Sesame opened #%d.**\n\n", rep.PRNumber)
	case rep.NoChanges:
		fmt.Fprintf(&b, "🤷 **Sesame finished without changing anything**, so there is no pull request.\n\n")
	case rep.Status == sesame.StatusStopped:
		fmt.Fprintf(&b, "⏹️ **Sesame stopped this task.** %s\n\n", rep.Reason)
	default:
		fmt.Fprintf(&b, "❌ **Sesame could not finish this task.** %s\n\n", rep.Reason)
	}
	if s := strings.TrimSpace(textsafe.StripInvisible(rep.Summary)); s != "" {
		fmt.Fprintf(&b, "%s\n\n", quote(truncate(s, 4000)))
	}
	for _, note := range rep.Notes {
		fmt.Fprintf(&b, "%s\n\n", note)
	}
	fmt.Fprintf(&b, "<sub>%s · [task log](%s)</sub>", rep.Facts, taskURL)
	return b.String()
}

// pushedLine says what a task on an existing pull request pushed to its branch, linking each commit
// in the pull request.
func pushedLine(rep sesame.TaskReport) string {
	if len(rep.Commits) == 0 {
		return fmt.Sprintf("🚀 **Sesame pushed its changes to #%d.**\n\n", rep.PRNumber)
	}
	links := make([]string, len(rep.Commits))
	for i, c := range rep.Commits {
		links[i] = fmt.Sprintf("[`%.7s`](%s/commits/%s)", c, rep.PRURL, c)
	}
	line := fmt.Sprintf("🚀 **Sesame pushed %s to #%d.**", strings.Join(links, ", "), rep.PRNumber)
	if rep.Rebased {
		line += " The branch moved while the agent worked, so its changes were replayed onto the new head."
	}
	return line + "\n\n"
}

func quote(s string) string {
	return "> " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n> ")
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
