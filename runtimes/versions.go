package runtimes

import (
	"fmt"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

// toolAliases are the asdf names mise reads as its own in .tool-versions.
var toolAliases = map[string]string{"nodejs": "node", "golang": "go"}

// parseVersionFile reads an idiomatic version file (.nvmrc, .node-version, .python-version): its
// lines that are neither blank nor comments, joined by spaces ("3.12 3.11" for a pyenv file with two
// versions). "lts/*" and "v20" are kept as written: mise understands both.
func parseVersionFile(s string) string {
	var versions []string
	for _, line := range strings.Split(s, "\n") {
		line, _, _ = strings.Cut(line, "#")
		if line = strings.TrimSpace(line); line != "" {
			versions = append(versions, line)
		}
	}
	return strings.Join(versions, " ")
}

// parseToolVersions reads an asdf .tool-versions file: "tool version [version...]" per line, with
// "#" starting a comment anywhere.
func parseToolVersions(s string) []Tool {
	var tools []Tool
	for _, line := range strings.Split(s, "\n") {
		line, _, _ = strings.Cut(line, "#")
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		name := fields[0]
		if alias, ok := toolAliases[name]; ok {
			name = alias
		}
		tools = append(tools, Tool{Name: name, Version: strings.Join(fields[1:], " ")})
	}
	return tools
}

// parseMiseToml reads the [tools] table of a mise.toml (with BurntSushi/toml, which go.mod has for
// the config files). A tool's value is a version ("20"), a list of versions, or a table with a
// "version" key (and options such as os or postinstall, which do not matter here). Tools come
// sorted by name: a TOML table has no order.
func parseMiseToml(s string) ([]Tool, error) {
	var doc struct {
		Tools map[string]any `toml:"tools"`
	}
	if _, err := toml.Decode(s, &doc); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(doc.Tools))
	for name := range doc.Tools {
		names = append(names, name)
	}
	sort.Strings(names)
	var tools []Tool
	var bad []string
	for _, name := range names {
		v := tomlVersions(doc.Tools[name])
		if v == "" {
			bad = append(bad, name)
			continue
		}
		tools = append(tools, Tool{Name: name, Version: v})
	}
	if len(bad) > 0 {
		return tools, fmt.Errorf("[tools] %s: no version", strings.Join(bad, ", "))
	}
	return tools, nil
}

func tomlVersions(v any) string {
	switch v := v.(type) {
	case string:
		return strings.TrimSpace(v)
	case int64, float64:
		return fmt.Sprint(v)
	case []any:
		var out []string
		for _, x := range v {
			if s := tomlVersions(x); s != "" {
				out = append(out, s)
			}
		}
		return strings.Join(out, " ")
	case map[string]any:
		return tomlVersions(v["version"])
	}
	return ""
}
