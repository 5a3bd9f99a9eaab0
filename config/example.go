package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// exampleHeader opens config.yaml.example.
const exampleHeader = `# Sesame configuration file.
#
# Copy this file to config.yaml in the directory Sesame starts in, or pass
# --config PATH. The same keys, nested the same way, also work as config.json,
# config.jsonc or config.toml; keep only one config file. Every key is optional
# and the values below are the built-in defaults.
#
# Precedence, highest first: an environment variable (which also locks the
# setting in the admin UI), a value saved in the admin UI, this file, the
# default. Prefer environment variables for secrets.
#
# These must be set in the environment; they cannot come from this file:
`

// Example returns config.yaml.example: every setting the config file may hold,
// nested by key, with its default and a comment naming its environment
// variable. The settings that only the environment may set are listed in the
// header. config_test.go keeps the committed file equal to this.
func Example() []byte {
	var b bytes.Buffer
	b.WriteString(exampleHeader)
	for _, s := range registry {
		if s.EnvOnly {
			fmt.Fprintf(&b, "#   %-19s %s\n", s.Env, s.Description)
		}
	}
	b.WriteString("#\n# Generated from config/registry.go (go test ./config -update); edit that, not this.\n")

	var prev []string // the groups open above the current line
	for _, s := range registry {
		if !s.FromFile() {
			continue
		}
		parts := strings.Split(s.Key, ".")
		group, leaf := parts[:len(parts)-1], parts[len(parts)-1]
		same := 0
		for same < len(prev) && same < len(group) && prev[same] == group[same] {
			same++
		}
		if same == 0 {
			b.WriteString("\n")
		}
		for i := same; i < len(group); i++ {
			fmt.Fprintf(&b, "%s%s:\n", indent(i), group[i])
		}
		in := indent(len(group))
		fmt.Fprintf(&b, "%s# %s. Env: %s.\n", in, s.Description, strings.Join(s.EnvNames(), " or "))
		fmt.Fprintf(&b, "%s%s: %s\n", in, leaf, yamlValue(s))
		prev = group
	}
	return b.Bytes()
}

func indent(depth int) string { return strings.Repeat("  ", depth) }

// yamlValue prints the default of s as YAML: booleans and integers bare,
// strings double-quoted, lists as flow sequences.
func yamlValue(s Setting) string {
	switch s.Type {
	case TypeBool, TypeInt:
		return s.Default
	case TypeList:
		items := splitList(s.Default)
		quoted := make([]string, len(items))
		for i, item := range items {
			quoted[i] = quote(item)
		}
		return "[" + strings.Join(quoted, ", ") + "]"
	}
	return quote(s.Default)
}

// quote returns s as a double-quoted string, which JSON and YAML read alike.
func quote(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}
