package admin_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	sesame "github.com/sesame-works/sesame"
)

// sseEvent is one Server-Sent Event as a browser sees it.
type sseEvent struct {
	id, event, data string
}

// stream is an open event stream.
type stream struct {
	res    *http.Response
	r      *bufio.Reader
	cancel context.CancelFunc
}

func (c *client) stream(t *testing.T, path, lastEventID string) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET %s: %d %s", path, res.StatusCode, res.Header.Get("Content-Type"))
	}
	s := &stream{res: res, r: bufio.NewReader(res.Body), cancel: cancel}
	t.Cleanup(s.close)
	return s
}

func (s *stream) close() { s.cancel(); s.res.Body.Close() }

// next returns the next event with data, skipping comments and the retry field; it fails after 10 s.
func (s *stream) next(t *testing.T) (sseEvent, bool) {
	t.Helper()
	type result struct {
		e   sseEvent
		err error
	}
	ch := make(chan result, 1)
	go func() {
		var e sseEvent
		for {
			line, err := s.r.ReadString('\n')
			if err != nil {
				ch <- result{err: err}
				return
			}
			line = strings.TrimSuffix(line, "\n")
			switch {
			case line == "":
				if e.data != "" {
					ch <- result{e: e}
					return
				}
			case strings.HasPrefix(line, "id: "):
				e.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				e.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				e.data = line[6:]
			}
		}
	}()
	select {
	case r := <-ch:
		return r.e, r.err == nil
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10 s")
		return sseEvent{}, false
	}
}

type liveData struct {
	ID      int64  `json:"id"`
	Type    string `json:"type"`
	Status  string `json:"status"`
	Sandbox string `json:"sandbox"`
	HTML    string `json:"html"`
}

func decode(t *testing.T, e sseEvent) liveData {
	t.Helper()
	var d liveData
	if err := json.Unmarshal([]byte(e.data), &d); err != nil {
		t.Fatalf("event data %q: %v", e.data, err)
	}
	if strconv.FormatInt(d.ID, 10) != e.id {
		t.Fatalf("SSE id %q differs from data id %d", e.id, d.ID)
	}
	return d
}

func (e *env) agentText(t *testing.T, taskID, text string) sesame.TaskEvent {
	t.Helper()
	ev, err := e.rec.Add(context.Background(), sesame.TaskEvent{TaskID: taskID, Type: sesame.EventAgent, Message: text, Data: map[string]any{"kind": "text"}})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestEventStreamResumesWithoutLossOrRepeat disconnects a viewer mid-task and reconnects it with
// Last-Event-ID, as a browser does: every event arrives exactly once, in order.
func TestEventStreamResumesWithoutLossOrRepeat(t *testing.T) {
	e := newEnv(t)
	e.setUp(t)
	bob, bobUser := e.addUser(t, "Bob", "bob@example.com", sesame.RoleUser)
	task := e.webTask(t, bobUser.ID, "stream me")
	ctx := context.Background()
	if err := e.rec.SetStatus(ctx, task.ID, sesame.StatusRunning, ""); err != nil {
		t.Fatal(err)
	}
	before := e.agentText(t, task.ID, "before the viewer came")

	s := bob.stream(t, "/tasks/"+task.ID+"/events", "")
	var got []liveData
	for len(got) < 3 { // queued, running, and the text stored before connecting
		ev, ok := s.next(t)
		if !ok {
			t.Fatal("stream ended early")
		}
		got = append(got, decode(t, ev))
	}
	if got[2].ID != before.ID || !strings.Contains(got[2].HTML, "before the viewer came") {
		t.Fatalf("replayed events = %+v", got)
	}
	var published []int64
	for i := range 5 {
		published = append(published, e.agentText(t, task.ID, fmt.Sprintf("live <%d>", i)).ID)
	}
	for i := range 5 {
		ev, _ := s.next(t)
		d := decode(t, ev)
		if d.ID != published[i] || !strings.Contains(d.HTML, fmt.Sprintf("live &lt;%d&gt;", i)) {
			t.Fatalf("live event %d = %+v, want id %d", i, d, published[i])
		}
	}
	last := published[4]
	s.close()

	// Events published while nobody watched are stored; the reconnect gets those and nothing earlier.
	var missed []int64
	for i := range 4 {
		missed = append(missed, e.agentText(t, task.ID, fmt.Sprintf("missed %d", i)).ID)
	}
	s2 := bob.stream(t, "/tasks/"+task.ID+"/events", strconv.FormatInt(last, 10))
	for i := range 4 {
		ev, _ := s2.next(t)
		if d := decode(t, ev); d.ID != missed[i] {
			t.Fatalf("resumed event %d = %d, want %d", i, d.ID, missed[i])
		}
	}
	after := e.agentText(t, task.ID, "after the reconnect").ID
	ev, _ := s2.next(t)
	if d := decode(t, ev); d.ID != after {
		t.Fatalf("live event after reconnect = %d, want %d", d.ID, after)
	}
	if err := e.rec.SetStatus(ctx, task.ID, sesame.StatusCompleted, ""); err != nil {
		t.Fatal(err)
	}
	ev, _ = s2.next(t)
	if d := decode(t, ev); d.Type != sesame.EventStatus || d.Status != "completed" {
		t.Fatalf("final event = %+v", d)
	}
	ev, _ = s2.next(t)
	if ev.event != "end" {
		t.Fatalf("after the final status: %+v, want the end event", ev)
	}
	if _, ok := s2.next(t); ok {
		t.Error("the stream goes on after its end event")
	}
}

// TestEventStreamBurstArrivesWhole publishes a burst bigger than one flush's buffer, twice over, to
// a viewer: every event arrives once, in order, in a stream that is not chunked (each flush is one
// write) and whose data is JSON with the page's HTML left unescaped.
func TestEventStreamBurstArrivesWhole(t *testing.T) {
	e := newEnv(t)
	e.setUp(t)
	bob, bobUser := e.addUser(t, "Bob", "bob@example.com", sesame.RoleUser)
	task := e.webTask(t, bobUser.ID, "stream a burst")
	if err := e.rec.SetStatus(context.Background(), task.ID, sesame.StatusRunning, ""); err != nil {
		t.Fatal(err)
	}
	s := bob.stream(t, "/tasks/"+task.ID+"/events", "")
	if s.res.TransferEncoding != nil || s.res.ContentLength != -1 || !s.res.Close {
		t.Errorf("stream framing: transfer encoding %v, length %d, close %v; want none, unknown, closed at its end",
			s.res.TransferEncoding, s.res.ContentLength, s.res.Close)
	}
	for range 2 { // queued, running
		if _, ok := s.next(t); !ok {
			t.Fatal("stream ended early")
		}
	}
	const n = 350 // about 1 KB each: over 5 buffers of 64 KB
	pad := strings.Repeat("x", 900)
	var published []int64
	for i := range n {
		published = append(published, e.agentText(t, task.ID, fmt.Sprintf("burst %d <%s>", i, pad)).ID)
	}
	for i := range n {
		ev, ok := s.next(t)
		if !ok {
			t.Fatalf("stream ended after %d of %d events", i, n)
		}
		if d := decode(t, ev); d.ID != published[i] || !strings.Contains(d.HTML, fmt.Sprintf("burst %d &lt;x", i)) {
			t.Fatalf("event %d = id %d, want %d", i, d.ID, published[i])
		}
		if i == 0 && (!strings.Contains(ev.data, `"html":"<li`) || strings.Contains(ev.data, `\u003c`)) {
			t.Errorf("data = %.80s…; want the HTML unescaped", ev.data)
		}
	}
}

// TestEventStreamOfEndedTask sends the stored events and ends without waiting.
func TestEventStreamOfEndedTask(t *testing.T) {
	e := newEnv(t)
	adminBrowser := e.setUp(t)
	task := e.webTask(t, "", "already done")
	e.agentText(t, task.ID, "work")
	if err := e.rec.SetStatus(context.Background(), task.ID, sesame.StatusFailed, "it broke"); err != nil {
		t.Fatal(err)
	}
	s := adminBrowser.stream(t, "/tasks/"+task.ID+"/events?after=1", "")
	var types []string
	for {
		ev, ok := s.next(t)
		if !ok {
			t.Fatal("stream ended without an end event")
		}
		if ev.event == "end" {
			break
		}
		types = append(types, decode(t, ev).Type)
	}
	if strings.Join(types, ",") != "agent,status" {
		t.Errorf("events after id 1 = %v, want agent,status", types)
	}
	page := adminBrowser.get("/tasks/" + task.ID)
	if strings.Contains(page.body, "task.js") || !strings.Contains(page.body, "it broke") {
		t.Error("an ended task's page should show its stored events without a stream")
	}
}

// TestEventStreamDeliversSandboxAndViolations: the sandbox event and each blocked action reach a viewer
// live, as rows the page's script shows and counts; the page rendered afterwards counts them too.
func TestEventStreamDeliversSandboxAndViolations(t *testing.T) {
	e := newEnv(t)
	e.setUp(t)
	bob, bobUser := e.addUser(t, "Bob", "bob@example.com", sesame.RoleUser)
	on := true
	task := e.taskWithSandbox(t, bobUser.ID, "watch the walls", &on)
	if err := e.rec.SetStatus(context.Background(), task.ID, sesame.StatusRunning, ""); err != nil {
		t.Fatal(err)
	}
	page := bob.get("/tasks/" + task.ID)
	if !strings.Contains(page.body, `<dd id="violations" data-count="0">none</dd>`) || !strings.Contains(page.body, "/static/task.js") {
		t.Fatal("the running task's page lacks the empty count or its script")
	}

	s := bob.stream(t, "/tasks/"+task.ID+"/events", "")
	for range 2 { // queued, running
		if _, ok := s.next(t); !ok {
			t.Fatal("stream ended early")
		}
	}
	e.addEvent(t, sandboxEvent(task.ID, true))
	ev, _ := s.next(t)
	if d := decode(t, ev); d.Type != sesame.EventSandbox || d.Sandbox != "on — OS-level restrictions (file system, network allowlist) applied" ||
		!strings.Contains(d.HTML, `class="event event-step"`) {
		t.Errorf("sandbox event = %+v", d)
	}
	for i, v := range []sesame.Violation{networkViolation, fileViolation} {
		stored := e.addEvent(t, violationEvent(task.ID, v))
		ev, _ := s.next(t)
		d := decode(t, ev)
		if d.ID != stored.ID || d.Type != sesame.EventViolation || !strings.Contains(d.HTML, `<li class="event event-violation" data-id=`) ||
			!strings.Contains(d.HTML, `<span class="tag">`+string(v.Kind)+`</span>`) || !strings.Contains(d.HTML, v.Access+" "+v.Target+" — "+v.Reason) {
			t.Errorf("violation %d = %+v", i, d)
		}
		want := []string{`data-count="1">1 blocked action<`, `data-count="2">2 blocked actions<`}[i]
		if page := bob.get("/tasks/" + task.ID); !strings.Contains(page.body, want) {
			t.Errorf("after violation %d the page lacks %q", i, want)
		}
	}
	// The script counts the rows the stream delivers, with the page's words.
	js := bob.mustStatus(bob.get("/static/task.js"), http.StatusOK, "script")
	for _, want := range []string{`m.type === "violation"`, `"li.event-violation"`, `"1 blocked action"`, `" blocked actions"`, "m.sandbox"} {
		if !strings.Contains(js.body, want) {
			t.Errorf("task.js lacks %s", want)
		}
	}
}
