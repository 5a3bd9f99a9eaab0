package admin

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/config"
)

// The admin section's users: the list (search, pages), one user's page, and what admins do to a user
// (change their role, ban or unban them, delete them), plus opening and closing sign-ups.
//
// There is always an active admin: the store refuses, in the transaction that would make the change,
// to demote, ban or delete the last one. Admins may demote, ban or delete themselves while another
// admin remains (handing the server over is legitimate); doing so to yourself asks for confirmation
// and signs you out or out of the admin section.

const (
	usersPageSize = 50
	maxSearch     = 200 // characters of a search
)

func (a *App) userRoutes(mux *http.ServeMux) {
	mux.Handle("GET /admin/users", a.requireAdmin(a.adminUsers))
	mux.Handle("POST /admin/users/signups", a.requireAdmin(a.adminSignups))
	mux.Handle("GET /admin/users/{id}", a.requireAdmin(a.adminUser))
	mux.Handle("POST /admin/users/{id}/role", a.requireAdmin(a.adminSetRole))
	mux.Handle("POST /admin/users/{id}/ban", a.requireAdmin(a.adminBan))
	mux.Handle("POST /admin/users/{id}/unban", a.requireAdmin(a.adminUnban))
	mux.Handle("POST /admin/users/{id}/delete", a.requireAdmin(a.adminDelete))
	mux.Handle("POST /admin/users/{id}/budget", a.requireAdmin(a.adminSetBudget)) // admin_user_budget.go
}

// adminUsersView is the users page.
type adminUsersView struct {
	Search  string
	Users   []sesame.UserSummary
	Paged   bool   // this is not the first page
	NextURL string // "" on the last page
	MeID    string
	Signups signupsView
}

// signupsView says whether people may create accounts, and whether admins may change that.
type signupsView struct {
	Open   bool
	Locked bool   // an environment variable sets it
	Env    string // that variable
}

func (a *App) adminUsers(w http.ResponseWriter, r *http.Request, me *sesame.User) {
	q := r.URL.Query()
	v := adminUsersView{Search: strings.TrimSpace(q.Get("q")), Paged: q.Get("after") != "", MeID: me.ID}
	if len([]rune(v.Search)) > maxSearch {
		v.Search = string([]rune(v.Search)[:maxSearch])
	}
	page, err := a.Users.ListUsers(r.Context(), sesame.UserQuery{Search: v.Search, After: q.Get("after"), Limit: usersPageSize})
	if sesame.ErrorCode(err) == sesame.EINVALID {
		a.errorPage(w, r, http.StatusBadRequest, sesame.ErrorMessage(err))
		return
	} else if err != nil {
		a.serverError(w, r, "list users", err)
		return
	}
	v.Users = page.Users
	if page.Next != "" {
		next := url.Values{"after": {page.Next}}
		if v.Search != "" {
			next.Set("q", v.Search)
		}
		v.NextURL = "/admin/users?" + next.Encode()
	}
	if v.Signups, err = a.signups(r); err != nil {
		a.serverError(w, r, "read saved settings", err)
		return
	}
	a.render(w, r, http.StatusOK, "admin_users", "Users", v)
}

// signups reads registration.allowNewUsers as it is now.
func (a *App) signups(r *http.Request) (signupsView, error) {
	cfg, err := a.settings(r.Context())
	if err != nil {
		return signupsView{}, err
	}
	v := signupsView{Open: cfg.Bool(config.RegistrationAllowNewUsers), Locked: cfg.Locked(config.RegistrationAllowNewUsers)}
	if s, ok := config.Lookup(config.RegistrationAllowNewUsers); ok {
		v.Env = s.Env
	}
	return v, nil
}

// adminSignups re-opens or closes sign-ups (allow=true|false), unless the environment sets them.
func (a *App) adminSignups(w http.ResponseWriter, r *http.Request, me *sesame.User) {
	if !a.parseAdminForm(w, r) {
		return
	}
	allow := r.PostForm.Get("allow")
	if allow != "true" && allow != "false" {
		a.errorPage(w, r, http.StatusBadRequest, "Choose whether sign-ups are open (allow=true) or closed (allow=false).")
		return
	}
	now, err := a.signups(r)
	if err != nil {
		a.serverError(w, r, "read saved settings", err)
		return
	}
	if now.Locked {
		a.errorPage(w, r, http.StatusConflict, fmt.Sprintf("Sign-ups are set by the environment variable %s, so they "+
			"cannot be changed here. Change it where Sesame runs, or remove it, and restart Sesame.", now.Env))
		return
	}
	open := allow == "true"
	if open == now.Open {
		a.flash(r, "Sign-ups were already "+openWord(open)+".")
		http.Redirect(w, r, "/admin/users", http.StatusSeeOther)
		return
	}
	if err := a.Settings.SaveSetting(r.Context(), config.RegistrationAllowNewUsers, allow, me.Email); err != nil {
		a.serverError(w, r, "save setting", err)
		return
	}
	a.settingsSaved(r.Context())
	a.Logger.Info("sign-ups changed", "open", open, "by", me.ID)
	a.audit(r, me, sesame.AuditRegistrationChanged, sesame.ResourceSetting, config.RegistrationAllowNewUsers,
		map[string]any{"allow_new_users": open})
	if open {
		a.flash(r, "Sign-ups are open: anyone who can reach this server can create an account.")
	} else {
		a.flash(r, "Sign-ups are closed: only existing users can sign in.")
	}
	http.Redirect(w, r, "/admin/users", http.StatusSeeOther)
}

func openWord(open bool) string {
	if open {
		return "open"
	}
	return "closed"
}

// adminUserView is one user's page, or the confirmation of an action on them when Confirm is set.
type adminUserView struct {
	User     *sesame.UserSummary
	Self     bool
	Sessions int // sessions open now
	Queued   int // tasks still queued
	// LastAdmin: they are the only active admin, so they can be neither demoted, banned nor deleted.
	LastAdmin bool
	Error     string
	// Confirm is the action waiting for confirmation: "ban", "delete" or "demote" (of yourself).
	Confirm string
	// Budget is their monthly cost budget; nil when this server keeps none (admin_user_budget.go).
	Budget *budgetView
}

func (a *App) adminUser(w http.ResponseWriter, r *http.Request, me *sesame.User) {
	v, ok := a.userView(w, r, me)
	if !ok {
		return
	}
	a.render(w, r, http.StatusOK, "admin_user", displayName(&v.User.User), v)
}

// userView loads the user named in the path for their page; when there is none it answers 404.
func (a *App) userView(w http.ResponseWriter, r *http.Request, me *sesame.User) (adminUserView, bool) {
	u, err := a.Users.UserSummary(r.Context(), r.PathValue("id"))
	if sesame.ErrorCode(err) == sesame.ENOTFOUND {
		a.errorPage(w, r, http.StatusNotFound, "There is no user at this address; they may have been deleted.")
		return adminUserView{}, false
	} else if err != nil {
		a.serverError(w, r, "load user", err)
		return adminUserView{}, false
	}
	v := adminUserView{User: u, Self: u.ID == me.ID}
	if u.Role == sesame.RoleAdmin && !u.Banned {
		n, err := a.Users.CountAdmins(r.Context())
		if err != nil {
			a.serverError(w, r, "count admins", err)
			return v, false
		}
		v.LastAdmin = n <= 1
	}
	if v.Sessions, err = a.Users.CountSessions(r.Context(), u.ID); err != nil {
		a.serverError(w, r, "count sessions", err)
		return v, false
	}
	queued, err := a.Users.QueuedTasks(r.Context(), u.ID)
	if err != nil {
		a.serverError(w, r, "list queued tasks", err)
		return v, false
	}
	v.Queued = len(queued)
	if v.Budget, err = a.budgetView(r, u.ID); err != nil {
		a.serverError(w, r, "read the user's budget", err)
		return v, false
	}
	return v, true
}

// userAction starts every action on a user: it reads the form and loads the user (404 when there is
// none). confirmed reports whether the form confirms the action.
func (a *App) userAction(w http.ResponseWriter, r *http.Request, me *sesame.User) (v adminUserView, confirmed, ok bool) {
	if !a.parseAdminForm(w, r) {
		return v, false, false
	}
	v, ok = a.userView(w, r, me)
	return v, r.PostForm.Get("confirm") == "yes", ok
}

// askToConfirm shows the user's page asking to confirm action.
func (a *App) askToConfirm(w http.ResponseWriter, r *http.Request, v adminUserView, action string) {
	v.Confirm = action
	a.render(w, r, http.StatusOK, "admin_user", "Confirm", v)
}

// refused shows the user's page with why the change was refused: 409 when it would leave no active
// admin, 404 when the user is gone, 500 otherwise. what is the change: demote, ban or delete.
func (a *App) refused(w http.ResponseWriter, r *http.Request, v adminUserView, what string, err error) {
	switch sesame.ErrorCode(err) {
	case sesame.ECONFLICT:
		a.lastAdmin(w, r, v, what)
	case sesame.ENOTFOUND:
		a.errorPage(w, r, http.StatusNotFound, "There is no user at this address; they may have been deleted.")
	default:
		a.serverError(w, r, what+" user", err)
	}
}

// lastAdmin refuses to demote, ban or delete (what) the last active admin, changing nothing.
func (a *App) lastAdmin(w http.ResponseWriter, r *http.Request, v adminUserView, what string) {
	v.Error = fmt.Sprintf("%s is the only admin left: make another user an admin before you %s them.", displayName(&v.User.User), what)
	if v.Self {
		v.Error = fmt.Sprintf("You are the only admin left: make another user an admin before you %s yourself.", what)
	}
	v.LastAdmin = true
	a.render(w, r, http.StatusConflict, "admin_user", displayName(&v.User.User), v)
}

// displayName is how the admin pages name u: their name, else their email.
func displayName(u *sesame.User) string {
	if u.Name != "" {
		return u.Name
	}
	return u.Email
}

// adminSetRole makes a user an admin or a user (role=admin|user). Demoting yourself asks first.
func (a *App) adminSetRole(w http.ResponseWriter, r *http.Request, me *sesame.User) {
	v, confirmed, ok := a.userAction(w, r, me)
	if !ok {
		return
	}
	u, role := v.User, sesame.Role(r.PostForm.Get("role"))
	switch {
	case role != sesame.RoleAdmin && role != sesame.RoleUser:
		v.Error = "Choose a role: admin or user."
		a.render(w, r, http.StatusUnprocessableEntity, "admin_user", displayName(&u.User), v)
		return
	case role == u.Role:
		a.flash(r, fmt.Sprintf("%s is already %s.", displayName(&u.User), roleName(role)))
		http.Redirect(w, r, userPath(u.ID), http.StatusSeeOther)
		return
	case role == sesame.RoleUser && v.LastAdmin:
		a.lastAdmin(w, r, v, "demote")
		return
	case role == sesame.RoleUser && v.Self && !confirmed:
		a.askToConfirm(w, r, v, "demote")
		return
	}
	what := "promote"
	if role == sesame.RoleUser {
		what = "demote"
	}
	if err := a.Users.SetRole(r.Context(), u.ID, role); err != nil {
		a.refused(w, r, v, what, err)
		return
	}
	a.Logger.Info("user role changed", "user_id", u.ID, "role", role, "by", me.ID)
	a.audit(r, me, sesame.AuditRoleChanged, sesame.ResourceUser, u.ID,
		map[string]any{"email": u.Email, "from": string(u.Role), "to": string(role)})
	if v.Self {
		a.flash(r, "You are no longer an admin.")
		http.Redirect(w, r, "/tasks", http.StatusSeeOther)
		return
	}
	a.flash(r, fmt.Sprintf("%s is now %s.", displayName(&u.User), roleName(role)))
	http.Redirect(w, r, userPath(u.ID), http.StatusSeeOther)
}

func roleName(r sesame.Role) string {
	if r == sesame.RoleAdmin {
		return "an admin"
	}
	return "a user"
}

// adminBan bans a user after confirmation: every session of theirs ends at once (in the store's
// transaction) and their queued tasks are stopped.
func (a *App) adminBan(w http.ResponseWriter, r *http.Request, me *sesame.User) {
	v, confirmed, ok := a.userAction(w, r, me)
	if !ok {
		return
	}
	u := v.User
	if u.Banned {
		a.flash(r, displayName(&u.User)+" is already banned.")
		http.Redirect(w, r, userPath(u.ID), http.StatusSeeOther)
		return
	}
	if v.LastAdmin {
		a.lastAdmin(w, r, v, "ban")
		return
	}
	if !confirmed {
		a.askToConfirm(w, r, v, "ban")
		return
	}
	if err := a.Users.SetBanned(r.Context(), u.ID, true); err != nil {
		a.refused(w, r, v, "ban", err)
		return
	}
	stopped, failed := a.stopQueued(r, u.ID, me)
	a.Logger.Info("user banned", "user_id", u.ID, "by", me.ID, "stopped_tasks", stopped)
	a.audit(r, me, sesame.AuditUserBanned, sesame.ResourceUser, u.ID, map[string]any{"email": u.Email, "stopped_tasks": stopped})
	msg := fmt.Sprintf("%s is banned and signed out everywhere; %s stopped.", displayName(&u.User), plural(stopped, "queued task"))
	if failed > 0 {
		msg += fmt.Sprintf(" %s could not be stopped; stop them from the task list.", plural(failed, "task"))
	}
	if v.Self {
		a.signOutHere(r, msg)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	a.flash(r, msg)
	http.Redirect(w, r, userPath(u.ID), http.StatusSeeOther)
}

// stopQueued stops the user's queued tasks and returns how many it stopped and how many it could
// not; tasks that ended meanwhile count as neither.
func (a *App) stopQueued(r *http.Request, userID string, me *sesame.User) (stopped, failed int) {
	ids, err := a.Users.QueuedTasks(r.Context(), userID)
	if err != nil {
		a.Logger.Error("list queued tasks of a banned user", "user_id", userID, "err", err)
		return 0, 0
	}
	return a.stopTasks(r, ids, userID, me)
}

// stopTasks stops the tasks with ids, as stopQueued does.
func (a *App) stopTasks(r *http.Request, ids []string, userID string, me *sesame.User) (stopped, failed int) {
	for _, id := range ids {
		_, err := a.Stopper.RequestStop(r.Context(), id, displayName(me))
		switch sesame.ErrorCode(err) {
		case "":
			stopped++
		case sesame.ECONFLICT, sesame.ENOTFOUND: // ended or gone meanwhile
		default:
			a.Logger.Error("stop a banned user's task", "task_id", id, "user_id", userID, "err", err)
			failed++
		}
	}
	return stopped, failed
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func (a *App) adminUnban(w http.ResponseWriter, r *http.Request, me *sesame.User) {
	v, _, ok := a.userAction(w, r, me)
	if !ok {
		return
	}
	u := v.User
	if !u.Banned {
		a.flash(r, displayName(&u.User)+" is not banned.")
		http.Redirect(w, r, userPath(u.ID), http.StatusSeeOther)
		return
	}
	if err := a.Users.SetBanned(r.Context(), u.ID, false); err != nil {
		a.refused(w, r, v, "unban", err)
		return
	}
	a.Logger.Info("user unbanned", "user_id", u.ID, "by", me.ID)
	a.audit(r, me, sesame.AuditUserUnbanned, sesame.ResourceUser, u.ID, map[string]any{"email": u.Email})
	a.flash(r, displayName(&u.User)+" is no longer banned and may sign in again.")
	http.Redirect(w, r, userPath(u.ID), http.StatusSeeOther)
}

// adminDelete deletes a user after confirmation. Their tasks stay, with their requester's name.
func (a *App) adminDelete(w http.ResponseWriter, r *http.Request, me *sesame.User) {
	v, confirmed, ok := a.userAction(w, r, me)
	if !ok {
		return
	}
	if v.LastAdmin {
		a.lastAdmin(w, r, v, "delete")
		return
	}
	if !confirmed {
		a.askToConfirm(w, r, v, "delete")
		return
	}
	// Their queued tasks are found before the account goes (its tasks lose their user then) and
	// stopped after: nobody is left to answer for them. Tasks that ended stay as they are.
	queued, err := a.Users.QueuedTasks(r.Context(), v.User.ID)
	if err != nil {
		a.serverError(w, r, "list queued tasks", err)
		return
	}
	deleted, err := a.Users.DeleteUser(r.Context(), v.User.ID)
	if err != nil {
		a.refused(w, r, v, "delete", err)
		return
	}
	stopped, failed := a.stopTasks(r, queued, deleted.ID, me)
	a.Logger.Info("user deleted", "user_id", deleted.ID, "by", me.ID, "queued_tasks_stopped", stopped)
	a.audit(r, me, sesame.AuditUserDeleted, sesame.ResourceUser, deleted.ID, map[string]any{"email": deleted.Email, "name": deleted.Name, "queuedTasksStopped": stopped})
	msg := fmt.Sprintf("Deleted %s (%s). Their tasks stay, under the name they were requested with; %s stopped.", displayName(deleted), deleted.Email, plural(stopped, "queued task"))
	if failed > 0 {
		msg += fmt.Sprintf(" %s could not be stopped; stop them from their pages.", plural(failed, "task"))
	}
	if v.Self {
		a.signOutHere(r, "You deleted your own account.")
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	a.flash(r, msg)
	http.Redirect(w, r, "/admin/users", http.StatusSeeOther)
}

// signOutHere ends the session of this request (its row is already gone from the store, but the
// response would write it back) and leaves msg for the sign-in page.
func (a *App) signOutHere(r *http.Request, msg string) {
	if err := a.sessions.Destroy(r.Context()); err != nil {
		a.Logger.Error("end session", "err", err)
	}
	a.flash(r, msg)
}

// parseAdminForm reads a small admin form; on failure it answers 400 and returns false.
func (a *App) parseAdminForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		a.errorPage(w, r, http.StatusBadRequest, "The form could not be read.")
		return false
	}
	return true
}

func userPath(id string) string { return "/admin/users/" + id }
