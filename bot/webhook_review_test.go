package bot_test

import (
	"context"
	"net/http"
	"testing"

	sesame "github.com/sesame-works/sesame"
)

func TestWebhookReviewComment(t *testing.T) {
	h := newHarness(t, "")
	body := payload(t, "pull_request_review_comment.created.json", withBody("/sesame use an emoji here --agent claude"))
	rec := h.post(t, "pull_request_review_comment", "review-1", body)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("status %d %s, want 202", rec.Code, rec.Body)
	}
	task, err := h.store.Task(context.Background(), decode(t, rec).TaskID)
	if err != nil {
		t.Fatal(err)
	}
	want := sesame.ReviewComment{Path: "README.md", Line: 265, Side: "RIGHT", DiffHunk: "@@ -1 +1 @@\n-# Hello-World", Thread: 284312630}
	if rc := task.OriginRef.Review; rc == nil || *rc != want {
		t.Errorf("stored review comment %+v, want %+v", rc, want)
	}
	if !task.IsPullRequest || task.IssueNumber != 2 || task.CommentID != 284312630 || task.Instruction != "use an emoji here" ||
		task.RequestKey != "github:review-comment:1:284312630:created" {
		t.Errorf("stored request %+v", task.Request)
	}

	// The same body again under a new delivery id is the same request.
	rec = h.post(t, "pull_request_review_comment", "review-2", body)
	if rec.Code != http.StatusOK || decode(t, rec).TaskID != task.ID {
		t.Errorf("a repeated review comment answered %d %s, want 200 with task %s", rec.Code, rec.Body, task.ID)
	}
	// A reply in a thread is answered in that thread: its first comment.
	reply := payload(t, "pull_request_review_comment.created.json", func(p map[string]any) {
		c := p["comment"].(map[string]any)
		c["body"], c["id"], c["in_reply_to_id"] = "/sesame help", 284312631, 284312630
	})
	rec = h.post(t, "pull_request_review_comment", "review-3", reply)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("status %d %s, want 202", rec.Code, rec.Body)
	}
	help, _ := h.store.Task(context.Background(), decode(t, rec).TaskID)
	if help.Kind != sesame.KindHelp || help.OriginRef.Review == nil || help.OriginRef.Review.Thread != 284312630 {
		t.Errorf("reply's task = %+v (review %+v), want help answered in thread 284312630", help.Request, help.OriginRef.Review)
	}
	// Edits, and comments without the file they are on, start nothing.
	for name, edit := range map[string]func(map[string]any){
		"edited":  func(p map[string]any) { p["action"] = "edited" },
		"no path": func(p map[string]any) { p["comment"].(map[string]any)["path"] = "" },
	} {
		rec := h.post(t, "pull_request_review_comment", "review-"+name, payload(t, "pull_request_review_comment.created.json", edit))
		if rec.Code == http.StatusAccepted {
			t.Errorf("%s: answered 202, want no task", name)
		}
	}
}
