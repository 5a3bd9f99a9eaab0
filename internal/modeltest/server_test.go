package modeltest_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sesame-works/sesame/internal/modeltest"
)

// agentBody is a request body the way Claude Code sends an agent turn: streamed, with tools.
const agentBody = `{"model":"claude-test","stream":true,"tools":[{"name":"Write"}],"messages":[]}`

// nextTurnBody is an agent turn further on in the conversation than agentBody's.
const nextTurnBody = `{"model":"claude-test","stream":true,"tools":[{"name":"Write"}],"messages":[{"role":"user","content":"go on"}]}`

// answer is what a streamed or plain answer said.
type answer struct {
	Status int
	Events []string // SSE event names, in order
	Text   string   // text deltas joined
	Tool   string   // tool_use name
	Input  string   // input_json_delta parts joined
	Stop   string   // stop_reason
	Body   string   // the body of a non-SSE answer
}

func post(t *testing.T, url, path, body string, header ...string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := answer{Status: resp.StatusCode}
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		a.Body = strings.TrimSpace(string(b))
		return a
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutPrefix(line, "event: "); ok {
			a.Events = append(a.Events, name)
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		var e struct {
			ContentBlock struct{ Name string } `json:"content_block"`
			Delta        struct {
				Text        string `json:"text"`
				PartialJSON string `json:"partial_json"`
				StopReason  string `json:"stop_reason"`
			}
		}
		if err := json.Unmarshal([]byte(data), &e); err != nil {
			t.Fatalf("data %q: %v", data, err)
		}
		a.Text += e.Delta.Text
		a.Input += e.Delta.PartialJSON
		a.Tool += e.ContentBlock.Name
		if e.Delta.StopReason != "" {
			a.Stop = e.Delta.StopReason
		}
	}
	return a
}

func TestScriptAnswersAgentTurnsInOrder(t *testing.T) {
	srv := modeltest.NewServer(t,
		modeltest.Write("/w/hello.txt", "hi\n"),
		modeltest.Step{Text: "I will run it.", ToolName: "Bash", ToolInput: map[string]any{"command": "ls"}},
		modeltest.Step{Status: 401},
		modeltest.Step{Text: "Finished."},
	)
	block := []string{"content_block_start", "content_block_delta", "content_block_stop"}
	events := func(blocks int) []string {
		e := []string{"message_start"}
		for range blocks {
			e = append(e, block...)
		}
		return append(e, "message_delta", "message_stop")
	}
	steps := []struct {
		name string
		path string
		body string
		want answer
	}{{
		name: "first agent turn: Write",
		path: "/v1/messages?beta=true", body: agentBody,
		want: answer{Status: 200, Events: events(1), Tool: "Write", Stop: "tool_use",
			Input: `{"content":"hi\n","file_path":"/w/hello.txt"}`},
	}, {
		name: "a request without tools does not use the script",
		path: "/v1/messages?beta=true", body: `{"model":"claude-test","stream":true,"messages":[]}`,
		want: answer{Status: 200, Events: events(1), Text: "Scripted task", Stop: "end_turn"},
	}, {
		name: "count_tokens does not use the script",
		path: "/v1/messages/count_tokens?beta=true", body: agentBody,
		want: answer{Status: 200, Body: `{"input_tokens":19}`},
	}, {
		name: "second agent turn: text, then Bash",
		path: "/v1/messages?beta=true", body: nextTurnBody,
		want: answer{Status: 200, Events: events(2), Text: "I will run it.", Tool: "Bash", Stop: "tool_use",
			Input: `{"command":"ls"}`},
	}, {
		name: "third agent turn: 401",
		path: "/v1/messages", body: agentBody,
		want: answer{Status: 401, Body: `{"error":{"message":"invalid x-api-key","type":"authentication_error"},` +
			`"request_id":"req_modeltest_5","type":"error"}`},
	}, {
		name: "last agent turn: final text, not streamed",
		path: "/v1/messages", body: `{"model":"claude-test","tools":[{}]}`,
		want: answer{Status: 200, Body: `{"content":[{"text":"Finished.","type":"text"}],"id":"msg_modeltest_6",` +
			`"model":"claude-test","role":"assistant","stop_reason":"end_turn","stop_sequence":null,"type":"message",` +
			`"usage":{"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"input_tokens":9,"output_tokens":3}}`},
	}, {
		name: "beyond the script: done",
		path: "/v1/messages?beta=true", body: agentBody,
		want: answer{Status: 200, Events: events(1), Text: "done", Stop: "end_turn"},
	}, {
		name: "bad JSON",
		path: "/v1/messages", body: `{"model":`,
		want: answer{Status: 400, Body: `{"error":{"message":"invalid request","type":"invalid_request_error"},` +
			`"request_id":"req_modeltest_bad_json","type":"error"}`},
	}, {
		name: "unknown path",
		path: "/v1/models", body: `{}`,
		want: answer{Status: 404, Body: `{"error":{"message":"Not found","type":"not_found_error"},` +
			`"request_id":"req_modeltest_9","type":"error"}`},
	}}
	for _, s := range steps {
		got := post(t, srv.URL, s.path, s.body, "X-Api-Key", "sk-secret")
		if diff := cmp.Diff(s.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", s.name, diff)
		}
	}

	reqs := srv.Requests()
	var gotSteps []int
	for _, r := range reqs {
		gotSteps = append(gotSteps, r.Step)
		if r.Headers.Get("X-Api-Key") != "set" {
			t.Errorf("%s %s: x-api-key recorded as %q", r.Method, r.Path, r.Headers.Get("X-Api-Key"))
		}
	}
	if diff := cmp.Diff([]int{0, -1, -1, 1, 2, 3, -1, -1, -1}, gotSteps); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if r := reqs[0]; r.Method != "POST" || r.Path != "/v1/messages" || r.Query != "beta=true" || string(r.Body) != agentBody {
		t.Errorf("first request = %+v", r)
	}
}

// A client that sends the same conversation again right after an answer (it lost the answer, and
// retries) gets the same step; the next conversation gets the next step. After an error step the
// same conversation moves on: that is how a client recovers from a transient failure.
func TestRetriedTurnGetsTheSameStep(t *testing.T) {
	srv := modeltest.NewServer(t, modeltest.Bash("one"), modeltest.Step{Status: 529}, modeltest.Bash("two"), modeltest.Step{Text: "end"})
	if got := post(t, srv.URL, "/v1/messages", agentBody); got.Input != `{"command":"one","description":"Run a command"}` {
		t.Fatalf("first turn answered %+v", got)
	}
	if got := post(t, srv.URL, "/v1/messages", agentBody); got.Input != `{"command":"one","description":"Run a command"}` {
		t.Fatalf("the retried first turn answered %+v, want the same step", got)
	}
	if got := post(t, srv.URL, "/v1/messages", nextTurnBody); got.Status != 529 {
		t.Fatalf("second turn answered %+v, want the 529 step", got)
	}
	if got := post(t, srv.URL, "/v1/messages", nextTurnBody); got.Input != `{"command":"two","description":"Run a command"}` {
		t.Fatalf("the second turn sent again after an error answered %+v, want the next step", got)
	}
	var steps []int
	var retries []bool
	for _, r := range srv.Requests() {
		steps, retries = append(steps, r.Step), append(retries, r.Retry)
	}
	if diff := cmp.Diff([]int{0, 0, 1, 2}, steps); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]bool{false, true, false, false}, retries); diff != "" {
		t.Errorf("retries (-want +got):\n%s", diff)
	}
}

func TestHeadProbeAndMissingKey(t *testing.T) {
	srv := modeltest.NewServer(t)
	req, _ := http.NewRequest(http.MethodHead, srv.URL+"/", nil)
	if got := do(t, req); got.Status != 200 {
		t.Errorf("HEAD / = %d", got.Status)
	}
	if got := post(t, srv.URL, "/v1/messages", agentBody); got.Text != "done" {
		t.Errorf("empty script answered %+v", got)
	}
	reqs := srv.Requests()
	if len(reqs) != 2 || reqs[0].Method != "HEAD" || reqs[0].Headers.Get("X-Api-Key") != "missing" {
		t.Errorf("requests = %+v", reqs)
	}
}

func TestHangUntilClientGoesAway(t *testing.T) {
	srv := modeltest.NewServer(t, modeltest.Step{Hang: true}, modeltest.Step{Text: "after"})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/messages", strings.NewReader(agentBody))
	start := time.Now()
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("a hanging step answered %s", resp.Status)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("gave up after %v, before the client did", d)
	}
	if got := post(t, srv.URL, "/v1/messages", agentBody); got.Text != "after" {
		t.Errorf("the step after the hang answered %+v", got)
	}
}

func TestCloseAnswersHangingRequests(t *testing.T) {
	srv := modeltest.NewServer(t, modeltest.Step{Hang: true})
	done := make(chan error, 1)
	go func() {
		resp, err := http.Post(srv.URL+"/v1/messages", "application/json", strings.NewReader(agentBody))
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	for len(srv.Requests()) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	closed := make(chan struct{})
	go func() { srv.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(3 * time.Second):
		t.Fatal("Close blocked on a hanging request")
	}
	<-done
	srv.Close() // twice is fine
}
