package mask_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/sesame-works/sesame/mask"
)

func TestMasker(t *testing.T) {
	token := "ghs_16C7e42F292c6912E7710c838347Ae178B4a"
	m := mask.New(token, "short", "", "sk-ant-api03-abcdefghijklmnop")
	basic := base64.StdEncoding.EncodeToString([]byte("x-access-token:" + token))
	tests := []struct{ name, in, want string }{
		{"token", "push with " + token + " failed", "push with ******** failed"},
		{"twice", token + token, "****************"},
		{"basic auth form", "Authorization: Basic " + basic, "Authorization: Basic ********"},
		{"api key in json", `{"key":"sk-ant-api03-abcdefghijklmnop"}`, `{"key":"********"}`},
		{"short values are not secrets", "a short note", "a short note"},
		{"nothing to mask", "hello", "hello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := m.String(tt.in); got != tt.want {
				t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	v := m.Value(map[string]any{"out": []any{"x " + token}, "n": 3, "s": []string{token}}).(map[string]any)
	if strings.Contains(v["out"].([]any)[0].(string), token) || strings.Contains(v["s"].([]string)[0], token) || v["n"] != 3 {
		t.Errorf("Value did not mask nested strings: %v", v)
	}
	m.Add("late-added-secret-value")
	if got := m.String("x late-added-secret-value"); got != "x ********" {
		t.Errorf("secret added later not masked: %q", got)
	}
	if got := mask.New().String("late-added-secret-value"); got != "late-added-secret-value" {
		t.Errorf("empty masker changed text")
	}
}

// Realistic secrets of each shape, none known to the masker. They are put together from parts so
// that no secret scanner mistakes this file for a leak.
var (
	oldInstallationToken = "ghs_" + "Xq3lT0bZ9kVw2YpN8rUe5mCj7HsA1dGf4oLi"
	classicPAT           = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z50"
	fineGrainedPAT       = "github_pat_" + "11ABCDEFG0abcdefghijkl_" + "MNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyz012345678"
	anthropicKey         = "sk-ant-" + "api03-" + "Zk9vQ2xYbW5hcGk0dGVzdGtleWZvcnNlc2FtZW1hc2t0ZXN0aW5nMDEy-_Ab3cD4eF5gH6iJ7kL8mN9oP0qR1sT2uV3w" + "AA"
	openAIKey            = "sk-" + "proj-" + "Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv1Wx2Yz3_ab-cd4EF5gh6IJ7kl8MN9op0QR1stT3BlbkFJ" + "xyz0123456789"
	legacyOpenAIKey      = "sk-" + "Ab1Cd2Ef3Gh4Ij5Kl6Mn7T3BlbkFJOp8Qr9St0Uv1Wx2Yz3"
	pemBegin             = "-----BEGIN RSA " + "PRIVATE KEY-----"
	pemEnd               = "-----END RSA " + "PRIVATE KEY-----"
	pemBody              = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n" +
		"VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n" +
		"LxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW/VDL5AaWTg0nLVkjRo\n"
)

func TestMaskerPatterns(t *testing.T) {
	m := mask.New("a-known-secret-value")
	const r = mask.Replacement
	tests := []struct{ name, in, want string }{
		{"old installation token", "remote: Invalid username or token " + oldInstallationToken + ".",
			"remote: Invalid username or token " + r + "."},
		{"token in a URL", "https://x-access-token:" + oldInstallationToken + "@github.com/acme/widget.git",
			"https://x-access-token:" + r + "@github.com/acme/widget.git"},
		{"token at a line's start", "ok\n" + oldInstallationToken + "\n", "ok\n" + r + "\n"},
		{"token in an environment line", "GH_TOKEN=" + oldInstallationToken + "\n", "GH_TOKEN=" + r + "\n"},
		{"classic PAT", "token: " + classicPAT, "token: " + r},
		{"fine-grained PAT", `{"token":"` + fineGrainedPAT + `"}`, `{"token":"` + r + `"}`},
		{"anthropic key", "ANTHROPIC_API_KEY=" + anthropicKey + " claude -p", "ANTHROPIC_API_KEY=" + r + " claude -p"},
		{"openai project key", "export OPENAI_API_KEY='" + openAIKey + "'", "export OPENAI_API_KEY='" + r + "'"},
		{"legacy openai key", legacyOpenAIKey, r},
		{"after a JSON escape", `{"output":"ok\n` + oldInstallationToken + `\n","tab":"\t` + anthropicKey + `"}`,
			`{"output":"ok\n` + r + `\n","tab":"\t` + r + `"}`},
		{"two secrets, one known", "a-known-secret-value and " + classicPAT, r + " and " + r},
		{"PEM key in a log line (escaped)", `read key {"content":"` + strings.ReplaceAll(pemBegin+"\n"+pemBody+pemEnd, "\n", `\n`) + `\n"} done`,
			`read key {"content":"` + r + `\n"} done`},
		{"PEM key with newlines", "key file:\n" + pemBegin + "\n" + pemBody + pemEnd + "\nnext line", "key file:\n" + r + "\nnext line"},
		{"PKCS#8 and encrypted keys", "-----BEGIN " + "PRIVATE KEY-----\nMIIB\n-----END " + "PRIVATE KEY----- and -----BEGIN ENCRYPTED " +
			"PRIVATE KEY-----\nMIIF\n-----END ENCRYPTED " + "PRIVATE KEY-----!", r + " and " + r + "!"},
		{"OPENSSH key", "id_ed25519: -----BEGIN OPENSSH " + "PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH " + "PRIVATE KEY-----",
			"id_ed25519: " + r},
		{"PEM BEGIN without END", "cat key.pem\n-----BEGIN EC " + "PRIVATE KEY-----\nMHcCAQEEIIGlRmZ\n(truncated", "cat key.pem\n" + r},
		{"ordinary words", "task-ant-api03-abcdefghijklmnopqrstuvwxyz and disk-space-on-the-worker-is-running-low",
			"task-ant-api03-abcdefghijklmnopqrstuvwxyz and disk-space-on-the-worker-is-running-low"},
		{"prefixes alone", "sk- sk-ant ghost_writer ghs_ ghp_short github_pat_ gh_ sk-ant-short",
			"sk- sk-ant ghost_writer ghs_ ghp_short github_pat_ gh_ sk-ant-short"},
		{"a public key", "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkq\n-----END PUBLIC KEY-----",
			"-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkq\n-----END PUBLIC KEY-----"},
		{"github text", "pushed sesame/12-fix-the-typo-4d5e6f to https://github.com/acme/widget (ghost: 0)",
			"pushed sesame/12-fix-the-typo-4d5e6f to https://github.com/acme/widget (ghost: 0)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := m.String(tt.in); got != tt.want {
				t.Errorf("String(%q)\n = %q\nwant %q", tt.in, got, tt.want)
			}
			if got := m.Value([]any{map[string]any{"x": tt.in}}).([]any)[0].(map[string]any)["x"]; got != tt.want {
				t.Errorf("Value(%q)\n = %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
	if got := mask.New().String("log " + classicPAT); got != "log "+r {
		t.Errorf("a masker without secrets: %q", got)
	}
}

// logLine is a 4 KiB line of an agent's stream, as the recorder masks it: JSON with paths, URLs
// and words like "task-" and "github", but no secret.
func logLine() string {
	chunk := `{"type":"tool_result","task-id":"019a4f2e-7b1c","content":"diff --git a/src/main.go b/src/main.go\n` +
		`ran go test ./... in /var/lib/sesame/tasks/disk-check/repo; see https://github.com/acme/widget/pull/12 ok"}` + "\n"
	return strings.Repeat(chunk, 4096/len(chunk)+1)[:4096]
}

func BenchmarkString(b *testing.B) {
	m := mask.New("ghs_16C7e42F292c6912E7710c838347Ae178B4a", "sk-ant-api03-abcdefghijklmnop")
	clean := logLine()
	withSecret := clean[:2048] + " " + classicPAT + " " + clean[2048+len(classicPAT)+2:]
	for _, bc := range []struct{ name, in string }{{"clean", clean}, {"secret", withSecret}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.in)))
			for b.Loop() {
				m.String(bc.in)
			}
		})
	}
}
