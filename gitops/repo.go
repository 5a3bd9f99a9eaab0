package gitops

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-billy/v5/memfs"
	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/filesystem/dotgit"
)

// openRepo opens the repository of the working tree dir with go-git.
//
// go-git reads a borrowed object store (objects/info/alternates) by opening
// it afresh, pack index and all, for every object it looks up: on the
// 50,000-file benchmark a commit took 277 s. So the workspace's storage is
// opened with alternates switched off, and each alternate once, beside it.
func openRepo(dir string) (*git.Repository, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	dotGit := filepath.Join(dir, ".git")
	if fi, err := os.Stat(dotGit); err != nil || !fi.IsDir() {
		return nil, errors.New("not a git working tree")
	}
	objCache := cache.NewObjectLRUDefault()
	st := &sharedStorage{Storage: filesystem.NewStorageWithOptions(osfs.New(dotGit), objCache,
		filesystem.Options{AlternatesFS: memfs.New()})}
	alts, err := alternates(filepath.Join(dotGit, "objects"))
	if err != nil {
		return nil, err
	}
	for _, objects := range alts {
		fs := osfs.New(filepath.Dir(objects))
		st.borrowed = append(st.borrowed, filesystem.NewObjectStorage(dotgit.New(fs), objCache))
	}
	return git.Open(st, osfs.New(dir))
}

// alternates returns the object folders that objects borrows from.
func alternates(objects string) ([]string, error) {
	f, err := os.Open(filepath.Join(objects, "info", "alternates"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !filepath.IsAbs(line) {
			line = filepath.Join(objects, line)
		}
		if fi, err := os.Stat(line); err == nil && fi.IsDir() && filepath.Base(line) == "objects" {
			out = append(out, filepath.Clean(line))
		}
	}
	return out, sc.Err()
}

// sharedStorage is a workspace's storage whose objects are looked up in the
// borrowed stores first (where nearly all of them are), then in its own.
type sharedStorage struct {
	*filesystem.Storage
	borrowed []*filesystem.ObjectStorage
}

func (s *sharedStorage) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	for _, b := range s.borrowed {
		if o, err := b.EncodedObject(t, h); err == nil {
			return o, nil
		}
	}
	return s.Storage.EncodedObject(t, h)
}

func (s *sharedStorage) HasEncodedObject(h plumbing.Hash) error {
	for _, b := range s.borrowed {
		if b.HasEncodedObject(h) == nil {
			return nil
		}
	}
	return s.Storage.HasEncodedObject(h)
}

func (s *sharedStorage) EncodedObjectSize(h plumbing.Hash) (int64, error) {
	for _, b := range s.borrowed {
		if n, err := b.EncodedObjectSize(h); err == nil {
			return n, nil
		}
	}
	return s.Storage.EncodedObjectSize(h)
}
