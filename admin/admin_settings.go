package admin

import (
	"net/http"

	sesame "github.com/sesame-works/sesame"
)

func (a *App) settingsRoutes(mux *http.ServeMux) {
	mux.Handle("GET /admin/settings", a.requireAdmin(a.adminSettings))
}

func (a *App) adminSettings(w http.ResponseWriter, r *http.Request, u *sesame.User) {
	a.errorPage(w, r, http.StatusNotImplemented, "The settings page is not built yet.")
}
