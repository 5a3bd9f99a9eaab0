package config

import (
	"cmp"
	"net/url"
	"slices"
	"strings"
)

// Value is one setting as shown to an operator: on the admin page, by
// `sesame doctor`, in logs.
type Value struct {
	Key    string
	Env    string // the setting's main environment variable
	Value  string // secrets masked (see Describe)
	Source Source
	Locked bool   // set by an environment variable
	Origin string // the variable, file or "admin settings" that set it; "" for the default
	Secret bool
}

// Describe returns every setting in registry order with its value and where it
// came from. A secret shows as "(not set)" when empty and otherwise as "****",
// followed by its last four characters only when it is at least 16 long.
func (c *Config) Describe() []Value {
	out := make([]Value, 0, len(registry))
	for _, s := range registry {
		e := c.values[s.Key]
		v := e.value
		if s.Secret {
			v = mask(v)
		}
		out = append(out, Value{
			Key:    s.Key,
			Env:    s.Env,
			Value:  v,
			Source: e.source,
			Locked: e.source == SourceEnv,
			Origin: e.origin,
			Secret: s.Secret,
		})
	}
	return out
}

// mask hides a secret value. Lengths count characters, not bytes.
func mask(v string) string {
	r := []rune(v)
	switch {
	case len(r) == 0:
		return "(not set)"
	case len(r) >= 16:
		return "****" + string(r[len(r)-4:])
	default:
		return "****"
	}
}

// Secrets returns every non-empty secret value, longest first, for a masker
// that scrubs logs and agent output. Besides each whole value it lists the
// password inside a URL (DATABASE_URL, REDIS_URL) and each line of a
// multi-line secret (a PEM key), since those can be printed on their own.
// The GitHub App key read from github.privateKeyPath is not included: add the
// bytes GitHubPrivateKey returns.
func (c *Config) Secrets() []string {
	seen := map[string]bool{}
	var out []string
	add := func(v string) {
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	for _, s := range registry {
		v := c.values[s.Key].value
		if !s.Secret || v == "" {
			continue
		}
		add(v)
		if u, err := url.Parse(v); err == nil && u.User != nil {
			if p, ok := u.User.Password(); ok {
				add(p)
			}
		}
		if strings.Contains(v, "\n") {
			for line := range strings.Lines(v) {
				line = strings.TrimSpace(line)
				if len(line) >= 16 && !strings.HasPrefix(line, "-----") {
					add(line)
				}
			}
		}
	}
	slices.SortStableFunc(out, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	return out
}
