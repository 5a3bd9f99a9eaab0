package admin

import (
	"net/http"
	"slices"
	"strings"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/config"
)

// sandboxKeys are the settings /admin/sandbox edits, in the order it shows them.
var sandboxKeys = []string{
	config.SandboxSecurityEnabled,
	config.SandboxSecurityAllowDisable,
	config.SandboxAllowedDomains,
	config.SandboxDeniedDomains,
}

type adminSandboxView struct {
	Fields map[string]settingField
	Error  string
}

func (a *App) adminSandbox(w http.ResponseWriter, r *http.Request, u *sesame.User) {
	cfg, err := a.settings(r.Context())
	if err != nil {
		a.serverError(w, r, "read settings", err)
		return
	}
	a.render(w, r, http.StatusOK, "admin_sandbox", "Sandbox", a.sandboxView(cfg, nil, nil))
}

func (a *App) sandboxView(cfg *config.Config, typed, problems map[string]string) adminSandboxView {
	all := a.settingsPageView(cfg, typed, problems)
	v := adminSandboxView{Fields: map[string]settingField{}}
	for _, g := range all.Groups {
		for _, f := range g.Fields {
			if slices.Contains(sandboxKeys, f.Key) {
				if f.Type == config.TypeList {
					f.Input = strings.Join(config.SplitList(f.Input), "\n")
				}
				v.Fields[f.Key] = f
			}
		}
	}
	return v
}

// saveAdminSandbox saves the sandbox policy: the security default, whether users may turn it off,
// and the domain lists (one entry per line or comma-separated). The audit event names what changed,
// with the domains added and removed.
func (a *App) saveAdminSandbox(w http.ResponseWriter, r *http.Request, u *sesame.User) {
	cfg, ok := a.settingsForm(w, r)
	if !ok {
		return
	}
	changes := newSettingChanges()
	for _, key := range sandboxKeys {
		vals, sent := r.PostForm["s:"+key]
		if !sent {
			continue
		}
		raw := vals[len(vals)-1]
		if s, _ := config.Lookup(key); s.Type == config.TypeList {
			raw = strings.Join(strings.FieldsFunc(raw, func(c rune) bool { return c == '\n' || c == '\r' || c == ',' }), ",")
		}
		changes.value(cfg, key, raw)
	}
	for name := range r.PostForm {
		if key, ok := strings.CutPrefix(name, "s:"); ok && !slices.Contains(sandboxKeys, key) {
			changes.problems[key] = "This page changes only the sandbox policy."
		}
	}
	a.applySettings(w, r, u, cfg, changes, sesame.AuditSandboxPolicyChanged, domainChanges(cfg, changes.set), func(problems map[string]string) {
		v := a.sandboxView(cfg, changes.typed, problems)
		v.Error = "Nothing was saved: correct the fields marked below."
		for key, p := range problems {
			if !slices.Contains(sandboxKeys, key) {
				v.Error += " " + key + ": " + p
			}
		}
		a.render(w, r, http.StatusUnprocessableEntity, "admin_sandbox", "Sandbox", v)
	}, "/admin/sandbox")
}

// domainChanges says which domains a change of the lists adds and removes, for the audit log.
func domainChanges(cfg *config.Config, set map[string]string) map[string]any {
	out := map[string]any{}
	for _, key := range []string{config.SandboxAllowedDomains, config.SandboxDeniedDomains} {
		v, ok := set[key]
		if !ok {
			continue
		}
		before, after := cfg.List(key), config.SplitList(v)
		var added, removed []string
		for _, d := range after {
			if !slices.Contains(before, d) {
				added = append(added, d)
			}
		}
		for _, d := range before {
			if !slices.Contains(after, d) {
				removed = append(removed, d)
			}
		}
		name := strings.TrimPrefix(key, "sandbox.")
		out[name] = map[string]any{"added": added, "removed": removed}
	}
	return out
}
