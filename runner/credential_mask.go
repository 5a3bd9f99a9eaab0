package runner

import (
	"encoding/json"
	"strings"

	"github.com/sesame-works/sesame/mask"
)

// maskCredentials adds to m the secrets among a run's credentials (by env name), a user's own
// included, so that no log, event, reply or pull request repeats them. Endpoints and switches (…_URL,
// …_TYPE) are not secret. A JSON login (Codex's auth.json) is masked by its long string values, the
// tokens, since the agent never prints the file whole.
func maskCredentials(m *mask.Masker, creds map[string]string) {
	for env, v := range creds {
		if strings.HasSuffix(env, "_URL") || strings.HasSuffix(env, "_TYPE") || v == "" {
			continue
		}
		m.Add(v)
		var doc any
		if json.Unmarshal([]byte(v), &doc) == nil {
			addJSONSecrets(m, doc)
		}
	}
}

// addJSONSecrets adds every string of 16 bytes or more found in doc to m.
func addJSONSecrets(m *mask.Masker, doc any) {
	switch d := doc.(type) {
	case string:
		if len(d) >= 16 {
			m.Add(d)
		}
	case map[string]any:
		for _, v := range d {
			addJSONSecrets(m, v)
		}
	case []any:
		for _, v := range d {
			addJSONSecrets(m, v)
		}
	}
}
