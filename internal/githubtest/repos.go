package githubtest

import (
	"net/http"
	"net/url"
	"strings"
)

// repoJSON is GitHub's "repository" object as it appears in a pull
// request's head and base, fields in GitHub's order.
type repoJSON struct {
	ID                       int64     `json:"id"`
	NodeID                   string    `json:"node_id"`
	Name                     string    `json:"name"`
	FullName                 string    `json:"full_name"`
	Private                  bool      `json:"private"`
	Owner                    userJSON  `json:"owner"`
	HTMLURL                  string    `json:"html_url"`
	Description              *string   `json:"description"`
	Fork                     bool      `json:"fork"`
	URL                      string    `json:"url"`
	ForksURL                 string    `json:"forks_url"`
	KeysURL                  string    `json:"keys_url"`
	CollaboratorsURL         string    `json:"collaborators_url"`
	TeamsURL                 string    `json:"teams_url"`
	HooksURL                 string    `json:"hooks_url"`
	IssueEventsURL           string    `json:"issue_events_url"`
	EventsURL                string    `json:"events_url"`
	AssigneesURL             string    `json:"assignees_url"`
	BranchesURL              string    `json:"branches_url"`
	TagsURL                  string    `json:"tags_url"`
	BlobsURL                 string    `json:"blobs_url"`
	GitTagsURL               string    `json:"git_tags_url"`
	GitRefsURL               string    `json:"git_refs_url"`
	TreesURL                 string    `json:"trees_url"`
	StatusesURL              string    `json:"statuses_url"`
	LanguagesURL             string    `json:"languages_url"`
	StargazersURL            string    `json:"stargazers_url"`
	ContributorsURL          string    `json:"contributors_url"`
	SubscribersURL           string    `json:"subscribers_url"`
	SubscriptionURL          string    `json:"subscription_url"`
	CommitsURL               string    `json:"commits_url"`
	GitCommitsURL            string    `json:"git_commits_url"`
	CommentsURL              string    `json:"comments_url"`
	IssueCommentURL          string    `json:"issue_comment_url"`
	ContentsURL              string    `json:"contents_url"`
	CompareURL               string    `json:"compare_url"`
	MergesURL                string    `json:"merges_url"`
	ArchiveURL               string    `json:"archive_url"`
	DownloadsURL             string    `json:"downloads_url"`
	IssuesURL                string    `json:"issues_url"`
	PullsURL                 string    `json:"pulls_url"`
	MilestonesURL            string    `json:"milestones_url"`
	NotificationsURL         string    `json:"notifications_url"`
	LabelsURL                string    `json:"labels_url"`
	ReleasesURL              string    `json:"releases_url"`
	DeploymentsURL           string    `json:"deployments_url"`
	CreatedAt                string    `json:"created_at"`
	UpdatedAt                string    `json:"updated_at"`
	PushedAt                 string    `json:"pushed_at"`
	GitURL                   string    `json:"git_url"`
	SSHURL                   string    `json:"ssh_url"`
	CloneURL                 string    `json:"clone_url"`
	SVNURL                   string    `json:"svn_url"`
	Homepage                 *string   `json:"homepage"`
	Size                     int       `json:"size"`
	StargazersCount          int       `json:"stargazers_count"`
	WatchersCount            int       `json:"watchers_count"`
	Language                 *string   `json:"language"`
	HasIssues                bool      `json:"has_issues"`
	HasProjects              bool      `json:"has_projects"`
	HasDownloads             bool      `json:"has_downloads"`
	HasWiki                  bool      `json:"has_wiki"`
	HasPages                 bool      `json:"has_pages"`
	HasDiscussions           bool      `json:"has_discussions"`
	ForksCount               int       `json:"forks_count"`
	MirrorURL                *string   `json:"mirror_url"`
	Archived                 bool      `json:"archived"`
	Disabled                 bool      `json:"disabled"`
	OpenIssuesCount          int       `json:"open_issues_count"`
	License                  *struct{} `json:"license"`
	AllowForking             bool      `json:"allow_forking"`
	IsTemplate               bool      `json:"is_template"`
	WebCommitSignoffRequired bool      `json:"web_commit_signoff_required"`
	Topics                   []string  `json:"topics"`
	Visibility               string    `json:"visibility"`
	Forks                    int       `json:"forks"`
	OpenIssues               int       `json:"open_issues"`
	Watchers                 int       `json:"watchers"`
	DefaultBranch            string    `json:"default_branch"`
}

// fullRepoJSON is GitHub's "full-repository" object, the answer of
// GET /repos/{owner}/{repo}: a repository plus what the caller may do and
// the merge settings, which GitHub shows to those who can push.
type fullRepoJSON struct {
	repoJSON
	Permissions               repoPermissions `json:"permissions"`
	AllowSquashMerge          bool            `json:"allow_squash_merge"`
	AllowMergeCommit          bool            `json:"allow_merge_commit"`
	AllowRebaseMerge          bool            `json:"allow_rebase_merge"`
	AllowAutoMerge            bool            `json:"allow_auto_merge"`
	DeleteBranchOnMerge       bool            `json:"delete_branch_on_merge"`
	AllowUpdateBranch         bool            `json:"allow_update_branch"`
	UseSquashPRTitleAsDefault bool            `json:"use_squash_pr_title_as_default"`
	SquashMergeCommitMessage  string          `json:"squash_merge_commit_message"`
	SquashMergeCommitTitle    string          `json:"squash_merge_commit_title"`
	MergeCommitMessage        string          `json:"merge_commit_message"`
	MergeCommitTitle          string          `json:"merge_commit_title"`
	CustomProperties          map[string]any  `json:"custom_properties"`
	NetworkCount              int             `json:"network_count"`
	SubscribersCount          int             `json:"subscribers_count"`
}

// repoJSONLocked renders repo; api is the REST base URL.
func (s *Server) repoJSONLocked(api string, repo *repository) repoJSON {
	owner, name, _ := strings.Cut(repo.fullName, "/")
	u := api + "/repos/" + repo.fullName
	host := strings.TrimPrefix(strings.TrimPrefix(s.URL, "http://"), "https://")
	hostname := host
	if h, err := url.Parse(s.URL); err == nil {
		hostname = h.Hostname()
	}
	html := s.URL + "/" + repo.fullName
	visibility := "private"
	if repo.public {
		visibility = "public"
	}
	return repoJSON{
		ID:                       repo.id,
		NodeID:                   nodeID("R_kgDO", repo.id),
		Name:                     name,
		FullName:                 repo.fullName,
		Private:                  !repo.public,
		Owner:                    s.userJSON(api, s.userLocked(owner)),
		HTMLURL:                  html,
		Fork:                     false,
		URL:                      u,
		ForksURL:                 u + "/forks",
		KeysURL:                  u + "/keys{/key_id}",
		CollaboratorsURL:         u + "/collaborators{/collaborator}",
		TeamsURL:                 u + "/teams",
		HooksURL:                 u + "/hooks",
		IssueEventsURL:           u + "/issues/events{/number}",
		EventsURL:                u + "/events",
		AssigneesURL:             u + "/assignees{/user}",
		BranchesURL:              u + "/branches{/branch}",
		TagsURL:                  u + "/tags",
		BlobsURL:                 u + "/git/blobs{/sha}",
		GitTagsURL:               u + "/git/tags{/sha}",
		GitRefsURL:               u + "/git/refs{/sha}",
		TreesURL:                 u + "/git/trees{/sha}",
		StatusesURL:              u + "/statuses/{sha}",
		LanguagesURL:             u + "/languages",
		StargazersURL:            u + "/stargazers",
		ContributorsURL:          u + "/contributors",
		SubscribersURL:           u + "/subscribers",
		SubscriptionURL:          u + "/subscription",
		CommitsURL:               u + "/commits{/sha}",
		GitCommitsURL:            u + "/git/commits{/sha}",
		CommentsURL:              u + "/comments{/number}",
		IssueCommentURL:          u + "/issues/comments{/number}",
		ContentsURL:              u + "/contents/{+path}",
		CompareURL:               u + "/compare/{base}...{head}",
		MergesURL:                u + "/merges",
		ArchiveURL:               u + "/{archive_format}{/ref}",
		DownloadsURL:             u + "/downloads",
		IssuesURL:                u + "/issues{/number}",
		PullsURL:                 u + "/pulls{/number}",
		MilestonesURL:            u + "/milestones{/number}",
		NotificationsURL:         u + "/notifications{?since,all,participating}",
		LabelsURL:                u + "/labels{/name}",
		ReleasesURL:              u + "/releases{/id}",
		DeploymentsURL:           u + "/deployments",
		CreatedAt:                timestamp(repo.createdAt),
		UpdatedAt:                timestamp(repo.pushedAt),
		PushedAt:                 timestamp(repo.pushedAt),
		GitURL:                   "git://" + host + "/" + repo.fullName + ".git",
		SSHURL:                   "git@" + hostname + ":" + repo.fullName + ".git",
		CloneURL:                 s.GitURL(repo.fullName),
		SVNURL:                   html,
		HasIssues:                true,
		HasProjects:              true,
		HasDownloads:             true,
		HasWiki:                  repo.public, // private repositories on the free plan have none
		AllowForking:             repo.public,
		Topics:                   []string{},
		Visibility:               visibility,
		OpenIssuesCount:          s.openPullsLocked(repo),
		OpenIssues:               s.openPullsLocked(repo),
		DefaultBranch:            "main",
		WebCommitSignoffRequired: false,
	}
}

func (s *Server) openPullsLocked(repo *repository) int { return len(repo.pulls) }

// tokenRepoPermissions is what an installation token may do on a
// repository, as the "permissions" of a repository object.
func tokenRepoPermissions(perms map[string]string) repoPermissions {
	return repoPermissions{
		Admin:    levelRank(perms["administration"]) >= 2,
		Maintain: levelRank(perms["administration"]) >= 2,
		Push:     levelRank(perms["contents"]) >= 2,
		Triage:   levelRank(perms["issues"]) >= 2 || levelRank(perms["pull_requests"]) >= 2,
		Pull:     true,
	}
}

// handleGetRepo serves GET /repos/{owner}/{repo}.
func (s *Server) handleGetRepo(w http.ResponseWriter, r *http.Request) {
	fullName := r.PathValue("owner") + "/" + r.PathValue("repo")
	if !s.authorize(w, r, fullName, "read", "metadata") {
		return
	}
	_, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	s.mu.Lock()
	repo := s.repos[repoKey(fullName)]
	out := fullRepoJSON{
		repoJSON:                 s.repoJSONLocked(s.apiBase(r), repo),
		Permissions:              tokenRepoPermissions(s.tokens[cred].perms),
		AllowSquashMerge:         true,
		AllowMergeCommit:         true,
		AllowRebaseMerge:         true,
		SquashMergeCommitMessage: "COMMIT_MESSAGES",
		SquashMergeCommitTitle:   "COMMIT_OR_PR_TITLE",
		MergeCommitMessage:       "PR_TITLE",
		MergeCommitTitle:         "MERGE_MESSAGE",
		CustomProperties:         map[string]any{},
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}
