package admin

import (
	"context"
	"net/http"

	sesame "github.com/sesame-works/sesame"
)

// credentialsView is the API Keys and Agent Credentials sections of a user's settings page.
type credentialsView struct {
	Enabled       bool // a credential store is configured
	Unavailable   bool // it could not be read just now
	APIKeys       []credentialRow
	Subscriptions []credentialRow
}

// credentialRow is one kind of credential with what the user stored of it.
type credentialRow struct {
	Kind   sesame.CredentialKind
	Stored *sesame.UserCredential // nil: none stored
	Shown  string                 // what is shown of the stored value: ••••WXYZ, or a whole base URL
	Error  string                 // why the value just submitted for this kind was refused
}

// credentialsView lists u's credentials for the settings page.
func (a *App) credentialsView(ctx context.Context, u *sesame.User) credentialsView {
	if a.Credentials == nil {
		return credentialsView{}
	}
	v := credentialsView{Enabled: true}
	stored, err := a.Credentials.Credentials(ctx, u.ID)
	if err != nil {
		a.Logger.Error("list credentials", "user_id", u.ID, "err", err)
		v.Unavailable = true
	}
	byKind := map[string]*sesame.UserCredential{}
	for i := range stored {
		byKind[stored[i].Kind] = &stored[i]
	}
	for _, k := range sesame.CredentialKinds {
		row := credentialRow{Kind: k, Stored: byKind[k.Name]}
		if row.Stored != nil {
			row.Shown = row.Stored.Hint
			if k.Secret {
				row.Shown = "••••" + row.Stored.Hint
			}
		}
		if k.Group == sesame.CredentialAPIKey {
			v.APIKeys = append(v.APIKeys, row)
		} else {
			v.Subscriptions = append(v.Subscriptions, row)
		}
	}
	return v
}

// renderSettings shows the settings page with problem at the field of the credential failedKind.
func (a *App) renderSettings(w http.ResponseWriter, r *http.Request, u *sesame.User, status int, failedKind, problem string) {
	v := a.settingsView(r, u, "")
	for _, rows := range [][]credentialRow{v.Credentials.APIKeys, v.Credentials.Subscriptions} {
		for i := range rows {
			if rows[i].Kind.Name == failedKind {
				rows[i].Error = problem
			}
		}
	}
	a.render(w, r, status, "settings", "Your settings", v)
}

// credentialKind returns the kind named in the request's path, answering 404 for an unknown one or
// when no credential store is configured.
func (a *App) credentialKind(w http.ResponseWriter, r *http.Request) (sesame.CredentialKind, bool) {
	k, ok := sesame.CredentialKindNamed(r.PathValue("kind"))
	if !ok || a.Credentials == nil {
		a.notFound(w, r)
		return k, false
	}
	return k, true
}

// credentialAudit returns the audit actions and resource type of a kind's group.
func credentialAudit(k sesame.CredentialKind) (created, updated, deleted sesame.AuditAction, resource string) {
	if k.Group == sesame.CredentialAPIKey {
		return sesame.AuditAPIKeyCreated, sesame.AuditAPIKeyUpdated, sesame.AuditAPIKeyDeleted, sesame.ResourceAPIKey
	}
	return sesame.AuditAgentCredentialCreated, sesame.AuditAgentCredentialUpdated, sesame.AuditAgentCredentialDeleted, sesame.ResourceAgentKey
}

// auditPayload says which credential changed: its kind and variable, never its value. A change to
// the OpenCode provider also says whether it was connected or disconnected.
func auditPayload(k sesame.CredentialKind, removed bool) map[string]any {
	p := map[string]any{"kind": k.Name, "env": k.Env}
	if k.UsedBy("opencode") && k.Group == sesame.CredentialSubscription {
		p["opencodeProvider"] = "connected"
		if removed {
			p["opencodeProvider"] = "disconnected"
		}
	}
	return p
}

// putCredential saves (replaces) one of the user's credentials, sealed by the store.
func (a *App) putCredential(w http.ResponseWriter, r *http.Request, u *sesame.User) {
	k, ok := a.credentialKind(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		a.errorPage(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	value, err := k.Clean(r.PostForm.Get("value"))
	var created bool
	if err == nil {
		created, err = a.Credentials.PutCredential(r.Context(), u.ID, k.Name, value)
	}
	if sesame.ErrorCode(err) == sesame.EINVALID {
		a.renderSettings(w, r, u, http.StatusUnprocessableEntity, k.Name, sesame.ErrorMessage(err))
		return
	} else if err != nil {
		a.serverError(w, r, "store credential "+k.Name, err)
		return
	}
	a.Logger.Info("credential saved", "user_id", u.ID, "kind", k.Name)
	createdAction, updatedAction, _, resource := credentialAudit(k)
	action := updatedAction
	if created {
		action = createdAction
	}
	a.audit(r, u, action, resource, u.ID, auditPayload(k, false))
	a.flash(r, "Saved your "+k.Title+".")
	http.Redirect(w, r, "/settings", http.StatusSeeOther)
}

// deleteCredential removes one of the user's credentials; their tasks use the system-wide key again.
func (a *App) deleteCredential(w http.ResponseWriter, r *http.Request, u *sesame.User) {
	k, ok := a.credentialKind(w, r)
	if !ok {
		return
	}
	deleted, err := a.Credentials.DeleteCredential(r.Context(), u.ID, k.Name)
	if err != nil {
		a.serverError(w, r, "delete credential "+k.Name, err)
		return
	}
	if deleted {
		a.Logger.Info("credential removed", "user_id", u.ID, "kind", k.Name)
		_, _, action, resource := credentialAudit(k)
		a.audit(r, u, action, resource, u.ID, auditPayload(k, true))
		a.flash(r, "Removed your "+k.Title+". Your tasks use the server's own key, if it has one.")
	} else {
		a.flash(r, "You had no "+k.Title+" saved.")
	}
	http.Redirect(w, r, "/settings", http.StatusSeeOther)
}
