// Package runtimes reads what a repository says about its toolchain, its version files (.nvmrc,
// .node-version, .python-version, .tool-versions, mise.toml) and its lockfiles (package-lock.json,
// uv.lock, Gemfile.lock, go.sum, ...), and turns it into a Plan: the commands that install those
// runtime versions with mise and then the dependencies, in order, and the network domains they need.
//
// It only reads files; running the plan is the runner's (runner/runtimes.go), in the task's
// sandbox. Detection looks at the workspace's top folder only: a lockfile in a subfolder of a
// monorepo is not acted on.
package runtimes

import (
	"slices"
	"strings"
)

// Workspace stands for the workspace's path as the sandbox sees it, in Step.Env and Step.AgentEnv
// values and in Step.AgentPath; the runner replaces it.
const Workspace = "{workspace}"

// Tool is one runtime a version file asks for.
type Tool struct {
	// Name is mise's name for it ("node", "python", "go", "npm:prettier").
	Name string
	// Version is what the file says ("20", "lts/*", "3.12.1"); several versions are separated by
	// spaces.
	Version string
	// File is the version file it came from, relative to the workspace.
	File string
}

func (t Tool) String() string { return t.Name + "@" + t.Version }

// StepMise is the Name of the step that installs the runtimes with mise.
const StepMise = "mise install"

// Step is one command of a plan.
type Step struct {
	// Name says what it does in a word or two: "mise install", "npm ci".
	Name string
	// Argv is the command. For StepMise, Argv[0] is "mise"; the runner uses its own mise.
	Argv []string
	// Dir is the working directory relative to the workspace; "" is the workspace.
	Dir string
	// Env is added to the command's environment (values may hold Workspace).
	Env map[string]string
	// Needs is the program that must be on the sandbox's PATH (after the runtimes are installed)
	// for the step to run; without it the step is skipped.
	Needs string
	// File is the file that asked for the step (a lockfile, or the version files).
	File string
	// AgentPath are folders (holding Workspace) put first on the agent's PATH once the step
	// succeeded: a virtual environment's bin.
	AgentPath []string
	// AgentEnv is environment the agent's commands get once the step succeeded (values may hold
	// Workspace): where bundler installed the gems.
	AgentEnv map[string]string
	// Exclude are .gitignore patterns for what the step writes into the workspace, so that the
	// agent's commit leaves them out (.venv/, vendor/bundle/).
	Exclude []string
}

// Plan is what a repository needs before its agent starts.
type Plan struct {
	// Tools are the runtime versions its version files name, in the order found.
	Tools []Tool
	// Steps are the commands to run, in order: StepMise first when there are Tools, then one per
	// lockfile.
	Steps []Step
	// Problems are version files or lockfiles that could not be read, one line each; they are
	// reported and otherwise ignored.
	Problems []string
}

// Empty reports whether there is nothing to run.
func (p Plan) Empty() bool { return len(p.Steps) == 0 }

// Domains returns the host names the plan's commands download from, sorted, without repeats: the
// package registries of its lockfiles and the sites mise fetches its runtimes from.
func (p Plan) Domains() []string {
	var out []string
	if len(p.Tools) > 0 {
		out = append(out, miseDomains...)
		for _, t := range p.Tools {
			out = append(out, toolDomains(t.Name)...)
		}
	}
	for _, s := range p.Steps {
		if s.Name != StepMise {
			out = append(out, stepDomains[s.Needs]...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Exclude returns the .gitignore patterns of every step, without repeats.
func (p Plan) Exclude() []string {
	var out []string
	for _, s := range p.Steps {
		for _, e := range s.Exclude {
			if !slices.Contains(out, e) {
				out = append(out, e)
			}
		}
	}
	return out
}

// Domain lists, checked against what mise 2026.9 and the package managers fetch.
var (
	// githubDownloads is where GitHub serves release assets from (mise's python, ruby, bun and
	// most aqua/ubi tools), and its API, which mise asks for versions.
	githubDownloads = []string{"github.com", "api.github.com", "objects.githubusercontent.com", "release-assets.githubusercontent.com"}
	// miseDomains serve every install: mise's own version list service, and GitHub.
	miseDomains = append([]string{"mise-versions.jdx.dev", "mise.jdx.dev"}, githubDownloads...)
	npmRegistry = []string{"registry.npmjs.org"}
	pypi        = []string{"pypi.org", "files.pythonhosted.org"}
	rubygems    = []string{"rubygems.org", "index.rubygems.org"}
	goProxy     = []string{"proxy.golang.org", "sum.golang.org"}
	crates      = []string{"index.crates.io", "static.crates.io", "crates.io"}
)

// runtimeDomains are, per mise core tool, the sites beyond miseDomains its install downloads from.
var runtimeDomains = map[string][]string{
	"node":   {"nodejs.org"},
	"python": {"www.python.org"},
	"ruby":   {"cache.ruby-lang.org"},
	"go":     {"go.dev", "dl.google.com"},
	"rust":   {"static.rust-lang.org", "sh.rustup.rs"},
	"deno":   {"dl.deno.land"},
	"java":   {"download.java.net", "api.adoptium.net"},
	"bun":    {},
}

// backendDomains are, per mise backend prefix ("npm:" in "npm:prettier"), the registries it uses.
var backendDomains = map[string][]string{
	"npm":   npmRegistry,
	"pipx":  pypi,
	"cargo": crates,
	"go":    goProxy,
	"gem":   rubygems,
}

func toolDomains(name string) []string {
	if backend, _, ok := strings.Cut(name, ":"); ok {
		return backendDomains[backend] // aqua:, ubi:, github: download from GitHub (miseDomains)
	}
	return runtimeDomains[name]
}

// stepDomains are the registries of each installer, by the program it runs.
var stepDomains = map[string][]string{
	"npm":     npmRegistry,
	"pnpm":    npmRegistry,
	"yarn":    {"registry.npmjs.org", "registry.yarnpkg.com", "repo.yarnpkg.com"},
	"bun":     npmRegistry,
	"python3": pypi,
	"uv":      append(slices.Clone(pypi), githubDownloads...), // uv may fetch a Python build from GitHub
	"poetry":  pypi,
	"bundle":  rubygems,
	"go":      goProxy,
	"cargo":   crates,
}
