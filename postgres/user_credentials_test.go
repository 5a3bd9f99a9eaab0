package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/postgres"
	"github.com/sesame-works/sesame/sealed"
)

const testEncryptionKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

// credentialEnv is the credential store with two users, Alice and Bob, and an admin who stays.
type credentialEnv struct {
	db         *postgres.DB
	users      *postgres.UserStore
	creds      *postgres.UserCredentials
	alice, bob *sesame.User
}

func newCredentialEnv(t *testing.T) *credentialEnv {
	t.Helper()
	ctx := context.Background()
	db := MustOpen(t)
	box, err := sealed.New(testEncryptionKey)
	if err != nil {
		t.Fatal(err)
	}
	e := &credentialEnv{db: db, users: postgres.NewUserStore(db), creds: postgres.NewUserCredentials(db, box)}
	if _, err := e.users.CreateUser(ctx, sesame.User{Email: "admin@example.com", Role: sesame.RoleAdmin, PasswordHash: "h"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []**sesame.User{&e.alice, &e.bob} {
		email := "alice@example.com"
		if p == &e.bob {
			email = "bob@example.com"
		}
		if *p, err = e.users.CreateUser(ctx, sesame.User{Email: email, Role: sesame.RoleUser, PasswordHash: "h"}); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *credentialEnv) put(t *testing.T, userID, kind, value string) bool {
	t.Helper()
	created, err := e.creds.PutCredential(context.Background(), userID, kind, value)
	if err != nil {
		t.Fatalf("PutCredential %s: %v", kind, err)
	}
	return created
}

// kinds returns the kinds and hints the store lists for userID.
func (e *credentialEnv) kinds(t *testing.T, userID string) map[string]string {
	t.Helper()
	list, err := e.creds.Credentials(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, c := range list {
		if c.CreatedAt.IsZero() || c.UpdatedAt.Before(c.CreatedAt) {
			t.Errorf("%s: created %v, updated %v", c.Kind, c.CreatedAt, c.UpdatedAt)
		}
		out[c.Kind] = c.Hint
	}
	return out
}

func TestUserCredentialsPutReplaceListDelete(t *testing.T) {
	ctx := context.Background()
	e := newCredentialEnv(t)
	if !e.put(t, e.alice.ID, "anthropic_api_key", "  sk-ant-api03-first-AAAA ") {
		t.Error("the first put was not reported as created")
	}
	if e.put(t, e.alice.ID, "anthropic_api_key", "sk-ant-api03-second-WXYZ") {
		t.Error("a replacement was reported as created")
	}
	e.put(t, e.alice.ID, "opencode_base_url", "https://llm.example.com/v1")
	e.put(t, e.alice.ID, "claude_oauth_token", "sk-ant-oat01-token-1234")
	want := map[string]string{"anthropic_api_key": "WXYZ", "claude_oauth_token": "1234", "opencode_base_url": "https://llm.example.com/v1"}
	if diff := cmp.Diff(want, e.kinds(t, e.alice.ID)); diff != "" {
		t.Errorf("listed (-want +got):\n%s", diff)
	}
	list, _ := e.creds.Credentials(ctx, e.alice.ID)
	var order []string
	for _, c := range list {
		order = append(order, c.Kind)
	}
	if diff := cmp.Diff([]string{"anthropic_api_key", "claude_oauth_token", "opencode_base_url"}, order); diff != "" {
		t.Errorf("not in the order of CredentialKinds (-want +got):\n%s", diff)
	}
	if got := e.kinds(t, e.bob.ID); len(got) != 0 {
		t.Errorf("Bob lists Alice's credentials: %v", got)
	}

	if deleted, err := e.creds.DeleteCredential(ctx, e.bob.ID, "anthropic_api_key"); err != nil || deleted {
		t.Errorf("Bob deleting his own (none) = %v, %v; want nothing deleted", deleted, err)
	}
	if deleted, err := e.creds.DeleteCredential(ctx, e.alice.ID, "anthropic_api_key"); err != nil || !deleted {
		t.Errorf("DeleteCredential = %v, %v", deleted, err)
	}
	if deleted, _ := e.creds.DeleteCredential(ctx, e.alice.ID, "anthropic_api_key"); deleted {
		t.Error("deleting twice deleted again")
	}
	if _, ok := e.kinds(t, e.alice.ID)["anthropic_api_key"]; ok {
		t.Error("a deleted credential is still listed")
	}
}

func TestUserCredentialsRefuseBadInput(t *testing.T) {
	ctx := context.Background()
	e := newCredentialEnv(t)
	for _, tt := range []struct{ name, user, kind, value, code string }{
		{"unknown kind", e.alice.ID, "aws_secret", "sk-whatever-123456", sesame.EINVALID},
		{"empty", e.alice.ID, "openai_api_key", "   ", sesame.EINVALID},
		{"control character", e.alice.ID, "openai_api_key", "sk-abc\x07def123", sesame.EINVALID},
		{"not a url", e.alice.ID, "opencode_base_url", "ftp://llm.example.com", sesame.EINVALID},
		{"unknown user", "0190a000-0000-7000-8000-000000000000", "openai_api_key", "sk-abcdef123456", sesame.ENOTFOUND},
	} {
		if _, err := e.creds.PutCredential(ctx, tt.user, tt.kind, tt.value); sesame.ErrorCode(err) != tt.code {
			t.Errorf("%s: PutCredential = %v; want %s", tt.name, err, tt.code)
		}
	}
	if got := e.kinds(t, e.alice.ID); len(got) != 0 {
		t.Errorf("refused puts stored %v", got)
	}
}

// TestUserCredentialsAreSealed reads the stored column back: it is not the value, and a sealed value
// moved to another user or another kind does not open.
func TestUserCredentialsAreSealed(t *testing.T) {
	ctx := context.Background()
	e := newCredentialEnv(t)
	const secret = "sk-proj-very-secret-value-WXYZ"
	e.put(t, e.alice.ID, "openai_api_key", secret)
	var stored []byte
	var asText string
	if err := e.db.Pool.QueryRow(ctx, `SELECT sealed, encode(sealed, 'escape') FROM user_credentials WHERE user_id = $1`,
		e.alice.ID).Scan(&stored, &asText); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(stored), "very-secret") || strings.Contains(asText, "very-secret") {
		t.Fatal("the stored column holds the plaintext")
	}
	var anyText int
	if err := e.db.Pool.QueryRow(ctx, `SELECT count(*) FROM user_credentials WHERE sealed::text LIKE '%very-secret%'
		OR hint LIKE '%very-secret%' OR kind LIKE '%very-secret%'`).Scan(&anyText); err != nil || anyText != 0 {
		t.Fatalf("%d rows hold the plaintext as text (%v)", anyText, err)
	}

	// Alice's sealed OpenAI key copied to Bob, and to Alice's own Codex login.
	e.put(t, e.bob.ID, "openai_api_key", "sk-proj-bobs-own-key-0000")
	e.put(t, e.alice.ID, "codex_auth_json", `{"tokens": {"refresh_token": "rt_abcdefgh"}}`)
	if _, err := e.db.Pool.Exec(ctx, `UPDATE user_credentials SET sealed = $1 WHERE user_id = $2 AND kind = 'openai_api_key'`, stored, e.bob.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Pool.Exec(ctx, `UPDATE user_credentials SET sealed = $1 WHERE user_id = $2 AND kind = 'codex_auth_json'`, stored, e.alice.ID); err != nil {
		t.Fatal(err)
	}
	got, err := e.creds.AgentCredentials(ctx, e.bob.ID, "codex")
	if sesame.ErrorCode(err) != sesame.EINVALID || strings.Contains(sesame.ErrorMessage(err), "secret") {
		t.Errorf("Bob's moved key: %v, %v; want EINVALID without the value", got, err)
	}
	if _, err := e.creds.AgentCredentials(ctx, e.alice.ID, "codex"); sesame.ErrorCode(err) != sesame.EINVALID ||
		!strings.Contains(sesame.ErrorMessage(err), "Codex login") {
		t.Errorf("the key moved to another kind: %v; want EINVALID naming the Codex login", err)
	}
	if got, err := e.creds.AgentCredentials(ctx, e.alice.ID, "gemini"); err != nil || len(got) != 0 {
		t.Errorf("gemini = %v, %v", got, err)
	}
}

func TestAgentCredentialsGiveEachAgentItsOwn(t *testing.T) {
	ctx := context.Background()
	e := newCredentialEnv(t)
	values := map[string]string{
		"anthropic_api_key":    "sk-ant-api03-aaaa",
		"openai_api_key":       "sk-proj-bbbbbbbb",
		"gemini_api_key":       "AIzaSyCCCCCCCC",
		"claude_oauth_token":   "sk-ant-oat01-dddd",
		"codex_auth_json":      `{"tokens": {"access_token": "eeee"}}`,
		"copilot_github_token": "github_pat_ffffffff",
		"opencode_base_url":    "https://llm.example.com/v1",
		"opencode_api_key":     "oc-gggggggg",
	}
	for kind, v := range values {
		e.put(t, e.alice.ID, kind, v)
	}
	e.put(t, e.bob.ID, "gemini_api_key", "AIzaSyBOBBOBBOB")
	tests := []struct {
		agent string
		want  map[string]string
	}{
		{"claude", map[string]string{"ANTHROPIC_API_KEY": values["anthropic_api_key"], "CLAUDE_CODE_OAUTH_TOKEN": values["claude_oauth_token"]}},
		{"codex", map[string]string{"OPENAI_API_KEY": values["openai_api_key"], "CODEX_AUTH_JSON": values["codex_auth_json"]}},
		{"gemini", map[string]string{"GEMINI_API_KEY": values["gemini_api_key"]}},
		{"copilot", map[string]string{"COPILOT_GITHUB_TOKEN": values["copilot_github_token"]}},
		{"opencode", map[string]string{"OPENCODE_BASE_URL": values["opencode_base_url"], "OPENCODE_API_KEY": values["opencode_api_key"],
			"OPENAI_API_KEY": values["openai_api_key"]}},
		{"unknown", map[string]string{}},
	}
	for _, tt := range tests {
		got, err := e.creds.AgentCredentials(ctx, e.alice.ID, tt.agent)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.agent, diff)
		}
	}
	if got, err := e.creds.AgentCredentials(ctx, "", "claude"); err != nil || len(got) != 0 {
		t.Errorf("no user: %v, %v; want none", got, err)
	}
	if got, _ := e.creds.AgentCredentials(ctx, e.bob.ID, "claude"); len(got) != 0 {
		t.Errorf("Bob gets %v for claude; want none of Alice's", got)
	}
}

func TestDeletingAUserDeletesTheirCredentials(t *testing.T) {
	ctx := context.Background()
	e := newCredentialEnv(t)
	e.put(t, e.alice.ID, "openai_api_key", "sk-proj-alice-0000")
	e.put(t, e.bob.ID, "openai_api_key", "sk-proj-bob-1111")
	if _, err := e.users.DeleteUser(ctx, e.alice.ID); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := e.db.Pool.QueryRow(ctx, `SELECT count(*) FROM user_credentials WHERE user_id = $1`, e.alice.ID).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d credentials of a deleted user remain (%v)", n, err)
	}
	if got := e.kinds(t, e.bob.ID); len(got) != 1 {
		t.Errorf("Bob's credentials went too: %v", got)
	}
}
