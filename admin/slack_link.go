package admin

import (
	"net/http"

	sesame "github.com/sesame-works/sesame"
)

// slackLinkView is the page that asks the signed-in user to confirm a Slack member's link.
type slackLinkView struct {
	Link  *sesame.SlackLinkRequest
	Token string
	User  *sesame.User
	Done  bool
}

// slackLinkPage shows who asked to act as the signed-in user from Slack, for them to confirm. A link
// works once: it is only consumed by the confirmation (a POST), never by opening it.
func (a *App) slackLinkPage(w http.ResponseWriter, r *http.Request, u *sesame.User) {
	if a.SlackLinks == nil {
		a.errorPage(w, r, http.StatusNotFound, "This Sesame server has no Slack app set up.")
		return
	}
	token := r.PathValue("token")
	l, err := a.SlackLinks.SlackLink(r.Context(), token)
	if sesame.ErrorCode(err) == sesame.ENOTFOUND {
		a.errorPage(w, r, http.StatusNotFound, sesame.ErrorMessage(err))
		return
	} else if err != nil {
		a.serverError(w, r, "read slack link", err)
		return
	}
	w.Header().Set("Referrer-Policy", "no-referrer")
	a.render(w, r, http.StatusOK, "slack_link", "Link your Slack account", slackLinkView{Link: l, Token: token, User: u})
}

// slackLink links the Slack member of the token to the signed-in user.
func (a *App) slackLink(w http.ResponseWriter, r *http.Request, u *sesame.User) {
	if a.SlackLinks == nil {
		a.errorPage(w, r, http.StatusNotFound, "This Sesame server has no Slack app set up.")
		return
	}
	l, err := a.SlackLinks.ConsumeSlackLink(r.Context(), r.PathValue("token"), u.ID)
	if sesame.ErrorCode(err) == sesame.ENOTFOUND {
		a.errorPage(w, r, http.StatusNotFound, sesame.ErrorMessage(err))
		return
	} else if err != nil {
		a.serverError(w, r, "link slack member", err)
		return
	}
	a.Logger.Info("slack member linked", "user_id", u.ID, "slack_team", l.TeamID, "slack_user", l.SlackUser)
	a.audit(r, u, sesame.AuditSlackLinked, sesame.ResourceUser, u.ID, map[string]any{"team_id": l.TeamID, "slack_user": l.SlackUser, "slack_name": l.SlackName})
	a.render(w, r, http.StatusOK, "slack_link", "Slack account linked", slackLinkView{Link: l, User: u, Done: true})
}
