package cluster

import (
	"io/fs"
	"syscall"
)

func freeBytes(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, &fs.PathError{Op: "statfs", Path: dir, Err: err}
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

// fileID names a file on the host, so that its hard links count once.
type fileID struct{ dev, ino uint64 }

// usage returns the blocks fi takes and, when it has more than one hard link, its id.
func usage(fi fs.FileInfo) (size int64, id fileID, linked bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fi.Size(), fileID{}, false
	}
	return int64(st.Blocks) * 512, fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}, !fi.IsDir() && st.Nlink > 1
}
