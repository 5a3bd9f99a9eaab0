// Package slacktest is a recording fake of Slack for tests: a Web API server that speaks Slack's wire
// format (form-encoded or JSON calls with a bearer token, {"ok": ...} answers) for the methods
// Sesame uses (users.info, chat.postMessage, chat.update, chat.postEphemeral), and helpers that sign
// requests the way Slack signs slash commands and interactivity payloads.
//
// slack-go's own slacktest answers canned data and has no chat.update; this one remembers what was
// posted and updated, so a test asks what a channel shows now.
package slacktest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// User is a member of the fake workspace.
type User struct {
	ID, Name, Email string
	// Bot marks a bot user; bots have no email.
	Bot bool
}

// Message is a message as the channel shows it now.
type Message struct {
	Channel  string
	TS       string
	ThreadTS string // the message it replies to in a thread; "" for a message in the channel
	Text     string
	Blocks   string // the blocks as JSON, "" when none
	Updates  int    // how often chat.update changed it
}

// Ephemeral is a message only User saw.
type Ephemeral struct {
	Channel, User, Text string
}

// Call is one Web API call as received.
type Call struct {
	Method string // "chat.postMessage"
	Form   url.Values
	At     time.Time
}

// Server is a fake Slack Web API. Its zero value is not usable; call New.
type Server struct {
	*httptest.Server
	Token string // the bot token calls must carry

	mu         sync.Mutex
	users      map[string]User
	messages   []*Message
	ephemerals []Ephemeral
	calls      []Call
	seq        int
	failNext   map[string]string // method → error to answer once
}

// New starts a fake Slack that accepts token, with users in its workspace. Close it when done.
func New(token string, users ...User) *Server {
	s := &Server{Token: token, users: map[string]User{}, failNext: map[string]string{}}
	for _, u := range users {
		s.users[u.ID] = u
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/users.info", s.call(s.usersInfo))
	mux.HandleFunc("/api/chat.postMessage", s.call(s.postMessage))
	mux.HandleFunc("/api/chat.update", s.call(s.update))
	mux.HandleFunc("/api/chat.postEphemeral", s.call(s.postEphemeral))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		answer(w, map[string]any{"ok": false, "error": "unknown_method"})
	})
	s.Server = httptest.NewServer(mux)
	return s
}

// APIURL is the root to give the client (SLACK_API_URL), ending in a slash.
func (s *Server) APIURL() string { return s.URL + "/api/" }

// AddUser adds or replaces a member of the workspace.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = u
}

// FailNext makes the next call of method answer {"ok": false, "error": errCode}.
func (s *Server) FailNext(method, errCode string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext[method] = errCode
}

// Calls returns the calls received so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CallCount returns how many calls of method were received ("" counts every call).
func (s *Server) CallCount(method string) int {
	n := 0
	for _, c := range s.Calls() {
		if method == "" || c.Method == method {
			n++
		}
	}
	return n
}

// Messages returns copies of the messages posted in channel ("" for every channel), in order.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.messages {
		if channel == "" || m.Channel == channel {
			out = append(out, *m)
		}
	}
	return out
}

// Thread returns the replies in the thread of the message ts, in order.
func (s *Server) Thread(channel, ts string) []Message {
	var out []Message
	for _, m := range s.Messages(channel) {
		if m.ThreadTS == ts {
			out = append(out, m)
		}
	}
	return out
}

// Ephemerals returns the ephemeral messages posted so far.
func (s *Server) Ephemerals() []Ephemeral {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Ephemeral(nil), s.ephemerals...)
}

// call wraps a method: it checks the token, records the call and answers what h returns.
func (s *Server) call(h func(f url.Values) map[string]any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		method := strings.TrimPrefix(r.URL.Path, "/api/")
		f, err := form(r)
		if err != nil {
			answer(w, map[string]any{"ok": false, "error": "invalid_form_data"})
			return
		}
		token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if token == "" {
			token = f.Get("token")
		}
		s.mu.Lock()
		s.calls = append(s.calls, Call{Method: method, Form: f, At: time.Now()})
		failure, fail := s.failNext[method]
		delete(s.failNext, method)
		s.mu.Unlock()
		switch {
		case token == "":
			answer(w, map[string]any{"ok": false, "error": "not_authed"})
		case token != s.Token:
			answer(w, map[string]any{"ok": false, "error": "invalid_auth"})
		case fail:
			answer(w, map[string]any{"ok": false, "error": failure})
		default:
			answer(w, h(f))
		}
	}
}

// form reads a call's arguments: form-encoded (as slack-go sends most) or JSON.
func form(r *http.Request) (url.Values, error) {
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			return nil, err
		}
		f := url.Values{}
		for k, v := range body {
			switch v := v.(type) {
			case string:
				f.Set(k, v)
			default:
				b, _ := json.Marshal(v)
				f.Set(k, string(b))
			}
		}
		return f, nil
	}
	if err := r.ParseForm(); err != nil {
		return nil, err
	}
	return r.Form, nil
}

func answer(w http.ResponseWriter, v map[string]any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(v)
}

func (s *Server) usersInfo(f url.Values) map[string]any {
	s.mu.Lock()
	u, ok := s.users[f.Get("user")]
	s.mu.Unlock()
	if !ok {
		return map[string]any{"ok": false, "error": "user_not_found"}
	}
	profile := map[string]any{"real_name": u.Name, "display_name": u.Name}
	if u.Email != "" && !u.Bot {
		profile["email"] = u.Email
	}
	return map[string]any{"ok": true, "user": map[string]any{
		"id": u.ID, "name": u.Name, "real_name": u.Name, "is_bot": u.Bot, "profile": profile,
	}}
}

// nextTS is a new message timestamp, unique and increasing as Slack's are.
func (s *Server) nextTS() string {
	s.seq++
	return fmt.Sprintf("%d.%06d", time.Now().Unix(), s.seq)
}

func (s *Server) postMessage(f url.Values) map[string]any {
	channel := f.Get("channel")
	if channel == "" {
		return map[string]any{"ok": false, "error": "channel_not_found"}
	}
	if f.Get("text") == "" && f.Get("blocks") == "" {
		return map[string]any{"ok": false, "error": "no_text"}
	}
	s.mu.Lock()
	m := &Message{Channel: channel, TS: s.nextTS(), ThreadTS: f.Get("thread_ts"), Text: f.Get("text"), Blocks: f.Get("blocks")}
	s.messages = append(s.messages, m)
	s.mu.Unlock()
	return map[string]any{"ok": true, "channel": channel, "ts": m.TS,
		"message": map[string]any{"type": "message", "text": m.Text, "ts": m.TS, "thread_ts": m.ThreadTS}}
}

func (s *Server) update(f url.Values) map[string]any {
	channel, ts := f.Get("channel"), f.Get("ts")
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.messages {
		if m.Channel == channel && m.TS == ts {
			m.Text, m.Blocks = f.Get("text"), f.Get("blocks")
			m.Updates++
			return map[string]any{"ok": true, "channel": channel, "ts": ts, "text": m.Text}
		}
	}
	return map[string]any{"ok": false, "error": "message_not_found"}
}

func (s *Server) postEphemeral(f url.Values) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ephemerals = append(s.ephemerals, Ephemeral{Channel: f.Get("channel"), User: f.Get("user"), Text: f.Get("text")})
	return map[string]any{"ok": true, "message_ts": s.nextTS()}
}

// Signature is Slack's v0 signature of body sent at ts under secret: "v0=" and the hex of
// HMAC-SHA256("v0:{ts}:{body}").
func Signature(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%d:", ts)
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// SignedRequest is a POST of body to url signed as Slack signs it at ts, form-encoded.
func SignedRequest(target, secret string, ts time.Time, body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts.Unix(), 10))
	r.Header.Set("X-Slack-Signature", Signature(secret, ts.Unix(), body))
	return r
}

// Command is a slash command as Slack sends it.
type Command struct {
	TeamID, TeamDomain, ChannelID, ChannelName, UserID, UserName, Text, TriggerID, ResponseURL string
}

// Form is the command's form-encoded body, with every field Slack sends.
func (c Command) Form() []byte {
	v := url.Values{}
	v.Set("token", "legacy-verification-token")
	v.Set("team_id", c.TeamID)
	v.Set("team_domain", c.TeamDomain)
	v.Set("channel_id", c.ChannelID)
	v.Set("channel_name", c.ChannelName)
	v.Set("user_id", c.UserID)
	v.Set("user_name", c.UserName)
	v.Set("command", "/sesame")
	v.Set("text", c.Text)
	v.Set("api_app_id", "A0SESAME")
	v.Set("is_enterprise_install", "false")
	v.Set("response_url", c.ResponseURL)
	v.Set("trigger_id", c.TriggerID)
	return []byte(v.Encode())
}

// ButtonClick is a block_actions payload: user clicked the button actionID (with value) on the
// message ts in channel.
func ButtonClick(teamID, userID, userName, channel, ts, actionID, value string) []byte {
	payload := map[string]any{
		"type":         "block_actions",
		"team":         map[string]any{"id": teamID, "domain": "acme"},
		"user":         map[string]any{"id": userID, "username": userName, "name": userName, "team_id": teamID},
		"api_app_id":   "A0SESAME",
		"token":        "legacy-verification-token",
		"container":    map[string]any{"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": false},
		"trigger_id":   "13345224609.738474920.8088930838d88f008e0",
		"channel":      map[string]any{"id": channel, "name": "eng"},
		"message":      map[string]any{"type": "message", "ts": ts, "text": "Sesame task"},
		"response_url": "https://hooks.slack.com/actions/T0/1/x",
		"actions": []any{map[string]any{
			"action_id": actionID, "block_id": "sesame_actions", "type": "button", "value": value,
			"text": map[string]any{"type": "plain_text", "text": "Stop"}, "action_ts": "1548426417.840180",
		}},
	}
	b, _ := json.Marshal(payload)
	return []byte(url.Values{"payload": {string(b)}}.Encode())
}
