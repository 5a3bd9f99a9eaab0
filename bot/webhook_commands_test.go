package bot_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	sesame "github.com/sesame-works/sesame"
)

// TestWebhookCommands: status, stop and retry become tasks of their kinds, with retry's flags; a
// run's --base is stored; a typo of a command is a usage task, never a run.
func TestWebhookCommands(t *testing.T) {
	h := newHarness(t, "")
	tests := []struct {
		name string
		body string
		want sesame.Request // the fields compared: Kind, Instruction, Agent, Model, Base
	}{
		{"status", "/sesame status", sesame.Request{Kind: sesame.KindStatus}},
		{"stop", "/sesame STOP", sesame.Request{Kind: sesame.KindStop}},
		{"stop drops its flags", "/sesame stop --agent claude", sesame.Request{Kind: sesame.KindStop}},
		{"retry", "/sesame retry", sesame.Request{Kind: sesame.KindRetry}},
		{"retry with flags", "/sesame retry --agent claude --model o3 --base dev", sesame.Request{Kind: sesame.KindRetry, Agent: "claude", Model: "o3", Base: "dev"}},
		{"run on a base", "/sesame --base release/v2 backport the fix", sesame.Request{Kind: sesame.KindRun, Instruction: "backport the fix", Base: "release/v2"}},
		{"typo of a command", "/sesame stpo", sesame.Request{Kind: sesame.KindUsage, Instruction: `unknown command "stpo"; did you mean stop?`}},
		{"typo of a flag", "/sesame fix it --agnet claude", sesame.Request{Kind: sesame.KindUsage, Instruction: `unknown flag "--agnet"; did you mean --agent?`}},
		{"bad base", "/sesame --base a..b fix it", sesame.Request{Kind: sesame.KindUsage, Instruction: `"a..b" cannot be a branch name: it holds ".."`}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := payload(t, "issue_comment.created.with-installation.json", func(p map[string]any) {
				withBody(tt.body)(p)
				p["comment"].(map[string]any)["id"] = 5000 + i // one comment makes one task
			})
			rec := h.post(t, "issue_comment", fmt.Sprintf("commands-%d", i), body)
			if rec.Code != http.StatusAccepted {
				t.Fatalf("status %d %s, want 202", rec.Code, rec.Body)
			}
			task, err := h.store.Task(context.Background(), decode(t, rec).TaskID)
			if err != nil {
				t.Fatal(err)
			}
			got := sesame.Request{Kind: task.Kind, Instruction: task.Instruction, Agent: task.Agent, Model: task.Model, Base: task.Base}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("stored request (-want +got):\n%s", diff)
			}
			if task.IssueNumber <= 0 || task.Repo == "" || task.InstallationID == 0 {
				t.Errorf("task %+v lacks its thread (issue, repository, installation)", task.Request)
			}
		})
	}
}
