package admin

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/config"
)

// A user's monthly cost budget on their admin page: what the tasks counted against them cost this
// month, and their own budget, which an admin sets (or clears, so that the server's default,
// tasks.userMonthlyBudget, applies).

// budgetView is a user's monthly budget as their page shows it.
type budgetView struct {
	Own     string // their own budget as the form shows it ("12.50"); "" when none is set
	Default string // the server's default, in words: "$10.00", or "no limit"
	Limit   string // what applies to them, in words
	Spent   string // what the tasks counted against them cost since Since
	Since   string // the month's first day, "1 June"
	Error   string // why the value entered was refused
}

// budgetView reads the user's budget; nil when this server keeps none.
func (a *App) budgetView(r *http.Request, userID string) (*budgetView, error) {
	if a.Budgets == nil {
		return nil, nil
	}
	month := sesame.MonthStart(time.Now())
	b, err := a.Budgets.UserBudget(r.Context(), userID, month)
	if err != nil {
		return nil, err
	}
	cfg, err := a.settings(r.Context())
	if err != nil {
		return nil, err
	}
	def, _ := sesame.ParseUSD(cfg.String(config.TasksUserMonthlyBudget)) // checked when it was set
	v := &budgetView{Default: limitWords(def), Limit: limitWords(b.Limit(def)), Spent: sesame.FormatUSD(b.Spent),
		Since: month.Format("2 January")}
	if b.Own != nil {
		v.Own = fmt.Sprintf("%.2f", *b.Own)
	}
	return v, nil
}

func limitWords(v float64) string {
	if v <= 0 {
		return "no limit"
	}
	return sesame.FormatUSD(v)
}

// adminSetBudget sets a user's own monthly budget (budget=USD; 0 for no limit), or clears it
// (budget empty) so that the server's default applies.
func (a *App) adminSetBudget(w http.ResponseWriter, r *http.Request, me *sesame.User) {
	v, _, ok := a.userAction(w, r, me)
	if !ok {
		return
	}
	u := v.User
	if v.Budget == nil {
		a.errorPage(w, r, http.StatusNotFound, "This Sesame server keeps no budgets.")
		return
	}
	raw := strings.TrimSpace(r.PostForm.Get("budget"))
	var budget *float64
	if raw != "" {
		f, err := sesame.ParseUSD(raw)
		if err != nil {
			v.Budget.Own = raw
			v.Budget.Error = "Enter an amount of US dollars such as 25 or 12.50 (0 for no limit), or nothing for the server's default."
			a.render(w, r, http.StatusUnprocessableEntity, "admin_user", displayName(&u.User), v)
			return
		}
		budget = &f
	}
	if err := a.Budgets.SetUserBudget(r.Context(), u.ID, budget); err != nil {
		a.refused(w, r, v, "set the budget of", err)
		return
	}
	payload := map[string]any{"email": u.Email, "from": v.Budget.Own, "to": raw}
	a.Logger.Info("user budget changed", "user_id", u.ID, "budget", raw, "by", me.ID)
	a.audit(r, me, sesame.AuditUserBudgetChanged, sesame.ResourceUser, u.ID, payload)
	switch {
	case budget == nil:
		a.flash(r, fmt.Sprintf("%s's monthly budget is the server's default: %s.", displayName(&u.User), v.Budget.Default))
	default:
		a.flash(r, fmt.Sprintf("%s's monthly budget is now %s.", displayName(&u.User), limitWords(*budget)))
	}
	http.Redirect(w, r, userPath(u.ID), http.StatusSeeOther)
}
