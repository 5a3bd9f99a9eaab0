package bot

import "encoding/json"

// issueCommentEvent holds the fields of GitHub's issue_comment webhook payload that Sesame reads.
type issueCommentEvent struct {
	Action string `json:"action"`
	Issue  struct {
		Number      int             `json:"number"`
		PullRequest json.RawMessage `json:"pull_request"` // present only for comments on pull requests
	} `json:"issue"`
	Comment struct {
		ID                    int64  `json:"id"`
		Body                  string `json:"body"`
		HTMLURL               string `json:"html_url"`
		User                  ghUser `json:"user"`
		PerformedViaGitHubApp *struct {
			ID int64 `json:"id"`
		} `json:"performed_via_github_app"`
	} `json:"comment"`
	Repository struct {
		FullName string `json:"full_name"`
	} `json:"repository"`
	Sender       ghUser `json:"sender"`
	Installation *struct {
		ID int64 `json:"id"`
	} `json:"installation"`
}

type ghUser struct {
	Login string `json:"login"`
	ID    int64  `json:"id"`
	Type  string `json:"type"` // "User", "Bot" or "Organization"
}
