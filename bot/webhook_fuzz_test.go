package bot_test

import (
	"net/http/httptest"
	"testing"

	"github.com/sesame-works/sesame/internal/githubtest"
)

// FuzzWebhook sends correctly signed deliveries with arbitrary bodies and events: the handler must never
// panic nor answer 5xx, and anything it accepts must be stored.
func FuzzWebhook(f *testing.F) {
	for _, name := range []string{"issue_comment.created.with-installation.json", "issue_comment.created.pull_request.json",
		"issue_comment.edited.json", "ping.json", "issues.opened.json"} {
		f.Add("issue_comment", payload(f, name, nil))
	}
	f.Add("issue_comment", payload(f, "issue_comment.created.with-installation.json", withBody("/sesame fix it --agent")))
	f.Add("issue_comment", payload(f, "issue_comment.created.with-installation.json", withBody("```\n/sesame x\n```\n/sesame y")))
	f.Add("issue_comment", []byte(`{"action":"created","issue":{"number":1},"comment":{"id":1,"body":"/sesame a","user":{}},"repository":{"full_name":"a/b"},"sender":{"login":"x"},"installation":{"id":1}}`))
	f.Add("ping", []byte(`{}`))
	f.Add("issue_comment", []byte(`null`))
	f.Add("issue_comment", []byte(`[]`))
	f.Add("", []byte(``))
	h := newHarness(f, "")
	n := 0
	f.Fuzz(func(t *testing.T, event string, body []byte) {
		n++
		req := githubtest.NewWebhookRequest("/webhooks/github", event, "fuzz-"+string(rune('a'+n%26))+t.Name(), secret, body)
		rec := httptest.NewRecorder()
		h.engine.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("event %q body %q: status %d %s", event, body, rec.Code, rec.Body)
		}
		if rec.Code == 202 {
			if _, err := h.store.Task(t.Context(), decode(t, rec).TaskID); err != nil {
				t.Fatalf("accepted task not stored: %v", err)
			}
		}
	})
}
