//go:build linux

package audit

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sesame-works/sesame/sandbox/confine"
)

// The confined child: the test binary started again with childEnv set. It confines itself with
// confine.Apply (system folders read-only, nothing of the test's folder), reads one file itself and
// has /bin/cat read another, so that one denial comes from the process that created the Landlock
// domain and one from a program it executed.
const (
	childEnv  = "SESAME_AUDIT_TEST_CHILD"
	directEnv = "SESAME_AUDIT_TEST_DIRECT"
	execEnv   = "SESAME_AUDIT_TEST_EXEC"
)

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "":
		os.Exit(m.Run())
	case "read":
		os.Exit(confinedChild())
	case "watch":
		// Watch as an unprivileged user: must fail at once, saying why.
		err := Watch(context.Background(), func(Denial) {})
		fmt.Println(err)
		os.Exit(0)
	}
	os.Exit(2)
}

func confinedChild() int {
	err := confine.Apply(confine.Rules{
		ReadOnly:  []string{"/usr", "/bin", "/lib", "/lib64", "/etc", "/proc"},
		ReadWrite: []string{"/dev"},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if _, err := os.ReadFile(os.Getenv(directEnv)); err == nil {
		fmt.Fprintln(os.Stderr, "read a file outside the rules")
		return 2
	}
	if exec.Command("/bin/cat", os.Getenv(execEnv)).Run() == nil {
		fmt.Fprintln(os.Stderr, "cat read a file outside the rules")
		return 2
	}
	return 0
}

// TestWatch confines a child for real and waits for the kernel's records of its refused reads.
func TestWatch(t *testing.T) {
	if abi, err := confine.Available(); err != nil || abi < 7 {
		t.Fatalf("Landlock ABI %d (%v): this machine should log Landlock denials (ABI 7+)", abi, err)
	}
	dir := t.TempDir()
	// The space makes the kernel log the path as hex.
	direct := filepath.Join(dir, "read by the confined process")
	afterExec := filepath.Join(dir, "read-after-exec")
	for _, f := range []string{direct, afterExec} {
		if err := os.WriteFile(f, []byte("secret\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	before, err := auditEnabled()
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	denials := make(chan Denial, 1024)
	done := make(chan error, 1)
	go func() {
		done <- Watch(ctx, func(d Denial) {
			select {
			case denials <- d:
			default:
			}
		})
	}()

	// Watch says nothing when it starts listening, so the child runs again (a new process, a new
	// domain) until its denials show up.
	children := map[int]bool{}
	start := func() {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"=read", directEnv+"="+direct, execEnv+"="+afterExec)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("confined child: %v\n%s", err, out)
		}
		children[cmd.Process.Pid] = true
	}
	start()
	retry := time.NewTicker(500 * time.Millisecond)
	defer retry.Stop()
	// Both denials must come from one child: Watch may start listening between a child's two reads,
	// and then only the later one is logged for that child.
	byChild := map[int]map[string]Denial{}
	var seen map[string]Denial
	for len(seen) < 2 {
		select {
		case d := <-denials:
			if children[d.DomainPid] && (d.Path == direct || d.Path == afterExec) {
				if byChild[d.DomainPid] == nil {
					byChild[d.DomainPid] = map[string]Denial{}
				}
				if _, dup := byChild[d.DomainPid][d.Path]; !dup {
					byChild[d.DomainPid][d.Path] = d
					t.Logf("%+v", d)
				}
				if len(byChild[d.DomainPid]) == 2 {
					seen = byChild[d.DomainPid]
				}
			}
		case <-retry.C:
			start()
		case err := <-done:
			t.Fatalf("Watch returned early: %v", err)
		case <-ctx.Done():
			now, err := auditEnabled()
			t.Fatalf("no child's two Landlock denials arrived in 20 s (%d children ran; got %v; audit enabled=%d, %v)",
				len(children), byChild, now, err)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Watch: %v", err)
	}

	d := seen[direct]
	if !slices.Contains(d.Blockers, "fs.read_file") || d.Access() != "read" {
		t.Errorf("direct read: blockers %v, access %q; want fs.read_file, read", d.Blockers, d.Access())
	}
	if d.Pid != d.DomainPid || !children[d.Pid] {
		t.Errorf("direct read: pid %d, domain pid %d; want the child's pid for both", d.Pid, d.DomainPid)
	}
	if comm := filepath.Base(os.Args[0]); d.Comm != comm[:min(len(comm), 15)] { // TASK_COMM_LEN
		t.Errorf("direct read: comm %q", d.Comm)
	}
	// After execve only LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON gets the denial logged.
	e := seen[afterExec]
	if !slices.Contains(e.Blockers, "fs.read_file") || e.Comm != "cat" || !strings.HasSuffix(e.Exe, "/cat") {
		t.Errorf("read after exec: %+v; want fs.read_file by cat", e)
	}
	if e.Pid == e.DomainPid || e.Pid == 0 {
		t.Errorf("read after exec: pid %d, domain pid %d; want cat's own pid", e.Pid, e.DomainPid)
	}
	if e.DomainPid != d.DomainPid {
		t.Errorf("cat's denial names domain creator %d, its parent's %d; want the same", e.DomainPid, d.DomainPid)
	}
	// Before ABI 8 each thread of the Go child restricts itself into a domain of its own, and the
	// thread that read the file need not be the one that started cat.
	if abi, _ := confine.Available(); abi >= 8 && e.Domain != d.Domain {
		t.Errorf("cat denied by domain %s, its parent by %s; want the same (Landlock ABI %d)", e.Domain, d.Domain, abi)
	}

	if after, err := auditEnabled(); err != nil || after != 1 {
		t.Errorf("audit enabled was %d before Watch, %d (%v) after; want it left on", before, after, err)
	}
}

// TestWatchUnprivileged runs Watch as nobody: it must fail at once and name the capability.
func TestWatchUnprivileged(t *testing.T) {
	if os.Getuid() != 0 {
		t.Fatal("needs root to start a process as nobody: run the tests as root (CI does)")
	}
	// nobody must be able to execute the test binary: copy it where it can.
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "audit.test")
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-test.run=^$")
	cmd.Env = []string{childEnv + "=watch"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	if !strings.Contains(string(out), "CAP_AUDIT_READ") {
		t.Errorf("Watch as nobody said %q; want it to name CAP_AUDIT_READ", out)
	}
}
