package admin

import (
	"fmt"
	"net/http"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/config"
)

// The settings page's email part: whether this server can send email, the warning when address
// confirmation is required without it, and the "Send test email" button.

// emailSettingsView is the email part of /admin/settings.
type emailSettingsView struct {
	mailStatus
	// Required: REQUIRE_EMAIL_VERIFICATION is on. With Ready false, new users wait for an admin.
	Required bool
	CanTest  bool // Sesame is wired to send email (the button can try even when settings lack)
}

func (a *App) emailSettings(cfg *config.Config) emailSettingsView {
	return emailSettingsView{mailStatus: a.mailStatusOf(cfg), Required: cfg.Bool(config.RegistrationRequireEmailVerification),
		CanTest: a.Mailer != nil}
}

// testEmail sends a message to the admin's own address with the settings as they are saved now,
// and says how it went, in words, without secrets. Audited either way.
func (a *App) testEmail(w http.ResponseWriter, r *http.Request, me *sesame.User) {
	if !a.parseAdminForm(w, r) {
		return
	}
	if a.Mailer == nil {
		a.flash(r, "This Sesame server is not wired to send email.")
		http.Redirect(w, r, "/admin/settings#smtp", http.StatusSeeOther)
		return
	}
	body := fmt.Sprintf(`Hello %s,

This is a test message from Sesame at %s, sent from the admin settings page.
Email works: Sesame can send address confirmations and password reset links.
`, displayName(me), a.base.String())
	err := a.Mailer.Send(r.Context(), me.Email, "Sesame test email", body)
	payload := map[string]any{"to": me.Email, "ok": err == nil}
	if err != nil {
		payload["error"] = sesame.ErrorMessage(err)
		a.Logger.Warn("test email failed", "by", me.ID, "err", err)
		a.flash(r, "The test email could not be sent. "+sesame.ErrorMessage(err))
	} else {
		a.Logger.Info("test email sent", "by", me.ID)
		a.flash(r, fmt.Sprintf("Test email sent to %s. If it does not arrive, look in the spam folder.", me.Email))
	}
	a.audit(r, me, sesame.AuditTestEmail, sesame.ResourceSetting, "smtp", payload)
	http.Redirect(w, r, "/admin/settings#smtp", http.StatusSeeOther)
}
