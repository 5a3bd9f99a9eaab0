package admin

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"

	sesame "github.com/sesame-works/sesame"
)

// auditJSON is an audit event as the API and the JSON export write it.
type auditJSON struct {
	ID           int64          `json:"id"`
	Time         string         `json:"time"` // RFC 3339 in UTC, to the microsecond
	ActorID      string         `json:"actorId"`
	ActorEmail   string         `json:"actorEmail"`
	Action       string         `json:"action"`
	ResourceType string         `json:"resourceType"`
	ResourceID   string         `json:"resourceId"`
	IP           string         `json:"ip"`
	UserAgent    string         `json:"userAgent"`
	Payload      map[string]any `json:"payload"`
}

func auditJSONOf(e sesame.AuditEvent) auditJSON {
	p := e.Payload
	if p == nil {
		p = map[string]any{}
	}
	return auditJSON{ID: e.ID, Time: e.At.UTC().Format(time.RFC3339Nano), ActorID: e.ActorID, ActorEmail: e.ActorEmail,
		Action: string(e.Action), ResourceType: e.ResourceType, ResourceID: e.ResourceID, IP: e.IP, UserAgent: e.UserAgent, Payload: p}
}

// AuditCSVHeader is the first row of the CSV export.
var AuditCSVHeader = []string{"id", "time", "actor_id", "actor_email", "action", "resource_type", "resource_id", "ip", "user_agent", "payload"}

// AuditCSV writes audit events as the CSV export does: AuditCSVHeader, then a row per event, the
// payload as JSON. A cell that a spreadsheet would run as a formula (it starts with = + - @, a tab
// or a carriage return) gets a leading apostrophe.
type AuditCSV struct {
	w      *csv.Writer
	header bool
}

// NewAuditCSV returns a writer of audit events to w.
func NewAuditCSV(w io.Writer) *AuditCSV { return &AuditCSV{w: csv.NewWriter(w)} }

// Write writes one event (the header row first, on the first call).
func (c *AuditCSV) Write(e sesame.AuditEvent) error {
	if err := c.writeHeader(); err != nil {
		return err
	}
	payload := []byte("{}")
	if len(e.Payload) > 0 {
		var err error
		if payload, err = json.Marshal(e.Payload); err != nil {
			return err
		}
	}
	return c.w.Write([]string{strconv.FormatInt(e.ID, 10), e.At.UTC().Format(time.RFC3339Nano), safeCell(e.ActorID),
		safeCell(e.ActorEmail), safeCell(string(e.Action)), safeCell(e.ResourceType), safeCell(e.ResourceID), safeCell(e.IP),
		safeCell(e.UserAgent), safeCell(string(payload))})
}

// Flush writes what is buffered (the header row alone when no event was written) and reports any
// error met so far.
func (c *AuditCSV) Flush() error {
	if err := c.writeHeader(); err != nil {
		return err
	}
	c.w.Flush()
	return c.w.Error()
}

func (c *AuditCSV) writeHeader() error {
	if c.header {
		return nil
	}
	c.header = true
	return c.w.Write(AuditCSVHeader)
}

// safeCell defuses a cell a spreadsheet would evaluate (CSV injection).
func safeCell(s string) string {
	if s != "" {
		switch s[0] {
		case '=', '+', '-', '@', '\t', '\r':
			return "'" + s
		}
	}
	return s
}

// jsonArray writes audit events as one JSON array, an event at a time.
type jsonArray struct {
	w *bufio.Writer
	n int
}

func (j *jsonArray) Write(e sesame.AuditEvent) error {
	sep := ",\n"
	if j.n == 0 {
		sep = "[\n"
	}
	j.n++
	b, err := json.Marshal(auditJSONOf(e))
	if err != nil {
		return err
	}
	j.w.WriteString(sep)
	_, err = j.w.Write(b)
	return err
}

func (j *jsonArray) Flush() error {
	if j.n == 0 {
		j.w.WriteString("[")
	}
	j.w.WriteString("\n]\n")
	return j.w.Flush()
}

// counter counts the bytes that reached the client.
type counter struct {
	w io.Writer
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// auditExport streams the events that match the filters as CSV or JSON, as a download. Rows are
// read in batches and written as they come: memory stays constant, whatever the size of the log.
// A failure before anything was sent is an error response; after, the connection is cut, so the
// client sees an incomplete download rather than a file that looks whole.
func (a *App) auditExport(w http.ResponseWriter, r *http.Request, u *sesame.User) {
	if a.Audit == nil {
		http.Error(w, msgAuditUnavailable, http.StatusServiceUnavailable)
		return
	}
	params := r.URL.Query()
	format := params.Get("format")
	if format == "" {
		format = "json"
	}
	if format != "csv" && format != "json" {
		http.Error(w, `The format must be "csv" or "json".`, http.StatusBadRequest)
		return
	}
	q, err := parseAuditQuery(params)
	if err != nil {
		http.Error(w, sesame.ErrorMessage(err), http.StatusBadRequest)
		return
	}
	sent := &counter{w: w}
	buf := bufio.NewWriterSize(sent, 64<<10)
	type encoder interface {
		Write(sesame.AuditEvent) error
		Flush() error
	}
	var enc encoder = &jsonArray{w: buf}
	contentType := "application/json"
	if format == "csv" {
		enc, contentType = NewAuditCSV(buf), "text/csv; charset=utf-8"
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Disposition", `attachment; filename="sesame-audit-`+now().UTC().Format("20060102T150405Z")+"."+format+`"`)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")

	start, rows := now(), 0
	err = a.Audit.ExportAudit(r.Context(), q.Filter, func(e sesame.AuditEvent) error {
		rows++
		return enc.Write(e)
	})
	if err == nil {
		if err = enc.Flush(); err == nil {
			a.Logger.Info("audit log exported", "by", u.ID, "format", format, "rows", rows, "duration", now().Sub(start))
			return
		}
	}
	if r.Context().Err() != nil {
		a.Logger.Info("audit export ended by the client", "by", u.ID, "rows", rows)
		return
	}
	if sent.n == 0 {
		a.Logger.Error("export audit log", "err", err)
		h.Del("Content-Disposition")
		status := http.StatusInternalServerError
		if sesame.ErrorCode(err) == sesame.EUNAVAILABLE {
			status = http.StatusServiceUnavailable
		}
		http.Error(w, sesame.ErrorMessage(err), status)
		return
	}
	a.Logger.Error("export audit log: cut short", "err", err, "rows", rows, "bytes", sent.n)
	panic(http.ErrAbortHandler)
}
