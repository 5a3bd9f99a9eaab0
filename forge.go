package sesame

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
