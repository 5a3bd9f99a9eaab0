package admin

import (
	"net/http"

	sesame "github.com/sesame-works/sesame"
)

func (a *App) userRoutes(mux *http.ServeMux) {
	mux.Handle("GET /admin/users", a.requireAdmin(a.adminUsers))
}

func (a *App) adminUsers(w http.ResponseWriter, r *http.Request, u *sesame.User) {
	a.errorPage(w, r, http.StatusNotImplemented, "The users page is not built yet.")
}
