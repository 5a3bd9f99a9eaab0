package githubtest

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// appCreated is when the fake app was registered; fixed so answers are stable.
var appCreated = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// appOwner is the account that registered the app.
const appOwner = "sesame-works"

type user struct {
	login string
	id    int64
	typ   string // "User", "Bot" or "Organization"
}

// userJSON is GitHub's "simple user" object, fields in GitHub's order.
type userJSON struct {
	Login             string `json:"login"`
	ID                int64  `json:"id"`
	NodeID            string `json:"node_id"`
	AvatarURL         string `json:"avatar_url"`
	GravatarID        string `json:"gravatar_id"`
	URL               string `json:"url"`
	HTMLURL           string `json:"html_url"`
	FollowersURL      string `json:"followers_url"`
	FollowingURL      string `json:"following_url"`
	GistsURL          string `json:"gists_url"`
	StarredURL        string `json:"starred_url"`
	SubscriptionsURL  string `json:"subscriptions_url"`
	OrganizationsURL  string `json:"organizations_url"`
	ReposURL          string `json:"repos_url"`
	EventsURL         string `json:"events_url"`
	ReceivedEventsURL string `json:"received_events_url"`
	Type              string `json:"type"`
	UserViewType      string `json:"user_view_type"`
	SiteAdmin         bool   `json:"site_admin"`
}

// appJSON is GitHub's "integration" object, as in GET /app and in a
// comment's performed_via_github_app.
type appJSON struct {
	ID                 int64             `json:"id"`
	ClientID           string            `json:"client_id"`
	Slug               string            `json:"slug"`
	NodeID             string            `json:"node_id"`
	Owner              userJSON          `json:"owner"`
	Name               string            `json:"name"`
	Description        string            `json:"description"`
	ExternalURL        string            `json:"external_url"`
	HTMLURL            string            `json:"html_url"`
	CreatedAt          string            `json:"created_at"`
	UpdatedAt          string            `json:"updated_at"`
	Permissions        map[string]string `json:"permissions"`
	Events             []string          `json:"events"`
	InstallationsCount int               `json:"installations_count,omitempty"`
}

// BotLogin is the login of the app's bot user, the author of its comments.
func (s *Server) BotLogin() string { return s.AppSlug + "[bot]" }

func (s *Server) botUser() user {
	return user{login: s.BotLogin(), id: 1_000_000 + s.AppID, typ: "Bot"}
}

// userJSON renders u the way GitHub does; apiBase is the REST base URL.
func (s *Server) userJSON(apiBase string, u user) userJSON {
	api := apiBase + "/users/" + url.PathEscape(u.login) // "sesame-test%5Bbot%5D"
	html := s.URL + "/" + u.login
	avatar := fmt.Sprintf("%s/avatars/u/%d?v=4", s.URL, u.id)
	prefix := "U_kgDO"
	switch u.typ {
	case "Bot":
		html = s.URL + "/apps/" + strings.TrimSuffix(u.login, "[bot]")
		avatar = fmt.Sprintf("%s/avatars/in/%d?v=4", s.URL, s.AppID)
		prefix = "BOT_kgDO"
	case "Organization":
		prefix = "O_kgDO"
	}
	return userJSON{
		Login:             u.login,
		ID:                u.id,
		NodeID:            nodeID(prefix, u.id),
		AvatarURL:         avatar,
		GravatarID:        "",
		URL:               api,
		HTMLURL:           html,
		FollowersURL:      api + "/followers",
		FollowingURL:      api + "/following{/other_user}",
		GistsURL:          api + "/gists{/gist_id}",
		StarredURL:        api + "/starred{/owner}{/repo}",
		SubscriptionsURL:  api + "/subscriptions",
		OrganizationsURL:  api + "/orgs",
		ReposURL:          api + "/repos",
		EventsURL:         api + "/events{/privacy}",
		ReceivedEventsURL: api + "/received_events",
		Type:              u.typ,
		UserViewType:      "public",
		SiteAdmin:         false,
	}
}

func (s *Server) appJSON(apiBase string, withCount bool) appJSON {
	s.mu.Lock()
	name := s.appNameLocked()
	s.mu.Unlock()
	a := appJSON{
		ID:          s.AppID,
		ClientID:    s.ClientID,
		Slug:        s.AppSlug,
		NodeID:      nodeID("A_kwHO", s.AppID),
		Owner:       s.userJSON(apiBase, user{login: appOwner, id: 9_000_001, typ: "Organization"}),
		Name:        name,
		Description: "Sesame test app",
		ExternalURL: s.URL,
		HTMLURL:     s.URL + "/apps/" + s.AppSlug,
		CreatedAt:   timestamp(appCreated),
		UpdatedAt:   timestamp(appCreated),
		Permissions: defaultPermissions(),
		Events:      []string{"issue_comment", "issues", "pull_request"},
	}
	if withCount {
		s.mu.Lock()
		a.InstallationsCount = len(s.installations)
		s.mu.Unlock()
	}
	return a
}

// handleGetApp serves GET /app, which needs the app's JWT.
func (s *Server) handleGetApp(w http.ResponseWriter, r *http.Request) {
	if !s.requireAppJWT(w, r) {
		return
	}
	writeJSON(w, http.StatusOK, s.appJSON(s.apiBase(r), true))
}

// nodeID makes a GraphQL node ID shaped like GitHub's current ones.
func nodeID(prefix string, id int64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(id))
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}
