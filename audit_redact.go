package sesame

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Redacted replaces a secret in an audit payload.
const Redacted = "[REDACTED]"

// maxRedactDepth bounds how deep RedactPayload follows nested maps and slices; anything deeper is
// replaced, so a payload that nests without end cannot exhaust the stack.
const maxRedactDepth = 32

// tokenPattern matches text that is a credential whatever key it is under: GitHub tokens (classic,
// fine-grained, OAuth, App installation and refresh), OpenAI and Anthropic keys, Slack tokens, GitLab
// and Google API keys, AWS access key ids, JWTs, HTTP Bearer and Basic credentials, PEM private keys,
// and the password of a URL (scheme://user:password@host).
var tokenPattern = regexp.MustCompile(`` +
	`\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{16,}` +
	`|\bgithub_pat_[A-Za-z0-9_]{16,}` +
	`|\bsk-(?:ant-)?[A-Za-z0-9_-]{16,}` +
	`|\bxox[abposr]-[A-Za-z0-9-]{8,}` +
	`|\bglpat-[A-Za-z0-9_-]{16,}` +
	`|\bAIza[0-9A-Za-z_-]{30,}` +
	`|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b` +
	`|\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*` +
	`|(?i:\bbearer\s+[A-Za-z0-9._~+/=-]{8,})` +
	`|(?i:\bbasic\s+)[A-Za-z0-9+/]{8,}={0,2}` +
	`|-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)` +
	`|://[^/\s:@]+:[^/\s@]+@`)

// settingName matches the name of a setting or environment variable ("audit.retentionDays",
// "ENABLE_AUDIT_LOG"): what a bare "key" or "keys" holds when it is not a credential.
var settingName = regexp.MustCompile(`^(?:[a-z][A-Za-z0-9]*(?:\.[a-z][A-Za-z0-9]*)+|[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)$`)

// RedactPayload returns a copy of an audit payload without its secrets, for storing: values under a
// key that names a secret (password, secret, token, API key, authorization, cookie, credential,
// private key … in any case, with or without separators) become Redacted, in nested maps and slices
// too; text that looks like a credential (see tokenPattern) is replaced by Redacted wherever it is.
// A bare "key" or "keys" keeps only setting names (a settings change records which keys changed).
// Values of types other than maps, slices and scalars go through their JSON form first, as the store
// would write them. p is not changed.
func RedactPayload(p map[string]any) map[string]any {
	if p == nil {
		return nil
	}
	out, _ := redactValue(p, 0).(map[string]any)
	return out
}

func redactValue(v any, depth int) any {
	if depth > maxRedactDepth {
		return "[TRUNCATED]"
	}
	switch v := v.(type) {
	case nil, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64, json.Number:
		return v
	case string:
		return redactText(v)
	case []byte:
		if utf8.Valid(v) {
			return redactText(string(v))
		}
		return fmt.Sprintf("[%d bytes]", len(v))
	case error:
		return redactText(v.Error())
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[redactText(k)] = redactField(k, x, depth)
		}
		return out
	case map[string]string:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[redactText(k)] = redactField(k, x, depth)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = redactValue(x, depth+1)
		}
		return out
	case []string:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = redactText(x)
		}
		return out
	case []map[string]any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = redactValue(x, depth+1)
		}
		return out
	}
	// Structs, typed maps and slices, times…: their JSON form is what would be stored.
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("[unencodable %T]", v)
	}
	var generic any
	if err := json.Unmarshal(b, &generic); err != nil {
		return fmt.Sprintf("[unencodable %T]", v)
	}
	return redactValue(generic, depth)
}

// redactField redacts the value x found under key.
func redactField(key string, x any, depth int) any {
	switch sensitivity(key) {
	case secretKey:
		if isCount(key, x) {
			return x
		}
		return Redacted
	case nameKey:
		return keepNames(x, depth+1)
	}
	return redactValue(x, depth+1)
}

type keyKind int

const (
	plainKey  keyKind = iota
	secretKey         // its value is a secret
	nameKey           // "key"/"keys": a setting name is kept, anything else is a secret
)

// secretWords are parts of a key that make its value a secret; secretNames are keys that do only
// when they are the whole key ("pass" but not "passenger"). Keys are compared lowercase, without
// separators: "API-Key", "api_key" and "apiKey" are all "apikey".
var (
	secretWords = []string{"password", "passwd", "passphrase", "secret", "token", "apikey", "authorization",
		"cookie", "credential", "privatekey", "accesskey", "signingkey", "encryptionkey", "sessionkey",
		"clientkey", "masterkey", "sshkey", "licensekey", "connectionstring", "databaseurl", "dsn"}
	secretNames = []string{"pass", "pwd", "auth", "jwt", "otp", "bearer", "sealed"}
)

func sensitivity(key string) keyKind {
	k := normalizeKey(key)
	switch k {
	case "key", "keys":
		return nameKey
	}
	for _, n := range secretNames {
		if k == n {
			return secretKey
		}
	}
	for _, w := range secretWords {
		if strings.Contains(k, w) {
			return secretKey
		}
	}
	return plainKey
}

func normalizeKey(key string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(key) {
		switch r {
		case '_', '-', '.', ' ':
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// isCount reports whether x is a number of tokens ("input_tokens": 1200), not a token.
func isCount(key string, x any) bool {
	if !strings.HasSuffix(normalizeKey(key), "tokens") {
		return false
	}
	switch x.(type) {
	case int, int32, int64, uint, uint32, uint64, float32, float64, json.Number:
		return true
	}
	return false
}

// keepNames keeps the setting names under a bare "key" or "keys" and redacts anything else.
func keepNames(x any, depth int) any {
	if depth > maxRedactDepth {
		return "[TRUNCATED]"
	}
	switch x := x.(type) {
	case nil:
		return nil
	case string:
		if settingName.MatchString(x) {
			return x
		}
		return Redacted
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = keepNames(s, depth+1)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = keepNames(s, depth+1)
		}
		return out
	case map[string]any, map[string]string:
		return redactValue(x, depth)
	}
	return Redacted
}

// redactText replaces every credential-shaped part of s.
func redactText(s string) string {
	if !tokenPattern.MatchString(s) {
		return s
	}
	return tokenPattern.ReplaceAllStringFunc(s, func(m string) string {
		switch {
		case strings.HasPrefix(m, "://"): // keep the scheme and the user, drop the password
			user, _, _ := strings.Cut(m[3:], ":")
			return "://" + user + ":" + Redacted + "@"
		case len(m) > 5 && strings.EqualFold(m[:5], "basic"):
			// "Basic" and a word ("basic authentication") is prose; credentials have digits or padding.
			if !strings.ContainsAny(m[5:], "0123456789+/=") {
				return m
			}
			return m[:5] + " " + Redacted
		case len(m) > 6 && strings.EqualFold(m[:6], "bearer"):
			return m[:6] + " " + Redacted
		}
		return Redacted
	})
}

// RedactText replaces every credential-shaped part of s (a token, a key, a URL's password) with
// Redacted: for the free-text columns of an audit event.
func RedactText(s string) string { return redactText(s) }
