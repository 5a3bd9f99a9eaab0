package githubtest

import (
	"net/http"
	"slices"
	"time"
)

const docsCreateReaction = "https://docs.github.com/rest/reactions/reactions#create-reaction-for-an-issue-comment"

// reactionContents are the reactions GitHub accepts.
var reactionContents = []string{"+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"}

type reaction struct {
	id        int64
	user      string
	content   string
	createdAt time.Time
}

type reactionJSON struct {
	ID        int64    `json:"id"`
	NodeID    string   `json:"node_id"`
	User      userJSON `json:"user"`
	Content   string   `json:"content"`
	CreatedAt string   `json:"created_at"`
}

// Reactions returns the contents ("eyes", "+1", ...) of the reactions on
// comment commentID of repo, oldest first.
func (s *Server) Reactions(repo string, commentID int64) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var of string // the repository of the comment, an issue's or a review's
	if c := s.comments[commentID]; c != nil {
		of = c.Repo
	} else if c := s.reviews[commentID]; c != nil {
		of = c.Repo
	}
	if of == "" || repoKey(of) != repoKey(repo) {
		return nil
	}
	var out []string
	for _, re := range s.reactions[commentID] {
		out = append(out, re.content)
	}
	return out
}

// handleCreateReaction serves POST /repos/{owner}/{repo}/issues/comments/{id}/reactions.
// Like GitHub, it answers 201 with a new reaction, or 200 with the existing
// one when the app already reacted with that content.
func (s *Server) handleCreateReaction(w http.ResponseWriter, r *http.Request) {
	repo := r.PathValue("owner") + "/" + r.PathValue("repo")
	if !s.authorize(w, r, repo, "write", "issues", "pull_requests") {
		return
	}
	c, ok := s.findComment(w, r, repo, docsCreateReaction)
	if !ok {
		return
	}
	s.react(w, r, c.ID)
}

// react answers a request to react to the comment id (of an issue or of a review), which exists.
func (s *Server) react(w http.ResponseWriter, r *http.Request, id int64) {
	var req struct {
		Content string `json:"content"`
	}
	if err := decodeBody(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, msgProblemsParsing, docsCreateReaction)
		return
	}
	if !slices.Contains(reactionContents, req.Content) {
		writeValidation(w, docsCreateReaction, fieldError{Resource: "Reaction", Code: "custom", Field: "content",
			Message: "content is not included in the list"})
		return
	}
	bot := s.BotLogin()
	s.mu.Lock()
	status := http.StatusOK
	i := slices.IndexFunc(s.reactions[id], func(re reaction) bool { return re.user == bot && re.content == req.Content })
	if i < 0 {
		status = http.StatusCreated
		s.reactions[id] = append(s.reactions[id], reaction{id: s.newIDLocked(), user: bot, content: req.Content,
			createdAt: s.nowLocked().Truncate(time.Second)})
		i = len(s.reactions[id]) - 1
	}
	re := s.reactions[id][i]
	s.mu.Unlock()
	writeJSON(w, status, reactionJSON{
		ID:        re.id,
		NodeID:    nodeID("REA_lATO", re.id),
		User:      s.userJSON(s.apiBase(r), s.botUser()),
		Content:   re.content,
		CreatedAt: timestamp(re.createdAt),
	})
}
