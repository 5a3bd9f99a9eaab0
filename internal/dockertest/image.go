package dockertest

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
)

// builderVersion is part of every tag: bump it when the layout Ensure writes changes.
const builderVersion = "1"

// Image describes a sandbox image made from this host's files. Paths in the image are relative
// ("usr/local/bin/claude"); host paths are absolute, their symlinks followed. Every image also has
// /tmp (1777), /home/sesame (owned by 1000, mode 1777: Podman copies it onto the HOME tmpfs), empty
// /run, /proc, /sys and /dev, and an /etc/passwd and /etc/group with the user sesame (1000:1000),
// whose shell is /bin/bash when the image has one, else /bin/sh.
type Image struct {
	// Name is the repository of the tag, which is "localhost/{Name}:{hash of the content}".
	Name string
	// Programs are executables (path in the image → host path); the shared libraries ldd names for
	// each are added at their host paths.
	Programs map[string]string
	// Files are copied as they are (path in the image → host path).
	Files map[string]string
	// Text are files written from their content (path in the image → content), mode 0644; they win
	// over the default passwd and group.
	Text map[string]string
	// Busybox adds Debian's busybox-static as /bin/busybox, a /bin symlink for each of its applets
	// that no other file of the image takes, and /usr/bin/env.
	Busybox bool
}

// busyboxPath is Debian's busybox-static.
const busyboxPath = "/bin/busybox"

// entry is one thing in the image's tarball.
type entry struct {
	dst      string // relative path in the image
	src      string // host file ("" for text and symlinks)
	text     string
	linkname string // a symlink's target
}

var ensureMu sync.Mutex

// Ensure imports img into the engine cli talks to, unless an image of the same content is there
// already, and returns its tag. The content is named by the image's layout and, for each host
// file, its path, size, mode and modification time; the tarball is streamed to the engine.
func Ensure(ctx context.Context, cli *client.Client, img Image) (string, error) {
	ensureMu.Lock() // parallel tests of one package import an image once
	defer ensureMu.Unlock()
	entries, err := img.entries()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "dockertest %s\n", builderVersion)
	for _, e := range entries {
		fmt.Fprintf(h, "%q %q %q %q", e.dst, e.src, e.text, e.linkname)
		if e.src != "" {
			st, err := os.Stat(e.src)
			if err != nil {
				return "", fmt.Errorf("image %s needs %s: %w", img.Name, e.src, err)
			}
			fmt.Fprintf(h, " %d %o %d", st.Size(), st.Mode(), st.ModTime().UnixNano())
		}
		fmt.Fprintln(h)
	}
	tag := "localhost/" + img.Name + ":" + hex.EncodeToString(h.Sum(nil)[:8])
	if _, err := cli.ImageInspect(ctx, tag); err == nil {
		return tag, nil
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeTar(pw, entries)) }()
	rc, err := cli.ImageImport(ctx, image.ImportSource{Source: pr, SourceName: "-"}, tag, image.ImportOptions{})
	if err != nil {
		pr.CloseWithError(err)
		return "", fmt.Errorf("import image %s: %w", tag, err)
	}
	defer rc.Close()
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return "", fmt.Errorf("import image %s: %w", tag, err)
	}
	pr.Close()
	if _, err := cli.ImageInspect(ctx, tag); err != nil {
		return "", fmt.Errorf("import image %s: not on the engine afterwards: %w", tag, err)
	}
	return tag, nil
}

// entries lists img's files, sorted by path; a later source of the same path wins in this order:
// busybox applets, libraries, files, programs, text.
func (img Image) entries() ([]entry, error) {
	byPath := map[string]entry{}
	add := func(e entry) { byPath[strings.TrimPrefix(path.Clean("/"+e.dst), "/")] = e }
	if img.Busybox {
		out, err := exec.Command(busyboxPath, "--list").Output()
		if err != nil {
			return nil, fmt.Errorf("image %s needs Debian's busybox-static (%s): %w", img.Name, busyboxPath, err)
		}
		for _, a := range strings.Fields(string(out)) {
			add(entry{dst: "bin/" + a, linkname: "busybox"})
		}
		add(entry{dst: "usr/bin/env", linkname: "/bin/busybox"})
		add(entry{dst: "bin/busybox", src: busyboxPath})
	}
	for _, src := range img.Programs {
		libs, err := sharedLibraries(src)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", img.Name, err)
		}
		for _, lib := range libs {
			add(entry{dst: lib, src: lib})
		}
	}
	for dst, src := range img.Files {
		add(entry{dst: dst, src: src})
	}
	for dst, src := range img.Programs {
		add(entry{dst: dst, src: src})
	}
	shell := "/bin/sh"
	if _, ok := byPath["bin/bash"]; ok {
		shell = "/bin/bash"
	}
	add(entry{dst: "etc/passwd", text: "root:x:0:0:root:/root:/bin/sh\nsesame:x:1000:1000:Sesame agent:/home/sesame:" + shell + "\n"})
	add(entry{dst: "etc/group", text: "root:x:0:\nsesame:x:1000:\n"})
	for dst, text := range img.Text {
		add(entry{dst: dst, text: text})
	}
	out := make([]entry, 0, len(byPath))
	for dst, e := range byPath {
		e.dst = dst
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b entry) int { return strings.Compare(a.dst, b.dst) })
	return out, nil
}

// sharedLibraries are the absolute paths ldd names for program (none for a static one).
func sharedLibraries(program string) ([]string, error) {
	out, err := exec.Command("ldd", program).CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "not a dynamic executable") {
			return nil, nil
		}
		return nil, fmt.Errorf("ldd %s: %v\n%s", program, err, out)
	}
	var libs []string
	for _, line := range strings.Split(string(out), "\n") {
		for _, f := range strings.Fields(line) {
			if strings.HasPrefix(f, "/") {
				libs = append(libs, f)
			}
		}
	}
	return libs, nil
}

// writeTar writes the image's root file system.
func writeTar(w io.Writer, entries []entry) error {
	tw := tar.NewWriter(w)
	dirs := map[string]bool{}
	var mkdir func(d string) error
	mkdir = func(d string) error {
		if d == "." || d == "" || dirs[d] {
			return nil
		}
		if err := mkdir(path.Dir(d)); err != nil {
			return err
		}
		dirs[d] = true
		mode, uid := int64(0o755), 0
		switch d {
		case "tmp":
			mode = 0o1777
		case "home/sesame":
			uid, mode = 1000, 0o1777 // an imported tarball may lose its owner; the provider copies the mode
		}
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: mode, Uid: uid, Gid: uid})
	}
	for _, d := range []string{"tmp", "home/sesame", "run", "proc", "sys", "dev", "etc", "usr/bin"} {
		if err := mkdir(d); err != nil {
			return err
		}
	}
	for _, e := range entries {
		if err := mkdir(path.Dir(e.dst)); err != nil {
			return err
		}
		var err error
		switch {
		case e.linkname != "":
			err = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: e.dst, Linkname: e.linkname, Mode: 0o777})
		case e.src == "":
			if err = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: e.dst, Mode: 0o644, Size: int64(len(e.text))}); err == nil {
				_, err = io.WriteString(tw, e.text)
			}
		default:
			err = copyFile(tw, e.dst, e.src)
		}
		if err != nil {
			return err
		}
	}
	return tw.Close()
}

// copyFile writes the host file src (symlinks followed) at dst.
func copyFile(tw *tar.Writer, dst, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: dst, Mode: int64(st.Mode().Perm()), Size: st.Size()}); err != nil {
		return err
	}
	if _, err := io.Copy(tw, f); err != nil {
		return fmt.Errorf("copy %s into the image: %w", src, err)
	}
	return nil
}

// ClaudeImage is an image in which the Claude Code CLI runs as the docker provider runs agents,
// and in which the escape suite's attacks run: claude (the native binary at the host path claude)
// on PATH, bash for its Bash tool, busybox for the rest, curl and getent, the C library they need,
// and CA certificates.
func ClaudeImage(claude string) Image {
	return Image{
		Name: "sesame-test-agent",
		Programs: map[string]string{
			"usr/local/bin/claude": claude,
			"bin/bash":             "/usr/bin/bash",
			"usr/bin/curl":         "/usr/bin/curl",
			"usr/bin/getent":       "/usr/bin/getent",
		},
		Files:   map[string]string{"etc/ssl/certs/ca-certificates.crt": "/etc/ssl/certs/ca-certificates.crt"},
		Busybox: true,
	}
}
