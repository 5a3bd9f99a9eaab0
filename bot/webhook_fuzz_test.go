package bot_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/bot"
	"github.com/sesame-works/sesame/command"
	"github.com/sesame-works/sesame/internal/githubtest"
)

// What a fuzzed delivery does, chosen by its mode byte (mode % 8). Most modes sign the body with the
// webhook secret so that the fuzzer reaches the parser.
const (
	modeSigned           = iota // signed with the webhook secret
	modeNoSignature             // X-Hub-Signature-256 left out
	modeWrongSecret             // signed with another secret
	modeFlippedSignature        // the right signature with one hex digit changed
	modeTamperedBody            // signed, then a byte added to the body
	modeUnavailable             // signed; every Submit fails with EUNAVAILABLE (the database is down)
	modeInternal                // signed; every Submit fails with an internal error
)

// fuzzAppID is the app the fuzzed webhook belongs to: its own comments never trigger.
const fuzzAppID = 4242

// errInternalDetail is the internal error modeInternal's Submit fails with; it must never reach
// the answer.
var errInternalDetail = errors.New("insert task: dial tcp 10.1.2.3:5432: connection refused")

// FuzzWebhook posts deliveries with arbitrary events, delivery ids and bodies to the webhook handler
// on an in-memory submitter, so it runs at the speed of the handler, and checks on every input:
//
//   - no panic, and every answer is JSON: an error with a reason for 4xx and 5xx, a status for 2xx;
//   - a refused signature answers 401 and submits nothing;
//   - the only 5xx are the documented ones: 503 when the store is unavailable, 500 when it fails
//     otherwise, both with a message free of internals, and only after a Submit (the other
//     documented 503, the body budget being in use, never comes to a lone request);
//   - a 202 comes only from a signed issue_comment "created" delivery with an installation, by a
//     person, with a /sesame command, and it names the one task stored, whose request comes from
//     the payload (see checkStored);
//   - nothing is stored behind any other answer;
//   - the same delivery posted again is a duplicate, and so is the same body under a new delivery
//     id: no second task, and the first task's id.
//
// The seed corpus is GitHub's own payloads in testdata/github and runs with every `go test`.
func FuzzWebhook(f *testing.F) {
	addWebhookSeeds(f)
	tasks := newMemSubmitter()
	hook := &bot.GitHubWebhook{Secret: []byte(secret), AppID: fuzzAppID, Tasks: tasks, Logger: slog.New(slog.DiscardHandler)}
	gin.SetMode(gin.ReleaseMode)
	engine := gin.New() // no Recovery: a panic fails the input
	engine.POST("/webhooks/github", hook.Handle)

	f.Fuzz(func(t *testing.T, event, delivery string, body []byte, mode uint8) {
		tasks.reset()
		mode %= 8
		switch mode {
		case modeUnavailable:
			tasks.err = sesame.Errorf(sesame.EUNAVAILABLE, "The database is unavailable; try again shortly.")
		case modeInternal:
			tasks.err = errInternalDetail
		}
		rec := httptest.NewRecorder()
		engine.ServeHTTP(rec, fuzzRequest(event, delivery, body, mode))
		code, r := rec.Code, fuzzAnswer(t, rec)
		where := func() string { return describeDelivery(event, delivery, body, mode, code, rec.Body.String()) }
		stored := tasks.tasks()

		if code >= 400 && r.Error == "" {
			t.Fatalf("%s: an error without a reason", where())
		}
		switch mode {
		case modeNoSignature, modeWrongSecret, modeFlippedSignature, modeTamperedBody:
			if code != http.StatusUnauthorized || tasks.calls != 0 {
				t.Fatalf("%s: a bad signature answered %d after %d submits, want 401 and none", where(), code, tasks.calls)
			}
			return
		}
		switch code {
		case http.StatusOK:
			switch {
			case r.Status == "pong" && event == "ping":
			case r.Status == "ignored" && r.Reason != "":
			default:
				t.Fatalf("%s: a 200 that is neither a pong nor ignored with a reason", where())
			}
		case http.StatusAccepted:
			if r.Status != "queued" || len(stored) != 1 || r.TaskID != stored[0].ID {
				t.Fatalf("%s: 202 with %+v but %d tasks stored", where(), r, len(stored))
			}
			checkStored(t, where, event, delivery, body, stored[0].Request)
		case http.StatusBadRequest:
		case http.StatusRequestEntityTooLarge:
			if len(body) <= 25<<20 { // GitHub's cap, which the handler follows
				t.Fatalf("%s: a body of %d bytes is too large", where(), len(body))
			}
		case http.StatusServiceUnavailable, http.StatusInternalServerError:
			want := map[uint8]int{modeUnavailable: http.StatusServiceUnavailable, modeInternal: http.StatusInternalServerError}[mode]
			if code != want || tasks.calls != 1 {
				t.Fatalf("%s: %d after %d submits; a 5xx must come from a failed Submit", where(), code, tasks.calls)
			}
			if strings.Contains(r.Error, "10.1.2.3") || strings.Contains(r.Error, "code=") {
				t.Fatalf("%s: the answer shows internals", where())
			}
		default:
			t.Fatalf("%s: undocumented status", where())
		}
		if code != http.StatusAccepted && len(stored) != 0 {
			t.Fatalf("%s: %d tasks stored behind a %d", where(), len(stored), code)
		}
		if code != http.StatusAccepted {
			return
		}

		// The same delivery again, and the same body under a new delivery id (a replay, since GitHub
		// does not sign the delivery id): each a duplicate of the first task, nothing more stored.
		for _, id := range []string{delivery, delivery + "-replayed"} {
			again := httptest.NewRecorder()
			engine.ServeHTTP(again, fuzzRequest(event, id, body, mode))
			r2 := fuzzAnswer(t, again)
			if again.Code != http.StatusOK || r2.Status != "duplicate" || (r2.TaskID != "" && r2.TaskID != r.TaskID) ||
				len(tasks.tasks()) != 1 {
				t.Fatalf("%s: posted again as delivery %q, answered %d %s with %d tasks stored; want a duplicate of %s",
					where(), id, again.Code, again.Body, len(tasks.tasks()), r.TaskID)
			}
		}
	})
}

// addWebhookSeeds adds every payload in testdata/github under its event (the file name up to the
// first dot), comments with commands of each kind, the bad-signature and failing-store modes, and
// bodies of the wrong shape. The payloads are trimmed (see trimPayload) from some 15 kB to under
// 2 kB: the fuzzer mutates, and minimizes, ten times smaller inputs.
func addWebhookSeeds(f *testing.F) {
	names, err := filepath.Glob(filepath.Join("testdata", "github", "*.json"))
	if err != nil || len(names) == 0 {
		f.Fatalf("no payloads in testdata/github: %v", err)
	}
	for _, name := range names {
		base := filepath.Base(name)
		event, _, _ := strings.Cut(base, ".")
		f.Add(event, "seed-"+base, payload(f, base, trimPayload), uint8(modeSigned))
	}
	for _, name := range []string{"issue_comment.created.with-installation.json", "issue_comment.created.pull_request.json"} {
		for _, comment := range []string{
			"/sesame fix the typo --agent codex --model gpt-5",
			"Thanks!\n\n/sesame fix it\nin the README\n\nnot this",
			"/sesame help",
			"/sesame fix it --fast",
			"/sesame --agent codex",
			"```\n/sesame x\n```\n/sesame y",
			"> /sesame quoted\n\n<!-- /sesame hidden -->",
			"/SESAME 修正してください 🙏 --model \"gpt 5\"",
		} {
			f.Add("issue_comment", "seed-command", payload(f, name, func(p map[string]any) {
				trimPayload(p)
				withBody(comment)(p)
			}), uint8(modeSigned))
		}
	}
	run := func(edit func(p map[string]any)) []byte {
		return payload(f, "issue_comment.created.with-installation.json", func(p map[string]any) {
			trimPayload(p)
			withBody("/sesame fix it")(p)
			edit(p)
		})
	}
	for mode := range uint8(8) {
		f.Add("issue_comment", "seed-mode", run(func(map[string]any) {}), mode)
	}
	f.Add("issue_comment", "seed-bot", run(func(p map[string]any) { p["sender"].(map[string]any)["type"] = "Bot" }),
		uint8(modeSigned))
	f.Add("issue_comment", "seed-app", run(func(p map[string]any) {
		p["comment"].(map[string]any)["performed_via_github_app"] = map[string]any{"id": fuzzAppID}
	}), uint8(modeSigned))
	f.Add("issue_comment", "seed-min", []byte(`{"action":"created","issue":{"number":1,"pull_request":null},`+
		`"comment":{"id":1,"body":"/sesame a","user":{}},"repository":{"full_name":"a/b"},"sender":{"login":"x"},`+
		`"installation":{"id":1}}`), uint8(modeSigned))
	for _, body := range []string{`{}`, `null`, `[]`, `{"action":"created",`, `{"action":"created","comment":"nope"}`, ``} {
		f.Add("issue_comment", "seed-shape", []byte(body), uint8(modeSigned))
	}
	f.Add("ping", "seed-ping", []byte(`{}`), uint8(modeSigned))
	f.Add("", "", []byte(``), uint8(modeSigned))
}

// trimPayload drops from a payload what no part of Sesame reads and makes up most of its size: the
// API URLs (all but html_url), node ids, and the reactions, labels, milestone, assignees, owner and
// organization objects.
func trimPayload(p map[string]any) {
	for k, v := range p {
		switch {
		case k == "node_id", k == "reactions", k == "labels", k == "milestone", k == "assignee", k == "assignees",
			k == "owner", k == "organization", strings.HasSuffix(k, "url") && k != "html_url":
			delete(p, k)
		default:
			if m, ok := v.(map[string]any); ok {
				trimPayload(m)
			}
		}
	}
}

// fuzzRequest builds the delivery of body as mode says.
func fuzzRequest(event, delivery string, body []byte, mode uint8) *http.Request {
	const header = "X-Hub-Signature-256"
	req := githubtest.NewWebhookRequest("/webhooks/github", event, delivery, secret, body)
	switch mode {
	case modeNoSignature:
		req.Header.Del(header)
	case modeWrongSecret:
		req.Header.Set(header, githubtest.SignPayload("not-"+secret, body))
	case modeFlippedSignature:
		sig := []byte(req.Header.Get(header))
		i := len("sha256=") + len(body)%64
		sig[i] = map[bool]byte{true: '1', false: '0'}[sig[i] == '0']
		req.Header.Set(header, string(sig))
	case modeTamperedBody:
		req = githubtest.NewWebhookRequest("/webhooks/github", event, delivery, secret, append(bytes.Clone(body), '\n'))
		req.Header.Set(header, githubtest.SignPayload(secret, body))
	}
	return req
}

// fuzzAnswer decodes the handler's JSON answer.
func fuzzAnswer(t *testing.T, rec *httptest.ResponseRecorder) response {
	t.Helper()
	var r response
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		t.Fatalf("answer %d %q is not JSON: %v", rec.Code, rec.Body, err)
	}
	return r
}

// describeDelivery names a fuzzed delivery and its answer in a failure.
func describeDelivery(event, delivery string, body []byte, mode uint8, code int, answer string) string {
	return fmt.Sprintf("event %q, delivery %q, mode %d, body %.1000q: answered %d %s", event, delivery, mode, body, code, answer)
}

// issueCommentPayload is what checkStored reads of a payload, decoded apart from the handler.
type issueCommentPayload struct {
	Action string `json:"action"`
	Issue  struct {
		Number      int             `json:"number"`
		PullRequest json.RawMessage `json:"pull_request"`
	} `json:"issue"`
	Comment struct {
		ID      int64  `json:"id"`
		Body    string `json:"body"`
		HTMLURL string `json:"html_url"`
		User    struct {
			Type string `json:"type"`
		} `json:"user"`
		PerformedViaGitHubApp *struct {
			ID int64 `json:"id"`
		} `json:"performed_via_github_app"`
	} `json:"comment"`
	Repository struct {
		FullName string `json:"full_name"`
	} `json:"repository"`
	Sender struct {
		Login string `json:"login"`
		ID    int64  `json:"id"`
		Type  string `json:"type"`
	} `json:"sender"`
	Installation *struct {
		ID int64 `json:"id"`
	} `json:"installation"`
}

// checkStored checks a request the handler stored against the payload it came from: a created
// comment by a person (not a bot, not this app) on a named repository, issue and installation,
// with a /sesame command whose parse gives the request's kind, instruction, agent and model; a run
// has a non-empty instruction. Every text field is valid UTF-8 without NUL, which PostgreSQL's
// text columns refuse.
func checkStored(t *testing.T, where func() string, event, delivery string, body []byte, r sesame.Request) {
	t.Helper()
	if event != "issue_comment" {
		t.Fatalf("%s: a task from a %q event", where(), event)
	}
	var p issueCommentPayload
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("%s: a task from a body that is not an issue_comment payload: %v", where(), err)
	}
	switch {
	case p.Action != "created":
		t.Fatalf("%s: a task from action %q", where(), p.Action)
	case p.Sender.Type == "Bot" || p.Comment.User.Type == "Bot":
		t.Fatalf("%s: a task from a bot", where())
	case p.Comment.PerformedViaGitHubApp != nil && p.Comment.PerformedViaGitHubApp.ID == fuzzAppID:
		t.Fatalf("%s: a task from this app's own comment", where())
	case p.Installation == nil || p.Installation.ID == 0:
		t.Fatalf("%s: a task without an installation", where())
	}
	// The fields that come from the payload, compared one by one so that a new field of Request
	// does not break the comparison.
	type fromPayload struct {
		Source                    sesame.Source
		DeliveryID, Repo          string
		InstallationID, CommentID int64
		IssueNumber               int
		IsPullRequest             bool
		CommentURL, Requester     string
		RequesterID               int64
	}
	got := fromPayload{r.Source, r.DeliveryID, r.Repo, r.InstallationID, r.CommentID, r.IssueNumber, r.IsPullRequest,
		r.CommentURL, r.Requester, r.RequesterID}
	want := fromPayload{sesame.SourceGitHub, "github:" + delivery, p.Repository.FullName, p.Installation.ID, p.Comment.ID,
		p.Issue.Number, len(p.Issue.PullRequest) > 0 && string(p.Issue.PullRequest) != "null",
		p.Comment.HTMLURL, p.Sender.Login, p.Sender.ID}
	if got != want {
		t.Fatalf("%s: stored\n%+v\nwant from the payload\n%+v", where(), got, want)
	}
	if r.Repo == "" || r.IssueNumber <= 0 || r.CommentID <= 0 || r.Requester == "" {
		t.Fatalf("%s: a task without its repository, issue, comment or requester: %+v", where(), r)
	}

	cmd, found, perr := command.Parse(p.Comment.Body)
	if !found {
		t.Fatalf("%s: a task from a comment without a command", where())
	}
	switch r.Kind {
	case sesame.KindRun:
		if perr != nil || cmd.Kind != command.KindRun || r.Instruction != cmd.Instruction ||
			r.Agent != cmd.Agent || r.Model != cmd.Model {
			t.Fatalf("%s: run task %+v from parse %+v, %v", where(), r, cmd, perr)
		}
		if r.Instruction == "" {
			t.Fatalf("%s: a run task without an instruction", where())
		}
	case sesame.KindHelp:
		if perr != nil || cmd.Kind != command.KindHelp || r.Instruction != "" || r.Agent != "" || r.Model != "" {
			t.Fatalf("%s: help task %+v from parse %+v, %v", where(), r, cmd, perr)
		}
	case sesame.KindUsage:
		if perr == nil || r.Instruction == "" {
			t.Fatalf("%s: usage task %+v from parse %+v, %v", where(), r, cmd, perr)
		}
	default:
		t.Fatalf("%s: task of kind %q", where(), r.Kind)
	}
	if name, v, bad := unstorable(r); bad {
		t.Fatalf("%s: the %s %q holds NUL or invalid UTF-8, which the task store cannot keep", where(), name, v)
	}
}

// unstorable returns a text field of r that PostgreSQL's text columns refuse: one holding NUL or
// invalid UTF-8.
func unstorable(r sesame.Request) (name, value string, bad bool) {
	for _, f := range []struct{ name, value string }{
		{"delivery id", r.DeliveryID}, {"request key", r.RequestKey}, {"repo", r.Repo}, {"comment url", r.CommentURL},
		{"requester", r.Requester}, {"instruction", r.Instruction}, {"agent", r.Agent}, {"model", r.Model},
	} {
		if strings.ContainsRune(f.value, 0) || !utf8.ValidString(f.value) {
			return f.name, f.value, true
		}
	}
	return "", "", false
}
