package runner

import (
	"fmt"
	"strings"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/command"
)

func progressReply(t *sesame.Task, taskURL string) string {
	agent := t.Agent
	if agent == "" {
		agent = command.Agents()[0]
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

func helpReply() string {
	return command.Usage()
}

func usageReply(reason string) string {
	return fmt.Sprintf("⚠️ Sesame could not read that command: %s\n\n%s", reason, command.Usage())
}

func deniedReply(login, repo, role string) string {
	return fmt.Sprintf("🔒 Sorry @%s, running Sesame on %s takes write, maintain or admin access to the repository, "+
		"and you have %s access. Ask a maintainer to run the command for you.", login, repo, role)
}

func failedReply(reason, taskURL string) string {
	return fmt.Sprintf("❌ **Sesame could not finish this task.** %s\n\n[See the task](%s).", reason, taskURL)
}
