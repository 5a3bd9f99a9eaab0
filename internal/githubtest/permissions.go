package githubtest

import (
	"fmt"
	"net/http"
	"strings"
)

const docsPermission = "https://docs.github.com/rest/collaborators/collaborators#get-repository-permissions-for-a-user"

// legacyPermission maps a role to the "permission" field of GET
// .../collaborators/{username}/permission. GitHub documents it as "the legacy
// base roles of admin, write, read, and none, where the maintain role is
// mapped to write and the triage role is mapped to read"; "role_name" keeps
// the real role.
var legacyPermission = map[string]string{
	"admin":    "admin",
	"maintain": "write",
	"write":    "write",
	"triage":   "read",
	"read":     "read",
	"none":     "none",
}

// SetPermission gives login the role permission ("admin", "maintain",
// "write", "triage", "read" or "none") on repo ("owner/name"). A login never
// given a role anywhere is unknown to the server, and asking for its
// permission answers 404 as GitHub does for a user that does not exist.
func (s *Server) SetPermission(repo, login, permission string) {
	if _, ok := legacyPermission[permission]; !ok {
		panic(fmt.Sprintf("githubtest: SetPermission: unknown permission %q", permission))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userLocked(login)
	k := repoKey(repo)
	if s.roles[k] == nil {
		s.roles[k] = map[string]string{}
	}
	s.roles[k][strings.ToLower(login)] = permission
}

// userLocked returns the user with login, creating it if needed.
func (s *Server) userLocked(login string) user {
	k := strings.ToLower(login)
	if u := s.users[k]; u != nil {
		return *u
	}
	u := &user{login: login, id: s.newIDLocked(), typ: "User"}
	s.users[k] = u
	return *u
}

// repoPermissions is the "permissions" object of a collaborator.
type repoPermissions struct {
	Admin    bool `json:"admin"`
	Maintain bool `json:"maintain"`
	Push     bool `json:"push"`
	Triage   bool `json:"triage"`
	Pull     bool `json:"pull"`
}

// collaboratorJSON is GitHub's "collaborator" object: a simple user plus the
// user's permissions and role on the repository.
type collaboratorJSON struct {
	userJSON
	Permissions repoPermissions `json:"permissions"`
	RoleName    string          `json:"role_name"`
}

type permissionJSON struct {
	Permission string           `json:"permission"`
	RoleName   string           `json:"role_name"`
	User       collaboratorJSON `json:"user"`
}

func permissionsFor(role string) repoPermissions {
	rank := map[string]int{"none": 0, "read": 1, "triage": 2, "write": 3, "maintain": 4, "admin": 5}[role]
	return repoPermissions{Pull: rank >= 1, Triage: rank >= 2, Push: rank >= 3, Maintain: rank >= 4, Admin: rank >= 5}
}

// handlePermission serves GET /repos/{owner}/{repo}/collaborators/{username}/permission.
func (s *Server) handlePermission(w http.ResponseWriter, r *http.Request) {
	repo := r.PathValue("owner") + "/" + r.PathValue("repo")
	if !s.authorize(w, r, repo, "read", "metadata") {
		return
	}
	login := r.PathValue("username")
	s.mu.Lock()
	u := s.users[strings.ToLower(login)]
	role := s.roles[repoKey(repo)][strings.ToLower(login)]
	s.mu.Unlock()
	if u == nil {
		writeNotFound(w, docsPermission)
		return
	}
	if role == "" {
		role = "none"
	}
	writeJSON(w, http.StatusOK, permissionJSON{
		Permission: legacyPermission[role],
		RoleName:   role,
		User: collaboratorJSON{
			userJSON:    s.userJSON(s.apiBase(r), *u),
			Permissions: permissionsFor(role),
			RoleName:    role,
		},
	})
}
