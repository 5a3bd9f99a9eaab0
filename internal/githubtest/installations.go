package githubtest

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

const (
	docsListInstallations = "https://docs.github.com/rest/apps/apps#list-installations-for-the-authenticated-app"
	docsListInstallRepos  = "https://docs.github.com/rest/apps/installations#list-repositories-accessible-to-the-app-installation"

	// msgNeedsInstallationToken is the answer to GET /installation/repositories
	// with a credential that is not an installation token.
	msgNeedsInstallationToken = "You must authenticate with an installation access token in order to list repositories for an installation."
)

// installationJSON is GitHub's "installation" object, fields in GitHub's order.
type installationJSON struct {
	ID                     int64             `json:"id"`
	ClientID               string            `json:"client_id"`
	Account                userJSON          `json:"account"`
	RepositorySelection    string            `json:"repository_selection"`
	AccessTokensURL        string            `json:"access_tokens_url"`
	RepositoriesURL        string            `json:"repositories_url"`
	HTMLURL                string            `json:"html_url"`
	AppID                  int64             `json:"app_id"`
	AppSlug                string            `json:"app_slug"`
	TargetID               int64             `json:"target_id"`
	TargetType             string            `json:"target_type"`
	Permissions            map[string]string `json:"permissions"`
	Events                 []string          `json:"events"`
	CreatedAt              string            `json:"created_at"`
	UpdatedAt              string            `json:"updated_at"`
	SingleFileName         *string           `json:"single_file_name"`
	HasMultipleSingleFiles bool              `json:"has_multiple_single_files"`
	SingleFilePaths        []string          `json:"single_file_paths"`
	SuspendedBy            *userJSON         `json:"suspended_by"`
	SuspendedAt            *string           `json:"suspended_at"`
}

// installationReposJSON is the answer of GET /installation/repositories.
type installationReposJSON struct {
	TotalCount          int                    `json:"total_count"`
	RepositorySelection string                 `json:"repository_selection"`
	Repositories        []installationRepoJSON `json:"repositories"`
}

// installationRepoJSON is a repository as GET /installation/repositories
// lists it: with what the installation's token may do on it.
type installationRepoJSON struct {
	repoJSON
	Permissions repoPermissions `json:"permissions"`
}

func (s *Server) installationJSONLocked(api string, inst *installation) installationJSON {
	login := inst.account
	if login == "" {
		login = appOwner // installed on no repository yet: say it is on the app's owner
	}
	account := s.userLocked(login)
	html := fmt.Sprintf("%s/settings/installations/%d", s.URL, inst.id)
	if account.typ == "Organization" {
		html = fmt.Sprintf("%s/organizations/%s/settings/installations/%d", s.URL, account.login, inst.id)
	}
	out := installationJSON{
		ID:                  inst.id,
		ClientID:            s.ClientID,
		Account:             s.userJSON(api, account),
		RepositorySelection: "selected",
		AccessTokensURL:     fmt.Sprintf("%s/app/installations/%d/access_tokens", api, inst.id),
		RepositoriesURL:     api + "/installation/repositories",
		HTMLURL:             html,
		AppID:               s.AppID,
		AppSlug:             s.AppSlug,
		TargetID:            account.id,
		TargetType:          account.typ,
		Permissions:         maps.Clone(inst.perms),
		Events:              []string{"issue_comment", "issues", "pull_request"},
		CreatedAt:           timestamp(inst.createdAt),
		UpdatedAt:           timestamp(inst.createdAt),
		SingleFilePaths:     []string{},
	}
	if !inst.suspendedAt.IsZero() {
		at := timestamp(inst.suspendedAt)
		out.SuspendedAt = &at
		owner := s.userJSON(api, account)
		out.SuspendedBy = &owner
		out.UpdatedAt = at
	}
	return out
}

// handleListInstallations serves GET /app/installations, which needs the
// app's JWT. Installations come oldest first, paged.
func (s *Server) handleListInstallations(w http.ResponseWriter, r *http.Request) {
	if !s.requireAppJWT(w, r) {
		return
	}
	s.mu.Lock()
	ids := slices.Sorted(maps.Keys(s.installations))
	lo, hi := s.page(w, r, len(ids))
	out := []installationJSON{}
	for _, id := range ids[lo:hi] {
		out = append(out, s.installationJSONLocked(s.apiBase(r), s.installations[id]))
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// handleListInstallationRepos serves GET /installation/repositories: the
// repositories the installation token may use, in the order they were added
// to the installation, paged.
func (s *Server) handleListInstallationRepos(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.userToken(r); ok {
		writeError(w, http.StatusForbidden, msgNeedsInstallationToken, docsListInstallRepos)
		return
	}
	tok, ok := s.installationToken(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	keys := s.tokenReposLocked(tok)
	lo, hi := s.page(w, r, len(keys))
	out := installationReposJSON{TotalCount: len(keys), RepositorySelection: "selected", Repositories: []installationRepoJSON{}}
	for _, k := range keys[lo:hi] {
		out.Repositories = append(out.Repositories, installationRepoJSON{
			repoJSON:    s.repoJSONLocked(s.apiBase(r), s.repos[k]),
			Permissions: tokenRepoPermissions(tok.perms),
		})
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// Paging as GitHub does it: per_page defaults to 30 and is at most 100.
const (
	defaultPerPage = 30
	maxPerPage     = 100
)

// page returns the bounds, within n items, of the page r asks for with
// per_page and page, and sets the Link header GitHub sends with it: rel
// "prev", "next", "last" and "first", each where it applies, and no header
// when everything fits on one page.
func (s *Server) page(w http.ResponseWriter, r *http.Request, n int) (lo, hi int) {
	q := r.URL.Query()
	perPage, err := strconv.Atoi(q.Get("per_page"))
	if err != nil || perPage < 1 {
		perPage = defaultPerPage
	}
	perPage = min(perPage, maxPerPage)
	page, err := strconv.Atoi(q.Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	last := max(1, (n+perPage-1)/perPage)

	link := func(p int, rel string) string {
		rest := url.Values{}
		for k, v := range q {
			if k != "page" && k != "per_page" {
				rest[k] = v
			}
		}
		query := rest.Encode()
		if query != "" {
			query += "&"
		}
		if q.Has("per_page") {
			query += "per_page=" + strconv.Itoa(perPage) + "&"
		}
		query += "page=" + strconv.Itoa(p)
		return fmt.Sprintf("<%s%s?%s>; rel=%q", s.apiBase(r), r.URL.Path, query, rel)
	}
	var links []string
	if page > 1 {
		links = append(links, link(min(page-1, last), "prev"))
	}
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	if page > last {
		return n, n
	}
	lo = (page - 1) * perPage
	return lo, min(n, lo+perPage)
}
