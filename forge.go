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
