// Package snapshot is mirrorctl's transaction manager: one lock per state dir, a complete snapshot of
// every file about to change written before any target is touched, atomic writes that keep mode and
// owner, and rollback from any snapshot.
//
// A run goes: Lock → (the caller plans under the lock) → Commit → unlock. Commit writes the snapshot
// (the files' old bytes, fsynced, then meta.json atomically and last) and only then replaces the
// targets one by one, each atomically. A crash at any instant therefore leaves every target either old
// or new, and the state dir usable: a snapshot dir without meta.json is incomplete, ignored by List
// and removed by Prune, and no target was touched while it was being written.
//
// Rollback (PlanRollback, then Restore under the lock) puts back each file's bytes, mode, owner and
// mtime, and removes files the change created. It is a transaction like Commit: it snapshots the
// state it replaces first (Meta.RollbackOf names the snapshot restored), so a rollback can be rolled
// back by its id; without an id, Rollback uses LatestChange, so repeating it changes nothing.
//
// Layout (node paths, resolved under --root):
//
//	<state>/            0700, never a symlink, never writable by group or others
//	<state>/lock        0600, flock(2) target; holds the holder's pid for the "locked" message
//	<state>/snapshots/<id>/meta.json   0600, Meta as JSON
//	<state>/snapshots/<id>/NN-<name>   0600, a file's bytes before the change
package snapshot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mirrorctl/mirrorctl/nodefs"
)

var (
	// ErrLocked means another run holds the state dir's lock.
	ErrLocked = errors.New("another mirrorctl run holds the lock")
	// ErrDrift means a file no longer has the bytes mirrorctl wrote, so rolling back would discard
	// someone else's change.
	ErrDrift = errors.New("changed since mirrorctl wrote it")
	// ErrNotFound means there is no such snapshot (or none at all).
	ErrNotFound = errors.New("no such snapshot")
	// ErrUnsafe means the state dir or a snapshot dir is a symlink, not a directory, or writable by
	// someone else: its snapshots cannot be trusted to restore a control plane.
	ErrUnsafe = errors.New("refusing an unsafe state dir")
	// ErrStale means a target changed on disk between planning and writing.
	ErrStale = errors.New("changed on disk since it was read")
)

const (
	lockName  = "lock"
	snapsName = "snapshots"
	metaName  = "meta.json"

	dirPerm  = 0o700
	filePerm = 0o600
)

// staticPodDirs are folders whose every non-dot file a kubelet runs (or may, if it ever recurses):
// the state dir must never be one of them or inside one. These are refused whatever the caller
// says; the distributions' full list (distros.StaticPodDirs) comes in through RefuseStaticPodDirs,
// since this package must not depend on the adapters.
var staticPodDirs = []string{
	"/etc/kubernetes/manifests",
	"/var/lib/rancher/rke2/agent/pod-manifests",
	"/var/lib/rancher/k3s/agent/pod-manifests",
}

// Option configures a Store at Open.
type Option func(*Store)

// RefuseStaticPodDirs makes the Store refuse a state dir in or under any of these folders (node
// paths) too, besides the ones it always refuses.
func RefuseStaticPodDirs(dirs []string) Option {
	return func(s *Store) {
		for _, d := range dirs {
			s.podDirs = append(s.podDirs, nodefs.Clean(d))
		}
	}
}

// Store is one state dir, e.g. node path /var/lib/mirrorctl under a root.
type Store struct {
	root    nodefs.Root
	dir     string   // node path, cleaned
	podDirs []string // static pod folders refused as or around the state dir

	mu   sync.Mutex
	lock *os.File // non-nil while this Store holds the lock
}

// Open returns the Store for a state dir (a node path, resolved under root). It creates nothing and
// touches nothing, so --dry-run callers can use List, Get and PlanRollback freely.
func Open(root nodefs.Root, stateDir string, opts ...Option) *Store {
	s := &Store{root: root, dir: nodefs.Clean(stateDir), podDirs: append([]string(nil), staticPodDirs...)}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Dir returns the state dir's node path.
func (s *Store) Dir() string { return s.dir }

// Root returns the root the Store resolves paths under.
func (s *Store) Root() nodefs.Root { return s.root }

func (s *Store) snapsNode() string              { return path.Join(s.dir, snapsName) }
func (s *Store) snapNode(id string) string      { return path.Join(s.dir, snapsName, id) }
func (s *Store) lockNode() string               { return path.Join(s.dir, lockName) }
func (s *Store) storedNode(id, n string) string { return path.Join(s.dir, snapsName, id, n) }

// hostDir returns the state dir's host path. Its parents may be symlinks inside the root (the node
// would follow them too); the state dir itself is checked by checkDir and must not be one.
func (s *Store) hostDir() (string, error) {
	if s.dir == "/" {
		return "", fmt.Errorf("state dir %s: %w: the root itself cannot be the state dir", s.dir, ErrUnsafe)
	}
	for _, d := range s.podDirs {
		if s.dir == d || strings.HasPrefix(s.dir, d+"/") {
			return "", fmt.Errorf("state dir %s: %w: it is in the static pod folder %s, whose files the kubelet runs", s.dir, ErrUnsafe, d)
		}
	}
	parent, err := s.root.Resolve(path.Dir(s.dir))
	if err != nil {
		return "", fmt.Errorf("state dir %s: %w", s.dir, err)
	}
	return filepath.Join(parent, path.Base(s.dir)), nil
}

// checkDir refuses a directory mirrorctl would trust with snapshots when it is a symlink, not a
// directory, not owned by us, or writable by group or others. It returns fs.ErrNotExist (wrapped)
// when the directory is missing.
func checkDir(host, node string) error {
	fi, err := os.Lstat(host)
	if err != nil {
		return fmt.Errorf("%s: %w", node, unwrapPathError(err))
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		dest, _ := os.Readlink(host)
		return fmt.Errorf("%s: %w: it is a symlink (to %s)", node, ErrUnsafe, dest)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s: %w: not a directory", node, ErrUnsafe)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("%s: %w: writable by group or others (mode %04o; chmod 700 it)", node, ErrUnsafe, perm)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%s: %w: owned by uid %d, not by the user running mirrorctl (uid %d)", node, ErrUnsafe, st.Uid, os.Geteuid())
	}
	return nil
}

// stateHost returns the checked host path of the state dir, or an error wrapping fs.ErrNotExist.
func (s *Store) stateHost() (string, error) {
	host, err := s.hostDir()
	if err != nil {
		return "", err
	}
	return host, checkDir(host, s.dir)
}

// snapsHost returns the checked host path of <state>/snapshots, creating it when create is set.
func (s *Store) snapsHost(create bool) (string, error) {
	state, err := s.stateHost()
	if err != nil {
		return "", err
	}
	host := filepath.Join(state, snapsName)
	if create {
		if err := os.Mkdir(host, dirPerm); err != nil && !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("%s: %w", s.snapsNode(), unwrapPathError(err))
		}
		if err := fsyncDir(state); err != nil {
			return "", fmt.Errorf("%s: %w", s.dir, err)
		}
	}
	return host, checkDir(host, s.snapsNode())
}

// ensureStateDir creates the state dir (0700; missing parents 0755) and checks it.
func (s *Store) ensureStateDir() (string, error) {
	host, err := s.hostDir()
	if err != nil {
		return "", err
	}
	if _, err := os.Lstat(host); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(host), 0o755); err != nil {
			return "", fmt.Errorf("state dir %s: %w", s.dir, unwrapPathError(err))
		}
		if err := os.Mkdir(host, dirPerm); err != nil && !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("state dir %s: %w", s.dir, unwrapPathError(err))
		}
		if err := fsyncDir(filepath.Dir(host)); err != nil {
			return "", fmt.Errorf("state dir %s: %w", s.dir, err)
		}
	}
	return host, checkDir(host, s.dir)
}

// pollInterval bounds how late Lock notices a released lock.
const pollInterval = 50 * time.Millisecond

// Lock creates the state dir if needed and takes an exclusive flock on <state>/lock, waiting up to
// timeout (0: try once). On timeout the error wraps ErrLocked and names the lock file and, when it
// can, the holder's pid. The lock dies with its process, so a killed run never leaves a stale lock;
// the lock file itself stays (removing a flock file races with the next locker).
//
// Commit, Restore and Prune require the lock. unlock is safe to call more than once.
func (s *Store) Lock(timeout time.Duration) (unlock func(), err error) {
	s.mu.Lock()
	held := s.lock != nil
	s.mu.Unlock()
	if held {
		return nil, fmt.Errorf("%s: this Store already holds the lock", s.lockNode())
	}
	host, err := s.ensureStateDir()
	if err != nil {
		return nil, err
	}
	name := filepath.Join(host, lockName)
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, filePerm)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, fmt.Errorf("%s: %w: the lock file is a symlink", s.lockNode(), ErrUnsafe)
		}
		return nil, fmt.Errorf("%s: %w", s.lockNode(), unwrapPathError(err))
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: %w: the lock file is not a regular file", s.lockNode(), ErrUnsafe)
	}
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("%s: lock: %w", s.lockNode(), err)
		}
		left := time.Until(deadline)
		if left <= 0 {
			holder := readHolder(f)
			f.Close()
			return nil, fmt.Errorf("%w on %s%s (waited %s)", ErrLocked, s.lockNode(), holder, timeout)
		}
		time.Sleep(min(left, pollInterval))
	}
	// Best effort: the pid only makes the "locked" message more useful.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	s.mu.Lock()
	s.lock = f
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.lock == f {
				s.lock = nil
			}
			_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
			_ = f.Close()
		})
	}, nil
}

// readHolder returns " (held by pid N)" from the lock file, or "" when it says nothing usable.
func readHolder(f *os.File) string {
	buf := make([]byte, 32)
	n, _ := f.ReadAt(buf, 0)
	pid, err := strconv.Atoi(strings.TrimSpace(string(buf[:n])))
	if err != nil || pid <= 0 {
		return ""
	}
	return fmt.Sprintf(" (held by pid %d)", pid)
}

// requireLock makes forgetting Lock a loud programming error rather than a silent race.
func (s *Store) requireLock(what string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lock == nil {
		return fmt.Errorf("snapshot: %s needs the lock on %s: call Lock first", what, s.lockNode())
	}
	return nil
}

// unwrapPathError drops the *PathError wrapper whose message repeats the host path; callers name the node path.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
