package admin_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/admin"
	"github.com/sesame-works/sesame/postgres"
)

const (
	auditActor = "018f0000-0000-7000-8000-0000000000a1"
	otherActor = "018f0000-0000-7000-8000-0000000000b2"
	ghToken    = "ghp_16C7e42F292c6912E7710c838347Ae178B4a"
)

// auditEnv is the web app with an audit log, its admin and a user signed in, and a day of events
// from 2020-01-01 to 2020-01-06 written before anyone signed in (so their times follow their ids).
type auditEnv struct {
	*env
	store  *postgres.AuditStore
	srv    *httptest.Server
	admin  *client
	user   *client
	events []sesame.AuditEvent // the fixture's, newest first
}

func newAuditEnv(t *testing.T) *auditEnv {
	t.Helper()
	ctx := context.Background()
	e := newEnv(t)
	e.setUp(t) // through the app without an audit log: Ada, the admin
	store := postgres.NewAuditStore(e.db, postgres.AuditOptions{RetentionDays: func() int { return 0 }, Rand: func() float64 { return 1 }})
	fixture := []sesame.AuditEvent{
		{ActorID: auditActor, ActorEmail: "eve@example.com", Action: sesame.AuditSignIn, ResourceType: sesame.ResourceUser, ResourceID: auditActor, IP: "203.0.113.7"},
		{ActorID: auditActor, ActorEmail: "eve@example.com", Action: sesame.AuditTaskCreated, ResourceType: sesame.ResourceTask, ResourceID: "t-1",
			Payload: map[string]any{"repo": "octo/hello", "password": "hunter2", "note": "uses " + ghToken}},
		{ActorID: otherActor, ActorEmail: "=cmd|' /C calc'!A0", Action: sesame.AuditSignIn, ResourceType: sesame.ResourceUser, ResourceID: otherActor,
			UserAgent: "-2+3 <script>alert(1)</script>"},
		{ActorID: sesame.ActorSystem, Action: sesame.AuditTaskStarted, ResourceType: sesame.ResourceTask, ResourceID: "t-1"},
		{ActorID: auditActor, ActorEmail: "eve@example.com", Action: sesame.AuditAPIKeyCreated, ResourceType: sesame.ResourceAPIKey, ResourceID: "anthropic",
			Payload: map[string]any{"provider": "anthropic", "api_key": "sk-ant-api03-abcdefghijklmnopqrstuvwxyz"}},
		{ActorID: otherActor, Action: sesame.AuditSignOut, ResourceType: sesame.ResourceUser, ResourceID: otherActor},
	}
	for _, ev := range fixture {
		store.Record(ctx, ev)
	}
	if _, err := e.db.Pool.Exec(ctx, `UPDATE audit_events SET at = timestamptz '2020-01-01 10:00:00Z' + (id - 1) * interval '1 day'`); err != nil {
		t.Fatal(err)
	}
	events, err := store.AuditEvents(ctx, sesame.AuditFilter{})
	if err != nil || len(events) != len(fixture) {
		t.Fatalf("fixture: %d events, %v", len(events), err)
	}
	srv := e.serve(t, func(o *admin.Options) { o.Audit = store })
	ae := &auditEnv{env: e, store: store, srv: srv, events: events}
	ae.admin = ae.signIn(t, "ada@example.com")
	if _, err := e.users.CreateUser(ctx, sesame.User{Name: "Bob", Email: "bob@example.com", Role: sesame.RoleUser, PasswordHash: hashFor(t)}); err != nil {
		t.Fatal(err)
	}
	ae.user = ae.signIn(t, "bob@example.com")
	return ae
}

func (ae *auditEnv) signIn(t *testing.T, email string) *client {
	t.Helper()
	c := ae.clientOf(t, ae.srv)
	c.mustStatus(c.post("/login", url.Values{"email": {email}, "password": {password}}), http.StatusSeeOther, "login "+email)
	return c
}

// fixtureIDs returns the ids of the fixture's events (newest first) that match.
func (ae *auditEnv) fixtureIDs(match func(sesame.AuditEvent) bool) []int64 {
	var out []int64
	for _, e := range ae.events {
		if match(e) {
			out = append(out, e.ID)
		}
	}
	return out
}

var rowID = regexp.MustCompile(`<tr data-id="(\d+)">`)

// rowIDs returns the ids of the rows of an audit page.
func rowIDs(body string) []int64 {
	var out []int64
	for _, m := range rowID.FindAllStringSubmatch(body, -1) {
		id, _ := strconv.ParseInt(m[1], 10, 64)
		out = append(out, id)
	}
	return out
}

// onlyFixture keeps the ids of the fixture's events (sign-ins during the test write more).
func (ae *auditEnv) onlyFixture(got []int64) []int64 {
	last := ae.events[0].ID
	return slices.DeleteFunc(got, func(id int64) bool { return id > last })
}

func TestAuditRoutesAreForAdminsOnly(t *testing.T) {
	ae := newAuditEnv(t)
	anon := ae.clientOf(t, ae.srv)
	id := strconv.FormatInt(ae.events[0].ID, 10)
	for _, tt := range []struct {
		path string
		api  bool
	}{
		{"/admin/audit", false},
		{"/admin/audit?action=user_login", false},
		{"/admin/audit/" + id, false},
		{"/api/admin/audit?after=1", true},
		{"/api/admin/audit/export?format=csv", true},
		{"/api/admin/audit/export?format=json", true},
	} {
		t.Run(tt.path, func(t *testing.T) {
			if r := ae.user.get(tt.path); r.status != http.StatusNotFound || strings.Contains(r.body, "eve@example.com") {
				t.Errorf("a user: %d, want 404 without the log", r.status)
			}
			r := anon.get(tt.path)
			switch {
			case tt.api && r.status != http.StatusUnauthorized:
				t.Errorf("anonymous: %d, want 401", r.status)
			case !tt.api && (r.status != http.StatusSeeOther || r.location != "/login?next="+url.QueryEscape(tt.path)):
				t.Errorf("anonymous: %d → %q, want a redirect to sign in", r.status, r.location)
			}
			ae.admin.mustStatus(ae.admin.get(tt.path), http.StatusOK, "admin")
		})
	}
}

func TestAuditPageFilters(t *testing.T) {
	ae := newAuditEnv(t)
	for _, tt := range []struct {
		name  string
		query string
		match func(sesame.AuditEvent) bool
	}{
		{"everything", "", func(sesame.AuditEvent) bool { return true }},
		{"action", "action=user_login", func(e sesame.AuditEvent) bool { return e.Action == sesame.AuditSignIn }},
		{"resource type", "resourceType=task", func(e sesame.AuditEvent) bool { return e.ResourceType == sesame.ResourceTask }},
		{"user", "userId=" + otherActor, func(e sesame.AuditEvent) bool { return e.ActorID == otherActor }},
		{"dates, the end day included", "startDate=2020-01-02&endDate=2020-01-04", func(e sesame.AuditEvent) bool {
			return e.ID >= ae.events[4].ID && e.ID <= ae.events[2].ID
		}},
		{"one day", "startDate=2020-01-03&endDate=2020-01-03", func(e sesame.AuditEvent) bool { return e.ID == ae.events[3].ID }},
		{"combined", "action=user_login&userId=" + auditActor + "&endDate=2020-01-05", func(e sesame.AuditEvent) bool {
			return e.Action == sesame.AuditSignIn && e.ActorID == auditActor
		}},
		{"nothing matches", "action=user_deleted", func(sesame.AuditEvent) bool { return false }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := ae.admin.mustStatus(ae.admin.get("/admin/audit?"+tt.query), http.StatusOK, "audit page")
			if diff := cmp.Diff(ae.fixtureIDs(tt.match), ae.onlyFixture(rowIDs(r.body))); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
			if tt.query != "" {
				q, _ := url.ParseQuery(tt.query)
				filters := strings.ReplaceAll(q.Encode(), "&", "&amp;")
				q.Set("format", "csv")
				export := `href="/api/admin/audit/export?` + strings.ReplaceAll(q.Encode(), "&", "&amp;") + `"`
				if !strings.Contains(r.body, `data-query="`+filters+`"`) || !strings.Contains(r.body, export) {
					t.Errorf("the tail or the export links lose the filters %q", filters)
				}
			}
		})
	}

	page := ae.admin.get("/admin/audit?userId=" + otherActor)
	for _, want := range []string{`<option value="user_login">`, "/static/audit.js", `id="audit-live" checked`,
		`title="` + otherActor + `">=cmd|&#39; /C calc&#39;!A0<`, `value="` + otherActor + `"`, `href="/admin/audit/` + strconv.FormatInt(ae.events[0].ID, 10) + `"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	empty := ae.admin.get("/admin/audit?action=user_deleted")
	if !strings.Contains(empty.body, "No audit events match these filters.") {
		t.Error("an empty page does not say so")
	}
}

func TestAuditPageRefusesBadQueries(t *testing.T) {
	ae := newAuditEnv(t)
	for _, tt := range []struct{ query, want string }{
		{"startDate=2020-13-01", `The start date &#34;2020-13-01&#34; is not a date`},
		{"endDate=yesterday", `The end date &#34;yesterday&#34; is not a date`},
		{"startDate=2020-01-05&endDate=2020-01-01", "The start date is after the end date."},
		{"action=root_granted", `Unknown action &#34;root_granted&#34;.`},
		{"resourceType=planet", `Unknown resource type &#34;planet&#34;.`},
		{"before=-3", "before must be an event id"},
		{"userId=" + strings.Repeat("x", 201), "The user id is longer than 200 characters."},
	} {
		t.Run(tt.query[:min(len(tt.query), 30)], func(t *testing.T) {
			r := ae.admin.mustStatus(ae.admin.get("/admin/audit?"+tt.query), http.StatusBadRequest, "bad query")
			if !strings.Contains(r.body, tt.want) || !strings.Contains(r.body, `class="audit-filters"`) {
				t.Errorf("page lacks %q or the form:\n%s", tt.want, snippet(r.body))
			}
		})
	}
}

func TestAuditPagesGoOlderAndBack(t *testing.T) {
	ae := newAuditEnv(t)
	ctx := context.Background()
	for i := range 120 {
		ae.store.Record(ctx, sesame.AuditEvent{ActorID: auditActor, Action: sesame.AuditTaskStarted, ResourceType: sesame.ResourceTask, ResourceID: fmt.Sprint(i)})
	}
	all, err := ae.store.AuditEvents(ctx, sesame.AuditFilter{UserID: auditActor, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	var want, got []int64
	for _, e := range all {
		want = append(want, e.ID)
	}
	next := "/admin/audit?userId=" + auditActor
	pages := 0
	for next != "" {
		r := ae.admin.mustStatus(ae.admin.get(next), http.StatusOK, "page "+next)
		ids := rowIDs(r.body)
		if len(ids) > 50 {
			t.Fatalf("page of %d rows", len(ids))
		}
		got = append(got, ids...)
		if pages++; pages > 1 {
			if !strings.Contains(r.body, `href="/admin/audit?userId=`+auditActor+`">Newest</a>`) || strings.Contains(r.body, `id="audit-live"`) {
				t.Error("an older page has no Newest link, or follows live")
			}
		}
		next = ""
		if m := regexp.MustCompile(`id="audit-older" href="([^"]+)">`).FindStringSubmatch(r.body); m != nil {
			next = strings.ReplaceAll(m[1], "&amp;", "&")
		}
		if pages > 10 {
			t.Fatal("the Older links do not end")
		}
	}
	if diff := cmp.Diff(want, got); diff != "" || pages != 3 {
		t.Errorf("%d pages; ids (-want +got):\n%s", pages, diff)
	}
}

type tailResponse struct {
	Events []struct {
		ID         int64          `json:"id"`
		Time       time.Time      `json:"time"`
		ActorID    string         `json:"actorId"`
		ActorEmail string         `json:"actorEmail"`
		Action     string         `json:"action"`
		Payload    map[string]any `json:"payload"`
	} `json:"events"`
}

func TestAuditTail(t *testing.T) {
	ae := newAuditEnv(t)
	ctx := context.Background()
	newest := ae.events[0].ID
	after := ae.events[2].ID
	ae.store.Record(ctx, sesame.AuditEvent{ActorID: otherActor, Action: sesame.AuditSignIn, ResourceType: sesame.ResourceUser})
	r := ae.admin.mustStatus(ae.admin.get(fmt.Sprintf("/api/admin/audit?after=%d&userId=%s", after, otherActor)), http.StatusOK, "tail")
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var tail tailResponse
	if err := json.Unmarshal([]byte(r.body), &tail); err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, e := range tail.Events {
		got = append(got, e.ID)
		if e.ActorID != otherActor {
			t.Errorf("event %d of actor %s in a tail for %s", e.ID, e.ActorID, otherActor)
		}
	}
	// The new sign-in, then the fixture's sign-out: newer than after, newest first.
	if len(got) != 2 || got[0] <= newest || got[1] != ae.events[0].ID {
		t.Errorf("tail = %v (after %d, newest fixture event %d)", got, after, newest)
	}
	r = ae.admin.get(fmt.Sprintf("/api/admin/audit?after=%d&userId=%s", got[0], otherActor))
	if err := json.Unmarshal([]byte(r.body), &tail); err != nil || len(tail.Events) != 0 || !strings.Contains(r.body, `"events":[]`) {
		t.Errorf("tail after the newest = %s (%v)", r.body, err)
	}
	ae.admin.mustStatus(ae.admin.get("/api/admin/audit?after=x"), http.StatusBadRequest, "bad after")
}

func TestAuditEventPage(t *testing.T) {
	ae := newAuditEnv(t)
	ev := ae.events[4] // the task created, with secrets in its payload
	r := ae.admin.mustStatus(ae.admin.get(fmt.Sprintf("/admin/audit/%d", ev.ID)), http.StatusOK, "event page")
	for _, want := range []string{"eve@example.com", auditActor, "task_created", "t-1", "2020-01-02 10:00:00 UTC", "2020-01-02T10:00:00Z",
		"&#34;repo&#34;: &#34;octo/hello&#34;", "&#34;password&#34;: &#34;[REDACTED]&#34;", "uses [REDACTED]",
		`href="/admin/audit?userId=` + auditActor + `"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(r.body, "hunter2") || strings.Contains(r.body, ghToken) {
		t.Error("a secret reached the page")
	}
	ua := ae.admin.get(fmt.Sprintf("/admin/audit/%d", ae.events[3].ID))
	if !strings.Contains(ua.body, "-2&#43;3 &lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the user agent is missing or not escaped")
	}
	ae.admin.mustStatus(ae.admin.get("/admin/audit/999999"), http.StatusNotFound, "unknown event")
	ae.admin.mustStatus(ae.admin.get("/admin/audit/abc"), http.StatusNotFound, "bad id")
}

func TestAuditExport(t *testing.T) {
	ae := newAuditEnv(t)
	for _, tt := range []struct {
		name  string
		query string
		match func(sesame.AuditEvent) bool
	}{
		{"everything", "", func(sesame.AuditEvent) bool { return true }},
		{"action", "action=user_login", func(e sesame.AuditEvent) bool { return e.Action == sesame.AuditSignIn }},
		{"resource type and user", "resourceType=user&userId=" + otherActor, func(e sesame.AuditEvent) bool {
			return e.ResourceType == sesame.ResourceUser && e.ActorID == otherActor
		}},
		{"days", "startDate=2020-01-02&endDate=2020-01-03", func(e sesame.AuditEvent) bool {
			return e.ID == ae.events[4].ID || e.ID == ae.events[3].ID
		}},
		{"RFC 3339 times", "startDate=2020-01-02T10:00:00Z&endDate=2020-01-03T10:00:00%2B00:00", func(e sesame.AuditEvent) bool {
			return e.ID == ae.events[4].ID
		}},
		{"an offset whose + was not escaped", "startDate=2020-01-02T11:00:00+01:00&endDate=2020-01-02T12:00:00+01:00", func(e sesame.AuditEvent) bool {
			return e.ID == ae.events[4].ID
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want := ae.fixtureIDs(tt.match)
			sep := "&"
			if tt.query == "" {
				sep = ""
			}

			r := ae.admin.mustStatus(ae.admin.get("/api/admin/audit/export?format=csv"+sep+tt.query), http.StatusOK, "csv")
			if ct, cd := r.header.Get("Content-Type"), r.header.Get("Content-Disposition"); ct != "text/csv; charset=utf-8" ||
				!regexp.MustCompile(`^attachment; filename="sesame-audit-\d{8}T\d{6}Z\.csv"$`).MatchString(cd) {
				t.Errorf("Content-Type %q, Content-Disposition %q", ct, cd)
			}
			records, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(admin.AuditCSVHeader, records[0]); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
			var got []int64
			for _, rec := range records[1:] {
				id, _ := strconv.ParseInt(rec[0], 10, 64)
				got = append(got, id)
			}
			if diff := cmp.Diff(want, ae.onlyFixture(got)); diff != "" {
				t.Errorf("csv ids (-want +got):\n%s", diff)
			}

			r = ae.admin.mustStatus(ae.admin.get("/api/admin/audit/export?format=json"+sep+tt.query), http.StatusOK, "json")
			if ct, cd := r.header.Get("Content-Type"), r.header.Get("Content-Disposition"); ct != "application/json" || !strings.HasSuffix(cd, `.json"`) {
				t.Errorf("Content-Type %q, Content-Disposition %q", ct, cd)
			}
			var events []struct {
				ID int64 `json:"id"`
			}
			if err := json.Unmarshal([]byte(r.body), &events); err != nil {
				t.Fatalf("json export does not parse: %v\n%s", err, snippet(r.body))
			}
			got = nil
			for _, e := range events {
				got = append(got, e.ID)
			}
			if diff := cmp.Diff(want, ae.onlyFixture(got)); diff != "" {
				t.Errorf("json ids (-want +got):\n%s", diff)
			}
		})
	}

	// Every column of a row, with the payload redacted and the cells a spreadsheet would run defused.
	r := ae.admin.get(fmt.Sprintf("/api/admin/audit/export?format=csv&userId=%s", otherActor))
	records, _ := csv.NewReader(strings.NewReader(r.body)).ReadAll()
	login := records[len(records)-1]
	wantRow := []string{strconv.FormatInt(ae.events[3].ID, 10), "2020-01-03T10:00:00Z", otherActor, `'=cmd|' /C calc'!A0`, "user_login",
		"user", otherActor, "", "'-2+3 <script>alert(1)</script>", "{}"}
	if diff := cmp.Diff(wantRow, login); diff != "" {
		t.Errorf("csv row (-want +got):\n%s", diff)
	}
	all := ae.admin.get("/api/admin/audit/export?format=json").body
	if strings.Contains(all, "hunter2") || strings.Contains(all, ghToken) || strings.Contains(all, "sk-ant-api03") {
		t.Error("a secret reached the export")
	}
	if !strings.Contains(all, `"api_key":"[REDACTED]"`) {
		t.Errorf("the export lacks the redacted key:\n%s", snippet(all))
	}

	// Nothing matches: a header alone, an empty array.
	if r := ae.admin.get("/api/admin/audit/export?format=csv&action=user_deleted"); r.body != strings.Join(admin.AuditCSVHeader, ",")+"\n" {
		t.Errorf("empty csv = %q", r.body)
	}
	if r := ae.admin.get("/api/admin/audit/export?format=json&action=user_deleted"); strings.TrimSpace(r.body) != "[\n]" {
		t.Errorf("empty json = %q", r.body)
	}
	if r := ae.admin.get("/api/admin/audit/export"); r.status != http.StatusOK || !strings.HasPrefix(r.body, "[\n{") {
		t.Errorf("no format: %d %q, want json", r.status, snippet(r.body))
	}
}

func TestAuditExportRefusesBadParameters(t *testing.T) {
	ae := newAuditEnv(t)
	for _, tt := range []struct{ query, want string }{
		{"format=csv&startDate=2020-02-30", `The start date "2020-02-30" is not a date`},
		{"format=json&endDate=01/02/2020", `The end date "01/02/2020" is not a date`},
		{"format=csv&startDate=2020-01-03&endDate=2020-01-01", "The start date is after the end date."},
		{"format=xml", `The format must be "csv" or "json".`},
		{"format=csv&action=nope", `Unknown action "nope".`},
		{"format=csv&resourceType=nope", `Unknown resource type "nope".`},
	} {
		t.Run(tt.query, func(t *testing.T) {
			r := ae.admin.mustStatus(ae.admin.get("/api/admin/audit/export?"+tt.query), http.StatusBadRequest, "bad export")
			if !strings.Contains(r.body, tt.want) || r.header.Get("Content-Disposition") != "" {
				t.Errorf("body %q (want %q), Content-Disposition %q", r.body, tt.want, r.header.Get("Content-Disposition"))
			}
		})
	}
}

func TestAuditWithoutStore(t *testing.T) {
	e := newEnv(t)
	c := e.setUp(t)
	r := c.mustStatus(c.get("/admin/audit"), http.StatusOK, "page without a store")
	if !strings.Contains(r.body, "The audit log is not available on this server.") {
		t.Error("the page does not say the audit log is not available")
	}
	c.mustStatus(c.get("/api/admin/audit?after=1"), http.StatusServiceUnavailable, "tail without a store")
	c.mustStatus(c.get("/api/admin/audit/export?format=csv"), http.StatusServiceUnavailable, "export without a store")
	c.mustStatus(c.get("/admin/audit/1"), http.StatusNotFound, "event without a store")
}
