package cluster

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
)

// FreeBytes returns the space an unprivileged user may still write on the file system of dir.
func FreeBytes(dir string) (int64, error) { return freeBytes(dir) }

// DirSize returns the disk space the files under dir take, as du counts it: allocated blocks, each
// hard-linked file once. A dir that does not exist takes none. Files that vanish during the walk
// (a mirror being updated) are skipped; ctx stops the walk.
func DirSize(ctx context.Context, dir string) (int64, error) {
	var total int64
	seen := map[fileID]bool{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		} else if err != nil {
			return err
		}
		size, id, linked := usage(fi)
		if linked {
			if seen[id] {
				return nil
			}
			seen[id] = true
		}
		total += size
		return nil
	})
	return total, err
}
