package admin

import (
	"net/http"

	sesame "github.com/sesame-works/sesame"
)

// audit records what actor (nil: nobody signed in) did through request r, with the address and
// browser it came from. Recording never fails the action: the audit log logs its own errors.
func (a *App) audit(r *http.Request, actor *sesame.User, action sesame.AuditAction, resourceType, resourceID string, payload map[string]any) {
	if a.Audit == nil {
		return
	}
	e := sesame.AuditEvent{
		Action:       action,
		ResourceType: resourceType,
		ResourceID:   resourceID,
		UserAgent:    r.UserAgent(),
		Payload:      payload,
	}
	if addr := a.proxies.clientAddr(r); addr.IsValid() {
		e.IP = addr.String()
	}
	if actor != nil {
		e.ActorID, e.ActorEmail = actor.ID, actor.Email
	}
	a.Audit.Record(r.Context(), e)
}
