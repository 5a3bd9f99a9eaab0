package bot

import (
	"context"
	"fmt"
	"strings"

	sesame "github.com/sesame-works/sesame"
)

// Queued puts 👀 on the requester's comment and says, in the task's reply (posted once, then edited
// as the line moves), behind which task it waits and at what place. Acknowledge turns the reply into
// the progress comment when the task's turn comes.
func (o *GitHubOrigin) Queued(ctx context.Context, t *sesame.Task, place sesame.LinePlace) error {
	if err := o.react(ctx, t, "eyes"); err != nil {
		return err
	}
	return o.reply(ctx, t, queuedReply(t, o.taskURL(t.ID), place, o.taskURL(place.Behind)))
}

// queuedReply is the reply of a task waiting in its thread's line.
func queuedReply(t *sesame.Task, taskURL string, place sesame.LinePlace, behindURL string) string {
	where := "issue"
	if t.IsPullRequest {
		where = "pull request"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "⏳ **Queued behind task [`%s`](%s) (position %d).** ", place.Behind, behindURL, place.Position)
	fmt.Fprintf(&b, "Sesame runs one task at a time on this %s; this one starts when the tasks before it have ended.\n\n", where)
	fmt.Fprintf(&b, "Task [`%s`](%s) · agent `%s`", t.ID, taskURL, agentOrDefault(t.Agent))
	if t.Model != "" {
		fmt.Fprintf(&b, " · model `%s`", t.Model)
	}
	fmt.Fprintf(&b, "\n\nI'll update this comment as the line moves. Until the task starts, editing your comment "+
		"changes what it asks, and deleting it cancels the task.")
	return b.String()
}

// agentOrDefault names the agent a task runs: "" is the default agent.
func agentOrDefault(agent string) string {
	if agent == "" {
		return "claude"
	}
	return agent
}
