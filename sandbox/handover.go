package sandbox

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// ChownTree gives the sandbox's user a tree that Sesame made (a workspace, a per-task home), without
// following symlinks. What is already the user's is left as is: a workspace made from a spare that
// was handed over in advance (gitops.Cache.Owner) costs a walk, not a write per file. "" is nothing.
func ChownTree(root string, uid, gid int) error {
	if root == "" {
		return nil
	}
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) == uid && int(st.Gid) == gid {
			return nil
		}
		return os.Lchown(p, uid, gid)
	})
}

// HandedOver returns what of the workspace still has to be given to the sandbox's user: all of it,
// unless its folder is already that user's, which says that whoever made it (a spare of
// gitops.Cache with Owner) handed the working tree over whole; then only .git, which checking it
// out as a task's branch wrote, or "" when there is none.
func HandedOver(workspace string, uid, gid int) string {
	fi, err := os.Lstat(workspace)
	if err != nil {
		return workspace
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) == uid && int(st.Gid) == gid {
		git := filepath.Join(workspace, ".git")
		if _, err := os.Lstat(git); err != nil {
			return "" // nothing was added to what was handed over
		}
		return git
	}
	return workspace
}
