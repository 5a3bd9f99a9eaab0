// Package mask replaces secrets in text before it is stored, published, logged or posted: the
// secrets it is given, and anything shaped like a GitHub token, an Anthropic or OpenAI API key or a
// PEM private key, given or not.
package mask

import (
	"encoding/base64"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Replacement stands where a secret was.
const Replacement = "********"

// MinLength is the shortest secret masked: shorter values (a port, "true") would mask ordinary words.
const MinLength = 8

// Masker replaces every known secret, and the base64 forms git and HTTP Basic auth put them in, then
// every secret it recognizes by its shape (see String).
// It is safe for concurrent use; secrets can be added while it is in use.
type Masker struct {
	mu       sync.RWMutex
	secrets  []string
	replacer *strings.Replacer
}

// New returns a masker for secrets.
func New(secrets ...string) *Masker {
	m := &Masker{}
	m.Add(secrets...)
	return m
}

// Add adds secrets to mask. Empty and short values are ignored.
func (m *Masker) Add(secrets ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range secrets {
		s = strings.TrimSpace(s)
		if len(s) < MinLength {
			continue
		}
		for _, v := range []string{s,
			base64.StdEncoding.EncodeToString([]byte("x-access-token:" + s)),
			base64.StdEncoding.EncodeToString([]byte(s))} {
			if !slices.Contains(m.secrets, v) {
				m.secrets = append(m.secrets, v)
			}
		}
	}
	// Longest first, so a secret that contains another is replaced whole.
	slices.SortFunc(m.secrets, func(a, b string) int { return len(b) - len(a) })
	pairs := make([]string, 0, 2*len(m.secrets))
	for _, s := range m.secrets {
		pairs = append(pairs, s, Replacement)
	}
	m.replacer = strings.NewReplacer(pairs...)
}

// String returns s with every known secret replaced, then every secret of a known shape:
//
//   - GitHub tokens: ghp_, gho_, ghu_, ghs_ or ghr_ and 36 or more letters and digits;
//     github_pat_ and 22 or more letters, digits and underscores;
//   - Anthropic and OpenAI API keys: sk- (sk-ant-…, sk-proj-…) and 20 or more letters, digits,
//     underscores and dashes;
//   - PEM private keys (PKCS#8, RSA, EC, OPENSSH, ENCRYPTED …): from the BEGIN line to its END
//     line, or to the end of s when there is none.
//
// A token or key must start a word ("task-ant-…" and "ghost_" stay), also after a JSON escape
// such as \n, as in an agent's encoded output.
func (m *Masker) String(s string) string {
	m.mu.RLock()
	r := m.replacer
	m.mu.RUnlock()
	if r != nil {
		s = r.Replace(s)
	}
	if !mayHoldPattern(s) {
		return s
	}
	return pattern.ReplaceAllString(s, "${1}"+Replacement)
}

// pattern is the secrets String recognizes by their shape. Its group 1 is what stands before a
// token or key (a character that is not a word's, a JSON escape, or nothing at the start) and is
// kept: RE2 has no look-behind.
var pattern = regexp.MustCompile(
	`(^|[^A-Za-z0-9_]|\\[nrt])` +
		`(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}|sk-[A-Za-z0-9_-]{20,})` +
		`|(?s:-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|$))`)

// mayHoldPattern reports whether s could hold a match of pattern: most text holds none, and then
// costs a few substring searches (about 3 µs for 4 KiB) instead of a pass of the regular
// expression (about 250 µs).
func mayHoldPattern(s string) bool {
	return strings.Contains(s, "PRIVATE KEY") || strings.Contains(s, "github_pat_") ||
		someAt(s, "gh", func(i int) bool {
			return i+3 < len(s) && s[i+3] == '_' && strings.IndexByte("pousr", s[i+2]) >= 0
		}) ||
		// "sk-" is common inside words (task-, disk-): only one that may start a word counts.
		someAt(s, "sk-", func(i int) bool {
			return i == 0 || !isWordByte(s[i-1]) || i >= 2 && s[i-2] == '\\'
		})
}

// someAt reports whether ok holds at some index of s where sub starts.
func someAt(s, sub string, ok func(i int) bool) bool {
	for i := 0; ; i += len(sub) {
		j := strings.Index(s[i:], sub)
		if j < 0 {
			return false
		}
		if i += j; ok(i) {
			return true
		}
	}
}

func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}

// Value returns v with every string inside it (maps, slices, nested) masked. Other values are kept.
func (m *Masker) Value(v any) any {
	switch x := v.(type) {
	case string:
		return m.String(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = m.Value(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = m.Value(e)
		}
		return out
	case []string:
		out := make([]string, len(x))
		for i, e := range x {
			out[i] = m.String(e)
		}
		return out
	}
	return v
}
