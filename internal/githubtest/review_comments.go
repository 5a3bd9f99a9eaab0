package githubtest

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

const (
	docsCreateReviewComment = "https://docs.github.com/rest/pulls/comments#create-a-review-comment-for-a-pull-request"
	docsReplyReviewComment  = "https://docs.github.com/rest/pulls/comments#create-a-reply-for-a-review-comment"
	docsEditReviewComment   = "https://docs.github.com/rest/pulls/comments#update-a-review-comment-for-a-pull-request"
	docsReactReviewComment  = "https://docs.github.com/rest/reactions/reactions#create-reaction-for-a-pull-request-review-comment"
)

// ReviewComment is a comment on lines of a pull request's diff: one a test added with
// AddReviewComment (a reviewer's), or a reply the app posted in its thread.
type ReviewComment struct {
	ID         int64
	Repo       string // "owner/name"
	PullNumber int
	InReplyTo  int64 // the thread's first comment; 0 for that first comment
	User       string
	Body       string // with edits applied
	Path       string
	Line       int
	DiffHunk   string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// AddReviewComment stores a review comment as if a reviewer had written it. A zero ID or CreatedAt
// is filled in. It returns the stored comment.
func (s *Server) AddReviewComment(c ReviewComment) ReviewComment {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.ID == 0 {
		c.ID = s.newIDLocked()
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = s.nowLocked().Truncate(time.Second)
	}
	c.UpdatedAt = c.CreatedAt
	s.userLocked(c.User)
	s.addReviewLocked(&c)
	return c
}

func (s *Server) addReviewLocked(c *ReviewComment) {
	if s.reviews == nil {
		s.reviews = map[int64]*ReviewComment{}
	}
	s.reviews[c.ID] = c
	s.reviewOrder = append(s.reviewOrder, c.ID)
}

// ReviewComments returns the review comments on repo, oldest first, with edits applied.
func (s *Server) ReviewComments(repo string) []ReviewComment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ReviewComment
	for _, id := range s.reviewOrder {
		if c := s.reviews[id]; repoKey(c.Repo) == repoKey(repo) {
			out = append(out, *c)
		}
	}
	return out
}

// reviewCommentJSON is GitHub's "pull-request-review-comment" object, in part.
type reviewCommentJSON struct {
	URL            string   `json:"url"`
	ID             int64    `json:"id"`
	NodeID         string   `json:"node_id"`
	DiffHunk       string   `json:"diff_hunk"`
	Path           string   `json:"path"`
	InReplyToID    *int64   `json:"in_reply_to_id,omitempty"`
	User           userJSON `json:"user"`
	Body           string   `json:"body"`
	CreatedAt      string   `json:"created_at"`
	UpdatedAt      string   `json:"updated_at"`
	HTMLURL        string   `json:"html_url"`
	PullRequestURL string   `json:"pull_request_url"`
	Line           *int     `json:"line"`
	Side           string   `json:"side"`
}

func (s *Server) reviewCommentJSONLocked(api string, c *ReviewComment) reviewCommentJSON {
	author := s.botUser()
	if c.User != s.BotLogin() {
		author = s.userLocked(c.User)
	}
	out := reviewCommentJSON{
		URL:            fmt.Sprintf("%s/repos/%s/pulls/comments/%d", api, c.Repo, c.ID),
		ID:             c.ID,
		NodeID:         nodeID("PRRC_kwDO", c.ID),
		DiffHunk:       c.DiffHunk,
		Path:           c.Path,
		User:           s.userJSON(api, author),
		Body:           c.Body,
		CreatedAt:      timestamp(c.CreatedAt),
		UpdatedAt:      timestamp(c.UpdatedAt),
		HTMLURL:        fmt.Sprintf("%s/%s/pull/%d#discussion_r%d", s.URL, c.Repo, c.PullNumber, c.ID),
		PullRequestURL: fmt.Sprintf("%s/repos/%s/pulls/%d", api, c.Repo, c.PullNumber),
		Side:           "RIGHT",
	}
	if c.InReplyTo != 0 {
		out.InReplyToID = &c.InReplyTo
	}
	if c.Line > 0 {
		out.Line = &c.Line
	}
	return out
}

// findReview returns the review comment {id} of repo, or answers 404.
func (s *Server) findReview(w http.ResponseWriter, r *http.Request, repo, docURL string) (*ReviewComment, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	s.mu.Lock()
	c := s.reviews[id]
	s.mu.Unlock()
	if err != nil || c == nil || repoKey(c.Repo) != repoKey(repo) {
		writeNotFound(w, docURL)
		return nil, false
	}
	return c, true
}

// handleReplyToReviewComment serves POST /repos/{owner}/{repo}/pulls/{number}/comments/{id}/replies.
func (s *Server) handleReplyToReviewComment(w http.ResponseWriter, r *http.Request) {
	repo := r.PathValue("owner") + "/" + r.PathValue("repo")
	if !s.authorize(w, r, repo, "write", "pull_requests") {
		return
	}
	target, ok := s.findReview(w, r, repo, docsReplyReviewComment)
	if !ok {
		return
	}
	body, ok := commentBody(w, r, docsReplyReviewComment)
	if !ok {
		return
	}
	s.replyToReview(w, r, target, body, docsReplyReviewComment)
}

// handleCreateReviewComment serves POST /repos/{owner}/{repo}/pulls/{number}/comments for a reply
// (in_reply_to set: every other parameter but body is ignored, as GitHub documents). A new review
// comment on the diff, which needs commit_id, path and line, is not served.
func (s *Server) handleCreateReviewComment(w http.ResponseWriter, r *http.Request) {
	repo := r.PathValue("owner") + "/" + r.PathValue("repo")
	if !s.authorize(w, r, repo, "write", "pull_requests") {
		return
	}
	var req struct {
		Body      *string `json:"body"`
		InReplyTo int64   `json:"in_reply_to"`
	}
	if err := decodeBody(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, msgProblemsParsing, docsCreateReviewComment)
		return
	}
	if req.InReplyTo == 0 {
		writeValidation(w, docsCreateReviewComment, fieldError{Resource: "PullRequestReviewComment", Code: "missing_field", Field: "commit_id"})
		return
	}
	if req.Body == nil || *req.Body == "" {
		writeValidation(w, docsCreateReviewComment, fieldError{Resource: "PullRequestReviewComment", Code: "missing_field", Field: "body"})
		return
	}
	r.SetPathValue("id", strconv.FormatInt(req.InReplyTo, 10))
	target, ok := s.findReview(w, r, repo, docsCreateReviewComment)
	if !ok {
		return
	}
	s.replyToReview(w, r, target, *req.Body, docsCreateReviewComment)
}

// replyToReview adds body as the app's reply to target, a comment of pull request {number}. As
// GitHub documents, a reply to a reply is not supported: it answers 422.
func (s *Server) replyToReview(w http.ResponseWriter, r *http.Request, target *ReviewComment, body, docURL string) {
	if n, err := strconv.Atoi(r.PathValue("number")); err != nil || n != target.PullNumber {
		writeNotFound(w, docURL)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if target.InReplyTo != 0 {
		writeValidation(w, docURL, fieldError{Resource: "PullRequestReviewComment", Code: "invalid", Field: "in_reply_to"})
		return
	}
	now := s.nowLocked().Truncate(time.Second)
	c := &ReviewComment{ID: s.newIDLocked(), Repo: target.Repo, PullNumber: target.PullNumber, InReplyTo: target.ID,
		User: s.BotLogin(), Body: body, Path: target.Path, Line: target.Line, DiffHunk: target.DiffHunk, CreatedAt: now, UpdatedAt: now}
	s.addReviewLocked(c)
	writeJSON(w, http.StatusCreated, s.reviewCommentJSONLocked(s.apiBase(r), c))
}

// handleEditReviewComment serves PATCH /repos/{owner}/{repo}/pulls/comments/{id}.
func (s *Server) handleEditReviewComment(w http.ResponseWriter, r *http.Request) {
	repo := r.PathValue("owner") + "/" + r.PathValue("repo")
	if !s.authorize(w, r, repo, "write", "pull_requests") {
		return
	}
	c, ok := s.findReview(w, r, repo, docsEditReviewComment)
	if !ok {
		return
	}
	body, ok := commentBody(w, r, docsEditReviewComment)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c.Body, c.UpdatedAt = body, s.nowLocked().Truncate(time.Second)
	writeJSON(w, http.StatusOK, s.reviewCommentJSONLocked(s.apiBase(r), c))
}

// handleReactToReviewComment serves POST /repos/{owner}/{repo}/pulls/comments/{id}/reactions.
func (s *Server) handleReactToReviewComment(w http.ResponseWriter, r *http.Request) {
	repo := r.PathValue("owner") + "/" + r.PathValue("repo")
	if !s.authorize(w, r, repo, "write", "pull_requests") {
		return
	}
	c, ok := s.findReview(w, r, repo, docsReactReviewComment)
	if !ok {
		return
	}
	s.react(w, r, c.ID)
}
