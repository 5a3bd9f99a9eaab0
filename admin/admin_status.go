package admin

import (
	"context"
	"net/http"

	sesame "github.com/sesame-works/sesame"
)

// StatusSource reports the health of the whole deployment. (Being built: see the status helper.)
type StatusSource interface {
	Status(ctx context.Context) any
}

func (a *App) statusRoutes(mux *http.ServeMux) {
	mux.Handle("GET /admin", a.requireAdmin(a.adminHome))
}

func (a *App) adminHome(w http.ResponseWriter, r *http.Request, u *sesame.User) {
	a.errorPage(w, r, http.StatusNotImplemented, "The system status page is not built yet.")
}
