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
