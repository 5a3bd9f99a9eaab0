//go:build linux && (amd64 || arm64)

package confine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/landlock-lsm/go-landlock/landlock"
	ll "github.com/landlock-lsm/go-landlock/landlock/syscall"
)

// Access rights (LANDLOCK_ACCESS_FS_*) by what they apply to.
const (
	// fileRights are the rights that mean something on a file; the kernel refuses a rule on a
	// file that grants any other (those are about a directory's entries).
	fileRights landlock.AccessFSSet = ll.AccessFSExecute | ll.AccessFSWriteFile | ll.AccessFSReadFile |
		ll.AccessFSTruncate | ll.AccessFSIoctlDev
	// readRights are what ReadOnly grants: read files, list directories, execute.
	readRights landlock.AccessFSSet = ll.AccessFSExecute | ll.AccessFSReadFile | ll.AccessFSReadDir
)

// fsConfig is the Landlock configuration for a kernel with the given ABI version: every
// file-system access right that version knows is handled (so is denied unless a rule grants it);
// network rights and IPC scopes are not. From ABI 7 on, denials are logged also after execve
// (LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON): the agent is executed after Apply, and without the flag
// the kernel would log nothing it does.
//
// go-landlock v0.11 supports that flag (Config.EnableLoggingForSubprocesses) and applies the
// ruleset to every thread itself (TSYNC from ABI 8, else one call per thread through
// syscall.AllThreadsSyscall, or libpsx in cgo builds), so Apply makes no raw Landlock calls. The
// configuration is exact, not "best effort": if go-landlock judges the kernel unable to enforce it,
// RestrictPaths fails instead of quietly doing less. Rights newer than go-landlock's V11 are not
// handled until the library is upgraded.
func fsConfig(abi int) landlock.Config {
	presets := []landlock.Config{landlock.V1, landlock.V2, landlock.V3, landlock.V4, landlock.V5,
		landlock.V6, landlock.V7, landlock.V8, landlock.V9, landlock.V10, landlock.V11}
	cfg := landlock.Config{HandledAccessFS: presets[min(abi, len(presets))-1].HandledAccessFS}
	if abi >= 7 {
		cfg = cfg.EnableLoggingForSubprocesses()
	}
	return cfg
}

// fsRules turns r into Landlock rules: ReadWrite paths get every handled right (including refer,
// so files can be moved between directories, ioctl on devices, and from ABI 9 connecting to unix
// sockets beneath them), ReadOnly paths readRights. A rule on a file keeps only fileRights. Paths
// that do not exist are skipped; relative paths are refused.
func fsRules(handled landlock.AccessFSSet, r Rules) ([]landlock.Rule, error) {
	var rules []landlock.Rule
	add := func(paths []string, rights landlock.AccessFSSet) error {
		for _, p := range paths {
			if !filepath.IsAbs(p) {
				return fmt.Errorf("path %q is not absolute", p)
			}
			fi, err := os.Stat(p)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return err
			}
			a := rights & handled
			if !fi.IsDir() {
				a &= fileRights
			}
			if a != 0 {
				rules = append(rules, landlock.PathAccess(a, p).IgnoreIfMissing())
			}
		}
		return nil
	}
	if err := add(r.ReadWrite, handled); err != nil {
		return nil, err
	}
	if err := add(r.ReadOnly, readRights); err != nil {
		return nil, err
	}
	return rules, nil
}

// restrictFS enforces the Landlock ruleset for r on every thread, with no_new_privs set first.
func restrictFS(abi int, r Rules) error {
	cfg := fsConfig(abi)
	rules, err := fsRules(cfg.HandledAccessFS, r)
	if err != nil {
		return err
	}
	return cfg.RestrictPaths(rules...)
}
