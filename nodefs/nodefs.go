// Package nodefs resolves node paths under --root and reads and writes node files safely.
// Every path mirrorctl shows is a node path ("/etc/kubernetes/…"); every path it opens is that
// node path joined under the root, like a chroot.
package nodefs

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
)

// Root is a node's file system seen from the host: "/" on the node itself, a temp dir in tests,
// a mounted image otherwise.
type Root struct {
	Dir string // absolute, cleaned host path
}

// New returns the Root for dir ("" means "/").
func New(dir string) (Root, error) {
	if dir == "" {
		dir = "/"
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Root{}, fmt.Errorf("--root %s: %w", dir, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return Root{}, fmt.Errorf("--root %s: %w", dir, unwrapPathError(err))
	}
	if !fi.IsDir() {
		return Root{}, fmt.Errorf("--root %s: not a directory", dir)
	}
	return Root{Dir: abs}, nil
}

// Clean turns a user-given path into a node path: absolute, cleaned. Relative paths are taken from "/"
// of the node, not from the current directory, because that is where --root puts them.
func Clean(p string) string {
	return path.Clean("/" + filepath.ToSlash(p))
}

// Host returns the host path of a node path.
func (r Root) Host(nodePath string) string {
	return filepath.Join(r.Dir, filepath.FromSlash(Clean(nodePath)))
}

// Node returns the node path of a host path under the root, or the host path itself when it is outside.
func (r Root) Node(hostPath string) string {
	rel, err := filepath.Rel(r.Dir, hostPath)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return hostPath
	}
	return Clean(filepath.ToSlash(rel))
}

// Exists reports whether a node path exists (following symlinks).
func (r Root) Exists(nodePath string) bool {
	_, err := os.Stat(r.Host(nodePath))
	return err == nil
}

// ErrEscapes is returned when a symlink would take a path out of the root.
var ErrEscapes = errors.New("is a symlink that leads outside --root")

// Resolve returns the host path a node path finally names, resolving symlinks inside the root the way
// the node would see them (an absolute link target is taken under the root). It refuses a link that
// climbs out of the root, so a mounted image cannot make mirrorctl touch the host.
func (r Root) Resolve(nodePath string) (string, error) {
	p := Clean(nodePath)
	for hops := 0; hops < 40; hops++ {
		target, linked, err := r.firstLink(p)
		if err != nil {
			return "", err
		}
		if !linked {
			return r.Host(p), nil
		}
		p = target
	}
	return "", fmt.Errorf("%s: too many levels of symbolic links", nodePath)
}

// firstLink walks p's components and rewrites the path at the first symlink it meets.
func (r Root) firstLink(p string) (string, bool, error) {
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	cur := "/"
	for i, part := range parts {
		if part == "" {
			continue
		}
		next := path.Join(cur, part)
		fi, err := os.Lstat(r.Host(next))
		if err != nil {
			// A missing component: the rest cannot hold links, let the caller's open report it.
			return p, false, nil
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = next
			continue
		}
		dest, err := os.Readlink(r.Host(next))
		if err != nil {
			return "", false, err
		}
		var resolved string
		if path.IsAbs(dest) {
			resolved = path.Clean(dest)
		} else {
			joined := path.Join(cur, dest)
			// path.Join cleans ".." at "/" silently; detect a climb above the root explicitly.
			if climbsOut(cur, dest) {
				return "", false, fmt.Errorf("%s %w (%s -> %s)", p, ErrEscapes, next, dest)
			}
			resolved = joined
		}
		if r.Dir != "/" && path.IsAbs(dest) && strings.HasPrefix(path.Clean(dest), r.Dir+"/") {
			// A link written with the host path of the root itself (common when a test or a
			// provisioning tool creates it): treat as inside.
			resolved = Clean(strings.TrimPrefix(path.Clean(dest), r.Dir))
		}
		rest := path.Join(parts[i+1:]...)
		return path.Join(resolved, rest), true, nil
	}
	return p, false, nil
}

func climbsOut(dir, rel string) bool {
	depth := len(strings.Split(strings.Trim(dir, "/"), "/"))
	if dir == "/" {
		depth = 0
	}
	for _, c := range strings.Split(rel, "/") {
		switch c {
		case "..":
			depth--
			if depth < 0 {
				return true
			}
		case ".", "":
		default:
			depth++
		}
	}
	return false
}

// File is a node file as read: its bytes and what must survive a rewrite.
type File struct {
	Path     string // node path
	HostPath string // resolved host path (symlinks inside the root followed)
	Data     []byte
	Mode     fs.FileMode
	UID, GID int
	Exists   bool
}

// MaxFileSize bounds what mirrorctl reads: node config files are kilobytes; a huge file is a mistake
// (or an attack) and must not make the tool eat the node's memory.
const MaxFileSize = 8 << 20

// ReadFile reads a node file. A missing file is an error unless allowMissing, then Exists is false.
// Errors name the node path and the problem in one line.
func (r Root) ReadFile(nodePath string, allowMissing bool) (*File, error) {
	np := Clean(nodePath)
	host, err := r.Resolve(np)
	if err != nil {
		return nil, err
	}
	f := &File{Path: np, HostPath: host}
	fi, err := os.Stat(host)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && allowMissing {
			return f, nil
		}
		return nil, fmt.Errorf("%s: %w", np, unwrapPathError(err))
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("%s: is a directory, not a file", np)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", np)
	}
	if fi.Size() > MaxFileSize {
		return nil, fmt.Errorf("%s: file is %d bytes, larger than the %d bytes a config file can be", np, fi.Size(), MaxFileSize)
	}
	data, err := os.ReadFile(host)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", np, unwrapPathError(err))
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		// Every file mirrorctl edits is text; a NUL byte means a binary or corrupt file, and
		// editing it by lines would make things worse.
		return nil, fmt.Errorf("%s: not a text file (NUL byte at offset %d)", np, i)
	}
	f.Data, f.Mode, f.Exists = data, fi.Mode().Perm(), true
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		f.UID, f.GID = int(st.Uid), int(st.Gid)
	}
	return f, nil
}

// unwrapPathError drops the *PathError wrapper whose message repeats the host path; callers name the node path.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
