package bot_test

import (
	"fmt"
	"net/http"
	"testing"
)

// The delivery id is not signed: the same signed body under new delivery ids is one comment, one task.
func TestWebhookReplayedBodyMakesOneTask(t *testing.T) {
	h := newHarness(t, "")
	body := payload(t, "issue_comment.created.with-installation.json", withBody("/sesame fix it"))
	var first response
	for i := range 3 {
		rec := h.post(t, "issue_comment", fmt.Sprintf("replay-%d", i), body)
		r := decode(t, rec)
		switch {
		case i == 0 && (rec.Code != http.StatusAccepted || r.TaskID == ""):
			t.Fatalf("first delivery answered %d %s, want 202 with a task", rec.Code, rec.Body)
		case i == 0:
			first = r
		case rec.Code != http.StatusOK || r.Status != "duplicate" || r.TaskID != first.TaskID:
			t.Fatalf("replay %d answered %d %s, want 200 duplicate of %s", i, rec.Code, rec.Body, first.TaskID)
		}
	}
	// Another comment is another task.
	other := payload(t, "issue_comment.created.with-installation.json", func(p map[string]any) {
		withBody("/sesame fix it")(p)
		p["comment"].(map[string]any)["id"] = 7777
	})
	if rec := h.post(t, "issue_comment", "other-comment", other); rec.Code != http.StatusAccepted {
		t.Fatalf("another comment answered %d %s, want 202", rec.Code, rec.Body)
	}
	if n := h.countTasks(t); n != 2 {
		t.Fatalf("%d tasks stored, want 2", n)
	}
	pending, _ := h.inspector.ListPendingTasks("default")
	if len(pending) != 2 {
		t.Fatalf("%d jobs pending, want 2", len(pending))
	}
}
