package local

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	sesame "github.com/sesame-works/sesame"
)

// DefaultSandboxUID is the uid (and gid) sandboxed processes run as when Sesame runs as root. No
// account needs to exist for it; inside the sandbox /etc/passwd names it "sesame".
const DefaultSandboxUID = 1999999

// systemFolders are the host folders every sandbox sees, read-only, at the same path (those that
// exist; a symlink, as in merged /usr, is made the same symlink). Nothing else of the host is
// visible: not /home, /root, /var, /srv, /opt, /mnt, /media, nor the host's /tmp and /run.
var systemFolders = []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"}

// credentialNames are hidden wherever they appear at the top of a bound folder (an agent install
// under someone's home, say).
var credentialNames = []string{".ssh", ".aws", ".azure", ".gnupg", ".kube", ".docker", ".netrc",
	".git-credentials", ".npmrc", ".pypirc", ".env", ".config/gh", ".config/gcloud", ".config/sesame"}

// sandboxUser says which uid and gid sandboxed processes run as: DefaultSandboxUID (or the
// configured one) when Sesame runs as root, Sesame's own ids otherwise (bubblewrap then maps them
// into the user namespace unchanged).
func (p *Provider) sandboxUser() (uid, gid int, drop bool) {
	if os.Geteuid() != 0 {
		return os.Geteuid(), os.Getegid(), false
	}
	return p.uid, p.uid, true
}

// Owner returns the uid and gid sandboxed processes run as, and whether that is another user than
// Sesame's (Sesame runs as root): then what Sesame makes for a sandbox is handed to them.
func (p *Provider) Owner() (uid, gid int, other bool) { return p.sandboxUser() }

// findBwrap returns the bubblewrap binary's path, or an error saying how to install it.
func (p *Provider) findBwrap() (string, error) {
	name := p.bwrap
	if name == "" {
		name = "bwrap"
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return "", sesame.Errorf(sesame.EUNAVAILABLE,
			"bubblewrap (%s) is not installed; the local sandbox needs it (Debian/Ubuntu: apt-get install bubblewrap)", name)
	}
	return path, nil
}

// probe checks once, until it succeeds, that bubblewrap can make a sandbox here as the sandbox's
// user (user namespaces allowed, bubblewrap not blocked by an AppArmor or seccomp profile), so
// that a host that cannot refuses tasks at Create with bubblewrap's own words.
func (p *Provider) probe(bwrap string) error {
	p.probeMu.Lock()
	defer p.probeMu.Unlock()
	if p.probed {
		return nil
	}
	cmd := exec.Command(bwrap, "--unshare-user", "--unshare-pid", "--unshare-net", "--disable-userns",
		"--die-with-parent", "--ro-bind", "/", "/", "--", "/bin/true")
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=" + DefaultPath}
	if uid, gid, drop := p.sandboxUser(); drop {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return sesame.Errorf(sesame.EUNAVAILABLE,
			"bubblewrap cannot make a sandbox on this host (%v: %s); user namespaces must be allowed "+
				"(sysctl user.max_user_namespaces above 0; on Ubuntu kernel.apparmor_restrict_unprivileged_userns=0 "+
				"or an AppArmor profile for bwrap; in a container --security-opt seccomp=unconfined)",
			err, strings.TrimSpace(string(out)))
	}
	p.probed = true
	return nil
}

// systemPaths lists the system folders that exist on this host.
func systemPaths() []hostPath {
	var out []hostPath
	for _, p := range systemFolders {
		fi, err := os.Lstat(p)
		switch {
		case err != nil:
		case fi.Mode()&fs.ModeSymlink != 0:
			if target, err := os.Readlink(p); err == nil {
				out = append(out, hostPath{path: p, symlink: target})
			}
		case fi.IsDir():
			out = append(out, hostPath{path: p, dir: true})
		}
	}
	return out
}

// hidden returns the paths to mask inside the bound trees: each of hide (the server's home,
// working directory, config and key files) that lies strictly inside a bound tree without
// containing another bind, and the credential names at the top of each extra read-only tree.
func hidden(bound, binds, hide []string) []hostPath {
	var cands []string
	cands = append(cands, hide...)
	for _, b := range binds {
		for _, n := range credentialNames {
			cands = append(cands, filepath.Join(b, n))
		}
	}
	var out []hostPath
	seen := map[string]bool{}
	for _, h := range cands {
		h = filepath.Clean(h)
		if seen[h] || !filepath.IsAbs(h) {
			continue
		}
		inside, holds := false, false
		for _, b := range bound {
			if h != b && within(h, b) {
				inside = true
			}
			if within(b, h) {
				holds = true
			}
		}
		if !inside || holds {
			continue
		}
		fi, err := os.Stat(h)
		if err != nil {
			continue
		}
		seen[h] = true
		out = append(out, hostPath{path: h, dir: fi.IsDir()})
	}
	return out
}

// traversable makes sure the sandbox's user can reach path from /: folders Sesame owns inside
// base (TASK_DIR_BASE) get the sandbox's group and search permission for it (0710: the group may
// pass through, not list); a folder outside base that the sandbox's user cannot search is an error
// naming it.
func traversable(path, base string, uid, gid int, drop bool) error {
	if !drop {
		return nil
	}
	path = filepath.Clean(path)
	for dir := path; ; dir = filepath.Dir(dir) {
		fi, err := os.Stat(dir)
		if err != nil {
			return err
		}
		if dir != path || fi.IsDir() {
			if err := searchable(dir, fi, base, uid, gid); err != nil {
				return err
			}
		}
		if dir == "/" {
			return nil
		}
	}
}

func searchable(dir string, fi fs.FileInfo, base string, uid, gid int) error {
	st := fi.Sys().(*syscall.Stat_t)
	mode := fi.Mode().Perm()
	switch {
	case mode&0o001 != 0,
		int(st.Uid) == uid && mode&0o100 != 0,
		int(st.Gid) == gid && mode&0o010 != 0:
		return nil
	case within(dir, base) && st.Uid == 0:
		if err := os.Chown(dir, 0, gid); err != nil {
			return err
		}
		return os.Chmod(dir, mode|0o010)
	}
	return sesame.Errorf(sesame.EINVALID,
		"the sandbox's user (uid %d) cannot reach %s: make it searchable (chmod o+x %s) or move what the sandbox needs elsewhere", uid, dir, dir)
}

// writeAccounts writes the sandbox's /etc/passwd and /etc/group into dir: root, the sandbox's
// user (named sesame, with home as its home) and nobody. The host's accounts are not shown.
func writeAccounts(dir, home string, uid, gid int) (passwd, group string, err error) {
	passwd, group = filepath.Join(dir, "passwd"), filepath.Join(dir, "group")
	var pw, gr strings.Builder
	fmt.Fprintf(&pw, "root:x:0:0:root:/root:/usr/sbin/nologin\n")
	fmt.Fprintf(&gr, "root:x:0:\n")
	if uid != 0 {
		fmt.Fprintf(&pw, "sesame:x:%d:%d:Sesame agent:%s:/bin/sh\n", uid, gid, home)
	}
	if gid != 0 {
		fmt.Fprintf(&gr, "sesame:x:%d:\n", gid)
	}
	fmt.Fprintf(&pw, "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
	fmt.Fprintf(&gr, "nogroup:x:65534:\n")
	if err := os.WriteFile(passwd, []byte(pw.String()), 0o644); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(group, []byte(gr.String()), 0o644); err != nil {
		return "", "", err
	}
	return passwd, group, nil
}

// stageInit copies the init binary (this program) into dir, once per content, so that the
// sandbox's user can read it wherever the program itself lives (a Go test binary sits in a
// private build folder). It returns the copy's path.
func stageInit(src, dir string) (string, error) {
	fi, err := os.Stat(src)
	if err != nil {
		return "", fmt.Errorf("sandbox init %s: %w", src, err)
	}
	dst := filepath.Join(dir, fmt.Sprintf("sesame-init-%d-%d", fi.Size(), fi.ModTime().UnixNano()))
	if _, err := os.Stat(dst); err == nil {
		return dst, nil
	}
	in, err := os.Open(src)
	if err != nil {
		return "", fmt.Errorf("sandbox init: %w", err)
	}
	defer in.Close()
	tmp, err := os.CreateTemp(dir, ".init-*")
	if err != nil {
		return "", fmt.Errorf("sandbox init: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.ReadFrom(in); err != nil {
		tmp.Close()
		return "", fmt.Errorf("sandbox init: %w", err)
	}
	if err := errors.Join(tmp.Chmod(0o755), tmp.Close()); err != nil {
		return "", fmt.Errorf("sandbox init: %w", err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", fmt.Errorf("sandbox init: %w", err)
	}
	return dst, nil
}
