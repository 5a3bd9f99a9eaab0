package admin

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/config"
)

// settingGroup is one section of /admin/settings: the settings whose keys start with one of its
// prefixes, in registry order.
type settingGroup struct {
	ID, Title, Intro string
	prefixes         []string
}

// settingGroups are the sections of /admin/settings, as the product's settings page groups them.
// A setting no group claims lands in the last, "Server".
var settingGroups = []settingGroup{
	{ID: "registration", Title: "Registration", prefixes: []string{"registration."},
		Intro: "Who may create an account. Setup closes sign-ups once the first admin exists; users can also be managed on the Users page."},
	{ID: "ai", Title: "AI utility provider", prefixes: []string{"ai."},
		Intro: "The OpenAI-compatible model for small utility tasks (branch names, commit messages, titles). The coding agents use their own credentials."},
	{ID: "oidc", Title: "SSO / OIDC", prefixes: []string{"oidc."},
		Intro: "Sign-in through an OpenID Connect provider."},
	{ID: "smtp", Title: "SMTP", prefixes: []string{"smtp."},
		Intro: "The mail server for email verification and password reset."},
	{ID: "sandbox", Title: "Sandbox and tasks", prefixes: []string{"sandbox.", "tasks.", "worker.", "queue."},
		Intro: "Where and how agents run. The sandbox policy (security default and domain lists) also has its own page, Sandbox."},
	{ID: "audit", Title: "Audit log", prefixes: []string{"audit."},
		Intro: "What Sesame records of sign-ins, credentials, tasks and admin actions, and for how long."},
	{ID: "git", Title: "Git", prefixes: []string{"git."},
		Intro: "How agents' commits are made."},
	{ID: "avatars", Title: "User avatars", prefixes: []string{"gravatar."},
		Intro: "Pictures shown next to users' names."},
	{ID: "agents", Title: "Agents", prefixes: []string{"agents."},
		Intro: "Shared credentials the coding agents use when a user has none of their own."},
	{ID: "github", Title: "GitHub App", prefixes: []string{"github."},
		Intro: "The GitHub App Sesame answers comments and opens pull requests as."},
	{ID: "slack", Title: "Slack app", prefixes: []string{"slack."},
		Intro: "The Slack app that takes /sesame slash commands and posts each task's progress in its channel."},
	{ID: "server", Title: "Server", prefixes: nil,
		Intro: "How this process starts. These are read once, from the environment or the config file."},
}

// groupOf returns the id of the group s belongs to.
func groupOf(key string) string {
	for _, g := range settingGroups {
		for _, p := range g.prefixes {
			if strings.HasPrefix(key, p) {
				return g.ID
			}
		}
	}
	return "server"
}

// settingField is one setting as the page shows it.
type settingField struct {
	config.Setting
	Value    string // the current value; masked for a secret
	IsSet    bool   // a secret has a value
	Source   string // in words: where the value comes from
	FromEnv  string // the variable that locks it, "" when none does
	Editable bool   // an admin may save it here
	Admin    bool   // the value comes from the admin settings (it can be reset)
	Input    string // the value the form shows, after a refused save what was typed
	Error    string
}

type settingGroupView struct {
	settingGroup
	Fields []settingField
}

type adminSettingsView struct {
	Groups []settingGroupView
	Error  string // about the whole form
	Saved  string // the group just saved, to scroll to
	Email  emailSettingsView
}

func (a *App) settingsRoutes(mux *http.ServeMux) {
	mux.Handle("GET /admin/settings", a.requireAdmin(a.adminSettings))
	mux.Handle("POST /admin/settings", a.requireAdmin(a.saveAdminSettings))
	mux.Handle("GET /admin/sandbox", a.requireAdmin(a.adminSandbox))
	mux.Handle("POST /admin/sandbox", a.requireAdmin(a.saveAdminSandbox))
}

func (a *App) adminSettings(w http.ResponseWriter, r *http.Request, u *sesame.User) {
	cfg, err := a.settings(r.Context())
	if err != nil {
		a.serverError(w, r, "read settings", err)
		return
	}
	a.render(w, r, http.StatusOK, "admin_settings", "Settings", a.settingsPageView(cfg, nil, nil))
}

// settingsPageView builds the page from cfg; typed and problems are a refused form's input and
// the message for each field.
func (a *App) settingsPageView(cfg *config.Config, typed map[string]string, problems map[string]string) adminSettingsView {
	values := map[string]config.Value{}
	for _, v := range cfg.Describe() {
		values[v.Key] = v
	}
	byGroup := map[string][]settingField{}
	for _, s := range config.Settings() {
		if s.EnvOnly {
			continue
		}
		v := values[s.Key]
		f := settingField{Setting: s, Value: v.Value, Editable: s.FromAdmin() && !v.Locked, Admin: v.Source == config.SourceAdmin}
		f.Source = sourceWords(v)
		if v.Locked {
			f.FromEnv = v.Origin
		}
		if s.Secret {
			f.IsSet = v.Value != "(not set)"
		} else {
			f.Input = v.Value
		}
		if t, ok := typed[s.Key]; ok && !s.Secret {
			f.Input = t
		}
		f.Error = problems[s.Key]
		byGroup[groupOf(s.Key)] = append(byGroup[groupOf(s.Key)], f)
	}
	view := adminSettingsView{Email: a.emailSettings(cfg)}
	for _, g := range settingGroups {
		if len(byGroup[g.ID]) > 0 {
			view.Groups = append(view.Groups, settingGroupView{settingGroup: g, Fields: byGroup[g.ID]})
		}
	}
	return view
}

// sourceWords says where a value comes from.
func sourceWords(v config.Value) string {
	switch v.Source {
	case config.SourceEnv:
		return "environment variable " + v.Origin
	case config.SourceFile:
		return "config file " + v.Origin
	case config.SourceAdmin:
		return "saved here"
	}
	return "default"
}

// saveAdminSettings saves one group of the settings page. Every field of the group is checked
// first; one refused value saves nothing. A crafted request for a setting the environment locks,
// a startup setting or an unknown key is refused the same way, with the reason at the field.
func (a *App) saveAdminSettings(w http.ResponseWriter, r *http.Request, u *sesame.User) {
	cfg, ok := a.settingsForm(w, r)
	if !ok {
		return
	}
	group := r.PostForm.Get("group")
	changes := newSettingChanges()
	for name, vals := range r.PostForm {
		key, ok := strings.CutPrefix(name, "s:")
		if !ok {
			continue
		}
		changes.value(cfg, key, vals[len(vals)-1])
	}
	for _, name := range r.PostForm["reset"] {
		changes.reset(cfg, name)
	}
	for _, name := range r.PostForm["clear"] {
		changes.clear(cfg, name)
	}
	a.applySettings(w, r, u, cfg, changes, sesame.AuditSettingsChanged, nil, func(problems map[string]string) {
		v := a.settingsPageView(cfg, changes.typed, problems)
		v.Error, v.Saved = "Nothing was saved: correct the fields marked below.", group
		a.render(w, r, http.StatusUnprocessableEntity, "admin_settings", "Settings", v)
	}, "/admin/settings#"+group)
}

// settingsForm reads a settings form and the settings as they are; on failure it has answered.
func (a *App) settingsForm(w http.ResponseWriter, r *http.Request) (*config.Config, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		a.errorPage(w, r, http.StatusBadRequest, "The form could not be read.")
		return nil, false
	}
	cfg, err := a.settings(r.Context())
	if err != nil {
		a.serverError(w, r, "read settings", err)
		return nil, false
	}
	return cfg, true
}

func newSettingChanges() settingChanges {
	return settingChanges{set: map[string]string{}, typed: map[string]string{}, problems: map[string]string{}}
}

// settingChanges is what a form asks to change, checked against the settings as they are.
type settingChanges struct {
	set      map[string]string // key → value to save (normalized)
	unset    []string          // keys whose saved value goes (back to the file or the default)
	typed    map[string]string // what was typed, to show again when something is refused
	problems map[string]string // key → why its change is refused
	message  string            // what to tell the admin once saved; "" says which keys were saved
}

// editable says why key cannot be changed in the admin settings, or "" when it can.
func editable(cfg *config.Config, key string) string {
	s, ok := config.Lookup(key)
	switch {
	case !ok:
		return fmt.Sprintf("There is no setting %q.", key)
	case s.EnvOnly:
		return fmt.Sprintf("%s can only be set by the environment variable %s.", key, s.Env)
	case !s.FromAdmin():
		return fmt.Sprintf("%s is read once at start: set %s in the environment or the config file and restart Sesame.", key, s.Env)
	case cfg.Locked(key):
		return fmt.Sprintf("Locked: the environment variable %s sets it. Change or remove the variable and restart Sesame to change it.", cfg.Origin(key))
	}
	return ""
}

// value records a submitted value for key: saved when it differs from the current one. A secret's
// empty field means "keep it".
func (c *settingChanges) value(cfg *config.Config, key, raw string) {
	s, known := config.Lookup(key)
	if known && s.Secret && raw == "" {
		return
	}
	c.typed[key] = raw
	if why := editable(cfg, key); why != "" {
		c.problems[key] = why
		return
	}
	v, err := config.Validate(key, raw)
	if err != nil {
		c.problems[key] = strings.TrimPrefix(err.Error(), key+": ")
		return
	}
	if !s.Secret && v == cfg.Text(key) {
		return
	}
	c.set[key] = v
}

// reset records that key's saved value goes.
func (c *settingChanges) reset(cfg *config.Config, key string) {
	if why := editable(cfg, key); why != "" {
		c.problems[key] = why
		return
	}
	if cfg.Source(key) == config.SourceAdmin {
		c.unset = append(c.unset, key)
		delete(c.set, key)
	}
}

// clear records that a secret is saved empty.
func (c *settingChanges) clear(cfg *config.Config, key string) {
	if why := editable(cfg, key); why != "" {
		c.problems[key] = why
		return
	}
	c.set[key] = ""
}

// applySettings saves changes in one transaction (secrets sealed with ENCRYPTION_KEY), records
// which keys changed in the audit log (never their values), makes them current on every node and
// redirects to done. extra is added to the audit event's payload: never a secret. With problems it saves nothing and calls refused.
func (a *App) applySettings(w http.ResponseWriter, r *http.Request, u *sesame.User, cfg *config.Config, c settingChanges,
	action sesame.AuditAction, extra map[string]any, refused func(problems map[string]string), done string) {
	if len(c.problems) > 0 {
		refused(c.problems)
		return
	}
	if len(c.set) == 0 && len(c.unset) == 0 {
		a.flash(r, "Nothing changed.")
		http.Redirect(w, r, done, http.StatusSeeOther)
		return
	}
	stored := make(map[string]string, len(c.set))
	for key, v := range c.set {
		sealed, err := config.SealSetting(a.Sealer, key, v)
		if err != nil {
			a.serverError(w, r, "seal setting", err)
			return
		}
		stored[key] = sealed
	}
	if err := a.Settings.ApplySettings(r.Context(), stored, c.unset, u.Email); err != nil {
		a.serverError(w, r, "save settings", err)
		return
	}
	keys := make([]string, 0, len(c.set))
	for k := range c.set {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	slices.Sort(c.unset)
	payload := map[string]any{"keys": keys}
	for k, v := range extra {
		payload[k] = v
	}
	if len(c.unset) > 0 {
		payload["reset"] = c.unset
	}
	a.audit(r, u, action, sesame.ResourceSetting, strings.Join(append(slices.Clone(keys), c.unset...), ","), payload)
	a.Logger.Info("settings saved", "by", u.ID, "keys", keys, "reset", c.unset)
	a.settingsSaved(r.Context())
	if c.message != "" {
		a.flash(r, c.message)
	} else {
		a.flash(r, savedMessage(append(keys, c.unset...)))
	}
	http.Redirect(w, r, done, http.StatusSeeOther)
}

// savedMessage says what was saved and when it applies.
func savedMessage(keys []string) string {
	var later []string
	for _, k := range keys {
		if s, ok := config.Lookup(k); ok && !s.Live() {
			later = append(later, k)
		}
	}
	msg := fmt.Sprintf("Saved %s. Changes apply on every node within seconds.", strings.Join(keys, ", "))
	if len(later) > 0 {
		msg += " " + strings.Join(later, ", ") + " applies after Sesame restarts."
	}
	return msg
}
