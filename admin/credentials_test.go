package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/admin"
	"github.com/sesame-works/sesame/postgres"
	"github.com/sesame-works/sesame/sealed"
)

// syncBuffer is a log destination that tests read after the app wrote to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// credEnv is the web app with a credential store and an audit log, and what it logs.
type credEnv struct {
	*env
	creds *postgres.UserCredentials
	audit *postgres.AuditStore
	logs  *syncBuffer
}

func newCredEnv(t *testing.T) *credEnv {
	t.Helper()
	e := newEnv(t)
	box, err := sealed.New(encryptionKey)
	if err != nil {
		t.Fatal(err)
	}
	ce := &credEnv{env: e, creds: postgres.NewUserCredentials(e.db, box), audit: postgres.NewAuditStore(e.db, postgres.AuditOptions{}),
		logs: &syncBuffer{}}
	srv := e.serve(t, func(o *admin.Options) {
		o.Credentials = ce.creds
		o.Audit = ce.audit
		o.Logger = slog.New(slog.NewTextHandler(ce.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	e.srv = srv // clients made from here on use the app with credentials
	return ce
}

// credentialBlock returns the part of a settings page about one kind of credential.
func credentialBlock(t *testing.T, page, kind string) string {
	t.Helper()
	start := strings.Index(page, `id="credential-`+kind+`"`)
	if start < 0 {
		t.Fatalf("no %s on the page:\n%s", kind, snippet(page))
	}
	rest := page[start:]
	if end := strings.Index(rest[1:], `id="credential-`); end >= 0 {
		rest = rest[:end+1]
	}
	return rest
}

// auditRows returns the action, resource and payload of every credential event of actorID.
func (ce *credEnv) auditRows(t *testing.T, actorID string) []string {
	t.Helper()
	events, err := ce.audit.AuditEvents(context.Background(), sesame.AuditFilter{UserID: actorID})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(events) - 1; i >= 0; i-- {
		ev := events[i]
		if ev.ResourceType != sesame.ResourceAPIKey && ev.ResourceType != sesame.ResourceAgentKey {
			continue
		}
		p, _ := json.Marshal(ev.Payload)
		out = append(out, string(ev.Action)+" "+ev.ResourceType+" "+string(p))
	}
	return out
}

func TestCredentialsSaveReplaceRemove(t *testing.T) {
	ce := newCredEnv(t)
	ce.setUp(t)
	alice, aliceUser := ce.addUser(t, "Alice", "alice@example.com", sesame.RoleUser)
	const first, second = "sk-ant-api03-first-secret-AAAA", "sk-ant-api03-second-secret-WXYZ"
	const oauth = "sk-ant-oat01-subscription-secret-9876"

	page := alice.mustStatus(alice.get("/settings"), http.StatusOK, "settings")
	for _, want := range []string{"API Keys", "Agent Credentials", "ANTHROPIC_API_KEY", "CODEX_AUTH_JSON", "OPENCODE_BASE_URL"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the settings page lacks %q", want)
		}
	}

	r := alice.mustStatus(alice.post("/settings/credentials/anthropic_api_key", url.Values{"value": {"  " + first + "\n"}}), http.StatusSeeOther, "save")
	if r.location != "/settings" {
		t.Errorf("save redirected to %q", r.location)
	}
	page = alice.mustStatus(alice.get("/settings"), http.StatusOK, "settings after save")
	if block := credentialBlock(t, page.body, "anthropic_api_key"); !strings.Contains(block, "••••AAAA") || !strings.Contains(block, "Replace") {
		t.Errorf("saved key not shown by its last four:\n%s", block)
	}
	alice.mustStatus(alice.post("/settings/credentials/anthropic_api_key", url.Values{"value": {second}}), http.StatusSeeOther, "replace")
	alice.mustStatus(alice.post("/settings/credentials/claude_oauth_token", url.Values{"value": {oauth}}), http.StatusSeeOther, "save oauth")
	alice.mustStatus(alice.post("/settings/credentials/opencode_base_url", url.Values{"value": {"https://llm.example.com/v1"}}), http.StatusSeeOther, "save url")
	page = alice.mustStatus(alice.get("/settings"), http.StatusOK, "settings after replace")
	if block := credentialBlock(t, page.body, "anthropic_api_key"); !strings.Contains(block, "••••WXYZ") || strings.Contains(block, "AAAA") {
		t.Errorf("replaced key:\n%s", block)
	}
	if block := credentialBlock(t, page.body, "opencode_base_url"); !strings.Contains(block, "https://llm.example.com/v1") {
		t.Errorf("a base URL is shown whole:\n%s", block)
	}
	got, err := ce.creds.AgentCredentials(context.Background(), aliceUser.ID, "claude")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"ANTHROPIC_API_KEY": second, "CLAUDE_CODE_OAUTH_TOKEN": oauth}, got); diff != "" {
		t.Errorf("what Alice's Claude tasks get (-want +got):\n%s", diff)
	}

	alice.mustStatus(alice.post("/settings/credentials/anthropic_api_key/delete", nil), http.StatusSeeOther, "remove")
	page = alice.mustStatus(alice.get("/settings"), http.StatusOK, "settings after remove")
	if block := credentialBlock(t, page.body, "anthropic_api_key"); strings.Contains(block, "WXYZ") || strings.Contains(block, "Remove") {
		t.Errorf("a removed key is still shown:\n%s", block)
	}
	alice.mustStatus(alice.post("/settings/credentials/anthropic_api_key/delete", nil), http.StatusSeeOther, "remove again")
	alice.mustStatus(alice.post("/settings/credentials/opencode_base_url/delete", nil), http.StatusSeeOther, "disconnect")

	want := []string{
		`api_key_created api_key {"env":"ANTHROPIC_API_KEY","kind":"anthropic_api_key"}`,
		`api_key_updated api_key {"env":"ANTHROPIC_API_KEY","kind":"anthropic_api_key"}`,
		`agent_credential_created agent_credential {"env":"CLAUDE_CODE_OAUTH_TOKEN","kind":"claude_oauth_token"}`,
		`agent_credential_created agent_credential {"env":"OPENCODE_BASE_URL","kind":"opencode_base_url","opencodeProvider":"connected"}`,
		`api_key_deleted api_key {"env":"ANTHROPIC_API_KEY","kind":"anthropic_api_key"}`,
		`agent_credential_deleted agent_credential {"env":"OPENCODE_BASE_URL","kind":"opencode_base_url","opencodeProvider":"disconnected"}`,
	}
	if diff := cmp.Diff(want, ce.auditRows(t, aliceUser.ID)); diff != "" {
		t.Errorf("audit events (-want +got):\n%s", diff)
	}
	for _, secret := range []string{"first-secret", "second-secret", "subscription-secret"} {
		if strings.Contains(ce.logs.String(), secret) {
			t.Errorf("the log holds a credential:\n%s", ce.logs.String())
		}
		var n int
		if err := ce.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_events WHERE payload::text LIKE '%' || $1 || '%'`, secret).Scan(&n); err != nil || n != 0 {
			t.Errorf("%d audit rows hold a credential (%v)", n, err)
		}
	}
}

func TestCredentialBadValueIsRefusedAtItsField(t *testing.T) {
	ce := newCredEnv(t)
	ce.setUp(t)
	alice, aliceUser := ce.addUser(t, "Alice", "alice@example.com", sesame.RoleUser)
	alice.mustStatus(alice.post("/settings/credentials/openai_api_key", url.Values{"value": {"sk-proj-kept-1111"}}), http.StatusSeeOther, "save")

	tests := []struct{ name, kind, value, message string }{
		{"empty", "openai_api_key", "   ", "Enter the OpenAI API key."},
		{"spaces", "openai_api_key", "sk-proj bad-secret-value", "must not contain spaces"},
		{"control", "openai_api_key", "sk-proj-bad\x1b[31m-secret-value", "control or invisible character"},
		{"too long", "openai_api_key", "sk-" + strings.Repeat("x", sesame.MaxCredentialLen), "too long"},
		{"json", "codex_auth_json", `{"tokens": bad-secret-value`, "must be a JSON object"},
		{"url", "opencode_base_url", "javascript:alert(1)//bad-secret-value", "http:// or https://"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := alice.mustStatus(alice.post("/settings/credentials/"+tt.kind, url.Values{"value": {tt.value}}), http.StatusUnprocessableEntity, "bad value")
			block := credentialBlock(t, r.body, tt.kind)
			if !strings.Contains(block, tt.message) || !strings.Contains(block, "field-error") {
				t.Errorf("the error is not at the %s field:\n%s", tt.kind, block)
			}
			if strings.Contains(r.body, "bad-secret-value") || strings.Contains(r.body, "bad\x1b") {
				t.Error("the page repeats the refused value")
			}
		})
	}
	got, err := ce.creds.AgentCredentials(context.Background(), aliceUser.ID, "codex")
	if err != nil || !cmp.Equal(got, map[string]string{"OPENAI_API_KEY": "sk-proj-kept-1111"}) {
		t.Errorf("after refused values Codex gets %v, %v; want the kept key only", got, err)
	}
	if strings.Contains(ce.logs.String(), "bad-secret-value") {
		t.Error("the log holds a refused value")
	}
	if rows := ce.auditRows(t, aliceUser.ID); len(rows) != 1 {
		t.Errorf("refused values were audited: %v", rows)
	}
	alice.mustStatus(alice.post("/settings/credentials/aws_secret", url.Values{"value": {"sk-whatever-123456"}}), http.StatusNotFound, "unknown kind")
	alice.mustStatus(alice.post("/settings/credentials/aws_secret/delete", nil), http.StatusNotFound, "unknown kind delete")
}

func TestCredentialsAreTheirOwnersOnly(t *testing.T) {
	ce := newCredEnv(t)
	ce.setUp(t)
	alice, aliceUser := ce.addUser(t, "Alice", "alice@example.com", sesame.RoleUser)
	bob, bobUser := ce.addUser(t, "Bob", "bob@example.com", sesame.RoleUser)
	alice.mustStatus(alice.post("/settings/credentials/gemini_api_key", url.Values{"value": {"AIzaSyAliceOnly-QRST"}}), http.StatusSeeOther, "save")

	page := bob.mustStatus(bob.get("/settings"), http.StatusOK, "bob's settings")
	if strings.Contains(page.body, "QRST") || strings.Contains(credentialBlock(t, page.body, "gemini_api_key"), "Remove") {
		t.Errorf("Bob sees Alice's key:\n%s", credentialBlock(t, page.body, "gemini_api_key"))
	}
	bob.mustStatus(bob.post("/settings/credentials/gemini_api_key/delete", nil), http.StatusSeeOther, "bob removes")
	if got, _ := ce.creds.AgentCredentials(context.Background(), aliceUser.ID, "gemini"); got["GEMINI_API_KEY"] != "AIzaSyAliceOnly-QRST" {
		t.Errorf("Bob's remove took Alice's key: %v", got)
	}
	if rows := ce.auditRows(t, bobUser.ID); len(rows) != 0 {
		t.Errorf("Bob removing nothing was audited: %v", rows)
	}
}

func TestCredentialFormsRefuseOtherSites(t *testing.T) {
	ce := newCredEnv(t)
	ce.setUp(t)
	alice, aliceUser := ce.addUser(t, "Alice", "alice@example.com", sesame.RoleUser)
	alice.mustStatus(alice.post("/settings/credentials/copilot_github_token", url.Values{"value": {"github_pat_kept_0000"}}), http.StatusSeeOther, "save")
	anon := ce.client(t)
	for _, path := range []string{"/settings/credentials/copilot_github_token", "/settings/credentials/copilot_github_token/delete"} {
		for _, h := range [][]string{{"Sec-Fetch-Site", "cross-site"}, {"Sec-Fetch-Site", "", "Origin", "https://evil.example"}} {
			r := alice.post(path, url.Values{"value": {"github_pat_evil_9999"}}, h...)
			if r.status != http.StatusForbidden || !strings.Contains(r.body, "came from another site") {
				t.Errorf("cross-origin POST %s (%v): %d", path, h, r.status)
			}
		}
		if r := anon.post(path, url.Values{"value": {"github_pat_evil_9999"}}); r.status != http.StatusSeeOther || r.location != "/login" {
			t.Errorf("anonymous POST %s: %d → %q", path, r.status, r.location)
		}
	}
	got, _ := ce.creds.AgentCredentials(context.Background(), aliceUser.ID, "copilot")
	if got["COPILOT_GITHUB_TOKEN"] != "github_pat_kept_0000" {
		t.Errorf("after refused posts Copilot gets %v", got)
	}
}

func TestSettingsWithoutACredentialStore(t *testing.T) {
	e := newEnv(t)
	c := e.setUp(t)
	page := c.mustStatus(c.get("/settings"), http.StatusOK, "settings")
	if regexp.MustCompile(`API Keys|Agent Credentials`).MatchString(page.body) {
		t.Error("the sections are offered without a credential store")
	}
	c.mustStatus(c.post("/settings/credentials/openai_api_key", url.Values{"value": {"sk-proj-1234567"}}), http.StatusNotFound, "save")
}
