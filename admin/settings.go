package admin

import (
	"net/http"
	"strings"

	sesame "github.com/sesame-works/sesame"
)

type settingsView struct {
	GitHubLogin string
	Last4       string
	CanConnect  bool
	Error       string
	Credentials credentialsView // API Keys and Agent Credentials
}

func (a *App) settingsPage(w http.ResponseWriter, r *http.Request, u *sesame.User) {
	a.render(w, r, http.StatusOK, "settings", "Your settings", a.settingsView(r, u, ""))
}

func (a *App) settingsView(r *http.Request, u *sesame.User, problem string) settingsView {
	return settingsView{GitHubLogin: u.GitHubLogin, Last4: u.GitHubTokenLast4, CanConnect: a.GitHub != nil, Error: problem,
		Credentials: a.credentialsView(r.Context(), u)}
}

// tokenAD binds a sealed token to its owner: a sealed value copied to another user's row does not open.
func tokenAD(userID string) []byte { return []byte("sesame:user:" + userID + ":github_token") }

// connectGitHub checks a personal access token with GitHub, then stores it sealed with ENCRYPTION_KEY.
func (a *App) connectGitHub(w http.ResponseWriter, r *http.Request, u *sesame.User) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		a.errorPage(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	token := strings.TrimSpace(r.PostForm.Get("token"))
	problem := ""
	switch {
	case a.GitHub == nil:
		problem = "This server cannot check GitHub tokens (no GitHub API configured)."
	case len(token) < 20 || len(token) > 255 || strings.ContainsAny(token, " \t\r\n"):
		problem = "That does not look like a GitHub personal access token (ghp_… or github_pat_…)."
	}
	var login string
	if problem == "" {
		var err error
		login, err = a.GitHub.TokenOwner(r.Context(), token)
		if err != nil {
			a.Logger.Warn("check GitHub token", "user_id", u.ID, "err", err)
			problem = sesame.ErrorMessage(err)
		}
	}
	if problem != "" {
		a.render(w, r, http.StatusUnprocessableEntity, "settings", "Your settings", a.settingsView(r, u, problem))
		return
	}
	sealed, err := a.Sealer.Seal([]byte(token), tokenAD(u.ID))
	if err != nil {
		a.serverError(w, r, "seal token", err)
		return
	}
	if err := a.Users.SetGitHubToken(r.Context(), u.ID, sesame.GitHubToken{Login: login, Sealed: sealed, Last4: token[len(token)-4:]}); err != nil {
		a.serverError(w, r, "store token", err)
		return
	}
	a.Logger.Info("GitHub token connected", "user_id", u.ID, "github_login", login)
	action := sesame.AuditPATCreated
	if u.GitHubLogin != "" {
		action = sesame.AuditPATUpdated
	}
	a.audit(r, u, action, sesame.ResourcePAT, u.ID, map[string]any{"githubLogin": login, "last4": token[len(token)-4:]})
	a.flash(r, "GitHub connected: your tasks' commits are now attributed to @"+login+".")
	http.Redirect(w, r, "/settings", http.StatusSeeOther)
}

func (a *App) disconnectGitHub(w http.ResponseWriter, r *http.Request, u *sesame.User) {
	if err := a.Users.DeleteGitHubToken(r.Context(), u.ID); err != nil {
		a.serverError(w, r, "delete token", err)
		return
	}
	a.Logger.Info("GitHub token removed", "user_id", u.ID)
	a.audit(r, u, sesame.AuditPATDeleted, sesame.ResourcePAT, u.ID, map[string]any{"githubLogin": u.GitHubLogin})
	a.flash(r, "GitHub token removed. Commits are attributed to Sesame Agent again.")
	http.Redirect(w, r, "/settings", http.StatusSeeOther)
}
