package runner_test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/internal/modeltest"
	"github.com/sesame-works/sesame/runner"
)

// jsRepo is a repository asking for node 20 (.nvmrc) with one dependency locked from the real npm
// registry: is-number 7.0.0, which has no dependencies of its own.
const jsRepo = "octo/js"

var jsFiles = map[string]string{
	"README.md":    fixMe,
	".nvmrc":       "20\n",
	"package.json": `{"name": "js", "version": "1.0.0", "private": true, "dependencies": {"is-number": "7.0.0"}}`,
	"package-lock.json": `{
  "name": "js",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {"name": "js", "version": "1.0.0", "dependencies": {"is-number": "7.0.0"}},
    "node_modules/is-number": {
      "version": "7.0.0",
      "resolved": "https://registry.npmjs.org/is-number/-/is-number-7.0.0.tgz",
      "integrity": "sha512-41Cifkg6e8TylSpdtTpeLVMqvSBEVzTttHvERD741+pnZ8ANv0004MRL43QKPDlK9cGvNp6NZWZUBlbGXYxxng==",
      "license": "MIT",
      "engines": {"node": ">=0.12.0"}
    }
  }
}
`,
}

// probeAndFix is what the agent runs: it says where node comes from, whether the dependency is
// there, what mise's data folder is, then fixes the typo.
const probeAndFix = `echo "node=$(command -v node)"; node --version; node -p '"is-number=" + require("is-number")(5)'; ` +
	`echo "mise_data=$MISE_DATA_DIR"; test -d node_modules && echo has-node-modules || echo no-node-modules; sed -i 's/teh typo/the typo/' README.md`

// runtimeHarness is an agent harness whose runner installs runtimes with the mise of
// scripts/install-agents, from a node mirror served on 127.0.0.1 that the sandbox policy allows.
type runtimeHarness struct {
	*agentHarness
	mirror *nodeMirror
	bare   string // jsRepo on the fake GitHub
}

func newRuntimeHarness(t *testing.T, files map[string]string, install bool) *runtimeHarness {
	t.Helper()
	h := &runtimeHarness{agentHarness: newAgentHarness(t), mirror: newNodeMirror(t)}
	h.bare = h.gh.CreateRepo(t, jsRepo, files)
	h.gh.AddInstallation(9, jsRepo)
	r := h.runner
	r.Settings.InstallRuntimes = install
	r.Runtimes = runner.RuntimeOptions{Mise: misePath(t), Env: map[string]string{
		"MISE_NODE_MIRROR_URL":   h.mirror.URL + "/",
		"MISE_USE_VERSIONS_HOST": "false", // mise-versions.jdx.dev is not reachable from here
	}}
	// This machine's egress intercepts TLS with its own CA, which the host's node trusts through
	// NODE_EXTRA_CA_CERTS (and Debian's /etc/npmrc); the node that mise installs reads neither
	// unless told, as an operator behind such a proxy would tell it with RuntimeOptions.Env.
	if ca := os.Getenv("NODE_EXTRA_CA_CERTS"); ca != "" {
		r.Runtimes.Env["NODE_EXTRA_CA_CERTS"] = ca
	}
	endpoint := strings.TrimPrefix(h.mirror.URL, "http://")
	r.Policy = func(context.Context) (sesame.SandboxPolicy, error) {
		return sesame.SandboxPolicy{SecurityEnabled: true, AllowedDomains: []string{endpoint}}, nil
	}
	return h
}

// runJS runs a web task on jsRepo whose agent runs script, and returns it ended, with its events.
func (h *runtimeHarness) runJS(t *testing.T, script string) (*sesame.Task, []sesame.TaskEvent) {
	t.Helper()
	h.model.SetSteps(modeltest.Bash(script), modeltest.Step{Text: "Fixed the typo."})
	task := h.create(t, sesame.Request{Source: sesame.SourceWeb, Kind: sesame.KindRun, Repo: jsRepo, InstallationID: 9,
		Requester: "Alice", Instruction: "fix the typo"})
	if err := h.runner.Run(context.Background(), task.ID); err != nil {
		t.Fatal(err)
	}
	events, err := h.store.Events(context.Background(), task.ID)
	if err != nil {
		t.Fatal(err)
	}
	return h.reload(t, task.ID), events
}

// setupSteps returns the ending event of each setup step by step name (the last one).
func setupSteps(events []sesame.TaskEvent) map[string]sesame.TaskEvent {
	out := map[string]sesame.TaskEvent{}
	for _, e := range events {
		st, _ := e.Data["status"].(string)
		if e.Type == sesame.EventSetup && st != "output" && st != "started" && e.Data["step"] != nil {
			out[fmt.Sprint(e.Data["step"])] = e
		}
	}
	return out
}

func agentOutput(events []sesame.TaskEvent) string {
	var b strings.Builder
	for _, e := range events {
		if e.Type == sesame.EventAgent && e.Data["kind"] == "tool_result" {
			fmt.Fprintln(&b, e.Data["output"])
		}
	}
	return b.String()
}

func setupLog(events []sesame.TaskEvent) string {
	var b strings.Builder
	for _, e := range events {
		if e.Type == sesame.EventSetup {
			fmt.Fprintf(&b, "  [%v] %s\n", e.Data["status"], e.Message)
		}
	}
	return b.String()
}

func sandboxDomains(t *testing.T, events []sesame.TaskEvent) []string {
	t.Helper()
	for _, e := range events {
		if e.Type == sesame.EventSandbox {
			var out []string
			for _, d := range e.Data["allowed_domains"].([]any) {
				out = append(out, fmt.Sprint(d))
			}
			return out
		}
	}
	t.Fatal("no sandbox event")
	return nil
}

// checkStep checks that a step ended with status, an exit code and a time.
func checkStep(t *testing.T, steps map[string]sesame.TaskEvent, name, status string) {
	t.Helper()
	e, ok := steps[name]
	if !ok {
		t.Errorf("no event ends the step %q", name)
		return
	}
	if e.Data["status"] != status {
		t.Errorf("step %q: status %v (%s), want %s", name, e.Data["status"], e.Message, status)
	}
	if _, ok := e.Data["ms"].(float64); !ok {
		t.Errorf("step %q: no time in %v", name, e.Data)
	}
	code, ok := e.Data["exit_code"].(float64)
	if !ok || (status == "ok") != (code == 0) {
		t.Errorf("step %q: exit code %v with status %s", name, e.Data["exit_code"], status)
	}
}

// TestRuntimesInstalled: mise installs node 20 from the mirror into the task's own sandbox home, npm ci
// installs the locked dependency from the real npm registry through the sandbox's proxy, each step's
// time and exit code is an event, and the agent finds both. A second task installs again into its
// own home: nothing is shared between sandboxes, and nothing is written to the host's mise folders.
func TestRuntimesInstalled(t *testing.T) {
	hostMise := hostMiseState(t)
	h := newRuntimeHarness(t, jsFiles, true)
	var homes []string
	for i := range 2 {
		began := time.Now()
		task, events := h.runJS(t, probeAndFix)
		t.Logf("task %d: %s in %s; setup:\n%s", i+1, task.Status, time.Since(began).Round(time.Millisecond), setupLog(events))
		if task.Status != sesame.StatusCompleted {
			t.Fatalf("task %s %q, want completed", task.Status, task.Reason)
		}
		steps := setupSteps(events)
		checkStep(t, steps, "mise install", "ok")
		checkStep(t, steps, "npm ci", "ok")
		var lines int
		for _, e := range events {
			if e.Type == sesame.EventSetup && e.Data["status"] == "output" {
				lines++
			}
		}
		if lines == 0 {
			t.Errorf("no output of the setup was streamed")
		}
		home := filepath.Join(h.taskBase, task.ID, "home")
		out := agentOutput(events)
		wantNode := "node=" + filepath.Join(home, ".local/share/mise/installs/node") + "/"
		for _, want := range []string{wantNode, "is-number=true", "mise_data=" + filepath.Join(home, ".local/share/mise"), "has-node-modules"} {
			if !strings.Contains(out, want) {
				t.Errorf("the agent's output lacks %q:\n%s", want, out)
			}
		}
		homes = append(homes, home)
		domains := sandboxDomains(t, events)
		for _, d := range []string{"registry.npmjs.org", "nodejs.org"} {
			if !slices.Contains(domains, d) {
				t.Errorf("allowed domains %v lack %s", domains, d)
			}
		}
	}
	if homes[0] == homes[1] {
		t.Errorf("both tasks used the home %s", homes[0])
	}
	if n := h.mirror.tarballs.Load(); n != 2 {
		t.Errorf("the mirror served node %d times, want 2 (one per sandbox: no shared mise data)", n)
	}
	// The commit leaves node_modules out, though the repository does not ignore it.
	files := h.gitIn(t, h.bare, "ls-tree", "-r", "--name-only", h.gh.PullRequests(jsRepo)[0].Head)
	if strings.Contains(files, "node_modules") {
		t.Errorf("the pull request commits node_modules:\n%s", files)
	}
	if got := hostMiseState(t); got != hostMise {
		t.Errorf("the host's mise folders changed:\nbefore %s\nafter  %s", hostMise, got)
	}
}

// TestRuntimesFailureIsNotFatal: a node version the mirror does not have and a broken lockfile make
// both steps fail; the failures are events with their exit codes, and the agent runs and the task
// completes all the same.
func TestRuntimesFailureIsNotFatal(t *testing.T) {
	files := map[string]string{"README.md": fixMe, ".nvmrc": "21\n", "package.json": jsFiles["package.json"], "package-lock.json": "{ this is not json"}
	h := newRuntimeHarness(t, files, true)
	task, events := h.runJS(t, `sed -i 's/teh typo/the typo/' README.md`)
	t.Logf("setup:\n%s", setupLog(events))
	if task.Status != sesame.StatusCompleted {
		t.Fatalf("task %s %q, want completed despite the failed setup", task.Status, task.Reason)
	}
	steps := setupSteps(events)
	checkStep(t, steps, "mise install", "failed")
	checkStep(t, steps, "npm ci", "failed")
	var done string
	for _, e := range events {
		if e.Type == sesame.EventSetup && e.Data["status"] == "done" {
			done = e.Message
		}
	}
	if !strings.Contains(done, "2 step(s) failed") {
		t.Errorf("the setup's last event %q does not say two steps failed", done)
	}
	if prs := h.gh.PullRequests(jsRepo); len(prs) != 1 {
		t.Errorf("%d pull requests, want 1", len(prs))
	}
}

// TestRuntimesSettingOff: with tasks.installRuntimes off nothing is installed and no registry is
// allowed.
func TestRuntimesSettingOff(t *testing.T) {
	h := newRuntimeHarness(t, jsFiles, false)
	task, events := h.runJS(t, probeAndFix)
	if task.Status != sesame.StatusCompleted {
		t.Fatalf("task %s %q, want completed", task.Status, task.Reason)
	}
	if log := setupLog(events); log != "" {
		t.Errorf("setup events with the setting off:\n%s", log)
	}
	for _, d := range sandboxDomains(t, events) {
		if d == "registry.npmjs.org" || d == "nodejs.org" || d == "github.com" {
			t.Errorf("%s allowed with the setting off", d)
		}
	}
	if out := agentOutput(events); !strings.Contains(out, "no-node-modules") || strings.Contains(out, "/mise/installs/") {
		t.Errorf("something was installed with the setting off:\n%s", out)
	}
	if h.mirror.tarballs.Load() != 0 {
		t.Errorf("the mirror was asked for node")
	}
}

// TestRuntimesStopped: stopping the task while mise downloads kills the download (the step's Exec
// ends with the task's context), says so, and the task ends without its agent running long.
func TestRuntimesStopped(t *testing.T) {
	h := newRuntimeHarness(t, jsFiles, true)
	h.mirror.hang.Store(true)
	h.model.SetSteps(modeltest.Bash(probeAndFix), modeltest.Step{Text: "Fixed the typo."})
	task := h.create(t, sesame.Request{Source: sesame.SourceWeb, Kind: sesame.KindRun, Repo: jsRepo, InstallationID: 9,
		Requester: "Alice", Instruction: "fix the typo"})
	done := h.run(t, context.Background(), task.ID)
	waitFor(t, "mise's download of node", 60*time.Second, func() bool { return h.mirror.hanging.Load() > 0 })
	stopped := time.Now()
	if !h.runner.Stop(task.ID) {
		t.Fatal("Stop found no running task")
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the task did not end within 30 s of being stopped")
	}
	t.Logf("ended %s after Stop", time.Since(stopped).Round(time.Millisecond))
	events, err := h.store.Events(context.Background(), task.ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("setup:\n%s", setupLog(events))
	if e := setupSteps(events)["mise install"]; e.Data["status"] != "stopped" {
		t.Errorf("mise install ended %v (%s), want stopped", e.Data["status"], e.Message)
	}
	if got := h.reload(t, task.ID); got.Status == sesame.StatusCompleted {
		t.Errorf("a stopped task completed")
	}
	if len(h.gh.PullRequests(jsRepo)) != 0 {
		t.Errorf("a stopped task opened a pull request")
	}
}

// nodeMirror serves what mise's node plugin asks a mirror for (MISE_NODE_MIRROR_URL): index.json,
// then v{version}/node-v{version}-linux-x64.tar.gz and its SHASUMS256.txt. Its one version is this
// host's node, packed with the host's npm the way nodejs.org packs a release.
type nodeMirror struct {
	*httptest.Server
	tarballs atomic.Int32 // tarball requests
	hang     atomic.Bool  // tarball requests wait until the client goes away
	hanging  atomic.Int32
}

func newNodeMirror(t *testing.T) *nodeMirror {
	t.Helper()
	version, tarball := nodeTarball(t)
	sum := sha256.Sum256(tarball)
	name := fmt.Sprintf("node-%s-linux-x64.tar.gz", version)
	index, _ := json.Marshal([]map[string]any{{"version": version, "date": "2026-03-24", "files": []string{"linux-x64"}, "lts": "Iron", "security": false}})
	m := &nodeMirror{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /index.json", func(w http.ResponseWriter, r *http.Request) { w.Write(index) })
	mux.HandleFunc("GET /"+version+"/SHASUMS256.txt", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s  %s\n", hex.EncodeToString(sum[:]), name)
	})
	mux.HandleFunc("GET /"+version+"/"+name, func(w http.ResponseWriter, r *http.Request) {
		m.tarballs.Add(1)
		if m.hang.Load() {
			m.hanging.Add(1)
			<-r.Context().Done()
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(tarball)))
		w.Write(tarball)
	})
	m.Server = httptest.NewServer(mux)
	t.Cleanup(m.Close)
	return m
}

var nodeTarballOnce struct {
	sync.Once
	version string
	data    []byte
	err     error
}

// nodeTarball packs the host's node and npm as node-{version}-linux-x64/{bin,lib}, once per test
// binary.
func nodeTarball(t *testing.T) (string, []byte) {
	t.Helper()
	if runtime.GOARCH != "amd64" {
		t.Fatalf("the node mirror packs a linux-x64 release; this is %s", runtime.GOARCH)
	}
	o := &nodeTarballOnce
	o.Do(func() {
		out, err := exec.Command("/usr/bin/node", "--version").Output()
		if err != nil {
			o.err = fmt.Errorf("the node mirror packs the host's /usr/bin/node (apt-get install nodejs): %w", err)
			return
		}
		o.version = strings.TrimSpace(string(out))
		o.data, o.err = packNode(o.version)
	})
	if o.err != nil {
		t.Fatal(o.err)
	}
	return o.version, o.data
}

func packNode(version string) ([]byte, error) {
	var buf strings.Builder
	gz, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	tw := tar.NewWriter(gz)
	top := fmt.Sprintf("node-%s-linux-x64/", version)
	add := func(name, src string) error {
		fi, err := os.Lstat(src)
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(fi, "")
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			if hdr.Linkname, err = os.Readlink(src); err != nil {
				return err
			}
		}
		hdr.Name, hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = top+name, 0, 0, "", ""
		if fi.IsDir() {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			f, err := os.Open(src)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(tw, f)
			return err
		}
		return nil
	}
	for _, d := range []string{"bin", "lib", "lib/node_modules"} {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: top + d + "/", Mode: 0o755})
	}
	if err := add("bin/node", "/usr/bin/node"); err != nil {
		return nil, err
	}
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: top + "bin/npm", Linkname: "../lib/node_modules/npm/bin/npm-cli.js", Mode: 0o777})
	const npm = "/usr/lib/node_modules/npm"
	err := filepath.WalkDir(npm, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(filepath.Dir(npm), p)
		return add("lib/node_modules/"+rel, p)
	})
	if err != nil {
		return nil, fmt.Errorf("the node mirror packs the host's npm: %w", err)
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return []byte(buf.String()), nil
}

// misePath is the mise that scripts/install-agents puts in AGENTS_DIR.
func misePath(t *testing.T) string {
	t.Helper()
	exe := filepath.Join(agentsDir(t), "mise", "node_modules", ".bin", "mise")
	if _, err := os.Stat(exe); err != nil {
		t.Fatalf("mise is not installed in %s: run scripts/install-agents (it installs @jdxcode/mise-linux-x64 from npm) (%v)", agentsDir(t), err)
	}
	return exe
}

// hostMiseState describes the host user's mise folders: whether each exists and what it holds.
func hostMiseState(t *testing.T) string {
	t.Helper()
	home, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, d := range []string{".local/share/mise", ".cache/mise", ".local/state/mise", ".config/mise"} {
		entries, err := os.ReadDir(filepath.Join(home, d))
		fmt.Fprintf(&b, "%s: ", d)
		if err != nil {
			fmt.Fprintf(&b, "absent; ")
			continue
		}
		for _, e := range entries {
			fi, _ := e.Info()
			fmt.Fprintf(&b, "%s@%d ", e.Name(), fi.ModTime().UnixNano())
		}
		b.WriteString("; ")
	}
	return b.String()
}

// gitIn runs git on a bare repository of the fake GitHub.
func (h *runtimeHarness) gitIn(t *testing.T, bare string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"--git-dir", bare}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}
