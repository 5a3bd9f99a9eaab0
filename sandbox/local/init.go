package local

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/sesame-works/sesame/sandbox/confine"
	"github.com/sesame-works/sesame/sandbox/egress"
	"github.com/sesame-works/sesame/sandbox/preview"
)

// The sesame binary is its own sandbox init: bubblewrap runs it inside the sandbox with initArg as
// its first argument, and it runs itself again with execArg for the command. A program that uses
// this provider must call MaybeRunInit first thing in main (and a test binary in TestMain).
const (
	initArg = "__sesame-sandbox-init"
	execArg = "__sesame-sandbox-exec"
)

// MaybeRunInit runs the sandbox's init or exec stage and exits when the process was started as one
// (os.Args[1] is one of the stage names); otherwise it returns at once.
func MaybeRunInit() {
	if len(os.Args) < 2 {
		return
	}
	switch os.Args[1] {
	case initArg:
		os.Exit(runInit(os.Args[2:]))
	case execArg:
		os.Exit(runExec(os.Args[2:]))
	}
}

// stageFlags parses the rules both stages take, up to "--"; the rest is the command.
func stageFlags(name string, args []string) (initRules, []string, error) {
	var r initRules
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&r.proxy, "proxy", "", "proxy socket")
	fs.IntVar(&r.port, "port", 0, "relay port")
	fs.StringVar(&r.preview, "preview", "", "preview gateway socket")
	fs.Func("rw", "read-write path", func(s string) error { r.readWrite = append(r.readWrite, s); return nil })
	fs.Func("ro", "read-only path", func(s string) error { r.readOnly = append(r.readOnly, s); return nil })
	if err := fs.Parse(args); err != nil {
		return r, nil, err
	}
	if fs.NArg() == 0 {
		return r, nil, errors.New("no command")
	}
	return r, fs.Args(), nil
}

// runInit is the first process of a secure sandbox (after bubblewrap's own). It relays
// 127.0.0.1:port to the proxy socket, runs the command through the exec stage and exits with its
// status. It is not itself under seccomp: it needs a unix socket for the proxy, which the command
// may not open. When it exits, bubblewrap and with it every process of the sandbox go.
func runInit(args []string) int {
	rules, argv, err := stageFlags(initArg, args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sesame sandbox init:", err)
		return 126
	}
	if rules.proxy != "" {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(rules.port)))
		if err != nil {
			fmt.Fprintln(os.Stderr, "sesame sandbox init: proxy relay:", err)
			return 126
		}
		go egress.Relay(l, rules.proxy)
	}
	if rules.preview != "" {
		go preview.Serve(context.Background(), rules.preview, rules.port)
	}
	self, err := os.Executable()
	if err != nil {
		self = os.Args[0]
	}
	cmd := exec.Command(self, append(append([]string{execArg}, args[:len(args)-len(argv)]...), argv...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "sesame sandbox init:", err)
		return 126
	}
	go func() {
		for s := range sigs {
			_ = cmd.Process.Signal(s)
		}
	}()
	err = cmd.Wait()
	if st, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && st.Signaled() {
		return 128 + int(st.Signal())
	}
	if err != nil && cmd.ProcessState == nil {
		return 126
	}
	return cmd.ProcessState.ExitCode()
}

// runExec confines itself (Landlock, then seccomp) and replaces itself with the command.
func runExec(args []string) int {
	rules, argv, err := stageFlags(execArg, args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sesame sandbox exec:", err)
		return 126
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "sesame sandbox exec:", err)
		return 127
	}
	if err := confine.Apply(confine.Rules{ReadWrite: rules.readWrite, ReadOnly: rules.readOnly}); err != nil {
		fmt.Fprintln(os.Stderr, "sesame sandbox exec: confine:", err)
		return 126
	}
	err = syscall.Exec(path, argv, os.Environ())
	fmt.Fprintln(os.Stderr, "sesame sandbox exec:", err)
	return 126
}
