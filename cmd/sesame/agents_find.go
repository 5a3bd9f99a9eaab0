package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/agent"
	"github.com/sesame-works/sesame/sandbox/local"
)

// agentPaths says where this host has the agent CLIs: in AGENTS_DIR, the layout scripts/install-agents
// makes ({dir}/{name}/node_modules/.bin/{program}), else on the PATH this server started with. The PATH
// is read once, at start, and what it finds is kept as an absolute path with its symbolic links
// resolved, so that neither the sandbox's PATH nor a later change of the server's matters.
type agentPaths struct {
	dir    string            // AGENTS_DIR, absolute; "" when it is not set
	onPath map[string]string // by agent name: its CLI on the server's PATH, absolute, links resolved
	node   string            // node on the server's PATH, absolute, links resolved; "" when there is none
}

// findAgents looks every agent of the catalog, and node, up on lookPath (exec.LookPath: the server's
// PATH). dir is AGENTS_DIR ("" when unset).
func findAgents(dir string, lookPath func(string) (string, error)) agentPaths {
	p := agentPaths{onPath: map[string]string{}}
	if dir != "" {
		if abs, err := filepath.Abs(dir); err == nil {
			p.dir = abs
		}
	}
	for _, e := range agent.Catalog() {
		if exe := resolve(e.Executable, lookPath); exe != "" {
			p.onPath[e.Name] = exe
		}
	}
	p.node = resolve("node", lookPath)
	return p
}

// resolve is the program name found by lookPath as an absolute path without symbolic links, or "".
func resolve(name string, lookPath func(string) (string, error)) string {
	found, err := lookPath(name)
	if err != nil {
		return ""
	}
	abs, err := filepath.Abs(found)
	if err != nil {
		return ""
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		return real
	}
	return ""
}

// inDir is e's program in the AGENTS_DIR layout, whether or not it is there; "" without AGENTS_DIR.
func (p agentPaths) inDir(e agent.Entry) string {
	if p.dir == "" {
		return ""
	}
	return filepath.Join(p.dir, e.Name, "node_modules", ".bin", e.Executable)
}

// executable returns the CLI of e to run: the one in AGENTS_DIR when it is there (looked at on every
// call, so that scripts/install-agents needs no restart), else the one found on the PATH at start.
// Neither gives a *sesame.Error that names the package to install.
func (p agentPaths) executable(e agent.Entry) (string, error) {
	if exe := p.inDir(e); exe != "" {
		if info, err := os.Stat(exe); err == nil && !info.IsDir() {
			return exe, nil
		}
	}
	if exe, ok := p.onPath[e.Name]; ok {
		return exe, nil
	}
	return "", sesame.Errorf(sesame.EUNAVAILABLE,
		"%s is not installed on this worker: install %s (scripts/install-agents) or set AGENTS_DIR.", e.Title, e.Install())
}

// systemFolders are the host folders every local sandbox sees read-only (sandbox/local).
var systemFolders = []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"}

// sandboxPaths are what a local sandbox must see, read-only, for the CLIs found on the PATH to run:
// readOnly holds the node_modules folder each one lives in (a global npm install keeps its native
// parts in sibling packages), or the program itself outside one, unless it is in a system folder that
// every sandbox sees already; extraPath holds node's folder when it is not on the sandbox's own PATH,
// for the CLIs that are node scripts ("#!/usr/bin/env node"). AGENTS_DIR is bound as a whole
// elsewhere (localSandbox).
func (p agentPaths) sandboxPaths() (readOnly, extraPath []string) {
	for _, e := range agent.Catalog() {
		exe, ok := p.onPath[e.Name]
		if !ok || inSystemFolder(exe) {
			continue
		}
		bind := exe
		if i := strings.LastIndex(exe, "/node_modules/"); i >= 0 {
			bind = exe[:i+len("/node_modules")]
		}
		// A folder the sandbox's user cannot reach (under root's home) would make every sandbox
		// fail to start; left out, only this agent's tasks fail, saying the CLI is out of reach.
		if !slices.Contains(readOnly, bind) && othersReach(bind) {
			readOnly = append(readOnly, bind)
		}
	}
	if p.node != "" {
		dir := filepath.Dir(p.node)
		if !slices.Contains(filepath.SplitList(local.DefaultPath), dir) && othersReach(dir) {
			extraPath = append(extraPath, dir)
		}
	}
	return readOnly, extraPath
}

// othersReach reports whether any user may pass through every folder above path, as the sandbox's
// user must to see it. A path that does not exist (a test's made-up one) is not checked.
func othersReach(path string) bool {
	for dir := filepath.Dir(path); dir != "/" && dir != "."; dir = filepath.Dir(dir) {
		info, err := os.Stat(dir)
		if err != nil {
			return true
		}
		if info.Mode().Perm()&0o001 == 0 {
			return false
		}
	}
	return true
}

// inSystemFolder reports whether path lies in one of systemFolders.
func inSystemFolder(path string) bool {
	for _, dir := range systemFolders {
		if strings.HasPrefix(path, dir+"/") {
			return true
		}
	}
	return false
}

// envCopilotCache is the environment name under which Copilot CLI's adapter takes the folder holding its
// unpacked package, and the folder in AGENTS_DIR where scripts/install-agents unpacks it.
const (
	envCopilotCache = "COPILOT_PKG_CACHE_HOME"
	copilotCacheDir = "copilot-cache"
)

// packageCache returns, for a CLI that unpacks itself before it starts (Copilot CLI, 235 MB), the
// environment name and folder of the copy scripts/install-agents unpacked in AGENTS_DIR, which every
// local sandbox sees read-only; "" when exe is not from AGENTS_DIR or there is none. Without it each
// run unpacks into its own home.
func (p agentPaths) packageCache(e agent.Entry, exe string) (env, dir string) {
	if e.Name != "copilot" || p.dir == "" || exe != p.inDir(e) {
		return "", ""
	}
	dir = filepath.Join(p.dir, copilotCacheDir)
	if matches, _ := filepath.Glob(filepath.Join(dir, "pkg", "*", e.Version, "index.js")); len(matches) == 0 {
		return "", ""
	}
	return envCopilotCache, dir
}
