package admin

import (
	"net/http"

	sesame "github.com/sesame-works/sesame"
)

func (a *App) auditRoutes(mux *http.ServeMux) {
	mux.Handle("GET /admin/audit", a.requireAdmin(a.adminAudit))
}

func (a *App) adminAudit(w http.ResponseWriter, r *http.Request, u *sesame.User) {
	a.errorPage(w, r, http.StatusNotImplemented, "The audit log page is not built yet.")
}
