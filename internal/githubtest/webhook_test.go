package githubtest_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-github/v66/github"

	"github.com/sesame-works/sesame/internal/githubtest"
)

// TestSignPayloadVector checks GitHub's published test vector from
// "Validating webhook deliveries" (bot/testdata/github/signature.md).
func TestSignPayloadVector(t *testing.T) {
	got := githubtest.SignPayload("It's a Secret to Everybody", []byte("Hello, World!"))
	const want = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	if got != want {
		t.Errorf("SignPayload = %q, want %q", got, want)
	}
}

// TestNewWebhookRequest delivers GitHub's example payloads to a handler that
// checks them with go-github's own webhook functions.
func TestNewWebhookRequest(t *testing.T) {
	const secret = "s3cret"
	tests := []struct {
		file, event string
		check       func(t *testing.T, ev any)
	}{
		{"issue_comment.created.json", "issue_comment", func(t *testing.T, ev any) {
			e := ev.(*github.IssueCommentEvent)
			if e.GetComment().GetID() != 492700400 || e.GetIssue().IsPullRequest() {
				t.Errorf("event = %v", e)
			}
		}},
		{"issue_comment.created.pull_request.json", "issue_comment", func(t *testing.T, ev any) {
			e := ev.(*github.IssueCommentEvent)
			if !e.GetIssue().IsPullRequest() || e.GetInstallation().GetID() != 1 {
				t.Errorf("event = %v", e)
			}
		}},
		{"issue_comment.edited.json", "issue_comment", func(t *testing.T, ev any) {
			if e := ev.(*github.IssueCommentEvent); e.GetChanges().GetBody().GetFrom() == "" {
				t.Errorf("edited event has no changes.body.from")
			}
		}},
		{"issue_comment.deleted.json", "issue_comment", func(t *testing.T, ev any) {
			if e := ev.(*github.IssueCommentEvent); e.GetAction() != "deleted" {
				t.Errorf("action = %q", e.GetAction())
			}
		}},
		{"ping.json", "ping", func(t *testing.T, ev any) {
			if e := ev.(*github.PingEvent); e.GetZen() == "" || e.GetHookID() == 0 {
				t.Errorf("event = %v", e)
			}
		}},
		{"issues.opened.json", "issues", func(t *testing.T, ev any) {
			if e := ev.(*github.IssuesEvent); e.GetAction() != "opened" {
				t.Errorf("action = %q", e.GetAction())
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("..", "..", "bot", "testdata", "github", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			var parsed any
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("User-Agent") != "GitHub-Hookshot/abc123" || github.DeliveryID(r) != "d-1" {
					t.Errorf("headers = %v", r.Header)
				}
				payload, err := github.ValidatePayload(r, []byte(secret))
				if err != nil {
					t.Errorf("ValidatePayload: %v", err)
					http.Error(w, err.Error(), http.StatusForbidden)
					return
				}
				if !bytes.Equal(payload, body) {
					t.Errorf("payload changed in transit")
				}
				parsed, err = github.ParseWebHook(github.WebHookType(r), payload)
				if err != nil {
					t.Errorf("ParseWebHook: %v", err)
				}
			})
			srv := httptest.NewServer(h)
			defer srv.Close()
			resp, err := http.DefaultClient.Do(githubtest.NewWebhookRequest(srv.URL, tc.event, "d-1", secret, body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || parsed == nil {
				t.Fatalf("status = %d", resp.StatusCode)
			}
			tc.check(t, parsed)
		})
	}
}

func TestNewWebhookRequestSignature(t *testing.T) {
	body := []byte(`{"zen":"Keep it logically awesome."}`)
	req := githubtest.NewWebhookRequest("http://127.0.0.1/webhook", "ping", "d-2", "x", body)
	if got, want := req.Header.Get("X-Hub-Signature-256"), githubtest.SignPayload("x", body); got != want {
		t.Errorf("X-Hub-Signature-256 = %q, want %q", got, want)
	}
	b, _ := io.ReadAll(req.Body)
	if !bytes.Equal(b, body) || req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" {
		t.Errorf("request = %s %v %q", req.Method, req.Header, b)
	}
	if err := github.ValidateSignature(req.Header.Get("X-Hub-Signature-256"), body, []byte("wrong")); err == nil {
		t.Errorf("ValidateSignature accepted the wrong secret")
	}
	unsigned := githubtest.NewWebhookRequest("http://127.0.0.1/webhook", "ping", "d-3", "", body)
	if unsigned.Header.Get("X-Hub-Signature-256") != "" || unsigned.Header.Get("X-Hub-Signature") != "" {
		t.Errorf("a webhook without a secret is signed: %v", unsigned.Header)
	}
}
