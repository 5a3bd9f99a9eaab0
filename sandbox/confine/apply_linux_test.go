//go:build linux && (amd64 || arm64)

package confine

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/landlock-lsm/go-landlock/landlock"
	ll "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"
)

// systemRO is what a confined test child reads and executes: enough for /bin/sh, cat and the test
// binary itself.
var systemRO = []string{"/usr", "/bin", "/sbin", "/lib", "/lib64", "/etc", "/proc"}

// newApplySpec lays out a temporary tree: rw/ and rw-file are ReadWrite, ro/ and ro-file ReadOnly,
// outside/secret is in neither.
func newApplySpec(t testing.TB) childSpec {
	t.Helper()
	dir := t.TempDir()
	s := childSpec{
		RW: filepath.Join(dir, "rw"), RO: filepath.Join(dir, "ro"),
		RWFile: filepath.Join(dir, "rw-file"), ROFile: filepath.Join(dir, "ro-file"),
		Secret: filepath.Join(dir, "outside", "secret"),
	}
	for _, d := range []string{s.RW, s.RO, filepath.Dir(s.Secret)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{s.RWFile, s.ROFile, s.Secret, filepath.Join(s.RO, "file")} {
		if err := os.WriteFile(f, []byte("content\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s.Rules = Rules{
		ReadWrite: []string{s.RW, s.RWFile, "/dev"},
		// The test binary's folder, so that it can run again after Apply; a path that does not
		// exist, which Apply skips.
		ReadOnly: append([]string{s.RO, s.ROFile, filepath.Dir(os.Args[0]), "/nonexistent-sesame-confine"}, systemRO...),
	}
	return s
}

// applyChecks runs in the child after Apply.
func applyChecks(s childSpec, report map[string]string) {
	check := func(name string, err error) { report[name] = result(err) }
	write := func(path string) error {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return err
		}
		return f.Close()
	}
	read := func(path string) error { _, err := os.ReadFile(path); return err }

	check("create in ReadWrite", os.WriteFile(filepath.Join(s.RW, "new"), []byte("x"), 0o644))
	check("make dirs in ReadWrite", os.MkdirAll(filepath.Join(s.RW, "a", "b"), 0o755))
	check("move between dirs in ReadWrite", os.Rename(filepath.Join(s.RW, "new"), filepath.Join(s.RW, "a", "b", "moved")))
	check("truncate in ReadWrite", os.Truncate(filepath.Join(s.RW, "a", "b", "moved"), 0))
	check("remove in ReadWrite", os.Remove(filepath.Join(s.RW, "a", "b", "moved")))
	check("write a ReadWrite file", write(s.RWFile))
	check("read in ReadOnly", read(filepath.Join(s.RO, "file")))
	check("list ReadOnly", func() error { _, err := os.ReadDir(s.RO); return err }())
	check("create in ReadOnly", os.WriteFile(filepath.Join(s.RO, "new"), []byte("x"), 0o644))
	check("write in ReadOnly", write(filepath.Join(s.RO, "file")))
	check("remove in ReadOnly", os.Remove(filepath.Join(s.RO, "file")))
	check("read a ReadOnly file", read(s.ROFile))
	check("write a ReadOnly file", write(s.ROFile))
	check("read outside", read(s.Secret))
	check("list outside", func() error { _, err := os.ReadDir(filepath.Dir(s.Secret)); return err }())
	check("create outside", os.WriteFile(filepath.Join(filepath.Dir(s.Secret), "new"), []byte("x"), 0o644))

	check("socket(AF_UNIX)", socketProbe(unix.AF_UNIX)())
	check("socket(AF_INET)", socketProbe(unix.AF_INET)())
	check("socketpair(AF_UNIX)", func() error {
		fds, err := syscall.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
		if err == nil {
			syscall.Close(fds[0])
			syscall.Close(fds[1])
		}
		return err
	}())
	check("unshare(CLONE_NEWUSER)", sysc(unix.SYS_UNSHARE, unix.CLONE_NEWUSER))
	check("io_uring_setup", sysc(unix.SYS_IO_URING_SETUP, 1, 0))
	check("mount tmpfs on ReadWrite", sysc(unix.SYS_MOUNT, cstr("none"), cstr(s.RW), cstr("tmpfs"), 0, 0))

	// A program started after Apply is confined too.
	sh := exec.Command("/bin/sh", "-c", `echo started; cat "$1"`, "sh", s.Secret)
	var stderr strings.Builder
	sh.Stderr = &stderr
	out, err := sh.Output()
	report["exec sh: stdout"] = strings.TrimSpace(string(out))
	report["exec sh: cat secret"] = result(err)
	if strings.Contains(stderr.String(), "Permission denied") {
		report["exec sh: cat secret"] = "Permission denied"
	}
	self := exec.Command(os.Args[0], "-test.run=^$")
	self.Env = []string{childEnv + "=baseline"}
	out, err = self.Output()
	if err != nil {
		report["exec self"] = result(err)
	} else {
		var after map[string]string
		if err := json.Unmarshal(out, &after); err != nil {
			report["exec self"] = err.Error()
		}
		for k, v := range after {
			report["after exec: "+k] = v
		}
	}

	// Last: without the filter this would make the test process our tracer.
	check("ptrace(PTRACE_TRACEME)", sysc(unix.SYS_PTRACE, unix.PTRACE_TRACEME))
}

func TestApply(t *testing.T) {
	abi, err := Available()
	if err != nil {
		t.Fatalf("Landlock and seccomp must work on this machine: %v", err)
	}
	t.Logf("Landlock ABI %d", abi)
	spec := newApplySpec(t)
	report := mustReport(t, "apply", spec)
	t.Logf("Apply took %s in the child", report["apply-duration"])

	want := map[string]string{
		"create in ReadWrite":            "ok",
		"make dirs in ReadWrite":         "ok",
		"move between dirs in ReadWrite": "ok",
		"truncate in ReadWrite":          "ok",
		"remove in ReadWrite":            "ok",
		"write a ReadWrite file":         "ok",
		"read in ReadOnly":               "ok",
		"list ReadOnly":                  "ok",
		"create in ReadOnly":             "EACCES",
		"write in ReadOnly":              "EACCES",
		"remove in ReadOnly":             "EACCES",
		"read a ReadOnly file":           "ok",
		"write a ReadOnly file":          "EACCES",
		"read outside":                   "EACCES",
		"list outside":                   "EACCES",
		"create outside":                 "EACCES",
		"socket(AF_UNIX)":                "EPERM",
		"socket(AF_INET)":                "ok",
		"socketpair(AF_UNIX)":            "ok",
		"unshare(CLONE_NEWUSER)":         "EPERM",
		"io_uring_setup":                 "EPERM",
		"mount tmpfs on ReadWrite":       "EPERM",
		"exec sh: stdout":                "started",
		"exec sh: cat secret":            "Permission denied",
		"ptrace(PTRACE_TRACEME)":         "EPERM",
	}
	// The filter stays after execve: the test binary, run again by the confined child, makes every
	// probe and gets the filter's answers.
	for _, p := range probes() {
		want["after exec: "+p.name] = p.want
	}
	for name, w := range want {
		if got, ok := report[name]; !ok {
			t.Errorf("%s: no result (report %v)", name, report)
		} else if got != w {
			t.Errorf("%s: %s, want %s", name, got, w)
		}
	}
}

func TestFSRules(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	all := landlock.V7.HandledAccessFS
	tests := []struct {
		name    string
		handled landlock.AccessFSSet
		rules   Rules
		want    []string
		wantErr bool
	}{
		{"dir read-write gets every right", all, Rules{ReadWrite: []string{dir}},
			[]string{landlock.PathAccess(all, dir).String()}, false},
		{"file read-write gets the file rights", all, Rules{ReadWrite: []string{file}},
			[]string{landlock.PathAccess(fileRights, file).String()}, false},
		{"dir read-only", all, Rules{ReadOnly: []string{dir}},
			[]string{landlock.PathAccess(readRights, dir).String()}, false},
		{"file read-only has no read_dir", all, Rules{ReadOnly: []string{file}},
			[]string{landlock.PathAccess(ll.AccessFSExecute|ll.AccessFSReadFile, file).String()}, false},
		{"ABI 1 read-write has no refer", landlock.V1.HandledAccessFS, Rules{ReadWrite: []string{dir}},
			[]string{landlock.PathAccess(landlock.V1.HandledAccessFS, dir).String()}, false},
		{"missing paths are skipped", all, Rules{ReadWrite: []string{dir + "/missing"}, ReadOnly: []string{"/nonexistent-sesame"}},
			nil, false},
		{"relative paths are refused", all, Rules{ReadOnly: []string{"usr"}}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules, err := fsRules(tt.handled, tt.rules)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			var got []string
			for _, r := range rules {
				got = append(got, r.(landlock.FSRule).String())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestFSConfig(t *testing.T) {
	for abi := 1; abi <= 12; abi++ {
		c := fsConfig(abi)
		if c.HandledAccessNet != 0 || c.Scoped != 0 {
			t.Errorf("ABI %d: %v restricts more than files", abi, c)
		}
		if logs := strings.Contains(c.String(), "log_new_exec_on"); logs != (abi >= 7) {
			t.Errorf("ABI %d: %v: logging after exec %v, want %v", abi, c, logs, abi >= 7)
		}
		if abi >= 2 && c.HandledAccessFS&ll.AccessFSRefer == 0 {
			t.Errorf("ABI %d: %v does not handle refer", abi, c)
		}
	}
}

// BenchmarkApply measures Apply in fresh child processes (a process can be confined once); the
// ns/apply metric is Apply alone, ns/op includes starting the child.
func BenchmarkApply(b *testing.B) {
	spec := newApplySpec(b)
	var total time.Duration
	for b.Loop() {
		r := mustReport(b, "apply-timed", spec)
		ns, err := strconv.ParseInt(r["ns"], 10, 64)
		if err != nil {
			b.Fatal(err)
		}
		total += time.Duration(ns)
	}
	b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "ns/apply")
}
