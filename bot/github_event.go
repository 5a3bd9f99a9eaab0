package bot

import (
	"encoding/json"
	"strconv"

	jsonv2 "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

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
		PerformedViaGitHubApp *ghApp `json:"performed_via_github_app"`
	} `json:"comment"`
	Repository struct {
		FullName string `json:"full_name"`
	} `json:"repository"`
	Sender       ghUser          `json:"sender"`
	Installation *ghInstallation `json:"installation"`
}

// ghApp is the GitHub App a comment was made through.
type ghApp struct {
	ID int64 `json:"id"`
}

// ghInstallation is the installation of the app a delivery is for.
type ghInstallation struct {
	ID int64 `json:"id"`
}

// decodeIssueComment decodes an issue_comment payload by encoding/json's rules (names match whatever
// their case, the last of repeated names wins, invalid UTF-8 becomes U+FFFD, an error for any value
// of the wrong type), through the v1 options of the encoding/json/v2 prototype, which decodes
// GitHub's 8–20 KB payloads in about a third of the time: decoding was the largest cost of a
// delivery in the server (BenchmarkDecodeIssueComment; FuzzDecodeIssueComment holds the two equal).
// When encoding/json/v2 ships without GOEXPERIMENT, it replaces this import.
func decodeIssueComment(body []byte) (issueCommentEvent, error) {
	var ev issueCommentEvent
	err := jsonv2.Unmarshal(body, &ev, jsonv1.DefaultOptionsV1())
	return ev, err
}

type ghUser struct {
	Login string `json:"login"`
	ID    int64  `json:"id"`
	Type  string `json:"type"` // "User", "Bot" or "Organization"
}

// commentKey is the request key of a comment: GitHub signs the body but not X-GitHub-Delivery, so the
// same body sent again under a new delivery id is known by the installation, comment and action it
// names.
func commentKey(installation, comment int64, action string) string {
	return "github:comment:" + strconv.FormatInt(installation, 10) + ":" + strconv.FormatInt(comment, 10) + ":" + action
}
