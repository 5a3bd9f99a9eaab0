package bot_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/bot"
	"github.com/sesame-works/sesame/internal/slacktest"
)

// refStore remembers progress refs as postgres.TaskStore does.
type refStore struct {
	mu   sync.Mutex
	refs map[string]string
}

func (s *refStore) SetProgressRef(_ context.Context, id, ref string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refs == nil {
		s.refs = map[string]string{}
	}
	s.refs[id] = ref
	return nil
}

func TestSlackOriginMessageLifecycle(t *testing.T) {
	sl := slacktest.New(slackToken)
	defer sl.Close()
	store := &refStore{}
	o := &bot.SlackOrigin{Slack: bot.NewSlack(slackToken, sl.APIURL(), nil), Tasks: store, Masker: hideSecret{},
		Interval: 200 * time.Millisecond, TaskURL: func(id string) string { return "https://sesame.example.com/tasks/" + id }}
	task := &sesame.Task{ID: "0198-task", Status: sesame.StatusQueued, Request: sesame.Request{Source: sesame.SourceSlack,
		Repo: "octo/hello", Requester: "alice", Instruction: "fix the typo", UserID: "u1",
		OriginRef: sesame.OriginRef{Workspace: "T1", Channel: "C_ENG", ChannelName: "eng", User: "U_ALICE", UserName: "alice"}}}

	if d := o.Describe(task); d.Commit != "Requested by @alice in Slack (#eng)." || !strings.Contains(d.Prompt, "for octo/hello") {
		t.Errorf("Describe = %+v", d)
	}
	ctx := context.Background()
	if err := o.Acknowledge(ctx, task); err != nil {
		t.Fatal(err)
	}
	if err := o.Acknowledge(ctx, task); err != nil { // a retried job says nothing twice
		t.Fatal(err)
	}
	msgs := sl.Messages("C_ENG")
	if len(msgs) != 1 || task.ProgressRef != msgs[0].TS || store.refs[task.ID] != msgs[0].TS {
		t.Fatalf("messages %+v, ref %q", msgs, task.ProgressRef)
	}
	if b := msgs[0].Blocks; !strings.Contains(b, `"action_id":"sesame_stop"`) || !strings.Contains(b, `"value":"0198-task"`) {
		t.Errorf("no Stop button: %s", b)
	}

	// Many steps in a burst make few updates.
	o.Progress(ctx, task, sesame.TaskProgress{Status: sesame.StatusPreparing})
	o.Progress(ctx, task, sesame.TaskProgress{Status: sesame.StatusRunning})
	for i := range 50 {
		o.Progress(ctx, task, sesame.TaskProgress{Step: "Bash: go test ./... ghs_secret " + strings.Repeat("x", i)})
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	msg := sl.Messages("C_ENG")[0]
	if msg.Updates < 1 || msg.Updates > 4 {
		t.Errorf("%d updates for 52 progress calls over 0.5 s at one per 200 ms", msg.Updates)
	}
	if !strings.Contains(msg.Text, "The agent is working") || !strings.Contains(msg.Text, "go test") || strings.Contains(msg.Text, "ghs_secret") {
		t.Errorf("progress text %q", msg.Text)
	}

	err := o.Finish(ctx, task, sesame.TaskReport{Status: sesame.StatusCompleted, PRNumber: 7, PRURL: "https://github.com/octo/hello/pull/7",
		Summary: "Fixed the typo; token ghs_secret", CostUSD: 0.42, Duration: 95 * time.Second, Branch: "sesame/fix-typo"})
	if err != nil {
		t.Fatal(err)
	}
	o.Progress(ctx, task, sesame.TaskProgress{Step: "late"}) // ignored once finished
	time.Sleep(250 * time.Millisecond)
	msg = sl.Messages("C_ENG")[0]
	if !strings.Contains(msg.Text, "Sesame opened <https://github.com/octo/hello/pull/7|#7>") || strings.Contains(msg.Blocks, "sesame_stop") {
		t.Errorf("final message %q / %s", msg.Text, msg.Blocks)
	}
	thread := sl.Thread("C_ENG", msg.TS)
	if len(thread) != 1 {
		t.Fatalf("thread = %+v", thread)
	}
	for _, want := range []string{"https://github.com/octo/hello/pull/7", "Fixed the typo", "cost $0.42", "ran 1m35s", "[masked]"} {
		if !strings.Contains(thread[0].Text, want) {
			t.Errorf("thread reply %q lacks %q", thread[0].Text, want)
		}
	}
	if strings.Contains(thread[0].Text, "ghs_secret") {
		t.Errorf("secret in the thread: %q", thread[0].Text)
	}
	t.Logf("Slack calls for this task: %d (postMessage %d, update %d)", sl.CallCount(""), sl.CallCount("chat.postMessage"), sl.CallCount("chat.update"))
}

func TestSlackOriginFailureInThread(t *testing.T) {
	sl := slacktest.New(slackToken)
	defer sl.Close()
	o := &bot.SlackOrigin{Slack: bot.NewSlack(slackToken, sl.APIURL(), nil), Tasks: &refStore{}}
	task := &sesame.Task{ID: "0198-task", Request: sesame.Request{Source: sesame.SourceSlack, Repo: "octo/hello", Instruction: "x",
		OriginRef: sesame.OriginRef{Channel: "C_ENG"}}}
	ctx := context.Background()
	if err := o.Acknowledge(ctx, task); err != nil {
		t.Fatal(err)
	}
	if err := o.Finish(ctx, task, sesame.TaskReport{Status: sesame.StatusFailed, Reason: "The agent ran out of time."}); err != nil {
		t.Fatal(err)
	}
	msg := sl.Messages("C_ENG")[0]
	thread := sl.Thread("C_ENG", msg.TS)
	if !strings.Contains(msg.Text, "could not finish") || len(thread) != 1 || !strings.Contains(thread[0].Text, "Failed. The agent ran out of time.") {
		t.Errorf("message %q, thread %+v", msg.Text, thread)
	}
}
