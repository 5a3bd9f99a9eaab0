package sesame

import (
	"strings"
	"time"
)

// Repository is what Sesame needs to know of a hosted repository.
type Repository struct {
	CloneURL      string // https URL git clones from; never holds credentials
	DefaultBranch string
}

// PullRequest is a pull request Sesame opens.
type PullRequest struct {
	Title, Body string
	Head, Base  string // branch names
	Draft       bool   // opened as a draft: not ready for review (the agent was stopped at a budget)
}

// RepoRef is a repository the GitHub App can reach, and through which installation.
type RepoRef struct {
	FullName       string // "owner/name"
	InstallationID int64
	Private        bool
}

// PullRequestInfo is a pull request as Sesame reads it before working on its branch.
type PullRequestInfo struct {
	Number   int
	URL      string // web URL
	Title    string
	Body     string
	State    string // "open" or "closed"
	Merged   bool
	HeadRef  string // the branch, without "owner:"
	HeadRepo string // "owner/name" of the branch's repository; "" when that repository was deleted
	HeadSHA  string
	BaseRef  string
}

// FromFork reports whether the pull request's branch lives outside repo ("owner/name"): in a fork,
// or in a repository since deleted. Sesame cannot push there.
func (p PullRequestInfo) FromFork(repo string) bool {
	return p.HeadRepo == "" || !strings.EqualFold(p.HeadRepo, repo)
}

// Comment is one comment of an issue's or a pull request's conversation.
type Comment struct {
	Author    string
	Body      string
	CreatedAt time.Time
}

// ReviewComment is a comment on lines of a pull request's diff that asked Sesame for something: the
// agent is told where it is, and the replies go into its thread.
type ReviewComment struct {
	Path      string `json:"path"`                 // the file, relative to the repository's root
	Line      int    `json:"line,omitempty"`       // the last line commented on; 0 for a comment on the file
	StartLine int    `json:"start_line,omitempty"` // the first, for a comment on several lines; else 0
	Side      string `json:"side,omitempty"`       // "RIGHT": lines of the pull request's version; "LEFT": of the base's
	DiffHunk  string `json:"diff_hunk,omitempty"`  // the diff around the lines, as GitHub shows it
	// Thread is the id of the thread's first comment, which replies answer (GitHub takes no reply
	// to a reply).
	Thread int64 `json:"thread"`
}
