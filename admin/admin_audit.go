package admin

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/config"
)

// The admin section's audit log: the list of events (filters, keyset pages, a live tail that
// audit.js polls), one event's page, and the export API (audit_export.go). The pages, the tail and
// the export read the same query parameters: action, resourceType, userId, startDate, endDate.

const (
	auditPageSize = 50
	auditTailSize = 100
	maxAuditUser  = 200 // characters of a user id filter

	msgAuditUnavailable = "The audit log is not available on this server."
)

func (a *App) auditRoutes(mux *http.ServeMux) {
	mux.Handle("GET /admin/audit", a.requireAdmin(a.adminAudit))
	mux.Handle("GET /admin/audit/{id}", a.requireAdmin(a.adminAuditEvent))
	mux.Handle("GET /api/admin/audit", a.requireAdmin(a.auditTail))
	mux.Handle("GET /api/admin/audit/export", a.requireAdmin(a.auditExport))
}

// auditQuery is an audit filter as the query string gave it (to fill the form in again) and as the
// store takes it.
type auditQuery struct {
	Action, ResourceType, UserID, StartDate, EndDate string
	Filter                                           sesame.AuditFilter
}

// Values returns the query's filters as query parameters, for links that keep them.
func (q auditQuery) Values() url.Values {
	v := url.Values{}
	for _, p := range [][2]string{{"action", q.Action}, {"resourceType", q.ResourceType}, {"userId", q.UserID},
		{"startDate", q.StartDate}, {"endDate", q.EndDate}} {
		if p[1] != "" {
			v.Set(p[0], p[1])
		}
	}
	return v
}

// parseAuditQuery reads the filters and the keyset (before, after) of an audit query. Dates are days
// (YYYY-MM-DD, in UTC; the end day is included) or RFC 3339 instants (the end is excluded). Its
// errors are sesame.EINVALID with a message for the user.
func parseAuditQuery(v url.Values) (auditQuery, error) {
	q := auditQuery{
		Action: strings.TrimSpace(v.Get("action")), ResourceType: strings.TrimSpace(v.Get("resourceType")),
		UserID: strings.TrimSpace(v.Get("userId")), StartDate: strings.TrimSpace(v.Get("startDate")),
		EndDate: strings.TrimSpace(v.Get("endDate")),
	}
	f := &q.Filter
	if q.Action != "" {
		if !slices.Contains(sesame.AuditActions, sesame.AuditAction(q.Action)) {
			return q, sesame.Errorf(sesame.EINVALID, "Unknown action %q.", q.Action)
		}
		f.Action = sesame.AuditAction(q.Action)
	}
	if q.ResourceType != "" {
		if !slices.Contains(sesame.ResourceTypes, q.ResourceType) {
			return q, sesame.Errorf(sesame.EINVALID, "Unknown resource type %q.", q.ResourceType)
		}
		f.ResourceType = q.ResourceType
	}
	if len([]rune(q.UserID)) > maxAuditUser {
		return q, sesame.Errorf(sesame.EINVALID, "The user id is longer than %d characters.", maxAuditUser)
	}
	f.UserID = q.UserID
	var err error
	if f.Start, err = parseAuditDate(q.StartDate, "start", false); err != nil {
		return q, err
	}
	if f.End, err = parseAuditDate(q.EndDate, "end", true); err != nil {
		return q, err
	}
	if !f.Start.IsZero() && !f.End.IsZero() && !f.Start.Before(f.End) {
		return q, sesame.Errorf(sesame.EINVALID, "The start date is after the end date.")
	}
	if f.Before, err = parseAuditID(v.Get("before"), "before"); err != nil {
		return q, err
	}
	if f.After, err = parseAuditID(v.Get("after"), "after"); err != nil {
		return q, err
	}
	return q, nil
}

// parseAuditDate reads a day (YYYY-MM-DD, UTC) or an RFC 3339 instant; a day that ends a range
// includes the whole day, so it becomes the start of the next.
func parseAuditDate(s, which string, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	// A "+" of a time zone offset arrives as a space when the URL did not escape it.
	s = strings.ReplaceAll(s, " ", "+")
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, sesame.Errorf(sesame.EINVALID, "The %s date %q is not a date: use YYYY-MM-DD (or an RFC 3339 time such as 2024-01-31T12:00:00Z).", which, s)
}

func parseAuditID(s, name string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, sesame.Errorf(sesame.EINVALID, "%s must be an event id (a positive number).", name)
	}
	return n, nil
}

// auditPageView is the audit log page.
type auditPageView struct {
	Unavailable   bool // no audit store
	Off           bool // audit.enabled is false: nothing new is recorded
	Actions       []sesame.AuditAction
	ResourceTypes []string
	Query         auditQuery
	Error         string
	Events        []auditRow
	Live          bool   // the first page: audit.js may follow new events
	LastID        int64  // the newest event shown: the tail asks for what is after it
	Filters       string // the filters as a query string, for the tail and the links
	OlderURL      string // "" on the last page
	NewestURL     string // "" on the first page
	ExportCSV     string
	ExportJSON    string
}

// auditRow is an event as a row of the list.
type auditRow struct {
	ID                     int64
	Time, ISO              string
	Actor, ActorID         string
	Action                 sesame.AuditAction
	ResourceType, Resource string
	IP                     string
}

func auditRowOf(e sesame.AuditEvent) auditRow {
	return auditRow{ID: e.ID, Time: auditTime(e.At), ISO: e.At.UTC().Format(time.RFC3339Nano), Actor: actorName(e),
		ActorID: e.ActorID, Action: e.Action, ResourceType: e.ResourceType, Resource: e.ResourceID, IP: e.IP}
}

func auditTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") + " UTC" }

func actorName(e sesame.AuditEvent) string {
	if e.ActorEmail != "" {
		return e.ActorEmail
	}
	return e.ActorID
}

func (a *App) adminAudit(w http.ResponseWriter, r *http.Request, _ *sesame.User) {
	v := auditPageView{Actions: sesame.AuditActions, ResourceTypes: sesame.ResourceTypes}
	if a.Audit == nil {
		v.Unavailable = true
		a.render(w, r, http.StatusOK, "admin_audit", "Audit log", v)
		return
	}
	if cfg, err := a.settings(r.Context()); err == nil {
		v.Off = !cfg.Bool(config.AuditEnabled)
	}
	q, err := parseAuditQuery(r.URL.Query())
	v.Query = q
	if err != nil {
		v.Error = sesame.ErrorMessage(err)
		a.render(w, r, http.StatusBadRequest, "admin_audit", "Audit log", v)
		return
	}
	f := q.Filter
	f.After, f.Limit = 0, auditPageSize+1 // one more tells whether there is an older page
	events, err := a.Audit.AuditEvents(r.Context(), f)
	if err != nil {
		a.serverError(w, r, "list audit events", err)
		return
	}
	filters := q.Values()
	v.Filters = filters.Encode()
	if len(events) > auditPageSize {
		events = events[:auditPageSize]
		older := q.Values()
		older.Set("before", strconv.FormatInt(events[len(events)-1].ID, 10))
		v.OlderURL = "/admin/audit?" + older.Encode()
	}
	for _, e := range events {
		v.Events = append(v.Events, auditRowOf(e))
	}
	if f.Before > 0 {
		v.NewestURL = "/admin/audit"
		if v.Filters != "" {
			v.NewestURL += "?" + v.Filters
		}
	} else {
		v.Live = true
		if len(events) > 0 {
			v.LastID = events[0].ID
		}
	}
	export := func(format string) string {
		p := q.Values()
		p.Set("format", format)
		return "/api/admin/audit/export?" + p.Encode()
	}
	v.ExportCSV, v.ExportJSON = export("csv"), export("json")
	a.render(w, r, http.StatusOK, "admin_audit", "Audit log", v)
}

// auditEventView is one event's page.
type auditEventView struct {
	Event   *sesame.AuditEvent
	Actor   string
	Time    string // UTC, for reading
	ISO     string // RFC 3339, to the microsecond
	Payload string // indented JSON, as stored (redacted when written)
}

func (a *App) adminAuditEvent(w http.ResponseWriter, r *http.Request, _ *sesame.User) {
	if a.Audit == nil {
		a.errorPage(w, r, http.StatusNotFound, msgAuditUnavailable)
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		a.notFound(w, r)
		return
	}
	e, err := a.Audit.AuditEvent(r.Context(), id)
	if sesame.ErrorCode(err) == sesame.ENOTFOUND {
		a.errorPage(w, r, http.StatusNotFound, "There is no audit event "+strconv.FormatInt(id, 10)+": it may have expired.")
		return
	} else if err != nil {
		a.serverError(w, r, "read audit event", err)
		return
	}
	payload := []byte("{}")
	if len(e.Payload) > 0 {
		if payload, err = json.MarshalIndent(e.Payload, "", "  "); err != nil {
			a.serverError(w, r, "encode audit payload", err)
			return
		}
	}
	a.render(w, r, http.StatusOK, "admin_audit_event", "Audit event "+strconv.FormatInt(id, 10), auditEventView{
		Event: e, Actor: actorName(*e), Time: auditTime(e.At), ISO: e.At.UTC().Format(time.RFC3339Nano), Payload: string(payload),
	})
}

// auditTail answers the page's live tail: the events after the id it names that match the filters,
// newest first, as {"events": [...], "more": bool} in the export's JSON form. With more than a batch
// waiting it sends the oldest of them and "more": the script asks again from the newest it got.
func (a *App) auditTail(w http.ResponseWriter, r *http.Request, _ *sesame.User) {
	if a.Audit == nil {
		http.Error(w, msgAuditUnavailable, http.StatusServiceUnavailable)
		return
	}
	q, err := parseAuditQuery(r.URL.Query())
	if err != nil {
		http.Error(w, sesame.ErrorMessage(err), http.StatusBadRequest)
		return
	}
	f := q.Filter
	f.Limit = auditTailSize
	events, err := a.Audit.AuditEvents(r.Context(), f)
	if err != nil {
		a.Logger.Error("audit tail", "err", err)
		status := http.StatusInternalServerError
		if sesame.ErrorCode(err) == sesame.EUNAVAILABLE {
			status = http.StatusServiceUnavailable
		}
		http.Error(w, sesame.ErrorMessage(err), status)
		return
	}
	out := struct {
		Events []auditJSON `json:"events"`
		More   bool        `json:"more"`
	}{Events: make([]auditJSON, 0, len(events)), More: len(events) == f.Limit}
	for _, e := range events {
		out.Events = append(out.Events, auditJSONOf(e))
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	json.NewEncoder(w).Encode(out)
}
