package githubtest

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	docsCreateComment = "https://docs.github.com/rest/issues/comments#create-an-issue-comment"
	docsUpdateComment = "https://docs.github.com/rest/issues/comments#update-an-issue-comment"
	docsGetComment    = "https://docs.github.com/rest/issues/comments#get-an-issue-comment"
	maxCommentBody    = 65536 // characters
)

// Comment is an issue or pull request comment the server knows: one the app
// created through the API, or one a test added with AddComment.
type Comment struct {
	ID          int64
	Repo        string // "owner/name"
	IssueNumber int
	User        string // author's login; the app's is BotLogin()
	Body        string // with edits applied
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// AddComment stores a comment as if a user had written it, for webhooks to
// point at (a reaction needs an existing comment). A zero ID, CreatedAt or
// UpdatedAt is filled in. It returns the stored comment.
func (s *Server) AddComment(c Comment) Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.ID == 0 {
		c.ID = s.newIDLocked()
	}
	if s.comments[c.ID] != nil {
		panic(fmt.Sprintf("githubtest: AddComment: comment %d exists", c.ID))
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = s.nowLocked().Truncate(time.Second)
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = c.CreatedAt
	}
	if c.User != s.BotLogin() {
		s.userLocked(c.User)
	}
	s.comments[c.ID] = &c
	s.commentOrder = append(s.commentOrder, c.ID)
	return c
}

// Comments returns the comments on repo, oldest first, with edits applied.
func (s *Server) Comments(repo string) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Comment
	for _, id := range s.commentOrder {
		if c := s.comments[id]; repoKey(c.Repo) == repoKey(repo) {
			out = append(out, *c)
		}
	}
	return out
}

type reactionsJSON struct {
	URL        string `json:"url"`
	TotalCount int    `json:"total_count"`
	PlusOne    int    `json:"+1"`
	MinusOne   int    `json:"-1"`
	Laugh      int    `json:"laugh"`
	Hooray     int    `json:"hooray"`
	Confused   int    `json:"confused"`
	Heart      int    `json:"heart"`
	Rocket     int    `json:"rocket"`
	Eyes       int    `json:"eyes"`
}

// commentJSON is GitHub's issue comment object, fields in GitHub's order.
type commentJSON struct {
	URL                   string        `json:"url"`
	HTMLURL               string        `json:"html_url"`
	IssueURL              string        `json:"issue_url"`
	ID                    int64         `json:"id"`
	NodeID                string        `json:"node_id"`
	User                  userJSON      `json:"user"`
	CreatedAt             string        `json:"created_at"`
	UpdatedAt             string        `json:"updated_at"`
	Body                  string        `json:"body"`
	AuthorAssociation     string        `json:"author_association"`
	Reactions             reactionsJSON `json:"reactions"`
	PerformedViaGitHubApp *appJSON      `json:"performed_via_github_app"`
}

func (s *Server) commentJSON(r *http.Request, c Comment) commentJSON {
	api := s.apiBase(r)
	isBot := c.User == s.BotLogin()
	s.mu.Lock()
	author := s.botUser()
	if !isBot {
		author = s.userLocked(c.User)
	}
	assoc := "NONE"
	if role := s.roles[repoKey(c.Repo)][strings.ToLower(c.User)]; role != "" && role != "none" {
		assoc = "COLLABORATOR"
	}
	rollup := reactionsJSON{URL: fmt.Sprintf("%s/repos/%s/issues/comments/%d/reactions", api, c.Repo, c.ID)}
	for _, re := range s.reactions[c.ID] {
		rollup.TotalCount++
		switch re.content {
		case "+1":
			rollup.PlusOne++
		case "-1":
			rollup.MinusOne++
		case "laugh":
			rollup.Laugh++
		case "hooray":
			rollup.Hooray++
		case "confused":
			rollup.Confused++
		case "heart":
			rollup.Heart++
		case "rocket":
			rollup.Rocket++
		case "eyes":
			rollup.Eyes++
		}
	}
	s.mu.Unlock()
	var via *appJSON
	if isBot {
		a := s.appJSON(api, false)
		via = &a
	}
	return commentJSON{
		URL:                   fmt.Sprintf("%s/repos/%s/issues/comments/%d", api, c.Repo, c.ID),
		HTMLURL:               fmt.Sprintf("%s/%s/issues/%d#issuecomment-%d", s.URL, c.Repo, c.IssueNumber, c.ID),
		IssueURL:              fmt.Sprintf("%s/repos/%s/issues/%d", api, c.Repo, c.IssueNumber),
		ID:                    c.ID,
		NodeID:                nodeID("IC_kwDO", c.ID),
		User:                  s.userJSON(api, author),
		CreatedAt:             timestamp(c.CreatedAt),
		UpdatedAt:             timestamp(c.UpdatedAt),
		Body:                  c.Body,
		AuthorAssociation:     assoc,
		Reactions:             rollup,
		PerformedViaGitHubApp: via,
	}
}

// commentBody reads {"body": "..."} and, if it is not one GitHub would
// accept, answers 422 as GitHub does and returns false.
func commentBody(w http.ResponseWriter, r *http.Request, docURL string) (string, bool) {
	var req struct {
		Body *string `json:"body"`
	}
	if err := decodeBody(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, msgProblemsParsing, docURL)
		return "", false
	}
	switch {
	case req.Body == nil:
		writeError(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"body\" wasn't supplied.", docURL)
		return "", false
	case strings.TrimSpace(*req.Body) == "":
		writeValidation(w, docURL, fieldError{Resource: "IssueComment", Code: "unprocessable", Field: "data", Message: "Body cannot be blank"})
		return "", false
	case utf8.RuneCountInString(*req.Body) > maxCommentBody:
		writeValidation(w, docURL, fieldError{Resource: "IssueComment", Code: "unprocessable", Field: "data",
			Message: fmt.Sprintf("Body is too long (maximum is %d characters)", maxCommentBody)})
		return "", false
	}
	return *req.Body, true
}

// handleCreateComment serves POST /repos/{owner}/{repo}/issues/{number}/comments.
func (s *Server) handleCreateComment(w http.ResponseWriter, r *http.Request) {
	repo := r.PathValue("owner") + "/" + r.PathValue("repo")
	if !s.authorize(w, r, repo, "write", "issues", "pull_requests") {
		return
	}
	number, err := strconv.Atoi(r.PathValue("number"))
	if err != nil || number <= 0 {
		writeNotFound(w, docsCreateComment)
		return
	}
	body, ok := commentBody(w, r, docsCreateComment)
	if !ok {
		return
	}
	s.mu.Lock()
	now := s.nowLocked().Truncate(time.Second)
	c := &Comment{ID: s.newIDLocked(), Repo: s.repos[repoKey(repo)].fullName, IssueNumber: number,
		User: s.BotLogin(), Body: body, CreatedAt: now, UpdatedAt: now}
	s.comments[c.ID] = c
	s.commentOrder = append(s.commentOrder, c.ID)
	created := *c
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, s.commentJSON(r, created))
}

// findComment returns the comment {id} of the request's repository, or
// answers 404.
func (s *Server) findComment(w http.ResponseWriter, r *http.Request, repo, docURL string) (*Comment, bool) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	s.mu.Lock()
	c := s.comments[id]
	found := c != nil && repoKey(c.Repo) == repoKey(repo)
	s.mu.Unlock()
	if !found {
		writeNotFound(w, docURL)
		return nil, false
	}
	return c, true
}

// handleGetComment serves GET /repos/{owner}/{repo}/issues/comments/{id}.
func (s *Server) handleGetComment(w http.ResponseWriter, r *http.Request) {
	repo := r.PathValue("owner") + "/" + r.PathValue("repo")
	if !s.authorize(w, r, repo, "read", "issues", "pull_requests") {
		return
	}
	c, ok := s.findComment(w, r, repo, docsGetComment)
	if !ok {
		return
	}
	s.mu.Lock()
	snapshot := *c
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, s.commentJSON(r, snapshot))
}

// handleEditComment serves PATCH /repos/{owner}/{repo}/issues/comments/{id}.
func (s *Server) handleEditComment(w http.ResponseWriter, r *http.Request) {
	repo := r.PathValue("owner") + "/" + r.PathValue("repo")
	if !s.authorize(w, r, repo, "write", "issues", "pull_requests") {
		return
	}
	c, ok := s.findComment(w, r, repo, docsUpdateComment)
	if !ok {
		return
	}
	body, ok := commentBody(w, r, docsUpdateComment)
	if !ok {
		return
	}
	s.mu.Lock()
	c.Body = body
	c.UpdatedAt = s.nowLocked().Truncate(time.Second)
	snapshot := *c
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, s.commentJSON(r, snapshot))
}
