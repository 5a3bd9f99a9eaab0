//go:build linux && (amd64 || arm64)

package confine

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Confinement lasts for the life of a process, so every test that confines runs in a child: the
// test binary started again with childEnv naming a mode. TestMain runs the mode instead of the tests,
// and the child prints a JSON report on stdout for the test to check.
const (
	childEnv = "SESAME_CONFINE_TEST_CHILD"
	specEnv  = "SESAME_CONFINE_TEST_SPEC"
)

// childSpec is what a child is told to do, in specEnv.
type childSpec struct {
	Rules Rules
	// Paths the checks use.
	RW, RO, ROFile, RWFile, Secret, Elf string
}

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(runChild(mode))
	}
	os.Exit(m.Run())
}

// runChild runs one child mode; see the modes below. Its exit status is 0 when it got to print its
// report, 2 when it could not set itself up.
func runChild(mode string) int {
	var spec childSpec
	if s := os.Getenv(specEnv); s != "" {
		if err := json.Unmarshal([]byte(s), &spec); err != nil {
			fmt.Fprintln(os.Stderr, "spec:", err)
			return 2
		}
	}
	report := map[string]string{}
	setup := func(err error) bool {
		if err != nil {
			fmt.Fprintln(os.Stderr, mode+":", err)
			return false
		}
		return true
	}
	switch mode {
	case "apply": // Apply, then try what the rules allow and forbid
		start := time.Now()
		if !setup(Apply(spec.Rules)) {
			return 2
		}
		report["apply-duration"] = time.Since(start).String()
		applyChecks(spec, report)
	case "apply-timed": // Apply and say how long it took, for BenchmarkApply
		start := time.Now()
		if !setup(Apply(spec.Rules)) {
			return 2
		}
		report["ns"] = fmt.Sprint(time.Since(start).Nanoseconds())
	case "seccomp": // only the seccomp filter, then the probes
		if !setup(loadPolicy()) {
			return 2
		}
		runProbes(report)
	case "baseline": // the probes without any filter
		runProbes(report)
	case "x32": // a call with __X32_SYSCALL_BIT under the filter must kill
		if !setup(loadPolicy()) {
			return 2
		}
		_, _, e := syscall.RawSyscall(uintptr(nativeArch().X32Bit)|syscall.SYS_GETPID, 0, 0, 0)
		report["x32"] = result(errnoErr(e))
	case "x32-baseline":
		_, _, e := syscall.RawSyscall(uintptr(nativeArch().X32Bit)|syscall.SYS_GETPID, 0, 0, 0)
		report["x32"] = result(errnoErr(e))
	case "i386": // a program making an i386 call (int 0x80) under the filter must die
		if !setup(loadPolicy()) {
			return 2
		}
		err := syscall.Exec(spec.Elf, []string{spec.Elf}, nil)
		fmt.Fprintln(os.Stderr, "exec:", err)
		return 2
	case "i386-baseline":
		err := syscall.Exec(spec.Elf, []string{spec.Elf}, nil)
		fmt.Fprintln(os.Stderr, "exec:", err)
		return 2
	default:
		fmt.Fprintln(os.Stderr, "unknown child mode", mode)
		return 2
	}
	if err := json.NewEncoder(os.Stdout).Encode(report); err != nil {
		return 2
	}
	return 0
}

func loadPolicy() error {
	prog, err := assemble(nativeArch(), policy())
	if err != nil {
		return err
	}
	return loadSeccomp(prog)
}

// result is how a report spells an outcome: "ok" or the errno's name.
func result(err error) string {
	if err == nil {
		return "ok"
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return unix.ErrnoName(errno)
	}
	return err.Error()
}

func errnoErr(e syscall.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

// childResult is how a child ended.
type childResult struct {
	report map[string]string
	stderr string
	status syscall.WaitStatus
}

// startChild runs the test binary in mode with spec and waits for it.
func startChild(t testing.TB, mode string, spec childSpec) childResult {
	t.Helper()
	s, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode, specEnv+"="+string(s))
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("child %s: %v", mode, err)
	}
	res := childResult{stderr: stderr.String(), status: cmd.ProcessState.Sys().(syscall.WaitStatus)}
	if stdout.Len() > 0 {
		if err := json.Unmarshal([]byte(stdout.String()), &res.report); err != nil {
			t.Fatalf("child %s printed %q: %v (stderr %s)", mode, stdout.String(), err, res.stderr)
		}
	}
	return res
}

// mustReport runs a child that must print its report.
func mustReport(t testing.TB, mode string, spec childSpec) map[string]string {
	t.Helper()
	res := startChild(t, mode, spec)
	if res.report == nil || res.status.ExitStatus() != 0 {
		t.Fatalf("child %s ended with %v and no report; stderr:\n%s", mode, res.status, res.stderr)
	}
	return res.report
}
