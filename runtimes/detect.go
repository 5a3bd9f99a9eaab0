package runtimes

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
)

// maxFile is the most Detect reads of a version file or package.json; a larger one is a problem, not
// a plan.
const maxFile = 1 << 20

// Detect reads workspace's version files and lockfiles and returns its plan. It never fails: a
// file it cannot read or parse is left out and named in Plan.Problems. It does not follow a
// symbolic link that leaves workspace (an agent never ran there yet, but a repository may hold one).
func Detect(workspace string) Plan {
	root, err := os.OpenRoot(workspace)
	if err != nil {
		return Plan{Problems: []string{fmt.Sprintf("read the workspace: %v", err)}}
	}
	defer root.Close()
	d := detector{root: root}
	d.versions()
	if len(d.plan.Tools) > 0 {
		d.plan.Steps = append(d.plan.Steps, Step{Name: StepMise, Argv: []string{"mise", "install"}, Needs: "mise", File: d.toolFiles()})
	}
	d.lockfiles()
	return d.plan
}

type detector struct {
	root *os.Root
	plan Plan
}

// read returns the file name in the workspace, "" and false when there is none (or it is a
// folder), and notes a problem when it exists but cannot be read.
func (d *detector) read(name string) (string, bool) {
	f, err := d.root.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false
	}
	if err != nil {
		d.problem(name, err)
		return "", false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.IsDir() {
		return "", false
	}
	if fi.Size() > maxFile {
		d.problem(name, fmt.Errorf("larger than %d bytes", maxFile))
		return "", false
	}
	b := make([]byte, fi.Size())
	if _, err := f.Read(b); err != nil && fi.Size() > 0 {
		d.problem(name, err)
		return "", false
	}
	return string(b), true
}

// exists reports whether the workspace has a regular file (or a link to one inside it) called name.
func (d *detector) exists(name string) bool {
	fi, err := d.root.Stat(name)
	return err == nil && !fi.IsDir()
}

func (d *detector) problem(file string, err error) {
	d.plan.Problems = append(d.plan.Problems, fmt.Sprintf("%s: %v", file, err))
}

// addTool adds a tool unless a file read earlier named it already: mise.toml wins over
// .tool-versions, which wins over the idiomatic files (.nvmrc, .python-version), as in mise.
func (d *detector) addTool(t Tool) {
	for _, have := range d.plan.Tools {
		if have.Name == t.Name {
			return
		}
	}
	d.plan.Tools = append(d.plan.Tools, t)
}

// toolFiles names the version files the tools came from, for the mise step's File.
func (d *detector) toolFiles() string {
	var files []string
	for _, t := range d.plan.Tools {
		if !slices.Contains(files, t.File) {
			files = append(files, t.File)
		}
	}
	return strings.Join(files, ", ")
}

// versions reads the version files, most specific first.
func (d *detector) versions() {
	for _, name := range []string{"mise.toml", ".mise.toml"} {
		if s, ok := d.read(name); ok {
			tools, err := parseMiseToml(s)
			if err != nil {
				d.problem(name, err)
			}
			for _, t := range tools {
				t.File = name
				d.addTool(t)
			}
		}
	}
	if s, ok := d.read(".tool-versions"); ok {
		for _, t := range parseToolVersions(s) {
			t.File = ".tool-versions"
			d.addTool(t)
		}
	}
	for _, f := range []struct{ name, tool string }{
		{".nvmrc", "node"}, {".node-version", "node"}, {".python-version", "python"},
	} {
		if s, ok := d.read(f.name); ok {
			if v := parseVersionFile(s); v != "" {
				d.addTool(Tool{Name: f.tool, Version: v, File: f.name})
			}
		}
	}
}

// lockfiles adds a step for each package manager whose lockfile is there.
func (d *detector) lockfiles() {
	if s := d.jsStep(); s != nil {
		d.plan.Steps = append(d.plan.Steps, *s)
	}
	// Python: one installer, the most specific lockfile's.
	switch {
	case d.exists("uv.lock"):
		d.plan.Steps = append(d.plan.Steps, Step{Name: "uv sync", Argv: []string{"uv", "sync", "--frozen"}, Needs: "uv", File: "uv.lock",
			Env: map[string]string{"UV_PROJECT_ENVIRONMENT": Workspace + "/.venv"}, AgentPath: []string{Workspace + "/.venv/bin"},
			AgentEnv: map[string]string{"VIRTUAL_ENV": Workspace + "/.venv"}, Exclude: []string{"/.venv/"}})
	case d.exists("poetry.lock"):
		d.plan.Steps = append(d.plan.Steps, Step{Name: "poetry install", Argv: []string{"poetry", "install", "--no-interaction", "--no-root"},
			Needs: "poetry", File: "poetry.lock", Env: map[string]string{"POETRY_VIRTUALENVS_IN_PROJECT": "true"},
			AgentPath: []string{Workspace + "/.venv/bin"}, AgentEnv: map[string]string{"VIRTUAL_ENV": Workspace + "/.venv"}, Exclude: []string{"/.venv/"}})
	case d.exists("requirements.txt"):
		d.plan.Steps = append(d.plan.Steps, Step{Name: "pip install",
			Argv:  []string{"sh", "-c", "python3 -m venv .venv && exec .venv/bin/pip install --disable-pip-version-check --no-input -r requirements.txt"},
			Needs: "python3", File: "requirements.txt",
			AgentPath: []string{Workspace + "/.venv/bin"}, AgentEnv: map[string]string{"VIRTUAL_ENV": Workspace + "/.venv"}, Exclude: []string{"/.venv/"}})
	}
	if d.exists("Gemfile.lock") {
		gems := map[string]string{"BUNDLE_PATH": Workspace + "/vendor/bundle"}
		d.plan.Steps = append(d.plan.Steps, Step{Name: "bundle install", Argv: []string{"bundle", "install"}, Needs: "bundle", File: "Gemfile.lock",
			Env: map[string]string{"BUNDLE_PATH": Workspace + "/vendor/bundle", "BUNDLE_FROZEN": "true"}, AgentEnv: gems, Exclude: []string{"/vendor/bundle/"}})
	}
	if d.exists("go.sum") && d.exists("go.mod") {
		d.plan.Steps = append(d.plan.Steps, Step{Name: "go mod download", Argv: []string{"go", "mod", "download"}, Needs: "go", File: "go.sum"})
	}
	if d.exists("Cargo.lock") && d.exists("Cargo.toml") {
		d.plan.Steps = append(d.plan.Steps, Step{Name: "cargo fetch", Argv: []string{"cargo", "fetch", "--locked"}, Needs: "cargo", File: "Cargo.lock"})
	}
}

// jsStep is the install of the JavaScript dependencies: by the package manager package.json names
// ("packageManager": "pnpm@9.1.0") when its lockfile is there, else by the first lockfile found of
// pnpm, yarn, bun and npm. One only: two package managers would fight over node_modules.
func (d *detector) jsStep() *Step {
	want := ""
	if s, ok := d.read("package.json"); ok {
		var pkg struct {
			PackageManager string `json:"packageManager"`
		}
		if err := json.Unmarshal([]byte(s), &pkg); err != nil {
			d.problem("package.json", err)
		}
		want, _, _ = strings.Cut(pkg.PackageManager, "@")
	} else {
		return nil // a lockfile without package.json installs nothing
	}
	nodeModules := []string{"/node_modules/"}
	steps := []struct {
		manager, lockfile string
		step              func() Step
	}{
		{"pnpm", "pnpm-lock.yaml", func() Step {
			return Step{Name: "pnpm install", Argv: []string{"pnpm", "install", "--frozen-lockfile"}, Needs: "pnpm", File: "pnpm-lock.yaml", Exclude: nodeModules}
		}},
		{"yarn", "yarn.lock", func() Step {
			s := Step{Name: "yarn install", Argv: []string{"yarn", "install", "--frozen-lockfile"}, Needs: "yarn", File: "yarn.lock", Exclude: nodeModules}
			if d.yarnBerry() {
				s.Argv = []string{"yarn", "install", "--immutable"}
			}
			return s
		}},
		{"bun", "bun.lock", func() Step {
			return Step{Name: "bun install", Argv: []string{"bun", "install", "--frozen-lockfile"}, Needs: "bun", File: "bun.lock", Exclude: nodeModules}
		}},
		{"bun", "bun.lockb", func() Step {
			return Step{Name: "bun install", Argv: []string{"bun", "install", "--frozen-lockfile"}, Needs: "bun", File: "bun.lockb", Exclude: nodeModules}
		}},
		{"npm", "package-lock.json", func() Step {
			return Step{Name: "npm ci", Argv: []string{"npm", "ci", "--no-audit", "--no-fund"}, Needs: "npm", File: "package-lock.json", Exclude: nodeModules}
		}},
		{"npm", "npm-shrinkwrap.json", func() Step {
			return Step{Name: "npm ci", Argv: []string{"npm", "ci", "--no-audit", "--no-fund"}, Needs: "npm", File: "npm-shrinkwrap.json", Exclude: nodeModules}
		}},
	}
	for _, pass := range []bool{true, false} { // the named manager first, then any
		for _, s := range steps {
			if (!pass || s.manager == want) && d.exists(s.lockfile) {
				step := s.step()
				return &step
			}
		}
	}
	return nil
}

// yarnBerry reports whether the repository uses Yarn 2 or later, whose lockfile starts with a
// __metadata entry and whose install takes --immutable instead of --frozen-lockfile.
func (d *detector) yarnBerry() bool {
	if d.exists(".yarnrc.yml") {
		return true
	}
	s, _ := d.read("yarn.lock")
	return strings.Contains(s, "\n__metadata:")
}
