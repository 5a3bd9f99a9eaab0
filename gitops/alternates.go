package gitops

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// ErrObjectStore is wrapped by the error of CheckAlternates, and so of
// Commit and Push, when a workspace's object store is not as Checkout made
// it.
var ErrObjectStore = errors.New("the workspace's object store was changed")

// maxAlternates is the largest objects/info/alternates read: Checkout
// writes one path.
const maxAlternates = 4096

// CheckAlternates returns an error wrapping ErrObjectStore unless
// workspace's object store is the one Checkout made from mirror:
//
//   - .git and .git/objects are folders, not links;
//   - nothing under .git/objects is a link, a FIFO or another special file;
//   - objects/info/alternates names mirror's objects folder, by the absolute
//     path Checkout wrote, and nothing else (no other path, no second line,
//     no relative path, no comment);
//   - there is no objects/info/http-alternates.
//
// The agent had the workspace to itself, and git and go-git, which run on
// the host, follow alternates and links wherever they point: a workspace
// that borrows from another repository's mirror (or links its packs in)
// could make Push send that repository's commits to this one. Commit and
// Push call it before they read an object.
func CheckAlternates(workspace, mirror string) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("workspace %s: %w: %s", workspace, ErrObjectStore, fmt.Sprintf(format, a...))
	}
	mirror, err := filepath.Abs(mirror)
	if err != nil {
		return fmt.Errorf("workspace %s: mirror: %w", workspace, err)
	}
	dir, err := filepath.Abs(workspace)
	if err != nil {
		return fmt.Errorf("workspace %s: %w", workspace, err)
	}
	dotGit := filepath.Join(dir, ".git")
	objects := filepath.Join(dotGit, "objects")
	for _, p := range []string{dotGit, objects} {
		fi, err := os.Lstat(p)
		if err != nil {
			return bad("%v", err)
		}
		if !fi.IsDir() {
			return bad("%s is %s, not a folder", rel(dir, p), kind(fi.Mode()))
		}
	}
	err = filepath.WalkDir(objects, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if t := d.Type(); !t.IsDir() && !t.IsRegular() {
			return bad("%s is %s", rel(dir, p), kind(t))
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrObjectStore) {
			return err
		}
		return fmt.Errorf("workspace %s: %w", workspace, err)
	}

	info := filepath.Join(objects, "info")
	if _, err := os.Lstat(filepath.Join(info, "http-alternates")); err == nil {
		return bad(".git/objects/info/http-alternates exists")
	}
	want := filepath.Join(mirror, "objects")
	b, err := readSmallFile(filepath.Join(info, "alternates"), maxAlternates)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return bad(".git/objects/info/alternates is missing, want %s", want)
	case err != nil:
		return bad(".git/objects/info/alternates: %v", err)
	}
	if got := string(b); got != want+"\n" && got != want {
		return bad(".git/objects/info/alternates holds %q, want only %s", got, want)
	}
	return nil
}

// readSmallFile reads the regular file at path, not following a link and
// not waiting on a FIFO, if it holds at most limit bytes.
func readSmallFile(path string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	switch {
	case err != nil:
		return nil, err
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("is %s", kind(fi.Mode()))
	case fi.Size() > limit:
		return nil, fmt.Errorf("holds %d bytes", fi.Size())
	}
	return io.ReadAll(io.LimitReader(f, limit+1))
}

// kind names what m is, for messages.
func kind(m fs.FileMode) string {
	switch t := m.Type(); {
	case t.IsRegular():
		return "a file"
	case t&fs.ModeSymlink != 0:
		return "a symbolic link"
	case t&fs.ModeNamedPipe != 0:
		return "a named pipe"
	default:
		return "a special file"
	}
}

// rel is p relative to dir, for messages.
func rel(dir, p string) string {
	if r, err := filepath.Rel(dir, p); err == nil {
		return r
	}
	return p
}
