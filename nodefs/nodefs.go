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

// Resolve returns the host path a node path finally names, resolving it the way the node's kernel
// does: component by component, a symlink's target replacing the link before the components after it
// are read, so "sub/../x" with sub a link means x beside sub's target, not beside sub. The root acts as
// a chroot: ".." at the root stays there and an absolute link target is taken under the root. A
// relative link target that climbs above the root is refused (ErrEscapes) rather than clamped: a
// mounted image's link that means a host path must not make mirrorctl touch the host.
func (r Root) Resolve(nodePath string) (string, error) {
	// Not Clean: the path's own ".." must also come after the links before it.
	p := "/" + filepath.ToSlash(nodePath)
	type comp struct {
		name     string
		fromLink string // the link whose target this component came from, "" for the path's own
	}
	var todo []comp
	for _, c := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		todo = append(todo, comp{name: c})
	}
	var cur []string // resolved components: a real directory (or the last component) under the root
	dir := func() string { return "/" + strings.Join(cur, "/") }
	hops := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c.name {
		case "", ".":
			continue
		case "..":
			if len(cur) == 0 {
				if c.fromLink != "" {
					return "", fmt.Errorf("%s %w (%s)", p, ErrEscapes, c.fromLink)
				}
				continue
			}
			cur = cur[:len(cur)-1]
			continue
		}
		next := path.Join(dir(), c.name)
		fi, err := os.Lstat(r.Host(next))
		if err != nil {
			// A missing component (or one that is not a folder): the kernel stops here, and so does the
			// caller's open. The rest is kept as written, not cleaned, so a ".." after it cannot make the
			// open find a file the kernel would not.
			rest := []string{c.name}
			for _, t := range todo {
				rest = append(rest, t.name)
			}
			return r.Host(dir()) + "/" + strings.Join(rest, "/"), nil
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			cur = append(cur, c.name)
			continue
		}
		if hops++; hops > 40 {
			return "", fmt.Errorf("%s: too many levels of symbolic links", nodePath)
		}
		dest, err := os.Readlink(r.Host(next))
		if err != nil {
			return "", err
		}
		if path.IsAbs(dest) {
			cur = nil
			if r.Dir != "/" && strings.HasPrefix(path.Clean(dest), r.Dir+"/") {
				// A link written with the host path of the root itself (common when a test or a
				// provisioning tool creates it): treat as inside.
				dest = strings.TrimPrefix(path.Clean(dest), r.Dir)
			}
		}
		var from []comp
		for _, t := range strings.Split(dest, "/") {
			c := comp{name: t}
			if !path.IsAbs(dest) {
				c.fromLink = next + " -> " + dest
			}
			from = append(from, c)
		}
		todo = append(from, todo...)
	}
	return r.Host(dir()), nil
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
	host, err := r.Resolve(nodePath)
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

// Named is a file the operator named on the command line, resolved by mirrorctl's one rule: a
// relative path is from the working directory (where the operator is); an absolute path is that file,
// taken under the root when a root other than "/" is given (UnderRoot: the caller says so).
type Named struct {
	Given     string // as typed
	Host      string // the file on this machine
	Node      string // its node path; "" when it lies outside the root
	UnderRoot bool   // absolute, and taken under a root other than "/"
}

// Named resolves a path the operator named on the command line (see Named).
func (r Root) Named(p string) (Named, error) {
	n := Named{Given: p}
	if filepath.IsAbs(p) {
		n.Node = Clean(p)
		n.Host = r.Host(p)
		n.UnderRoot = r.Dir != "/"
		return n, nil
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return n, fmt.Errorf("%s: %w", p, err)
	}
	n.Host = abs
	if rel, err := filepath.Rel(r.Dir, abs); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
		n.Node = Clean(filepath.ToSlash(rel))
	}
	return n, nil
}

// Arg is Named for the value p of --flag; say tells where it was taken: always when under the root (an
// absolute path, with a root given), at verbosity (verbose) when relative to the working directory.
func (r Root) Arg(flag, p string, say func(verbose bool, format string, a ...any)) (Named, error) {
	n, err := r.Named(p)
	if err != nil {
		return n, fmt.Errorf("--%s %s: %v", flag, p, err)
	}
	switch {
	case n.UnderRoot:
		say(false, "--%s %s: using %s (an absolute path is taken under --root %s)", flag, p, n.Host, r.Dir)
	case n.Host != p:
		say(true, "--%s %s: using %s (relative to the working directory)", flag, p, n.Host)
	}
	return n, nil
}

// NodeArg is Arg for a file the engine reads or writes: it must be under the root. It returns its node path.
func (r Root) NodeArg(flag, p string, say func(verbose bool, format string, a ...any)) (string, error) {
	n, err := r.Arg(flag, p, say)
	if err == nil && n.Node == "" {
		err = fmt.Errorf("--%s %s: %s is outside --root %s; name it by its absolute path, which is taken under --root", flag, p, n.Host, r.Dir)
	}
	return n.Node, err
}
