package snapshot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/google/renameio/v2"
	"github.com/mirrorctl/mirrorctl/nodefs"
)

// WriteFile atomically replaces (or creates) the node file path under root with data, mode (permission
// bits) and owner uid/gid (-1 keeps the creating process's). A symlink inside the root is followed, so
// the link stays and its target is replaced; a link out of the root is refused. Readers see the old
// bytes or the new ones, never a mix, also across a crash: see writeAtomic.
func WriteFile(root nodefs.Root, path string, data []byte, mode fs.FileMode, uid, gid int) error {
	host, err := root.Resolve(path)
	if err != nil {
		return err
	}
	if _, err := writeAtomic(host, data, mode, uid, gid, nil, time.Time{}); err != nil {
		return fmt.Errorf("%s: %w", nodefs.Clean(path), err)
	}
	return nil
}

// writeAtomic writes data to a temp file beside host whose name starts with '.' (the kubelet skips dot
// files in the static pod folder), sets owner then mode (chown may clear mode bits), then, when xattrs
// is not nil, exactly those extended attributes (the ACL among them; nil leaves what creating the file
// gave it) and, when mtime is not zero, the modification time; fsyncs it, renames it over host and fsyncs the directory so the
// rename itself survives a power loss. renamed reports whether host now holds the new bytes, which a
// failing directory fsync does not undo.
func writeAtomic(host string, data []byte, mode fs.FileMode, uid, gid int, xattrs map[string][]byte, mtime time.Time) (renamed bool, err error) {
	dir := filepath.Dir(host)
	// A file a plan creates may live in a folder the node does not have yet (a k3s config.yaml.d/, a
	// k0s /etc/k0s): create it the way the distribution would, 0755.
	if err := mkdirAllSynced(dir); err != nil {
		return false, err
	}
	// WithTempDir pins the temp file to the target's own folder: renameio would otherwise try
	// $TMPDIR, and a rename across it could leave no trace of which file it was for.
	pf, err := renameio.NewPendingFile(host, renameio.WithTempDir(dir), renameio.WithStaticPermissions(filePerm))
	if err != nil {
		return false, unwrapPathError(err)
	}
	defer pf.Cleanup()
	if _, err := pf.Write(data); err != nil {
		return false, unwrapPathError(err)
	}
	crashPoint("temp written")
	if uid >= 0 || gid >= 0 {
		if err := pf.Chown(uid, gid); err != nil {
			return false, fmt.Errorf("keep owner %d:%d: %w", uid, gid, unwrapPathError(err))
		}
	}
	if err := pf.Chmod(mode.Perm()); err != nil {
		return false, unwrapPathError(err)
	}
	if xattrs != nil {
		if err := setXattrs(int(pf.Fd()), xattrs); err != nil {
			return false, err
		}
	}
	if !mtime.IsZero() {
		if err := os.Chtimes(pf.Name(), time.Time{}, mtime); err != nil {
			return false, unwrapPathError(err)
		}
	}
	crashPoint("temp ready")
	if err := pf.CloseAtomicallyReplace(); err != nil {
		return false, unwrapPathError(err)
	}
	crashPoint("renamed")
	if err := fsyncDir(dir); err != nil {
		return true, err
	}
	return true, nil
}

// crashHook, when set (only by tests), is called at every point where a crash leaves a distinct state
// on disk; the crash tests kill the process there.
var crashHook func(point string)

// SetCrashHook sets the crash hook from another package's tests (cmd's crash tests run mirrorctl in a
// child process that kills itself at a named point); nil removes it. Never called by mirrorctl itself.
// The points: "temp written", "temp ready", "renamed" (each atomic write), "removed", "snapshot dir
// made", "copy stored", "journal written", "step done" (after each target).
func SetCrashHook(f func(point string)) { crashHook = f }

func crashPoint(point string) {
	if crashHook != nil {
		crashHook(point)
	}
}

// removeFile removes host (a file the change had created) and fsyncs its folder. A file already gone
// is fine: that is the state asked for.
func removeFile(host string) (removed bool, err error) {
	if err := os.Remove(host); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, unwrapPathError(err)
	}
	crashPoint("removed")
	return true, fsyncDir(filepath.Dir(host))
}

// fsyncDir makes a directory's entries (a rename, a new or removed file) durable.
func fsyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return unwrapPathError(err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync directory: %w", unwrapPathError(err))
	}
	return nil
}

// writeNew creates host (which must not exist) with data, 0600, fsynced; never through a symlink.
func writeNew(host string, data []byte) error {
	f, err := os.OpenFile(host, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, filePerm)
	if err != nil {
		return unwrapPathError(err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return unwrapPathError(err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return unwrapPathError(err)
	}
	return unwrapPathError(f.Close())
}

// cleanStaleTemps removes temp files a killed run left beside host: '.' + its name + renameio's random
// number (at least 10 digits, so a user's dot file is never taken for one). Called under the lock, so
// no run of ours is still writing them; the kubelet ignores them anyway, this only keeps folders tidy.
func cleanStaleTemps(host string) {
	dir, base := filepath.Split(host)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	prefix := "." + base
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || len(rest) < 10 || strings.Trim(rest, "0123456789") != "" || !e.Type().IsRegular() {
			continue
		}
		_ = os.Remove(filepath.Join(dir, e.Name()))
	}
}

// mkdirFault, when set (only by tests), makes creating a folder fail: the way to fail a write midway
// in a test run as root, which permissions cannot stop.
var mkdirFault func(dir string) error

// mkdirAllSynced creates dir and its missing parents with mode 0755, fsyncing each parent so the new
// entries survive a crash like the file written into them. Existing folders are left as they are.
func mkdirAllSynced(dir string) error {
	if mkdirFault != nil {
		if err := mkdirFault(dir); err != nil {
			return err
		}
	}
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s: not a directory", dir)
		}
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirAllSynced(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return unwrapPathError(err)
	}
	return fsyncDir(parent)
}
