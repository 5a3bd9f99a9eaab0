package runtimes

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// write makes a workspace holding files (path → content).
func write(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const toolVersions = `# asdf and mise read this
nodejs 20.11.1   # the LTS our CI uses
python 3.12.1 3.11.7

golang 1.22.0
ruby   3.3.0 # comment after
   # indented comment
`

const miseToml = `# mise.toml of a monorepo
[env]
NODE_ENV = "development"

[tools]
node = "22"
python = ["3.12", "3.11"]
"npm:prettier" = "3.3.3"
go = { version = "1.23.1", os = ["linux"] }

[settings]
experimental = true
`

const packageJSON = `{"name": "demo", "version": "1.0.0", "dependencies": {"is-number": "7.0.0"}}`

func TestDetect(t *testing.T) {
	npmCI := Step{Name: "npm ci", Argv: []string{"npm", "ci", "--no-audit", "--no-fund"}, Needs: "npm", File: "package-lock.json", Exclude: []string{"/node_modules/"}}
	tests := []struct {
		name    string
		files   map[string]string
		tools   []Tool
		steps   []string // Name and Argv of each step
		domains []string
		problem string // a substring of Problems
	}{
		{name: "nothing", files: map[string]string{"README.md": "hi"}},
		{
			name:  "nvmrc lts and a package-lock",
			files: map[string]string{".nvmrc": "lts/*\n", "package.json": packageJSON, "package-lock.json": "{}"},
			tools: []Tool{{Name: "node", Version: "lts/*", File: ".nvmrc"}},
			steps: []string{"mise install: mise install", "npm ci: npm ci --no-audit --no-fund"},
			domains: []string{"api.github.com", "github.com", "mise-versions.jdx.dev", "mise.jdx.dev", "nodejs.org",
				"objects.githubusercontent.com", "registry.npmjs.org", "release-assets.githubusercontent.com"},
		},
		{
			name:  "node-version with v and CRLF",
			files: map[string]string{".node-version": "v20\r\n"},
			tools: []Tool{{Name: "node", Version: "v20", File: ".node-version"}},
			steps: []string{"mise install: mise install"},
		},
		{
			name:  "tool-versions with comments and several tools",
			files: map[string]string{".tool-versions": toolVersions, ".nvmrc": "18", ".python-version": "3.9\n"},
			tools: []Tool{
				{Name: "node", Version: "20.11.1", File: ".tool-versions"},
				{Name: "python", Version: "3.12.1 3.11.7", File: ".tool-versions"},
				{Name: "go", Version: "1.22.0", File: ".tool-versions"},
				{Name: "ruby", Version: "3.3.0", File: ".tool-versions"},
			},
			steps: []string{"mise install: mise install"},
		},
		{
			name:  "mise.toml tools table wins over the others",
			files: map[string]string{"mise.toml": miseToml, ".tool-versions": "nodejs 18.0.0\nrust 1.80.0\n", ".python-version": "3.8"},
			tools: []Tool{
				{Name: "go", Version: "1.23.1", File: "mise.toml"},
				{Name: "node", Version: "22", File: "mise.toml"},
				{Name: "npm:prettier", Version: "3.3.3", File: "mise.toml"},
				{Name: "python", Version: "3.12 3.11", File: "mise.toml"},
				{Name: "rust", Version: "1.80.0", File: ".tool-versions"},
			},
			steps: []string{"mise install: mise install"},
			domains: []string{"api.github.com", "dl.google.com", "github.com", "go.dev", "mise-versions.jdx.dev", "mise.jdx.dev", "nodejs.org",
				"objects.githubusercontent.com", "registry.npmjs.org", "release-assets.githubusercontent.com", "sh.rustup.rs",
				"static.rust-lang.org", "www.python.org"},
		},
		{
			name:    "a broken mise.toml is a problem, the rest goes on",
			files:   map[string]string{".mise.toml": "[tools\nnode = 1", ".nvmrc": "20"},
			tools:   []Tool{{Name: "node", Version: "20", File: ".nvmrc"}},
			steps:   []string{"mise install: mise install"},
			problem: ".mise.toml: toml:",
		},
		{
			name:  "packageManager picks pnpm among two lockfiles",
			files: map[string]string{"package.json": `{"packageManager": "pnpm@9.1.0"}`, "pnpm-lock.yaml": "", "package-lock.json": "{}"},
			steps: []string{"pnpm install: pnpm install --frozen-lockfile"},
		},
		{
			name:    "yarn classic",
			files:   map[string]string{"package.json": packageJSON, "yarn.lock": "# yarn lockfile v1\n\nis-number@7.0.0:\n"},
			steps:   []string{"yarn install: yarn install --frozen-lockfile"},
			domains: []string{"registry.npmjs.org", "registry.yarnpkg.com", "repo.yarnpkg.com"},
		},
		{
			name:  "yarn berry",
			files: map[string]string{"package.json": packageJSON, "yarn.lock": "# This file is generated\n\n__metadata:\n  version: 8\n"},
			steps: []string{"yarn install: yarn install --immutable"},
		},
		{
			name:  "bun text lockfile",
			files: map[string]string{"package.json": packageJSON, "bun.lock": "{}"},
			steps: []string{"bun install: bun install --frozen-lockfile"},
		},
		{
			name:  "a lockfile without package.json does nothing",
			files: map[string]string{"package-lock.json": "{}"},
		},
		{
			name:    "requirements into a venv",
			files:   map[string]string{"requirements.txt": "requests==2.32.3\n"},
			steps:   []string{"pip install: sh -c python3 -m venv .venv && exec .venv/bin/pip install --disable-pip-version-check --no-input -r requirements.txt"},
			domains: []string{"files.pythonhosted.org", "pypi.org"},
		},
		{
			name:  "uv.lock wins over requirements",
			files: map[string]string{"uv.lock": "version = 1\n", "requirements.txt": "x\n", "pyproject.toml": ""},
			steps: []string{"uv sync: uv sync --frozen"},
		},
		{
			name:  "poetry",
			files: map[string]string{"poetry.lock": "", "pyproject.toml": ""},
			steps: []string{"poetry install: poetry install --no-interaction --no-root"},
		},
		{
			name: "bundle, go and cargo together",
			files: map[string]string{"Gemfile": "", "Gemfile.lock": "GEM\n", "go.mod": "module x\n", "go.sum": "",
				"Cargo.toml": "", "Cargo.lock": ""},
			steps: []string{"bundle install: bundle install", "go mod download: go mod download", "cargo fetch: cargo fetch --locked"},
			domains: []string{"crates.io", "index.crates.io", "index.rubygems.org", "proxy.golang.org", "rubygems.org",
				"static.crates.io", "sum.golang.org"},
		},
		{
			name:  "go.sum without go.mod does nothing",
			files: map[string]string{"go.sum": ""},
		},
		{
			name:    "a package.json that is not JSON still installs",
			files:   map[string]string{"package.json": "{", "package-lock.json": "{}"},
			steps:   []string{"npm ci: npm ci --no-audit --no-fund"},
			problem: "package.json:",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := Detect(write(t, tc.files))
			if diff := cmp.Diff(tc.tools, p.Tools, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("tools (-want +got):\n%s", diff)
			}
			var steps []string
			for _, s := range p.Steps {
				steps = append(steps, s.Name+": "+strings.Join(s.Argv, " "))
			}
			if diff := cmp.Diff(tc.steps, steps, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("steps (-want +got):\n%s", diff)
			}
			if tc.domains != nil {
				if diff := cmp.Diff(tc.domains, p.Domains()); diff != "" {
					t.Errorf("domains (-want +got):\n%s", diff)
				}
			}
			if p.Empty() != (len(tc.steps) == 0) {
				t.Errorf("Empty() = %v with steps %q", p.Empty(), steps)
			}
			if len(tc.steps) == 0 && len(p.Domains()) != 0 {
				t.Errorf("no steps but domains %q", p.Domains())
			}
			problems := strings.Join(p.Problems, "\n")
			if tc.problem == "" && problems != "" || !strings.Contains(problems, tc.problem) {
				t.Errorf("problems %q, want one with %q", problems, tc.problem)
			}
		})
	}
	t.Run("npm step", func(t *testing.T) {
		p := Detect(write(t, map[string]string{"package.json": packageJSON, "package-lock.json": "{}"}))
		if diff := cmp.Diff([]Step{npmCI}, p.Steps); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"/node_modules/"}, p.Exclude()); diff != "" {
			t.Errorf("exclude (-want +got):\n%s", diff)
		}
	})
}

// A version file that is a link out of the workspace is not read: the plan is made before any
// sandbox, by the server.
func TestDetectDoesNotLeaveTheWorkspace(t *testing.T) {
	outside := write(t, map[string]string{"secret": "node 1.2.3\n"})
	ws := write(t, map[string]string{"package.json": packageJSON})
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(ws, ".tool-versions")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(ws, "package-lock.json")); err != nil {
		t.Fatal(err)
	}
	p := Detect(ws)
	if len(p.Tools) != 0 || len(p.Steps) != 0 {
		t.Errorf("read through a link out of the workspace: tools %v, steps %v", p.Tools, p.Steps)
	}
	if len(p.Problems) == 0 {
		t.Errorf("no problem reported for the link out")
	}
}

func TestParseVersionFile(t *testing.T) {
	for in, want := range map[string]string{
		"lts/*\n":              "lts/*",
		"v20":                  "v20",
		"  20.11.1  \n\n":      "20.11.1",
		"# pinned\n3.12\n":     "3.12",
		"3.12\n3.11\n":         "3.12 3.11",
		"lts/iron # for CI\n":  "lts/iron",
		"":                     "",
		"\n   \n# only a note": "",
	} {
		if got := parseVersionFile(in); got != want {
			t.Errorf("parseVersionFile(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzDetect(f *testing.F) {
	f.Add(toolVersions, miseToml, "lts/*")
	f.Fuzz(func(t *testing.T, tv, mt, nvmrc string) {
		p := Detect(write(t, map[string]string{".tool-versions": tv, "mise.toml": mt, ".nvmrc": nvmrc}))
		for _, tool := range p.Tools {
			if tool.Name == "" || tool.Version == "" {
				t.Fatalf("tool without a name or version: %+v", tool)
			}
		}
	})
}
