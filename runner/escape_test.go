package runner_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	sesame "github.com/sesame-works/sesame"
	"github.com/sesame-works/sesame/gitops"
	"github.com/sesame-works/sesame/internal/dockertest"
	"github.com/sesame-works/sesame/internal/modeltest"
	"github.com/sesame-works/sesame/sandbox/local"
)

// The escape suite: an agent that attacks the walls of its sandbox, started exactly as the runner
// starts Claude Code (the real CLI, its Bash tool driven by the scripted model), with sandbox
// security on. Each attack is a shell script the agent runs; each test checks on the host that the
// attack did nothing, and that the refusal became a violation event wherever the kernel or the
// proxy can report it. The script prints what it got, which the test reads back from the tool
// result events, so that a test can also tell an attack that ran and failed from one that never ran.

// escape is one attack. Its script runs unchanged in every provider's sandbox (bash, curl,
// getent and busybox-or-coreutils commands, which the docker suite's image has); what the script
// aims at comes from escapeEnv. Where the walls of the providers differ, the attack says what each
// must guarantee instead: nothing is dropped for a provider without a check in its place.
type escape struct {
	name   string
	setup  func(e *escapeEnv)        // before the task runs; nil: nothing
	script func(e *escapeEnv) string // the attack, run by the agent's Bash tool in its workspace
	check  func(t *testing.T, e *escapeEnv, r *escapeRun)
	// local and docker check what only that provider's walls give (the local provider's Landlock
	// reports, its spare and staged-init layout; the container's read-only root, its own proxy
	// socket); nil: nothing more than check.
	local, docker func(t *testing.T, e *escapeEnv, r *escapeRun)
}

// escapeEnv is what the attacker is given to aim at: the host's real paths and ports, and the
// paths of what Sesame binds into the sandbox as the agent sees them.
type escapeEnv struct {
	h        *agentHarness
	provider *escapeProvider
	canary   string // a value in the server's environment and in a file in its home
	homeFile string // the canary file in the server's home
	decoy    string // another task's workspace file
	tag      string // unique name for files and processes the attack leaves
}

// escapeRun is what came of one attack.
type escapeRun struct {
	task       *sesame.Task
	output     string // everything the agent's tools printed
	violations []sesame.TaskEvent
}

func (r *escapeRun) violated(kind sesame.ViolationKind, target string) bool {
	for _, v := range r.violations {
		if v.Data["kind"] == string(kind) && strings.Contains(fmt.Sprint(v.Data["target"]), target) {
			return true
		}
	}
	return false
}

func (r *escapeRun) violatedExactly(kind sesame.ViolationKind, target string) bool {
	for _, v := range r.violations {
		if v.Data["kind"] == string(kind) && v.Data["target"] == target {
			return true
		}
	}
	return false
}

// mustSay fails unless the attack printed line: it ran, and this is what it saw.
func (r *escapeRun) mustSay(t *testing.T, line string) {
	t.Helper()
	if !strings.Contains(r.output, line) {
		t.Errorf("the attack did not report %q; its output:\n%s", line, r.output)
	}
}

// refusesUnixAndUserns checks that the seccomp filter refused the attack's unix sockets and its
// user namespace.
func refusesUnixAndUserns(t *testing.T, e *escapeEnv, r *escapeRun) {
	r.mustSay(t, "NO-UNIX")
	r.mustSay(t, "NO-USERNS")
	if strings.Contains(r.output, "UNIX 403") || strings.Contains(r.output, "\nUSERNS\n") {
		t.Errorf("the agent opened a unix socket or a user namespace:\n%s", r.output)
	}
}

// hostPort is a URL's "host:port" (the test servers' URLs always have both).
func hostPort(rawURL string) string {
	u, _ := url.Parse(rawURL)
	return u.Host
}

func randomTag(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// filesNamed lists the files called name under root.
func filesNamed(root, name string) []string {
	var out []string
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == name {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// processesNamed lists the live processes whose command line holds name.
func processesNamed(name string) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && strings.Contains(string(b), name) {
			out = append(out, pid)
		}
	}
	return out
}

// The attacks' names carry no commas: a test's temporary folders (the task base among them) are
// named after it, and Podman's Docker-compatible API refuses to bind-mount a path with a comma.
var escapes = []escape{
	{
		name: "read the server's environment through /proc",
		script: func(e *escapeEnv) string {
			return `for f in /proc/[0-9]*/environ; do cat "$f" 2>/dev/null | tr '\0' '\n'; done | grep -c SESAME_ESCAPE_CANARY || true
ls /proc | grep -c '^[0-9]' | sed 's/^/PROCS=/'`
		},
		check: func(t *testing.T, e *escapeEnv, r *escapeRun) {
			if strings.Contains(r.output, e.canary) {
				t.Errorf("the agent read the server's environment:\n%s", r.output)
			}
			// Only the sandbox's own few processes are visible (a PID namespace of its own).
			r.mustSay(t, "PROCS=")
			for _, line := range strings.Split(r.output, "\n") {
				if n, ok := strings.CutPrefix(strings.TrimSpace(line), "PROCS="); ok && len(n) > 1 {
					t.Errorf("the agent sees %s processes; want only its sandbox's", n)
				}
			}
		},
	},
	{
		name: "read a canary in the server's home",
		script: func(e *escapeEnv) string {
			return fmt.Sprintf(`cat %q && echo READ-HOME || echo NO-HOME; ls -a %q 2>&1 | head -3`, e.homeFile, filepath.Dir(e.homeFile))
		},
		check: func(t *testing.T, e *escapeEnv, r *escapeRun) {
			r.mustSay(t, "NO-HOME")
			if strings.Contains(r.output, e.canary) || strings.Contains(r.output, "READ-HOME") {
				t.Errorf("the agent read the server's home:\n%s", r.output)
			}
		},
	},
	{
		name: "plant a hook in the mirror; change its config; write into the spare checkout",
		setup: func(e *escapeEnv) {
			// Spares as the server keeps them: handed to the sandbox's user in advance (the
			// harness hands the mirrors over as the server does), so only the sandbox's file
			// system keeps the agent from them.
			e.h.runner.Mirrors.Spare = true
			e.h.runner.Mirrors.Spares = 2 // a pool: the agent goes for each ready tree, and plants one
		},
		script: func(e *escapeEnv) string {
			return `M=$(dirname "$(cat .git/objects/info/alternates)")
echo "MIRROR=$M"
S="${M%.git}.spare"; ls "$S" 2>&1 | head -2; mkdir -p "$S/ready" && echo pwned > "$S/ready/pwned"
for d in "$S"/ready-*; do echo pwned > "$d/pwned"; done; mkdir -p "$S/ready-0-evil" && echo pwned > "$S/ready-0-evil/pwned"
mkdir -p "$M/hooks" 2>/dev/null; printf '#!/bin/sh\ntouch /tmp/pwned\n' > "$M/hooks/pre-receive" && echo HOOK-WRITTEN || echo NO-HOOK
echo '[core] hooksPath=/tmp' >> "$M/config" && echo CONFIG-WRITTEN || echo NO-CONFIG
touch "$M/objects/pwned" && echo OBJECTS-WRITTEN || echo NO-OBJECTS
ls "$M/objects/pack" >/dev/null && echo OBJECTS-READABLE`
		},
		check: func(t *testing.T, e *escapeEnv, r *escapeRun) {
			// The mirror's objects are bound read-only at their host path; nothing else of the
			// mirror is in the sandbox.
			r.mustSay(t, "MIRROR=/")
			r.mustSay(t, "NO-OBJECTS")
			r.mustSay(t, "OBJECTS-READABLE")
			if err := e.h.runner.Mirrors.Wait(context.Background()); err != nil {
				t.Fatal(err)
			}
			mirrors := filepath.Join(e.h.taskBase, "mirrors")
			_ = filepath.WalkDir(mirrors, func(p string, d os.DirEntry, err error) error {
				if err == nil && (d.Name() == "pre-receive" || d.Name() == "pwned") {
					t.Errorf("the agent planted %s", p)
				}
				if err == nil && d.Name() == "config" {
					if b, _ := os.ReadFile(p); strings.Contains(string(b), "hooksPath") {
						t.Errorf("the agent changed %s:\n%s", p, b)
					}
				}
				return nil
			})
		},
		// What it wrote of hooks and config landed in the sandbox's private /tmp, where the
		// mirror's path exists only as empty folders around its read-only objects.
		docker: func(t *testing.T, e *escapeEnv, r *escapeRun) {
			// The container's root is read-only: the folders the engine made around the objects'
			// mount point take nothing either.
			for _, line := range []string{"NO-HOOK", "NO-CONFIG"} {
				r.mustSay(t, line)
			}
		},
	},
	{
		name: "write into another task's workspace",
		script: func(e *escapeEnv) string {
			return fmt.Sprintf(`ls -a %q 2>&1 | sed 's/^/LISTED: /'; echo pwned >> %q && echo WROTE-OTHER || echo NO-OTHER`, e.h.taskBase, e.decoy)
		},
		check: func(t *testing.T, e *escapeEnv, r *escapeRun) {
			r.mustSay(t, "NO-OTHER")
			// Another task's folder is not there at all, not even its name.
			if strings.Contains(r.output, "LISTED: 01other-task") {
				t.Errorf("the agent sees another task's folder:\n%s", r.output)
			}
			if b, _ := os.ReadFile(e.decoy); string(b) != "other task's file\n" {
				t.Errorf("another task's workspace was changed: %q", b)
			}
		},
	},
	{
		name: "connect to PostgreSQL; Redis and Sesame's neighbours on localhost",
		script: func(e *escapeEnv) string {
			gh := hostPort(e.h.gh.URL)
			return fmt.Sprintf(`for hp in 127.0.0.1/5432 127.0.0.1/6379 %s; do
  (exec 3<>/dev/tcp/$hp) 2>/dev/null && echo "OPEN $hp" || echo "CLOSED $hp"
done
curl -s -o /dev/null -w 'PROXIED-PG %%{http_code}\n' -m 5 http://127.0.0.1:5432/
curl -s -o /dev/null -w 'PROXIED-GH %%{http_code}\n' -m 5 http://%s/`, strings.Replace(gh, ":", "/", 1), gh)
		},
		check: func(t *testing.T, e *escapeEnv, r *escapeRun) {
			if strings.Contains(r.output, "OPEN ") {
				t.Errorf("the agent reached a host service:\n%s", r.output)
			}
			r.mustSay(t, "CLOSED 127.0.0.1/5432")
			r.mustSay(t, "CLOSED 127.0.0.1/6379")
			r.mustSay(t, "CLOSED "+strings.Replace(hostPort(e.h.gh.URL), ":", "/", 1))
			r.mustSay(t, "PROXIED-PG 403")
			r.mustSay(t, "PROXIED-GH 403")
			if !r.violated(sesame.ViolationNetwork, "127.0.0.1:5432") || !r.violated(sesame.ViolationNetwork, hostPort(e.h.gh.URL)) {
				t.Errorf("no network violations for PostgreSQL and the GitHub server: %v", r.violations)
			}
		},
	},
	{
		name: "reach a denied host through and around the proxy",
		script: func(e *escapeEnv) string {
			return `curl -s -o /dev/null -w 'VIA-PROXY %{http_code}\n' -m 5 https://example.org/
curl -s -o /dev/null -w 'DIRECT %{http_code}\n' -m 5 --noproxy '*' http://93.184.215.14/ || echo DIRECT-FAILED
curl -s -o /dev/null -w 'METADATA %{http_code}\n' -m 5 http://169.254.169.254/latest/meta-data/`
		},
		check: func(t *testing.T, e *escapeEnv, r *escapeRun) {
			r.mustSay(t, "VIA-PROXY ")
			r.mustSay(t, "DIRECT-FAILED")
			r.mustSay(t, "METADATA 403")
			if !r.violated(sesame.ViolationNetwork, "example.org:443") || !r.violated(sesame.ViolationNetwork, "169.254.169.254:80") {
				t.Errorf("no network violations for example.org and the metadata address: %v", r.violations)
			}
		},
	},
	{
		name: "open a unix socket; the engine's socket or a new user namespace",
		script: func(e *escapeEnv) string {
			// Through its proxy's socket the agent asks for example.org as a proxy's client would.
			return fmt.Sprintf(`curl -s -o /dev/null -w 'UNIX %%{http_code}\n' -m 5 --unix-socket %s --request-target http://example.org/ http://example.org/ || echo NO-UNIX
for s in %s /run/podman/podman.sock /var/run/docker.sock /run/docker.sock; do
  curl -s -o /dev/null -w "ENGINE %%{http_code} $s\n" -m 5 --unix-socket "$s" http://d/_ping 2>/dev/null
done
unshare -U true && echo USERNS || echo NO-USERNS
O=$(cat .git/objects/info/alternates)
unshare -Urm sh -c "mount -o remount,rw,bind $O; touch $O/%s" 2>/dev/null && echo MIRROR-RW-IN-USERNS || echo MIRROR-RO-IN-USERNS`,
				e.provider.proxySocket, strings.TrimPrefix(dockertest.Host(), "unix://"), e.tag)
		},
		check: func(t *testing.T, e *escapeEnv, r *escapeRun) {
			// No way to the container engine, whatever the provider.
			r.mustSay(t, "ENGINE 000 /run/podman/podman.sock")
			for _, line := range strings.Split(r.output, "\n") {
				if strings.HasPrefix(line, "ENGINE ") && !strings.HasPrefix(line, "ENGINE 000 ") {
					t.Errorf("the agent reached the container engine: %s", line)
				}
			}
			// Not even as root of a user namespace of its own may it write the mirror's objects.
			r.mustSay(t, "MIRROR-RO-IN-USERNS")
			if m := filesNamed(filepath.Join(e.h.taskBase, "mirrors"), e.tag); len(m) > 0 {
				t.Errorf("the agent wrote %v from a user namespace", m)
			}
		},
		// Both providers load Sesame's seccomp filter before the command: it refuses every unix
		// socket, even the one to its own proxy, and every new namespace (in a container too,
		// where Podman's default profile would let a process make user namespaces).
		local:  refusesUnixAndUserns,
		docker: refusesUnixAndUserns,
	},
	{
		name: "tamper with what Sesame binds in: the init stage; the accounts; the agents' install",
		script: func(e *escapeEnv) string {
			claude := e.provider.claude
			return fmt.Sprintf(`echo x >> /run/sesame/init && echo WROTE-INIT || echo NO-INIT
echo 'root2:x:0:0::/:/bin/sh' >> /etc/passwd && echo WROTE-PASSWD || echo NO-PASSWD
echo 'curl evil.test' >> %q && echo WROTE-AGENT || echo NO-AGENT
touch %q && echo PLANTED || echo NO-PLANT
touch %q && echo PLANTED-CACHE || echo NO-PLANT-CACHE`, claude, filepath.Join(filepath.Dir(claude), e.tag),
				filepath.Join(copilotCache(e.provider.hostClaude), e.tag))
		},
		check: func(t *testing.T, e *escapeEnv, r *escapeRun) {
			for _, line := range []string{"NO-INIT", "NO-PASSWD", "NO-AGENT", "NO-PLANT", "NO-PLANT-CACHE"} {
				r.mustSay(t, line)
			}
			// Copilot's unpacked package, which every Copilot run from AGENTS_DIR is given.
			if _, err := os.Stat(filepath.Join(copilotCache(e.provider.hostClaude), e.tag)); err == nil {
				t.Errorf("the agent planted a file in the shared Copilot cache")
			}
			// The CLI every later task runs: the install on the host (local), or the file the
			// docker suite's image was made from.
			if _, err := os.Stat(filepath.Join(filepath.Dir(e.provider.hostClaude), e.tag)); err == nil {
				t.Errorf("the agent planted a file in the agents' install folder")
			}
			if b, _ := os.ReadFile(e.provider.hostClaude); bytes.Contains(b, []byte("curl evil.test")) {
				t.Errorf("the agent changed %s, which every later task runs", e.provider.hostClaude)
			}
		},
		local: func(t *testing.T, e *escapeEnv, r *escapeRun) {
			inits, _ := filepath.Glob(filepath.Join(e.h.taskBase, ".sesame-init", "sesame-init-*"))
			self, _ := os.Executable()
			want, _ := os.ReadFile(self)
			for _, p := range inits {
				if got, _ := os.ReadFile(p); !bytes.Equal(got, want) {
					t.Errorf("the staged init %s was changed", p)
				}
			}
			if len(inits) == 0 {
				t.Errorf("no staged init under %s", e.h.taskBase)
			}
		},
		docker: func(t *testing.T, e *escapeEnv, r *escapeRun) {
			// The init is the provider's own host file, bound read-only into every container.
			if got, _ := os.ReadFile(e.provider.init); !bytes.Equal(got, e.provider.initBytes) {
				t.Errorf("the init %s every container runs was changed", e.provider.init)
			}
		},
	},
	{
		name: "start a relay of its own with the init stage",
		script: func(e *escapeEnv) string {
			return e.provider.relay(`curl -s -o /dev/null -w 'SECOND-RELAY %{http_code}\n' -m 5 -x http://127.0.0.1:3129 http://example.org/`) +
				"\necho \"INIT-EXIT $?\""
		},
		// Run by the agent, the init stage is under the agent's seccomp filter: no unix socket for
		// a relay of its own.
		check: func(t *testing.T, e *escapeEnv, r *escapeRun) {
			r.mustSay(t, "SECOND-RELAY 000") // curl ran; its relay could not reach the proxy
			if strings.Contains(r.output, "SECOND-RELAY 403") || strings.Contains(r.output, "SECOND-RELAY 200") ||
				r.violated(sesame.ViolationNetwork, "example.org") {
				t.Errorf("the agent's own relay reached the proxy:\n%s\n%v", r.output, r.violations)
			}
		},
	},
	{
		name: "resolve DNS",
		script: func(e *escapeEnv) string {
			return `command -v getent >/dev/null || echo NO-GETENT
getent hosts example.com && echo RESOLVED || echo NO-DNS`
		},
		check: func(t *testing.T, e *escapeEnv, r *escapeRun) {
			r.mustSay(t, "NO-DNS")
			if strings.Contains(r.output, "NO-GETENT") {
				t.Errorf("the sandbox has no getent: the attack proves nothing")
			}
		},
	},
	{
		name: "leave a setsid process behind",
		script: func(e *escapeEnv) string {
			// The copy keeps its name "sleep" (busybox picks its applet by it) in a folder named by
			// the tag, which every process listing then shows. (Claude Code's shell defines a grep of
			// its own, which skips /proc: "command grep" is the system's.)
			return fmt.Sprintf(`mkdir "$TMPDIR/%s" && cp /bin/sleep "$TMPDIR/%s/sleep" && setsid "$TMPDIR/%s/sleep" 600 >/dev/null 2>&1 < /dev/null &
for i in 1 2 3 4 5 6 7 8 9 10; do command grep -qs '[%c]%s' /proc/[0-9]*/cmdline && { echo STARTED; break; }; sleep 0.3; done`, e.tag, e.tag, e.tag, e.tag[0], e.tag[1:])
		},
		check: func(t *testing.T, e *escapeEnv, r *escapeRun) {
			r.mustSay(t, "STARTED")
			if pids := processesNamed(e.tag); len(pids) > 0 {
				t.Errorf("processes %v outlived their task", pids)
			}
		},
	},
	{
		name: "write /etc; the host's /tmp and /run",
		script: func(e *escapeEnv) string {
			return fmt.Sprintf(`head -c1 /etc/shadow >/dev/null && echo READ-SHADOW || echo NO-SHADOW
echo x > /etc/%s && echo WROTE-ETC || echo NO-ETC
echo x > /tmp/%s && echo TMP-PRIVATE
echo x > /run/%s && echo WROTE-RUN || echo NO-RUN
ls / >/dev/null 2>&1 && echo LISTED-ROOT || echo NO-ROOT-LIST`, e.tag, e.tag, e.tag)
		},
		check: func(t *testing.T, e *escapeEnv, r *escapeRun) {
			for _, line := range []string{"NO-SHADOW", "NO-ETC", "TMP-PRIVATE", "NO-RUN"} {
				r.mustSay(t, line)
			}
			for _, p := range []string{"/etc/" + e.tag, "/tmp/" + e.tag, "/run/" + e.tag} {
				if _, err := os.Stat(p); err == nil {
					os.Remove(p)
					t.Errorf("the agent wrote %s on the host", p)
				}
			}
		},
		local: func(t *testing.T, e *escapeEnv, r *escapeRun) {
			r.mustSay(t, "NO-ROOT-LIST")
			// Landlock refused the file in /run (the kernel names the folder it was to be made in)
			// and the listing of /: both are reported.
			if !r.violated(sesame.ViolationFilesystem, "/run") || !r.violatedExactly(sesame.ViolationFilesystem, "/") {
				t.Errorf("no filesystem violations for /run and /: %v", r.violations)
			}
		},
		docker: func(t *testing.T, e *escapeEnv, r *escapeRun) {
			// The container's / is its image, read-only, which the agent may list; no Landlock
			// reports the refusals.
			r.mustSay(t, "LISTED-ROOT")
		},
	},
}

func TestEscape(t *testing.T) {
	canary := "canary-" + randomTag(t)
	t.Setenv("SESAME_ESCAPE_CANARY", canary)
	home, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	homeFile := filepath.Join(home, ".sesame-escape-"+randomTag(t))
	if err := os.WriteFile(homeFile, []byte(canary+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(homeFile) })

	for _, name := range []string{"local", "docker"} {
		t.Run(name, func(t *testing.T) {
			p := newEscapeProvider(t, name)
			for _, x := range escapes {
				t.Run(x.name, func(t *testing.T) {
					t.Parallel() // the Claude CLI's start is most of an attack's time
					e := &escapeEnv{provider: p, canary: canary, homeFile: homeFile, tag: "sesame-escape-" + randomTag(t)}
					runEscape(t, e, x)
				})
			}
		})
	}
}

// escapeProvider is a sandbox provider the suite attacks, and where what Sesame binds into its
// sandboxes is, as the agent sees it and on the host.
type escapeProvider struct {
	name string
	// use turns a fresh harness's runner onto the provider as the server wires it.
	use         func(t *testing.T, h *agentHarness)
	claude      string                  // the Claude Code CLI as the agent sees it
	hostClaude  string                  // the host file it is (local), or was made from (docker)
	proxySocket string                  // the task's egress proxy socket as the agent sees it
	relay       func(cmd string) string // a shell command running cmd by a second relay on 127.0.0.1:3129, started with the init stage
	init        string                  // docker: the host path of the init bound into every container
	initBytes   []byte                  // docker: what the init was before the attacks
}

func newEscapeProvider(t *testing.T, name string) *escapeProvider {
	t.Helper()
	claude, err := filepath.EvalSymlinks(claudePath(t))
	if err != nil {
		t.Fatal(err)
	}
	if name == "docker" {
		return dockerEscapeProvider(t, claude)
	}
	return &escapeProvider{
		name: name, claude: claude, hostClaude: claude, proxySocket: "/run/sesame/proxy.sock",
		relay: func(cmd string) string {
			return "/run/sesame/init __sesame-sandbox-init -proxy /run/sesame/proxy.sock -port 3129 " +
				"-ro /usr -ro /etc -ro /proc -rw /tmp -rw /dev -- " + cmd
		},
		use: func(t *testing.T, h *agentHarness) {
			if uid, gid, other := h.runner.Sandbox.(*local.Provider).Owner(); other {
				h.runner.Mirrors.Owner = &gitops.Owner{UID: uid, GID: gid}
			}
		},
	}
}

// runEscape runs the attack x as a task of a fresh harness on e's provider and checks what came of it.
func runEscape(t *testing.T, e *escapeEnv, x escape) {
	// The harness is made first, without steps, so the script can name its paths; the model's
	// script is set once the attack is known.
	e.h = newAgentHarness(t)
	if e.provider.use != nil {
		e.provider.use(t, e.h)
	}
	e.decoy = filepath.Join(e.h.taskBase, "01other-task", "repo", "README.md")
	if err := os.MkdirAll(filepath.Dir(e.decoy), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.decoy, []byte("other task's file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if x.setup != nil {
		x.setup(e)
	}
	e.h.model.SetSteps(modeltest.Bash(x.script(e)), modeltest.Step{Text: "Done."})
	task := e.h.webTask(t, "Mallory", "", "attack the sandbox")
	if err := e.h.runner.Run(context.Background(), task.ID); err != nil {
		t.Fatal(err)
	}
	r := &escapeRun{task: e.h.reload(t, task.ID)}
	events, err := e.h.store.Events(context.Background(), task.ID)
	if err != nil {
		t.Fatal(err)
	}
	ranBash := false
	for _, ev := range events {
		switch ev.Type {
		case sesame.EventViolation:
			r.violations = append(r.violations, ev)
		case sesame.EventAgent:
			if ev.Data["kind"] == "tool_result" {
				ranBash = true
				r.output += fmt.Sprint(ev.Data["output"]) + "\n"
			}
		case sesame.EventSandbox:
			if ev.Data["security"] != true {
				t.Fatalf("the task ran without sandbox security: %+v", ev)
			}
		}
	}
	if !ranBash {
		t.Fatalf("the agent never ran its attack (task %s %q)", r.task.Status, r.task.Reason)
	}
	t.Logf("attack output:\n%s\nviolations: %d", r.output, len(r.violations))
	if x.check != nil {
		x.check(t, e, r)
	}
	switch {
	case e.provider.name == "local" && x.local != nil:
		x.local(t, e, r)
	case e.provider.name == "docker" && x.docker != nil:
		x.docker(t, e, r)
	}
}

// What the sandbox blocked is summed up where the request came from and in the pull request, and
// each refusal is a violation event.
func TestViolationsInReplyAndPullRequest(t *testing.T) {
	h := newAgentHarness(t)
	h.gh.SetPermission(repo, "alice", "write")
	h.model.SetSteps(
		modeltest.Bash(`curl -s -o /dev/null -m 5 https://example.org/ ; curl -s -o /dev/null -m 5 http://evil.test/ ; sed -i 's/teh typo/the typo/' README.md`),
		modeltest.Step{Text: "Fixed the typo."},
	)
	task := h.task(t, "alice", sesame.KindRun, "fix the typo")
	if err := h.runner.Run(context.Background(), task.ID); err != nil {
		t.Fatal(err)
	}
	if got := h.reload(t, task.ID); got.Status != sesame.StatusCompleted {
		t.Fatalf("task %s %q, want completed", got.Status, got.Reason)
	}
	const want = "2 connections blocked: `example.org:443`, `evil.test:80`"
	replies := h.replies()
	if len(replies) != 1 || !strings.Contains(replies[0].Body, want) {
		t.Errorf("reply does not say %q: %+v", want, replies)
	}
	prs := h.gh.PullRequests(repo)
	if len(prs) != 1 || !strings.Contains(prs[0].Body, want) {
		t.Errorf("pull request body does not say %q: %+v", want, prs)
	}
	events, err := h.store.Events(context.Background(), task.ID)
	if err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, e := range events {
		if e.Type == sesame.EventViolation {
			targets = append(targets, fmt.Sprint(e.Data["target"]))
		}
	}
	if strings.Join(targets, " ") != "example.org:443 evil.test:80" {
		t.Errorf("violation events for %v, want example.org:443 and evil.test:80", targets)
	}
}

// copilotCache is AGENTS_DIR/copilot-cache, where install-agents unpacks Copilot CLI once for every
// task, found from Claude Code's install at AGENTS_DIR/claude/node_modules/.bin/claude.
func copilotCache(hostClaude string) string {
	return filepath.Join(filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(hostClaude)))), "copilot-cache")
}
