package bot

import (
	"log/slog"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	jsonv2 "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"

	sesame "github.com/sesame-works/sesame"
)

// reviewCommentEvent holds the fields of GitHub's pull_request_review_comment webhook payload that
// Sesame reads.
type reviewCommentEvent struct {
	Action  string `json:"action"`
	Comment struct {
		ID                    int64  `json:"id"`
		InReplyToID           int64  `json:"in_reply_to_id"`
		Body                  string `json:"body"`
		HTMLURL               string `json:"html_url"`
		Path                  string `json:"path"`
		Line                  *int   `json:"line"`
		StartLine             *int   `json:"start_line"`
		Side                  string `json:"side"`
		DiffHunk              string `json:"diff_hunk"`
		User                  ghUser `json:"user"`
		PerformedViaGitHubApp *ghApp `json:"performed_via_github_app"`
	} `json:"comment"`
	PullRequest struct {
		Number int `json:"number"`
	} `json:"pull_request"`
	Repository struct {
		FullName string `json:"full_name"`
	} `json:"repository"`
	Sender       ghUser          `json:"sender"`
	Installation *ghInstallation `json:"installation"`
}

// reviewCommentKey is the request key of a review comment (their ids are not issue comments').
func reviewCommentKey(installation, comment int64, action string) string {
	return "github:review-comment:" + strconv.FormatInt(installation, 10) + ":" + strconv.FormatInt(comment, 10) + ":" + action
}

// reviewComment handles a pull_request_review_comment delivery: a /sesame command in a comment on
// lines of a pull request's diff works on that pull request, told the file, lines and diff, and is
// answered in the comment's thread.
func (h *GitHubWebhook) reviewComment(c *gin.Context, log *slog.Logger, delivery string, body []byte) {
	var ev reviewCommentEvent
	if err := jsonv2.Unmarshal(body, &ev, jsonv1.DefaultOptionsV1()); err != nil {
		fail(c, http.StatusBadRequest, "Malformed pull_request_review_comment payload.")
		return
	}
	if ev.Action != "created" {
		ignore(c, "pull_request_review_comment action "+ev.Action+" is not handled")
		return
	}
	if ev.Repository.FullName == "" || ev.PullRequest.Number <= 0 || ev.Comment.ID <= 0 || ev.Sender.Login == "" || ev.Comment.Path == "" {
		fail(c, http.StatusBadRequest, "The pull_request_review_comment payload lacks its repository, pull request, comment, file or sender.")
		return
	}
	cmd, ok, perr := h.commandOf(c, ev.Sender, ev.Comment.User, ev.Comment.PerformedViaGitHubApp, ev.Installation, ev.Comment.Body)
	if !ok {
		return
	}
	rc := &sesame.ReviewComment{Path: ev.Comment.Path, Side: ev.Comment.Side, DiffHunk: ev.Comment.DiffHunk, Thread: ev.Comment.ID}
	if ev.Comment.InReplyToID > 0 {
		rc.Thread = ev.Comment.InReplyToID
	}
	if ev.Comment.Line != nil {
		rc.Line = max(0, *ev.Comment.Line)
	}
	if ev.Comment.StartLine != nil {
		rc.StartLine = max(0, *ev.Comment.StartLine)
	}
	r := sesame.Request{
		Source:         sesame.SourceGitHub,
		DeliveryID:     "github:" + delivery,
		RequestKey:     reviewCommentKey(ev.Installation.ID, ev.Comment.ID, ev.Action),
		Repo:           ev.Repository.FullName,
		InstallationID: ev.Installation.ID,
		IssueNumber:    ev.PullRequest.Number,
		IsPullRequest:  true,
		CommentID:      ev.Comment.ID,
		CommentURL:     ev.Comment.HTMLURL,
		Requester:      ev.Sender.Login,
		RequesterID:    ev.Sender.ID,
		OriginRef:      sesame.OriginRef{Review: rc},
	}
	if !storable(r.Repo, r.CommentURL, r.Requester, rc.Path, rc.Side, rc.DiffHunk) {
		fail(c, http.StatusBadRequest, "The pull_request_review_comment payload holds NUL or invalid UTF-8.")
		return
	}
	h.submitCommand(c, log, r, cmd, perr)
}
