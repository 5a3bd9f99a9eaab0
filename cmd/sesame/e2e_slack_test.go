package main_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/internal/githubtest"
	"github.com/sesame-works/sesame/internal/modeltest"
	"github.com/sesame-works/sesame/internal/slacktest"
	"github.com/sesame-works/sesame/postgres"
)

const (
	slackSigningSecret = "e2e-slack-signing-secret"
	slackBotToken      = "xoxb-e2e-slack-bot-token"
)

// slackEnv starts Sesame (web and worker) with a Slack app whose API is sl, and gives the Slack
// member U_ALICE (alice@example.com) a Sesame admin account.
func slackEnv(t *testing.T, gh *githubtest.Server, model *modeltest.Server, sl *slacktest.Server, extra ...string) (*process, string) {
	t.Helper()
	env, _ := workerEnv(t, gh, model, append([]string{"SLACK_SIGNING_SECRET=" + slackSigningSecret,
		"SLACK_BOT_TOKEN=" + slackBotToken, "SLACK_API_URL=" + sl.APIURL()}, extra...)...)
	p := startSesame(t, env)
	dbURL := envValue(env, "DATABASE_URL")
	db, err := postgres.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := postgres.NewUserStore(db).CreateUser(context.Background(), sesame.User{Email: "alice@example.com", Name: "Alice", Role: sesame.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	return p, dbURL
}

// slash sends a signed /sesame command with text and returns the ephemeral text and how long the
// answer took.
func slash(t *testing.T, p *process, text, trigger string) (string, time.Duration) {
	t.Helper()
	c := slacktest.Command{TeamID: "T_ACME", TeamDomain: "acme", ChannelID: "C_ENG", ChannelName: "eng", UserID: "U_ALICE",
		UserName: "alice", Text: text, TriggerID: trigger, ResponseURL: "https://hooks.slack.com/commands/T_ACME/1/x"}
	return signedPost(t, p, "/webhooks/slack/commands", c.Form())
}

func signedPost(t *testing.T, p *process, path string, body []byte) (string, time.Duration) {
	t.Helper()
	r := slacktest.SignedRequest("http://"+p.addr+path, slackSigningSecret, time.Now(), body)
	r.RequestURI = ""
	start := time.Now()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	took := time.Since(start)
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s answered %d %s", path, resp.StatusCode, raw)
	}
	var reply struct{ Text string }
	json.Unmarshal(raw, &reply)
	return reply.Text, took
}

// taskIDIn reads the task id from the acknowledgement ("task `id`").
func taskIDIn(t *testing.T, ack string) string {
	t.Helper()
	_, rest, ok := strings.Cut(ack, "task `")
	id, _, ok2 := strings.Cut(rest, "`")
	if !ok || !ok2 {
		t.Fatalf("no task id in %q", ack)
	}
	return id
}

func TestEndToEndSlackPullRequest(t *testing.T) {
	gh := githubtest.NewServer(t)
	fixture(t, gh)
	sl := slacktest.New(slackBotToken, slacktest.User{ID: "U_ALICE", Name: "alice", Email: "alice@example.com"})
	defer sl.Close()
	model := modeltest.NewServer(t,
		modeltest.Bash(`sed -i 's/teh typo/the typo/' README.md`),
		modeltest.Bash(`sleep 4`), // long enough for the message to show the agent's step
		modeltest.Step{Text: "Fixed the typo in README.md."},
	)
	p, dbURL := slackEnv(t, gh, model, sl)

	ack, took := slash(t, p, repo+" fix the typo in README", "e2e.trigger.1")
	if !strings.Contains(ack, "Got it") || took > 3*time.Second {
		t.Fatalf("ack %q after %s", ack, took)
	}
	t.Logf("slash command acknowledged in %s", took)
	id := taskIDIn(t, ack)
	if status, reason := waitEnded(t, dbURL, id, 3*time.Minute); status != "completed" {
		t.Fatalf("task ended %s: %s", status, reason)
	}
	prs := gh.PullRequests(repo)
	if len(prs) != 1 {
		t.Fatalf("%d pull requests, want 1", len(prs))
	}
	if !strings.Contains(prs[0].Body, "Requested by @alice in Slack (#eng)") {
		t.Errorf("PR body does not say it came from Slack:\n%s", prs[0].Body)
	}
	var msgs []slacktest.Message
	waitFor(t, "the thread reply", func() bool {
		msgs = sl.Messages("C_ENG")
		return len(msgs) == 2
	})
	task, thread := msgs[0], msgs[1]
	if task.Updates < 2 || !strings.Contains(task.Text, "Sesame opened") || strings.Contains(task.Blocks, "sesame_stop") {
		t.Errorf("task message updated %d times, now %q", task.Updates, task.Text)
	}
	if thread.ThreadTS != task.TS || !strings.Contains(thread.Text, "/pull/1") || !strings.Contains(thread.Text, "Fixed the typo") {
		t.Errorf("thread reply %+v", thread)
	}
	updates := sl.Calls()
	var saw []string
	for _, c := range updates {
		if c.Method == "chat.update" {
			saw = append(saw, lastLine(c.Form.Get("text")))
		}
	}
	t.Logf("Slack API calls for the task: %d (users.info %d, chat.postMessage %d, chat.update %d): %q", sl.CallCount(""),
		sl.CallCount("users.info"), sl.CallCount("chat.postMessage"), sl.CallCount("chat.update"), saw)
	if !strings.Contains(strings.Join(saw, "\n"), "The agent is working") {
		t.Errorf("the message never showed the agent working: %q", saw)
	}
	if strings.Contains(allStored(t, dbURL)+p.Logs(), slackBotToken) {
		t.Errorf("the bot token was stored or logged")
	}
}

// lastLine is the last line of s: where a task's message says the task is.
func lastLine(s string) string {
	lines := strings.Split(s, "\n")
	return lines[len(lines)-1]
}

func TestEndToEndSlackStopButton(t *testing.T) {
	gh := githubtest.NewServer(t)
	fixture(t, gh)
	sl := slacktest.New(slackBotToken, slacktest.User{ID: "U_ALICE", Name: "alice", Email: "alice@example.com"})
	defer sl.Close()
	model := modeltest.NewServer(t, modeltest.Step{Hang: true})
	p, dbURL := slackEnv(t, gh, model, sl)

	ack, _ := slash(t, p, repo+" fix the typo in README", "e2e.trigger.stop")
	id := taskIDIn(t, ack)
	waitFor(t, "the task running", func() bool { s, _ := taskStatus(t, dbURL, id); return s == "running" })
	var msg slacktest.Message
	waitFor(t, "the task's message", func() bool {
		msgs := sl.Messages("C_ENG")
		if len(msgs) > 0 {
			msg = msgs[0]
		}
		return len(msgs) > 0
	})
	if !strings.Contains(msg.Blocks, `"action_id":"sesame_stop"`) {
		t.Fatalf("no Stop button: %s", msg.Blocks)
	}
	start := time.Now()
	signedPost(t, p, "/webhooks/slack/interactivity", slacktest.ButtonClick("T_ACME", "U_ALICE", "alice", "C_ENG", msg.TS, "sesame_stop", id))
	status, reason := waitEnded(t, dbURL, id, time.Minute)
	if status != "stopped" {
		t.Fatalf("task %s (%s) after Stop", status, reason)
	}
	t.Logf("stopped %s after the click: %s", time.Since(start).Round(time.Millisecond), reason)
	waitFor(t, "the message to say it stopped", func() bool {
		m := sl.Messages("C_ENG")
		return len(m) >= 2 && strings.Contains(m[0].Text, "stopped") && !strings.Contains(m[0].Blocks, "sesame_stop")
	})
}
