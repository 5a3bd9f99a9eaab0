package githubtest

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const (
	docsGetPull      = "https://docs.github.com/rest/pulls/pulls#get-a-pull-request"
	docsListComments = "https://docs.github.com/rest/issues/comments#list-issue-comments"
)

// AddPullRequest stores a pull request as if a user had opened it, from p.Head of fullName (a branch
// the repository's git directory has), or from a fork's branch when p.HeadRepo names another
// repository. Number, HTMLURL and User are filled in when zero. It returns the stored pull request.
func (s *Server) AddPullRequest(fullName string, p PullRequest) PullRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	repo := s.repoLocked(fullName)
	if p.Number == 0 {
		p.Number = s.nextNumberLocked(repo)
	}
	if p.HTMLURL == "" {
		p.HTMLURL = fmt.Sprintf("%s/%s/pull/%d", s.URL, repo.fullName, p.Number)
	}
	if p.User == "" {
		p.User = "octocat"
	}
	st := &pullState{PullRequest: p, id: s.newIDLocked(), createdAt: s.nowLocked().Truncate(time.Second)}
	if repo.gitDir != "" {
		st.baseSHA, _ = resolveRef(repo.gitDir, "refs/heads/"+p.Base)
		if p.HeadRepo == "" {
			st.headSHA, _ = resolveRef(repo.gitDir, "refs/heads/"+p.Head)
		}
	}
	repo.pulls = append(repo.pulls, st)
	return p
}

// headJSONLocked is a pull request's head: a branch of repo, at the commit it points to now, or a
// fork's branch.
func (s *Server) headJSONLocked(api string, repo *repository, p *pullState, owner string, ownerJSON userJSON, r repoJSON) pullBranchJSON {
	if p.HeadRepo != "" && repoKey(p.HeadRepo) != repoKey(repo.fullName) {
		forkOwner, _, _ := strings.Cut(p.HeadRepo, "/")
		fork := &repository{id: p.id + 1, fullName: p.HeadRepo, createdAt: p.createdAt, pushedAt: p.createdAt, public: true}
		return pullBranchJSON{Label: forkOwner + ":" + p.Head, Ref: p.Head, SHA: p.headSHA,
			User: s.userJSON(api, s.userLocked(forkOwner)), Repo: s.repoJSONLocked(api, fork)}
	}
	sha := p.headSHA
	if repo.gitDir != "" {
		if now, ok := resolveRef(repo.gitDir, "refs/heads/"+p.Head); ok {
			sha = now
		}
	}
	return pullBranchJSON{Label: owner + ":" + p.Head, Ref: p.Head, SHA: sha, User: ownerJSON, Repo: r}
}

// handleGetPull serves GET /repos/{owner}/{repo}/pulls/{number}.
func (s *Server) handleGetPull(w http.ResponseWriter, r *http.Request) {
	fullName := r.PathValue("owner") + "/" + r.PathValue("repo")
	if !s.authorize(w, r, fullName, "read", "pull_requests") {
		return
	}
	number, err := strconv.Atoi(r.PathValue("number"))
	if err != nil {
		writeNotFound(w, docsGetPull)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	repo := s.repos[repoKey(fullName)]
	for _, p := range repo.pulls {
		if p.Number == number {
			writeJSON(w, http.StatusOK, s.pullJSONLocked(s.apiBase(r), repo, p))
			return
		}
	}
	writeNotFound(w, docsGetPull)
}

// handleIssuesGet serves GET /repos/{owner}/{repo}/issues/comments/{id} (one comment) and
// GET /repos/{owner}/{repo}/issues/{number}/comments (an issue's comments).
func (s *Server) handleIssuesGet(w http.ResponseWriter, r *http.Request) {
	switch a, b := r.PathValue("a"), r.PathValue("b"); {
	case a == "comments":
		r.SetPathValue("id", b)
		s.handleGetComment(w, r)
	case b == "comments":
		r.SetPathValue("number", a)
		s.handleListComments(w, r)
	default:
		writeNotFound(w, docsREST)
	}
}

// handleListComments serves GET /repos/{owner}/{repo}/issues/{number}/comments, oldest first, in pages
// (per_page up to 100, 30 by default) with GitHub's Link header.
func (s *Server) handleListComments(w http.ResponseWriter, r *http.Request) {
	fullName := r.PathValue("owner") + "/" + r.PathValue("repo")
	if !s.authorize(w, r, fullName, "read", "issues", "pull_requests") {
		return
	}
	number, err := strconv.Atoi(r.PathValue("number"))
	if err != nil {
		writeNotFound(w, docsListComments)
		return
	}
	perPage, page := 30, 1
	if v, err := strconv.Atoi(r.URL.Query().Get("per_page")); err == nil && v > 0 {
		perPage = min(v, 100)
	}
	if v, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil && v > 0 {
		page = v
	}
	var all []Comment
	for _, c := range s.Comments(fullName) {
		if c.IssueNumber == number {
			all = append(all, c)
		}
	}
	last := max(1, (len(all)+perPage-1)/perPage)
	out := []commentJSON{}
	for i := (page - 1) * perPage; i < min(len(all), page*perPage); i++ {
		out = append(out, s.commentJSON(r, all[i]))
	}
	if last > 1 {
		u := fmt.Sprintf("%s/repos/%s/issues/%d/comments?per_page=%d&page=", s.apiBase(r), fullName, number, perPage)
		var links []string
		if page < last {
			links = append(links, fmt.Sprintf(`<%s%d>; rel="next"`, u, page+1), fmt.Sprintf(`<%s%d>; rel="last"`, u, last))
		}
		if page > 1 {
			links = append(links, fmt.Sprintf(`<%s%d>; rel="prev"`, u, page-1), fmt.Sprintf(`<%s1>; rel="first"`, u))
		}
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	writeJSON(w, http.StatusOK, out)
}
