package githubtest

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const docsCreatePull = "https://docs.github.com/rest/pulls/pulls#create-a-pull-request"

// firstPullNumber is the number below the first pull request's: pull
// requests share their numbers with issues, which tests number freely
// below it.
const firstPullNumber = 100

// PullRequest is a pull request the app opened.
type PullRequest struct {
	Number  int
	Title   string
	Body    string
	Head    string // branch name, without "owner:"
	Base    string
	HTMLURL string // URL/owner/name/pull/Number
	User    string // author's login: BotLogin()
	Draft   bool
	// HeadRepo is the "owner/name" of the repository Head is a branch of, when not this one (a
	// fork's pull request, added with AddPullRequest); its branch is not served.
	HeadRepo string
	Closed   bool
}

type pullState struct {
	PullRequest
	id                 int64
	createdAt          time.Time
	headSHA, baseSHA   string
	commits, additions int
	deletions, changed int
}

// PullRequests returns the pull requests opened on fullName, oldest first.
func (s *Server) PullRequests(fullName string) []PullRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	repo := s.repos[repoKey(fullName)]
	if repo == nil {
		return nil
	}
	out := make([]PullRequest, 0, len(repo.pulls))
	for _, p := range repo.pulls {
		out = append(out, p.PullRequest)
	}
	return out
}

type href struct {
	Href string `json:"href"`
}

type pullLinksJSON struct {
	Self           href `json:"self"`
	HTML           href `json:"html"`
	Issue          href `json:"issue"`
	Comments       href `json:"comments"`
	ReviewComments href `json:"review_comments"`
	ReviewComment  href `json:"review_comment"`
	Commits        href `json:"commits"`
	Statuses       href `json:"statuses"`
}

type pullBranchJSON struct {
	Label string   `json:"label"`
	Ref   string   `json:"ref"`
	SHA   string   `json:"sha"`
	User  userJSON `json:"user"`
	Repo  repoJSON `json:"repo"`
}

// pullJSON is GitHub's "pull-request" object, fields in GitHub's order.
type pullJSON struct {
	URL                 string         `json:"url"`
	ID                  int64          `json:"id"`
	NodeID              string         `json:"node_id"`
	HTMLURL             string         `json:"html_url"`
	DiffURL             string         `json:"diff_url"`
	PatchURL            string         `json:"patch_url"`
	IssueURL            string         `json:"issue_url"`
	Number              int            `json:"number"`
	State               string         `json:"state"`
	Locked              bool           `json:"locked"`
	Title               string         `json:"title"`
	User                userJSON       `json:"user"`
	Body                *string        `json:"body"`
	CreatedAt           string         `json:"created_at"`
	UpdatedAt           string         `json:"updated_at"`
	ClosedAt            *string        `json:"closed_at"`
	MergedAt            *string        `json:"merged_at"`
	MergeCommitSHA      *string        `json:"merge_commit_sha"`
	Assignee            *userJSON      `json:"assignee"`
	Assignees           []userJSON     `json:"assignees"`
	RequestedReviewers  []userJSON     `json:"requested_reviewers"`
	RequestedTeams      []any          `json:"requested_teams"`
	Labels              []any          `json:"labels"`
	Milestone           *struct{}      `json:"milestone"`
	Draft               bool           `json:"draft"`
	CommitsURL          string         `json:"commits_url"`
	ReviewCommentsURL   string         `json:"review_comments_url"`
	ReviewCommentURL    string         `json:"review_comment_url"`
	CommentsURL         string         `json:"comments_url"`
	StatusesURL         string         `json:"statuses_url"`
	Head                pullBranchJSON `json:"head"`
	Base                pullBranchJSON `json:"base"`
	Links               pullLinksJSON  `json:"_links"`
	AuthorAssociation   string         `json:"author_association"`
	AutoMerge           *struct{}      `json:"auto_merge"`
	ActiveLockReason    *string        `json:"active_lock_reason"`
	Merged              bool           `json:"merged"`
	Mergeable           *bool          `json:"mergeable"`
	Rebaseable          *bool          `json:"rebaseable"`
	MergeableState      string         `json:"mergeable_state"`
	MergedBy            *userJSON      `json:"merged_by"`
	Comments            int            `json:"comments"`
	ReviewComments      int            `json:"review_comments"`
	MaintainerCanModify bool           `json:"maintainer_can_modify"`
	Commits             int            `json:"commits"`
	Additions           int            `json:"additions"`
	Deletions           int            `json:"deletions"`
	ChangedFiles        int            `json:"changed_files"`
}

// pullJSONLocked renders p, a pull request of repo; api is the REST base URL.
func (s *Server) pullJSONLocked(api string, repo *repository, p *pullState) pullJSON {
	owner, _, _ := strings.Cut(repo.fullName, "/")
	u := fmt.Sprintf("%s/repos/%s/pulls/%d", api, repo.fullName, p.Number)
	issue := fmt.Sprintf("%s/repos/%s/issues/%d", api, repo.fullName, p.Number)
	statuses := fmt.Sprintf("%s/repos/%s/statuses/%s", api, repo.fullName, p.headSHA)
	ownerJSON := s.userJSON(api, s.userLocked(owner))
	r := s.repoJSONLocked(api, repo)
	var body *string
	if p.Body != "" {
		body = &p.Body
	}
	return pullJSON{
		URL:                u,
		ID:                 p.id,
		NodeID:             nodeID("PR_kwDO", p.id),
		HTMLURL:            p.HTMLURL,
		DiffURL:            p.HTMLURL + ".diff",
		PatchURL:           p.HTMLURL + ".patch",
		IssueURL:           issue,
		Number:             p.Number,
		State:              map[bool]string{false: "open", true: "closed"}[p.Closed],
		Title:              p.Title,
		User:               s.userJSON(api, s.botUser()),
		Body:               body,
		CreatedAt:          timestamp(p.createdAt),
		UpdatedAt:          timestamp(p.createdAt),
		Assignees:          []userJSON{},
		RequestedReviewers: []userJSON{},
		RequestedTeams:     []any{},
		Labels:             []any{},
		Draft:              p.Draft,
		CommitsURL:         u + "/commits",
		ReviewCommentsURL:  u + "/comments",
		ReviewCommentURL:   api + "/repos/" + repo.fullName + "/pulls/comments{/number}",
		CommentsURL:        issue + "/comments",
		StatusesURL:        statuses,
		Head:               s.headJSONLocked(api, repo, p, owner, ownerJSON, r),
		Base:               pullBranchJSON{Label: owner + ":" + p.Base, Ref: p.Base, SHA: p.baseSHA, User: ownerJSON, Repo: r},
		Links: pullLinksJSON{
			Self:           href{u},
			HTML:           href{p.HTMLURL},
			Issue:          href{issue},
			Comments:       href{issue + "/comments"},
			ReviewComments: href{u + "/comments"},
			ReviewComment:  href{api + "/repos/" + repo.fullName + "/pulls/comments{/number}"},
			Commits:        href{u + "/commits"},
			Statuses:       href{statuses},
		},
		AuthorAssociation:   "NONE",
		MergeableState:      "unknown", // GitHub computes mergeability after answering
		MaintainerCanModify: false,     // about forks; GitHub says false for a branch of the repository itself
		Commits:             p.commits,
		Additions:           p.additions,
		Deletions:           p.deletions,
		ChangedFiles:        p.changed,
	}
}

type createPullRequest struct {
	Title               *string `json:"title"`
	Head                *string `json:"head"`
	Base                *string `json:"base"`
	Body                *string `json:"body"`
	Draft               bool    `json:"draft"`
	MaintainerCanModify *bool   `json:"maintainer_can_modify"`
}

// handleCreatePull serves POST /repos/{owner}/{repo}/pulls for a head
// branch of the same repository, validating the way GitHub does.
func (s *Server) handleCreatePull(w http.ResponseWriter, r *http.Request) {
	fullName := r.PathValue("owner") + "/" + r.PathValue("repo")
	if !s.authorize(w, r, fullName, "write", "pull_requests") {
		return
	}
	var req createPullRequest
	if err := decodeBody(r, &req); err != nil {
		writeError(w, http.StatusBadRequest, msgProblemsParsing, docsCreatePull)
		return
	}
	switch {
	case req.Head == nil && req.Base == nil:
		writeError(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"base\", \"head\" weren't supplied.", docsCreatePull)
		return
	case req.Head == nil:
		writeError(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"head\" wasn't supplied.", docsCreatePull)
		return
	case req.Base == nil:
		writeError(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"base\" wasn't supplied.", docsCreatePull)
		return
	case req.Title == nil || strings.TrimSpace(*req.Title) == "":
		writeValidation(w, docsCreatePull, fieldError{Resource: "PullRequest", Code: "missing_field", Field: "title"})
		return
	}

	s.mu.Lock()
	repo := s.repos[repoKey(fullName)]
	dir := repo.gitDir
	owner, _, _ := strings.Cut(repo.fullName, "/")
	s.mu.Unlock()

	// "owner:branch" names a branch of owner's fork; this server has none
	// but the repository itself.
	head, base := *req.Head, *req.Base
	headOK := true
	if o, b, ok := strings.Cut(head, ":"); ok {
		head, headOK = b, strings.EqualFold(o, owner)
	}
	var headSHA, baseSHA string
	baseOK := false
	if dir != "" {
		if headOK {
			headSHA, headOK = resolveRef(dir, "refs/heads/"+head)
		}
		baseSHA, baseOK = resolveRef(dir, "refs/heads/"+base)
	} else {
		headOK = false
	}
	var invalid []fieldError
	if !headOK {
		invalid = append(invalid, fieldError{Resource: "PullRequest", Code: "invalid", Field: "head"})
	}
	if !baseOK {
		invalid = append(invalid, fieldError{Resource: "PullRequest", Code: "invalid", Field: "base"})
	}
	if len(invalid) > 0 {
		writeValidation(w, docsCreatePull, invalid...)
		return
	}
	if s.openPull(repo, head, base) {
		writeValidation(w, docsCreatePull, fieldError{Resource: "PullRequest", Code: "custom",
			Message: fmt.Sprintf("A pull request already exists for %s:%s.", owner, head)})
		return
	}
	p := &pullState{headSHA: headSHA, baseSHA: baseSHA}
	p.commits, p.additions, p.deletions, p.changed = diffStats(dir, baseSHA, headSHA)
	if p.commits == 0 {
		writeValidation(w, docsCreatePull, fieldError{Resource: "PullRequest", Code: "custom",
			Message: fmt.Sprintf("No commits between %s and %s", base, head)})
		return
	}

	s.mu.Lock()
	for _, q := range repo.pulls {
		if q.Head == head && q.Base == base { // opened meanwhile
			s.mu.Unlock()
			writeValidation(w, docsCreatePull, fieldError{Resource: "PullRequest", Code: "custom",
				Message: fmt.Sprintf("A pull request already exists for %s:%s.", owner, head)})
			return
		}
	}
	p.Number = s.nextNumberLocked(repo)
	p.Title, p.Head, p.Base, p.Draft, p.User = *req.Title, head, base, req.Draft, s.BotLogin()
	if req.Body != nil {
		p.Body = *req.Body
	}
	p.HTMLURL = fmt.Sprintf("%s/%s/pull/%d", s.URL, repo.fullName, p.Number)
	p.id = s.newIDLocked()
	p.createdAt = s.nowLocked().Truncate(time.Second)
	repo.pulls = append(repo.pulls, p)
	out := s.pullJSONLocked(s.apiBase(r), repo, p)
	s.mu.Unlock()
	w.Header().Set("Location", out.URL)
	writeJSON(w, http.StatusCreated, out)
}

// openPull reports whether repo has an open pull request from head to base.
func (s *Server) openPull(repo *repository, head, base string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range repo.pulls {
		if p.Head == head && p.Base == base {
			return true
		}
	}
	return false
}

// nextNumberLocked is the number of repo's next pull request: past every
// issue number a comment used and every pull request's.
func (s *Server) nextNumberLocked(repo *repository) int {
	n := firstPullNumber
	for _, c := range s.comments {
		if repoKey(c.Repo) == repoKey(repo.fullName) {
			n = max(n, c.IssueNumber)
		}
	}
	for _, p := range repo.pulls {
		n = max(n, p.Number)
	}
	return n + 1
}

// diffStats counts the commits of head not in base, and the lines added
// and deleted and the files changed between their merge base and head, as
// a pull request shows them.
func diffStats(dir, base, head string) (commits, additions, deletions, files int) {
	out, err := gitCmd(dir, nil, "rev-list", "--count", base+".."+head)
	if err != nil {
		return 0, 0, 0, 0
	}
	commits, _ = strconv.Atoi(strings.TrimSpace(out))
	out, err = gitCmd(dir, nil, "diff", "--numstat", base+"..."+head)
	if err != nil {
		return commits, 0, 0, 0
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		files++
		a, _ := strconv.Atoi(f[0]) // "-" for a binary file
		d, _ := strconv.Atoi(f[1])
		additions += a
		deletions += d
	}
	return commits, additions, deletions, files
}

const docsListPulls = "https://docs.github.com/rest/pulls/pulls#list-pull-requests"

// handleListPulls serves GET /repos/{owner}/{repo}/pulls with GitHub's head ("user:ref-name") and
// state (open, closed or all; open by default) filters, oldest first. This server's pull requests
// are all open.
func (s *Server) handleListPulls(w http.ResponseWriter, r *http.Request) {
	fullName := r.PathValue("owner") + "/" + r.PathValue("repo")
	if !s.authorize(w, r, fullName, "read", "pull_requests") {
		return
	}
	q := r.URL.Query()
	state := q.Get("state")
	switch state {
	case "":
		state = "open"
	case "open", "closed", "all":
	default:
		writeValidation(w, docsListPulls, fieldError{Resource: "PullRequest", Code: "invalid", Field: "state"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	repo := s.repos[repoKey(fullName)]
	owner, _, _ := strings.Cut(repo.fullName, "/")
	out := []pullJSON{}
	for _, p := range repo.pulls {
		if state == "closed" {
			break
		}
		if head := q.Get("head"); head != "" {
			user, ref, ok := strings.Cut(head, ":")
			if !ok || !strings.EqualFold(user, owner) || ref != p.Head {
				continue
			}
		}
		if base := q.Get("base"); base != "" && base != p.Base {
			continue
		}
		out = append(out, s.pullJSONLocked(s.apiBase(r), repo, p))
	}
	writeJSON(w, http.StatusOK, out)
}
