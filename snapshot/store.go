// Package snapshot is mirrorctl's transaction manager: one lock per node, a complete snapshot of every
// file about to change written before any target is touched, an intent journal that makes a change of
// several files one transaction, atomic writes that keep mode and owner, and rollback from any snapshot.
//
// A run goes: Lock → (the caller plans under the lock) → Commit → unlock. Commit writes the snapshot
// (the files' old bytes, fsynced, then meta.json atomically and last), then the journal naming it, and
// only then replaces the targets one by one, each atomically, and removes the journal. A crash at any
// instant therefore leaves every target either old or new, and the state dir usable: a snapshot dir
// without meta.json is incomplete, ignored by List and removed by Prune, and no target was touched
// while it was being written. A crash between two targets leaves the journal: Interrupted reports it
// (status), every other change is refused until it is resolved, Rollback without an id restores every
// file of it, and running the same op again completes it, its snapshot recording the bytes from before
// the interrupted run (Meta.Completes) so that a rollback still returns to them.
//
// Rollback (PlanRollback, then Restore under the lock) puts back each file's bytes, mode, owner and
// mtime, and removes files the change created. It is a transaction like Commit: it snapshots the
// state it replaces first (Meta.RollbackOf names the snapshot restored), so a rollback can be rolled
// back by its id; without an id, Rollback uses RollbackTarget (the interrupted change, else
// LatestChange), so repeating it changes nothing.
//
// Layout (node paths, resolved under --root). The lock and the journal are the node's, at fixed paths
// whatever --state-dir says, so runs with different state dirs serialise and see each other's
// unfinished change:
//
//	/run/mirrorctl/                    0700, ours; created (with /run 0755 if the root has none) and
//	                                   opened component by component, never through a symlink
//	/run/mirrorctl/lock                0600, flock(2) target (LockPath); holds the holder's pid for the
//	                                   "locked" message; refused unless a regular file with one link
//	/var/lib/mirrorctl/                0700, never a symlink, never writable by group or others
//	/var/lib/mirrorctl/transaction.json  0600, Journal as JSON (JournalPath), only while a change runs
//	<state>/            0700, never a symlink, never writable by group or others, never in a static
//	                    pod folder (checked on the path its parent links lead to, before anything
//	                    is created; then created without following a link)
//	<state>/snapshots/<id>/meta.json   0600, Meta as JSON
//	<state>/snapshots/<id>/NN-<name>   0600, a file's bytes before the change
//	<state>/lock        releases before the node lock used it; left alone, neither used nor removed
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

	"golang.org/x/sys/unix"

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
	// ErrNeedsRoot means the state dir is root's and the run is not: reading or changing it needs
	// root (it is not unsafe).
	ErrNeedsRoot = errors.New("needs root")
	// ErrNoSpace means the state dir's file system has no room for a snapshot; nothing was written.
	ErrNoSpace = errors.New("the state dir's file system is full")
	// ErrStale means a target changed on disk between planning and writing.
	ErrStale = errors.New("changed on disk since it was read")
)

// The node's fixed paths (under --root), the same whatever --state-dir says: every run on a node must
// find them, or two runs with different state dirs would not see each other.
const (
	// LockPath is the node's one lock. /run is where the FHS puts such runtime state, and a lock
	// needs no persistence: flock(2) dies with its holder. Not /run/lock, which is world-writable.
	LockPath = "/run/mirrorctl/lock"
	lockDir  = "/run/mirrorctl"
	// JournalPath records a change in progress (see Journal). It must survive a reboot, so it is not
	// under /run; /var/lib/mirrorctl is also the default state dir.
	JournalPath = "/var/lib/mirrorctl/transaction.json"
)

const (
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

// PrivateState keeps the lock, the journal and the state dir under dir (a host folder of the user
// running mirrorctl, laid out as a node's: dir/run/mirrorctl/lock, dir/var/lib/mirrorctl/…) instead of
// under the node root: a user's run on their own files (a kind or kops file) needs no root and does
// not serialise with the node's runs. See PrivateStateDir.
func PrivateState(dir nodefs.Root) Option {
	return func(s *Store) { s.state = dir }
}

// PrivateStateDir is the user's state folder: $XDG_STATE_HOME/mirrorctl, else
// ~/.local/state/mirrorctl (the XDG base directory specification's default).
func PrivateStateDir() (string, error) {
	if x := os.Getenv("XDG_STATE_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "mirrorctl"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".local", "state", "mirrorctl"), nil
}

// StateRoot returns the root the lock, the journal and the state dir are under.
func (s *Store) StateRoot() nodefs.Root { return s.state }

// Store is one state dir, e.g. node path /var/lib/mirrorctl under a root.
type Store struct {
	root    nodefs.Root // where the targets are
	state   nodefs.Root // where the lock, the journal and the state dir are: root, unless PrivateState
	dir     string      // node path, cleaned
	podDirs []string    // static pod folders refused as or around the state dir

	mu   sync.Mutex
	lock *os.File // non-nil while this Store holds the lock
}

// Open returns the Store for a state dir (a node path, resolved under root). It creates nothing and
// touches nothing, so --dry-run callers can use List, Get and PlanRollback freely.
func Open(root nodefs.Root, stateDir string, opts ...Option) *Store {
	s := &Store{root: root, state: root, dir: nodefs.Clean(stateDir), podDirs: append([]string(nil), staticPodDirs...)}
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
func (s *Store) storedNode(id, n string) string { return path.Join(s.dir, snapsName, id, n) }

// hostDir returns the state dir's host path, refusing a state dir the kubelet would run files from.
// Its parents may be symlinks inside the root (the node follows them too), so the check is on the
// path they lead to, resolved component by component under the root, and against each static pod
// folder's own resolved path: with x -> /etc/kubernetes, /x/manifests is the static pod folder. The
// state dir itself is checked by checkDir and must not be a symlink. It creates nothing.
func (s *Store) hostDir() (string, error) {
	if s.dir == "/" {
		return "", fmt.Errorf("state dir %s: %w: the root itself cannot be the state dir", s.dir, ErrUnsafe)
	}
	parent, err := s.state.Resolve(path.Dir(s.dir))
	if err != nil {
		return "", fmt.Errorf("state dir %s: %w", s.dir, err)
	}
	host := filepath.Join(parent, path.Base(s.dir))
	resolved := s.state.Node(host)
	if resolved == "/" {
		return "", fmt.Errorf("state dir %s: %w: it is the root itself", s.dir, ErrUnsafe)
	}
	for _, d := range s.podDirs {
		names := []string{d}
		if h, err := s.state.Resolve(d); err == nil && s.state.Node(h) != d {
			names = append(names, s.state.Node(h))
		}
		for _, pd := range names {
			for _, sd := range []string{s.dir, resolved} {
				if sd != pd && !strings.HasPrefix(sd, pd+"/") {
					continue
				}
				via := ""
				if sd != s.dir {
					via = " (through a symlink, it is " + sd + ")"
				}
				return "", fmt.Errorf("state dir %s: %w: it is in the static pod folder %s%s, whose files the kubelet runs", s.dir, ErrUnsafe, d, via)
			}
		}
	}
	return host, nil
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
		if st.Uid == 0 {
			// The node's own state dir, seen by a user: not unsafe, just not theirs to read.
			return fmt.Errorf("%s: %w: it is root's (uid 0) and this run is uid %d: run it as root", node, ErrNeedsRoot, os.Geteuid())
		}
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
		if err := checkDir(host, s.snapsNode()); err != nil {
			return "", err
		}
		return host, tighten(host, s.snapsNode())
	}
	return host, checkDir(host, s.snapsNode())
}

// checkStateDir runs every check on the state dir that needs nothing created: a missing state dir
// passes (ensureStateDir creates it).
func (s *Store) checkStateDir() error {
	host, err := s.hostDir()
	if err != nil {
		return err
	}
	if err := checkDir(host, s.dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// ensureStateDir creates the state dir (0700; missing parents 0755) and checks it. The folders are
// created along the path hostDir checked, each opened relative to the one before without following
// a symlink, so a link planted after the check cannot move the state dir somewhere unchecked.
func (s *Store) ensureStateDir() (string, error) {
	host, err := s.hostDir()
	if err != nil {
		return "", err
	}
	if err := s.mkdirNoFollow(s.state.Node(host)); err != nil {
		return "", fmt.Errorf("state dir %s: %w", s.dir, err)
	}
	if err := checkDir(host, s.dir); err != nil {
		return "", err
	}
	return host, tighten(host, s.dir)
}

// tighten makes a folder checkDir accepted 0700: one made by hand, or by an older release, 0755 lets
// every local user read the snapshots (kubeadm configs with bootstrap tokens, the kcm manifest). The
// folder is opened without following a link and changed through that descriptor, so a swap after
// checkDir cannot redirect the chmod; one that is not ours is refused, never taken over.
func tighten(host, node string) error {
	fd, err := unix.Open(host, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("%s: %w", node, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("%s: %w", node, err)
	}
	if int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%s: %w: owned by uid %d, not by the user running mirrorctl (uid %d)", node, ErrUnsafe, st.Uid, os.Geteuid())
	}
	if st.Mode&0o777 == dirPerm {
		return nil
	}
	if err := unix.Fchmod(fd, dirPerm); err != nil {
		return fmt.Errorf("%s: mode %04o, and making it %04o failed: %w", node, st.Mode&0o777, dirPerm, err)
	}
	return nil
}

// mkdirNoFollow creates the node folder dir (0700) and its missing parents (0755) under the root.
func (s *Store) mkdirNoFollow(dir string) error {
	fd, err := unix.Open(s.state.Dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("--root %s: %w", s.state.Dir, err)
	}
	cur := "/"
	parts := strings.Split(strings.TrimPrefix(dir, "/"), "/")
	for i, part := range parts {
		cur = path.Join(cur, part)
		perm := uint32(0o755)
		if i == len(parts)-1 {
			perm = dirPerm
		}
		next, err := openDirAt(fd, cur, perm, false)
		unix.Close(fd)
		if err != nil {
			return err
		}
		fd = next
	}
	return unix.Close(fd)
}

// pollInterval bounds how late Lock notices a released lock.
const pollInterval = 50 * time.Millisecond

// Lock creates the state dir if needed and takes an exclusive flock on the node's one lock, LockPath
// (under the root), waiting up to timeout (0: try once). The lock is per node, not per state dir:
// runs with different --state-dir edit the same files, and a lock each would let both plan from the
// same bytes and one edit vanish. On timeout the error wraps ErrLocked and names the lock file and,
// when it can, the holder's pid. The lock dies with its process, so a killed run never leaves a
// stale lock; the lock file itself stays (removing a flock file races with the next locker).
//
// Releases before this one locked <state>/lock; such files are left alone (never removed, never
// locked): a run of an older release on the same node still serialises with runs of its own kind.
//
// Commit, Restore and Prune require the lock. unlock is safe to call more than once.
func (s *Store) Lock(timeout time.Duration) (unlock func(), err error) {
	s.mu.Lock()
	held := s.lock != nil
	s.mu.Unlock()
	if held {
		return nil, fmt.Errorf("%s: this Store already holds the lock", LockPath)
	}
	// Every check that needs nothing created comes first: a refused state dir must leave no trace,
	// not even the lock. Then the lock file: an unsafe lock path must stop the run before it creates
	// the state dir.
	if err := s.checkStateDir(); err != nil {
		return nil, err
	}
	if s.state != s.root {
		// The user's own state folder: created on the first change, never by a dry run.
		if err := os.MkdirAll(s.state.Dir, dirPerm); err != nil {
			return nil, fmt.Errorf("state folder %s: %w", s.state.Dir, unwrapPathError(err))
		}
	}
	f, err := openNodeLock(s.state)
	if err != nil {
		return nil, err
	}
	if _, err := s.ensureStateDir(); err != nil {
		f.Close()
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("%s: lock: %w", LockPath, err)
		}
		left := time.Until(deadline)
		if left <= 0 {
			holder := readHolder(f)
			f.Close()
			return nil, fmt.Errorf("%w on %s%s (waited %s)", ErrLocked, LockPath, holder, timeout)
		}
		time.Sleep(min(left, pollInterval))
	}
	// Best effort: the pid only makes the "locked" message more useful. Truncating goes through the
	// inode, so it is done only while the file has no other name (checked again now, under the lock).
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err == nil && st.Nlink == 1 {
		if err := f.Truncate(0); err == nil {
			_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		}
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

// openNodeLock opens LockPath under root, creating /run (0755, only when the root has none) and
// /run/mirrorctl (0700) on the way. Every component is opened relative to the one before with
// O_NOFOLLOW, so no symlink anywhere below the root can redirect the lock (or a truncation) to another
// file; the folder must be ours and writable by nobody else, and the file a regular file with one
// link, as whoever could put another name on it could make our truncation hit that file.
func openNodeLock(root nodefs.Root) (*os.File, error) {
	rootFD, err := unix.Open(root.Dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("--root %s: %w", root.Dir, err)
	}
	defer unix.Close(rootFD)
	runFD, err := openDirAt(rootFD, path.Dir(lockDir), 0o755, false)
	if err != nil {
		return nil, err
	}
	defer unix.Close(runFD)
	dirFD, err := openDirAt(runFD, lockDir, dirPerm, true)
	if err != nil {
		return nil, err
	}
	defer unix.Close(dirFD)
	name := path.Base(LockPath)
	fd, err := unix.Openat(dirFD, name, unix.O_RDWR|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC, filePerm)
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			return nil, fmt.Errorf("%s: %w: the lock file is a symlink", LockPath, ErrUnsafe)
		}
		return nil, fmt.Errorf("%s: %w", LockPath, err)
	}
	f := os.NewFile(uintptr(fd), root.Host(LockPath))
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", LockPath, err)
	}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		f.Close()
		return nil, fmt.Errorf("%s: %w: the lock file is not a regular file", LockPath, ErrUnsafe)
	case st.Nlink != 1:
		f.Close()
		return nil, fmt.Errorf("%s: %w: the lock file has %d hard links (remove it; it is recreated)", LockPath, ErrUnsafe, st.Nlink)
	case int(st.Uid) != os.Geteuid():
		f.Close()
		return nil, fmt.Errorf("%s: %w: owned by uid %d, not by the user running mirrorctl (uid %d)", LockPath, ErrUnsafe, st.Uid, os.Geteuid())
	}
	return f, nil
}

// openDirAt opens the folder node (whose last component is looked up in parent) without following a
// symlink, creating it with perm when missing. strict refuses one not owned by us or writable by group
// or others, as checkDir does for the state dir.
func openDirAt(parent int, node string, perm uint32, strict bool) (int, error) {
	name := path.Base(node)
	const flags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err := unix.Openat(parent, name, flags, 0)
	created := false
	if errors.Is(err, unix.ENOENT) {
		if err := unix.Mkdirat(parent, name, perm); err != nil && !errors.Is(err, unix.EEXIST) {
			return -1, fmt.Errorf("%s: %w", node, err)
		}
		created = true
		fd, err = unix.Openat(parent, name, flags, 0)
	}
	if err != nil {
		var st unix.Stat_t
		if serr := unix.Fstatat(parent, name, &st, unix.AT_SYMLINK_NOFOLLOW); serr == nil {
			if st.Mode&unix.S_IFMT == unix.S_IFLNK {
				return -1, fmt.Errorf("%s: %w: it is a symlink", node, ErrUnsafe)
			}
			if st.Mode&unix.S_IFMT != unix.S_IFDIR {
				return -1, fmt.Errorf("%s: %w: not a directory", node, ErrUnsafe)
			}
		}
		return -1, fmt.Errorf("%s: %w", node, err)
	}
	if created {
		// The umask may have taken bits a created folder needs (/run must stay traversable).
		_ = unix.Fchmod(fd, perm)
		_ = unix.Fsync(parent)
	}
	if !strict {
		return fd, nil
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("%s: %w", node, err)
	}
	if p := st.Mode & 0o777; p&0o022 != 0 {
		unix.Close(fd)
		return -1, fmt.Errorf("%s: %w: writable by group or others (mode %04o; chmod 700 it)", node, ErrUnsafe, p)
	}
	if int(st.Uid) != os.Geteuid() {
		unix.Close(fd)
		return -1, fmt.Errorf("%s: %w: owned by uid %d, not by the user running mirrorctl (uid %d)", node, ErrUnsafe, st.Uid, os.Geteuid())
	}
	return fd, nil
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
		return fmt.Errorf("snapshot: %s needs the lock on %s: call Lock first", what, LockPath)
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
