package bot

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/command"
	"github.com/sesame-works/sesame/internal/textsafe"
)

// The words of Sesame's Slack messages (Slack's mrkdwn: *bold*, `code`, <url|label>).

// SlackStopAction is the action_id of a task message's Stop button; its value is the task id.
const SlackStopAction = "sesame_stop"

// slackUsage is the help text of the slash command.
func slackUsage() string {
	return "*Usage:* `/sesame owner/repo <instruction> [--agent NAME] [--model NAME]`\n" +
		"• `/sesame owner/repo fix the flaky login test`: an agent works on owner/repo and opens a pull request.\n" +
		"• `/sesame <instruction>`: the same, on this channel's default repository.\n" +
		"• `/sesame repo owner/repo`: makes owner/repo this channel's default repository (`/sesame repo` shows it).\n" +
		"• `--agent NAME`: one of " + strings.Join(command.Agents(), ", ") + " (claude is the default). " +
		"`--model NAME`: the model the agent should use. `--` ends the flags.\n" +
		"• `/sesame help`: this message.\n" +
		"You act as your Sesame account (the one with the email you use in Slack): you may start tasks on the repositories your connected GitHub account can write to."
}

func slackUsageError(reason string) string {
	return fmt.Sprintf("⚠️ Sesame could not read that command: %s\n\n%s", reason, slackUsage())
}

// slackNotLinked says why a Slack member cannot ask Sesame, and how to fix it.
func slackNotLinked(email string) string {
	if email == "" {
		return "🔒 Sesame could not see the email address of your Slack account, so it cannot tell which Sesame account is yours. " +
			"Ask a Slack admin to check that the Sesame app has the users:read.email scope."
	}
	return fmt.Sprintf("🔒 No Sesame account has the email address you use in Slack (%s), so Sesame cannot tell who you are. "+
		"Ask a Sesame admin to create an account with that email, then sign in to Sesame and connect your GitHub account in Settings.", email)
}

// slackLinkOffer offers a member Sesame does not know a one-time link to their account.
func slackLinkOffer(link string) string {
	return fmt.Sprintf("Or, if you have a Sesame account, open <%s|this link> while signed in to Sesame to link your Slack account to it "+
		"(it works once, for %d minutes); then run the command again.", link, int(sesame.SlackLinkTTL/time.Minute))
}

// slackEscape escapes text for Slack's mrkdwn and strips invisible characters.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(textsafe.StripInvisible(s))
}

// slackCode is s as inline code, without backquotes that would end it.
func slackCode(s string) string {
	return "`" + strings.ReplaceAll(slackEscape(s), "`", "'") + "`"
}

// slackTaskHeader is the first lines of a task's message: what was asked, on which repository.
func slackTaskHeader(t *sesame.Task, taskURL string) string {
	agent := t.Agent
	if agent == "" {
		agent = "claude"
	}
	line := fmt.Sprintf("Task <%s|%s> on *%s* · agent %s", taskURL, t.ID[:min(8, len(t.ID))], slackEscape(t.Repo), slackCode(agent))
	if t.Model != "" {
		line += " · model " + slackCode(t.Model)
	}
	return fmt.Sprintf("%s\n>%s", line, strings.ReplaceAll(slackEscape(slackTruncate(strings.TrimSpace(t.Instruction), 300)), "\n", "\n>"))
}

// slackProgressText is a running task's message: where it is now.
func slackProgressText(t *sesame.Task, taskURL string, p *slackProgress) string {
	var b strings.Builder
	if p != nil && p.restarts > 0 {
		fmt.Fprintf(&b, "🔁 *Sesame is on it again* (the worker stopped; restart %d)\n", p.restarts)
	} else {
		b.WriteString("👀 *Sesame is on it*\n")
	}
	b.WriteString(slackTaskHeader(t, taskURL))
	stage := "⏳ Queued"
	if p != nil {
		switch p.status {
		case sesame.StatusPreparing:
			stage = "⏳ Preparing the workspace"
		case sesame.StatusRunning:
			stage = "⚙️ The agent is working"
			if !p.running.IsZero() {
				stage += fmt.Sprintf(" (%s)", time.Since(p.running).Round(time.Second))
			}
			if p.step != "" {
				stage += " · latest: " + slackCode(slackTruncate(p.step, 200))
			}
		case sesame.StatusPushing:
			stage = "⬆️ Pushing the branch"
		}
	}
	fmt.Fprintf(&b, "\n%s", stage)
	return b.String()
}

// slackFinalText is a task's message once it ended.
func slackFinalText(t *sesame.Task, taskURL string, rep sesame.TaskReport) string {
	var head string
	switch {
	case rep.PRURL != "":
		head = fmt.Sprintf("🚀 *Sesame opened <%s|#%d>*", rep.PRURL, rep.PRNumber)
	case rep.Status == sesame.StatusCompleted && rep.NoChanges:
		head = "🤷 *Sesame finished without changing anything*"
	case rep.Status == sesame.StatusCompleted:
		head = "✅ *Sesame finished*"
	case rep.Status == sesame.StatusStopped:
		head = "⏹️ *Sesame stopped this task*"
	default:
		head = "❌ *Sesame could not finish this task*"
	}
	text := head + "\n" + slackTaskHeader(t, taskURL)
	if d := rep.Duration.Round(time.Second); d > 0 {
		text += fmt.Sprintf("\nRan %s", d)
	}
	return text
}

// slackResultText is the thread reply with how the task ended.
func slackResultText(rep sesame.TaskReport, taskURL string) string {
	var b strings.Builder
	switch {
	case rep.PRURL != "" && rep.Status == sesame.StatusStopped: // stopped at a budget, its partial work there
		fmt.Fprintf(&b, "⏹️ Stopped at its budget. %s\n🚀 Pull request: %s\n", slackEscape(rep.Reason), rep.PRURL)
	case rep.PRURL != "":
		fmt.Fprintf(&b, "🚀 Pull request: %s\n", rep.PRURL)
	case rep.NoChanges:
		b.WriteString("🤷 The agent finished without changing anything, so there is no pull request.\n")
	case rep.Status == sesame.StatusStopped:
		fmt.Fprintf(&b, "⏹️ Stopped. %s\n", slackEscape(rep.Reason))
	case rep.Status == sesame.StatusFailed:
		fmt.Fprintf(&b, "❌ Failed. %s\n", slackEscape(rep.Reason))
	}
	if s := strings.TrimSpace(textsafe.StripInvisible(rep.Summary)); s != "" {
		fmt.Fprintf(&b, ">%s\n", strings.ReplaceAll(slackEscape(slackTruncate(s, 2500)), "\n", "\n>"))
	}
	var facts []string
	if rep.CostUSD > 0 {
		facts = append(facts, fmt.Sprintf("cost $%.2f", rep.CostUSD))
	}
	if d := rep.Duration.Round(time.Second); d > 0 {
		facts = append(facts, "ran "+d.String())
	}
	if rep.Branch != "" {
		facts = append(facts, "branch "+slackCode(rep.Branch))
	}
	facts = append(facts, fmt.Sprintf("<%s|task log>", taskURL))
	b.WriteString(strings.Join(facts, " · "))
	return b.String()
}

// slackBlocks lays text out as a section, with the Stop button of task id when stop is set.
func slackBlocks(text, id string, stop bool) []slack.Block {
	blocks := []slack.Block{slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, slackTruncate(text, 2900), false, false), nil, nil)}
	if stop {
		button := slack.NewButtonBlockElement(SlackStopAction, id, slack.NewTextBlockObject(slack.PlainTextType, "Stop", false, false))
		button.Style = slack.StyleDanger
		blocks = append(blocks, slack.NewActionBlock("sesame_actions", button))
	}
	return blocks
}

// slackTruncate cuts s to at most n bytes on a rune boundary, marking the cut.
func slackTruncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// markdownLink and markdownBold are the markdown of a command's answer (sesame.TaskReport.Text)
// that mrkdwn writes otherwise.
var (
	markdownLink = regexp.MustCompile(`\[([^\]\n]+)\]\(([^)\s]+)\)`)
	markdownBold = regexp.MustCompile(`\*\*([^*\n]+)\*\*`)
)

// slackMarkdown is the markdown of a command's answer in Slack's mrkdwn: escaped, [label](url) as
// <url|label> (a label's backquotes dropped: Slack shows them as they are there) and **bold** as *bold*.
func slackMarkdown(md string) string {
	s := slackEscape(md)
	s = markdownLink.ReplaceAllStringFunc(s, func(m string) string {
		sub := markdownLink.FindStringSubmatch(m)
		return "<" + sub[2] + "|" + strings.ReplaceAll(sub[1], "`", "") + ">"
	})
	return markdownBold.ReplaceAllString(s, "*$1*")
}
