package githubtest

import (
	"net/http"
	"strings"
	"time"
)

const docsGetAuthenticatedUser = "https://docs.github.com/rest/users/users#get-the-authenticated-user"

// userCreated is when every fake user signed up; fixed so answers are stable.
var userCreated = time.Date(2020, 5, 6, 7, 8, 9, 0, time.UTC)

// privateUserJSON is the answer of GET /user for a personal access token
// without the "user" scope: the public profile, fields in GitHub's order.
type privateUserJSON struct {
	userJSON
	Name              *string `json:"name"`
	Company           *string `json:"company"`
	Blog              string  `json:"blog"`
	Location          *string `json:"location"`
	Email             *string `json:"email"`
	Hireable          *bool   `json:"hireable"`
	Bio               *string `json:"bio"`
	TwitterUsername   *string `json:"twitter_username"`
	NotificationEmail *string `json:"notification_email"`
	PublicRepos       int     `json:"public_repos"`
	PublicGists       int     `json:"public_gists"`
	Followers         int     `json:"followers"`
	Following         int     `json:"following"`
	CreatedAt         string  `json:"created_at"`
	UpdatedAt         string  `json:"updated_at"`
}

// AddUserToken registers token as a personal access token of the user
// login, creating the user if needed. GET /user then answers with that user.
// The token may be any string; real ones look like "ghp_..." or
// "github_pat_...".
func (s *Server) AddUserToken(token, login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userLocked(login)
	s.userTokens[token] = strings.ToLower(login)
}

// userToken returns the user whose personal access token r carries, as
// "token X", "Bearer X" or HTTP Basic with X as the password.
func (s *Server) userToken(r *http.Request) (user, bool) {
	cred := ""
	if _, password, ok := r.BasicAuth(); ok {
		cred = password
	} else if scheme, c, _ := strings.Cut(r.Header.Get("Authorization"), " "); strings.EqualFold(scheme, "token") || strings.EqualFold(scheme, "bearer") {
		cred = c
	}
	if cred == "" {
		return user{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	login, ok := s.userTokens[cred]
	if !ok {
		return user{}, false
	}
	return *s.users[login], true
}

// handleGetUser serves GET /user. A personal access token gets its user; an
// installation token is refused with 403, as GitHub refuses apps this
// endpoint; anything else is 401.
func (s *Server) handleGetUser(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") == "" {
		writeError(w, http.StatusUnauthorized, msgRequiresAuth, docsGetAuthenticatedUser)
		return
	}
	u, ok := s.userToken(r)
	if !ok {
		// GitHub names no endpoint in the documentation_url of "Bad credentials".
		if _, ok := s.installationToken(w, r); ok {
			writeError(w, http.StatusForbidden, msgNotAccessible, docsGetAuthenticatedUser)
		}
		return
	}
	w.Header().Set("X-OAuth-Scopes", "")
	w.Header().Set("X-Accepted-OAuth-Scopes", "")
	writeJSON(w, http.StatusOK, privateUserJSON{
		userJSON:  s.userJSON(s.apiBase(r), u),
		Blog:      "",
		CreatedAt: timestamp(userCreated),
		UpdatedAt: timestamp(userCreated),
	})
}
