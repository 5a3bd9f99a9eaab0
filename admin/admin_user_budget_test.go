package admin_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/admin"
)

// An admin sees what a user's tasks cost this month against their budget, and sets, clears or lifts
// the user's own budget on their page; a bad amount is refused and changes nothing, and a user who
// is not an admin cannot change it.
func TestAdminSetsAUserBudget(t *testing.T) {
	e := newEnv(t, "USER_MONTHLY_COST_BUDGET=10")
	audit := &usersAuditLog{}
	opts := e.opts
	opts.Audit, opts.Budgets = audit, e.users
	app, err := admin.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ue := &usersEnv{env: e, app: app, srv: httptest.NewServer(app), audit: audit}
	t.Cleanup(ue.srv.Close)
	ctx := context.Background()
	ada, _ := ue.user(t, "Ada", "ada@example.com", sesame.RoleAdmin)
	bobClient, bob := ue.user(t, "Bob", "bob@example.com", sesame.RoleUser)
	task := ue.webTask(t, bob.ID, "one")
	if _, err := e.users.ChargeTask(ctx, task.ID, bob.ID, "", sesame.MonthStart(time.Now())); err != nil {
		t.Fatal(err)
	}
	if err := e.tasks.SetResult(ctx, task.ID, sesame.TaskResult{CostUSD: 2.5}); err != nil {
		t.Fatal(err)
	}
	page := "/admin/users/" + bob.ID
	own := func() *float64 {
		t.Helper()
		b, err := e.users.UserBudget(ctx, bob.ID, sesame.MonthStart(time.Now()))
		if err != nil {
			t.Fatal(err)
		}
		return b.Own
	}

	r := ada.mustStatus(ada.get(page), http.StatusOK, "bob's page")
	for _, want := range []string{"Monthly budget", "<strong>$2.50</strong>", "<strong>$10.00</strong>, the server's default", `action="/admin/users/` + bob.ID + `/budget"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("bob's page lacks %q", want)
		}
	}

	ada.mustStatus(ada.post(page+"/budget", url.Values{"budget": {"25.50"}}), http.StatusSeeOther, "set bob's budget")
	if got := own(); got == nil || *got != 25.5 {
		t.Fatalf("bob's own budget = %v, want 25.5", got)
	}
	r = ada.mustStatus(ada.get(page), http.StatusOK, "bob's page")
	if !strings.Contains(r.body, "Bob&#39;s monthly budget is now $25.50.") || !strings.Contains(r.body, `value="25.50"`) {
		t.Errorf("the page does not show bob's new budget:\n%s", r.body)
	}
	if events := audit.of(sesame.AuditUserBudgetChanged); len(events) != 1 || events[0].ResourceID != bob.ID {
		t.Errorf("audit events = %+v, want one budget change of bob's", events)
	}

	r = ada.mustStatus(ada.post(page+"/budget", url.Values{"budget": {"lots"}}), http.StatusUnprocessableEntity, "a bad amount")
	if !strings.Contains(r.body, "Enter an amount of US dollars") {
		t.Errorf("a bad amount is not explained:\n%s", r.body)
	}
	if got := own(); got == nil || *got != 25.5 {
		t.Errorf("a bad amount changed bob's budget to %v", got)
	}

	ada.mustStatus(ada.post(page+"/budget", url.Values{"budget": {"0"}}), http.StatusSeeOther, "lift bob's budget")
	if got := own(); got == nil || *got != 0 {
		t.Errorf("bob's own budget = %v, want 0 (no limit)", got)
	}
	ada.mustStatus(ada.post(page+"/budget", url.Values{"budget": {""}}), http.StatusSeeOther, "clear bob's budget")
	if got := own(); got != nil {
		t.Errorf("bob's own budget = %v, want none (the default)", *got)
	}

	bobClient.mustStatus(bobClient.post(page+"/budget", url.Values{"budget": {"1000"}}), http.StatusNotFound, "bob sets his own budget")
	if got := own(); got != nil {
		t.Errorf("a user set his own budget to %v", *got)
	}
}
