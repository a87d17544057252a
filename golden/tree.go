package golden

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SetupOption changes the modes CopyTree and WriteFile give what they create.
type SetupOption func(*setupOptions)

type setupOptions struct {
	file    fs.FileMode
	fileSet bool
	dir     fs.FileMode
}

// FileMode gives every file this permission instead of the default (the source's for CopyTree,
// 0644 for WriteFile): for tests that need the modes a node's files really have (0600 manifests,
// say) whatever git checked out.
func FileMode(m fs.FileMode) SetupOption {
	return func(o *setupOptions) { o.file, o.fileSet = m.Perm(), true }
}

// DirMode gives every directory CopyTree or WriteFile creates this permission instead of 0755.
func DirMode(m fs.FileMode) SetupOption {
	return func(o *setupOptions) { o.dir = m.Perm() }
}

// CopyTree copies the tree at src into dst, which is created if missing: directories, regular files
// with their bytes, symlinks as links (not followed: testdata holds dangling and looping ones).
// An entry already at dst is replaced unless both are directories, so that a case's tree can be laid
// over a base tree. A file gets the source's permission bits plus owner read and write (tests edit
// their copies) unless FileMode says otherwise; directories get 0755 unless DirMode does. Both go
// through the umask, like any file a test creates. Anything else in src (a FIFO, a device) fails
// the test: a node tree under testdata holds none.
func CopyTree(t testing.TB, src, dst string, opts ...SetupOption) {
	t.Helper()
	o := setupOptions{dir: 0o755}
	for _, f := range opts {
		f(&o)
	}
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if cur, err := os.Lstat(target); err == nil && !(cur.IsDir() && fi.IsDir()) {
			if err := os.RemoveAll(target); err != nil {
				return err
			}
		}
		switch mode := fi.Mode(); {
		case mode.IsDir():
			return os.MkdirAll(target, o.dir)
		case mode&fs.ModeSymlink != 0:
			dest, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(dest, target)
		case mode.IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			perm := mode.Perm() | 0o600
			if o.fileSet {
				perm = o.file
			}
			return os.WriteFile(target, data, perm)
		default:
			return fmt.Errorf("%s: cannot copy a %v", p, mode.Type())
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

// WriteFile writes data to path, creating the folders above it: for a test laying out a node file
// by file. An existing file keeps its mode, as with os.WriteFile; a new one gets 0644 and new
// folders 0755 (through the umask) unless FileMode or DirMode say otherwise.
func WriteFile(t testing.TB, path string, data []byte, opts ...SetupOption) {
	t.Helper()
	o := setupOptions{file: 0o644, dir: 0o755}
	for _, f := range opts {
		f(&o)
	}
	if err := os.MkdirAll(filepath.Dir(path), o.dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, o.file); err != nil {
		t.Fatal(err)
	}
}

// File is what a tree snapshot keeps of one entry: enough to prove that nothing was written,
// removed, re-created or re-owned. A regular file's bytes are kept as a digest, so that a snapshot
// of a tree holding a 100 MB input costs no memory.
type File struct {
	Mode      fs.FileMode
	UID, GID  uint32
	ModTime   time.Time // UTC; zero for directories unless DirTimes
	Size      int64     // regular files
	SHA256    string    // a regular file's bytes
	ReadError string    // why a regular file's bytes could not be read (a mode 0000 file, not as root)
	Link      string    // a symlink's target
}

// TreeOption changes what Tree records.
type TreeOption func(*treeOptions)

type treeOptions struct {
	skip     []string
	dirTimes bool
	contents bool
}

// Skip leaves these paths (relative to the root, with slashes) and everything under them out of the
// snapshot: state of the tool under test that comes and goes, say.
func Skip(paths ...string) TreeOption {
	return func(o *treeOptions) { o.skip = append(o.skip, paths...) }
}

// DirTimes records directories' modification times too, which proves that nothing was even created
// and removed again. Left out by default: lock and temp files may come and go where contents are
// what is compared.
func DirTimes() TreeOption {
	return func(o *treeOptions) { o.dirTimes = true }
}

// ContentsOnly records what a byte-for-byte comparison needs: regular files' bytes and symlinks'
// targets. Directories, special files, modes, owners and times are left out: a rollback restores
// contents; it need not give back a directory it created.
func ContentsOnly() TreeOption {
	return func(o *treeOptions) { o.contents = true }
}

// Tree is a snapshot of the tree at root, keyed by slash-separated paths relative to it ("." for root
// itself): each entry's type and permission, owner, modification time, and a regular file's bytes
// or a symlink's target. A root that does not exist is an empty tree, and an entry that vanishes
// while the tree is walked is left out (a lock file going away); any other error fails the test.
// FIFOs and devices are recorded but never opened.
func Tree(t testing.TB, root string, opts ...TreeOption) map[string]File {
	t.Helper()
	var o treeOptions
	for _, f := range opts {
		f(&o)
	}
	out := map[string]File{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if o.skipped(rel) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if f, ok := o.entry(p, fi); ok {
			out[rel] = f
		}
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot of %s: %v", root, err)
	}
	return out
}

func (o treeOptions) skipped(rel string) bool {
	for _, s := range o.skip {
		s = strings.TrimSuffix(s, "/")
		if rel == s || strings.HasPrefix(rel, s+"/") {
			return true
		}
	}
	return false
}

func (o treeOptions) entry(p string, fi fs.FileInfo) (File, bool) {
	mode := fi.Mode()
	var f File
	switch {
	case mode.IsRegular():
		f.Size = fi.Size()
		f.SHA256, f.ReadError = digest(p)
	case mode&fs.ModeSymlink != 0:
		l, err := os.Readlink(p)
		if err != nil {
			f.ReadError = err.Error()
		}
		f.Link = l
	case o.contents:
		return File{}, false
	}
	if o.contents {
		f.Mode = mode.Type()
		return f, true
	}
	f.Mode = mode
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		f.UID, f.GID = st.Uid, st.Gid
	}
	if !mode.IsDir() || o.dirTimes {
		f.ModTime = fi.ModTime().UTC()
	}
	return f, true
}

func digest(p string) (sum, readErr string) {
	r, err := os.Open(p)
	if err != nil {
		return "", err.Error()
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err.Error()
	}
	return hex.EncodeToString(h.Sum(nil)), ""
}

// Diff lists, sorted by path, every difference between two snapshots: "PATH: removed",
// "PATH: created", "PATH: changed: WHAT". Empty when the trees are the same.
func Diff(before, after map[string]File) []string {
	var paths []string
	for p := range before {
		paths = append(paths, p)
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	var out []string
	for _, p := range paths {
		b, inBefore := before[p]
		a, inAfter := after[p]
		switch {
		case !inAfter:
			out = append(out, p+": removed")
		case !inBefore:
			out = append(out, p+": created")
		case a != b:
			out = append(out, p+": changed: "+strings.Join(changes(b, a), ", "))
		}
	}
	return out
}

func changes(b, a File) []string {
	var c []string
	if b.Mode != a.Mode {
		c = append(c, fmt.Sprintf("mode %v → %v", b.Mode, a.Mode))
	}
	if b.UID != a.UID || b.GID != a.GID {
		c = append(c, fmt.Sprintf("owner %d:%d → %d:%d", b.UID, b.GID, a.UID, a.GID))
	}
	if b.SHA256 != a.SHA256 || b.Size != a.Size {
		c = append(c, fmt.Sprintf("bytes (%d → %d bytes)", b.Size, a.Size))
	}
	if b.ReadError != a.ReadError {
		c = append(c, fmt.Sprintf("read error %q → %q", b.ReadError, a.ReadError))
	}
	if b.Link != a.Link {
		c = append(c, fmt.Sprintf("link %q → %q", b.Link, a.Link))
	}
	if !b.ModTime.Equal(a.ModTime) {
		c = append(c, fmt.Sprintf("mtime %s → %s", b.ModTime.Format(time.RFC3339Nano), a.ModTime.Format(time.RFC3339Nano)))
	}
	return c
}

// CompareTrees fails the test with one error per difference (see Diff) between two snapshots.
func CompareTrees(t testing.TB, before, after map[string]File) {
	t.Helper()
	for _, d := range Diff(before, after) {
		t.Error(d)
	}
}
