package admin

import (
	"net/http"
	"strconv"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/config"
)

// What the task page says about a task's sandbox security: the summary line once the sandbox has
// started (from its sandbox event), or what the task asked for until then.
const (
	securityOn  = "on — OS-level restrictions (file system, network allowlist) applied"
	securityOff = "off — the agent ran without OS-level restrictions"

	requestedOn      = "on (requested)"
	requestedOff     = "off (requested)"
	requestedDefault = "the server's default (requested)"
)

// sandboxDefaults reads the sandbox policy as admins have it now: whether sandbox security is on by
// default (sandbox.security.enabled) and whether a task from the form must run with it (on, and
// sandbox.security.allowDisable off).
func (a *App) sandboxDefaults(r *http.Request) (byDefault, required bool) {
	cfg, err := a.settings(r.Context())
	if err != nil {
		a.Logger.Error("read saved settings", "err", err)
		return true, true // required when in doubt
	}
	p := sesame.SandboxPolicy{SecurityEnabled: cfg.Bool(config.SandboxSecurityEnabled), AllowDisable: cfg.Bool(config.SandboxSecurityAllowDisable)}
	return p.SecurityEnabled, !p.MayDisable()
}

// taskSecurity is what the task page's summary says about a task's sandbox: whether security was on
// and how many actions it blocked.
type taskSecurity struct {
	Line       string // "" for tasks that run no agent
	Violations int
	RanOff     bool // the sandbox started without security, so it blocks nothing
}

// securityOf reads a task's sandbox security from its events: the last sandbox event says what was
// applied; without one, the line says what the task asked for.
func securityOf(t *sesame.Task, events []sesame.TaskEvent) taskSecurity {
	var s taskSecurity
	if t.Kind != "" && t.Kind != sesame.KindRun {
		return s
	}
	switch {
	case t.SandboxSecurity == nil:
		s.Line = requestedDefault
	case *t.SandboxSecurity:
		s.Line = requestedOn
	default:
		s.Line = requestedOff
	}
	for _, e := range events {
		switch e.Type {
		case sesame.EventSandbox:
			s.Line, s.RanOff = sandboxLine(e), !sandboxOn(e)
		case sesame.EventViolation:
			s.Violations++
		}
	}
	return s
}

// sandboxLine is the summary line a sandbox event stands for.
func sandboxLine(e sesame.TaskEvent) string {
	if sandboxOn(e) {
		return securityOn
	}
	return securityOff
}

func sandboxOn(e sesame.TaskEvent) bool {
	if on, ok := e.Data["security"].(bool); ok {
		return on
	}
	return e.Message == "OS-level restrictions on"
}

// blockedActions counts violations in words. task.js says the same when a violation arrives live.
func blockedActions(n int) string {
	switch n {
	case 0:
		return "none"
	case 1:
		return "1 blocked action"
	}
	return strconv.Itoa(n) + " blocked actions"
}
