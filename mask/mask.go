// Package mask replaces known secrets in text before it is stored, published, logged or posted.
package mask

import (
	"encoding/base64"
	"slices"
	"strings"
	"sync"
)

// Replacement stands where a secret was.
const Replacement = "********"

// MinLength is the shortest secret masked: shorter values (a port, "true") would mask ordinary words.
const MinLength = 8

// Masker replaces every known secret, and the base64 forms git and HTTP Basic auth put them in.
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

// String returns s with every secret replaced.
func (m *Masker) String(s string) string {
	m.mu.RLock()
	r := m.replacer
	m.mu.RUnlock()
	if r == nil {
		return s
	}
	return r.Replace(s)
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
