package bot

import (
	"strings"
	"testing"

	sesame "github.com/sesame-works/sesame"
)

// A task stopped at a budget with its partial work on a draft says so, with the runner's reason (the
// budget, what was spent, the draft), on GitHub and on Slack; a task stopped without a pull request
// reads as before.
func TestStoppedAtBudgetReplies(t *testing.T) {
	reason := "Sesame stopped the agent at its cost budget of $0.05 (--budget); it had spent $0.16. What it did so far is in the draft pull request #7."
	draft := sesame.TaskReport{Status: sesame.StatusStopped, Reason: reason, PRNumber: 7, PRURL: "https://github.com/o/r/pull/7", Branch: "sesame/7-x"}
	noPR := sesame.TaskReport{Status: sesame.StatusStopped, Reason: "Stopped by alice."}
	for _, tc := range []struct {
		name, got string
		want      []string
		not       []string
	}{
		{name: "GitHub, a draft", got: resultReply(draft, "https://s.example/tasks/1"),
			want: []string{"⏹️ **Stopped at budget.** " + reason}, not: []string{"opened #7"}},
		{name: "GitHub, stopped by someone", got: resultReply(noPR, "https://s.example/tasks/1"),
			want: []string{"⏹️ **Sesame stopped this task.** Stopped by alice."}},
		{name: "Slack, a draft", got: slackResultText(draft, "https://s.example/tasks/1"),
			want: []string{"⏹️ Stopped at its budget. " + reason, "🚀 Pull request: https://github.com/o/r/pull/7"}},
	} {
		for _, w := range tc.want {
			if !strings.Contains(tc.got, w) {
				t.Errorf("%s: reply lacks %q:\n%s", tc.name, w, tc.got)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(tc.got, n) {
				t.Errorf("%s: reply holds %q:\n%s", tc.name, n, tc.got)
			}
		}
	}
}
