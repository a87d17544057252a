package snapshot

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/mirrorctl/mirrorctl/nodefs"
)

// Journal is the intent record of a change in progress, at JournalPath: written (atomically, fsynced,
// folder fsynced) after the change's snapshot is complete and before its first target is replaced,
// removed after its last one. A journal found later means a run died between those two instants, so
// the targets may be half-changed (the manifest new, the kubeadm config old). Its snapshot holds every
// target's bytes from before the change; Rollback without an id restores them, and re-running the
// same op completes the change (Commit then records the bytes from before the interrupted run).
type Journal struct {
	Snapshot   string    `json:"snapshot"`              // the interrupted change's snapshot id
	StateDir   string    `json:"state_dir"`             // node path of the state dir holding it
	Op         string    `json:"op"`                    // Info.Op: "disable", "lint-fix", "rollback", …
	RollbackOf string    `json:"rollback_of,omitempty"` // set when the change was a rollback of that snapshot
	Command    []string  `json:"command"`
	Time       time.Time `json:"time"` // UTC, when the writes started
	Files      []string  `json:"files"`
}

// Advice is what an operator can do about an interrupted change, in one sentence.
func (j *Journal) Advice() string {
	if j.RollbackOf != "" {
		return fmt.Sprintf("a rollback of snapshot %s (pre-rollback state saved as snapshot %s in %s) did not finish, %s may be half-restored: run `mirrorctl rollback` to complete it, or `mirrorctl rollback %s` to undo it",
			j.RollbackOf, j.Snapshot, j.StateDir, joinPaths(j.Files), j.Snapshot)
	}
	op := j.Op
	if op == "lint-fix" {
		op = "lint --fix"
	}
	return fmt.Sprintf("an interrupted %s (snapshot %s in %s) did not finish, %s may be half-changed: run `mirrorctl rollback` to restore them, or re-run `mirrorctl %s` to complete it",
		j.Op, j.Snapshot, j.StateDir, joinPaths(j.Files), op)
}

// ErrInterrupted means a change on this node was interrupted midway and must be rolled back or
// completed before another one starts.
var ErrInterrupted = errors.New("refusing to start another change")

// Interrupted returns the journal of a change on the node under root that did not finish, or nil, nil
// when there is none. A journal whose change wrote every file (the run died just before removing it)
// does not count: the change is complete, and the next locked run removes the journal. Interrupted
// writes nothing and needs no lock (status uses it).
func Interrupted(root nodefs.Root) (*Journal, error) {
	j, _, done, err := loadJournal(root)
	if err != nil || j == nil || done {
		return nil, err
	}
	return j, nil
}

// loadJournal reads the journal and the metadata of its snapshot (nil when unreadable: the journal
// still counts). done reports that every file of the snapshot holds the bytes the change wrote.
func loadJournal(root nodefs.Root) (j *Journal, m *Meta, done bool, err error) {
	j, err = readJournal(root)
	if err != nil || j == nil {
		return nil, nil, false, err
	}
	m, err = Open(root, j.StateDir).Get(j.Snapshot)
	if err != nil {
		return j, nil, false, nil
	}
	for _, f := range m.Files {
		st, err := currentState(root, f)
		if err != nil || st != stateAfter && st != stateBoth {
			return j, m, false, nil
		}
	}
	return j, m, true, nil
}

// A file of a snapshot holds the bytes from before the change, the bytes it wrote, both (a no-op
// write: never taken), or neither (someone changed it since).
type fstate int

const (
	stateNeither fstate = iota
	stateBefore
	stateAfter
	stateBoth
)

func currentState(root nodefs.Root, f FileMeta) (fstate, error) {
	cur, err := root.ReadFile(f.Path, true)
	if err != nil {
		return stateNeither, err
	}
	return fileStateOf(cur, f), nil
}

func fileStateOf(cur *nodefs.File, f FileMeta) fstate {
	var curSHA string
	if cur.Exists {
		curSHA = sha(cur.Data)
	}
	inBefore := cur.Exists == f.Existed && (!cur.Exists || curSHA == f.SHA256Before)
	inAfter := cur.Exists != f.Removed && (f.Removed || curSHA == f.SHA256After)
	switch {
	case inBefore && inAfter:
		return stateBoth
	case inBefore:
		return stateBefore
	case inAfter:
		return stateAfter
	}
	return stateNeither
}

// journalDir returns the checked host path of JournalPath's folder, creating it (0700, missing parents
// 0755) when create is set; without create, a missing folder wraps fs.ErrNotExist.
func journalDir(root nodefs.Root, create bool) (string, error) {
	node := path.Dir(JournalPath)
	parent, err := root.Resolve(path.Dir(node))
	if err != nil {
		return "", fmt.Errorf("%s: %w", node, err)
	}
	host := filepath.Join(parent, path.Base(node))
	if create {
		if err := mkdirChecked(host, node); err != nil {
			return "", err
		}
		if err := checkDir(host, node); err != nil {
			return "", err
		}
		return host, tighten(host, node)
	}
	return host, checkDir(host, node)
}

// maxJournalSize bounds the journal: a handful of paths.
const maxJournalSize = 1 << 20

// readJournal returns the journal, or nil when there is none.
func readJournal(root nodefs.Root) (*Journal, error) {
	dir, err := journalDir(root, false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	data, err := readRegular(filepath.Join(dir, path.Base(JournalPath)), maxJournalSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", JournalPath, err)
	}
	var j Journal
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("%s: %w", JournalPath, err)
	}
	if err := j.validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", JournalPath, err)
	}
	return &j, nil
}

// validate refuses a journal that could make a rollback read or write somewhere odd.
func (j *Journal) validate() error {
	if err := ValidID(j.Snapshot); err != nil {
		return err
	}
	if j.RollbackOf != "" {
		if err := ValidID(j.RollbackOf); err != nil {
			return err
		}
	}
	if j.StateDir == "" || nodefs.Clean(j.StateDir) != j.StateDir {
		return fmt.Errorf("state dir %q is not a clean absolute node path", j.StateDir)
	}
	for _, f := range j.Files {
		if f == "" || nodefs.Clean(f) != f || strings.ContainsAny(f, "\n") {
			return fmt.Errorf("file path %q is not a clean absolute node path", f)
		}
	}
	return nil
}

// writeJournal replaces the journal with j, durably: the file is fsynced, renamed into place and its
// folder fsynced before any target is touched.
func writeJournal(root nodefs.Root, j *Journal) error {
	dir, err := journalDir(root, true)
	if err != nil {
		return err
	}
	data, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", JournalPath, err)
	}
	if _, err := writeAtomic(filepath.Join(dir, path.Base(JournalPath)), append(data, '\n'), filePerm, -1, -1, nil, time.Time{}); err != nil {
		return fmt.Errorf("%s: %w", JournalPath, err)
	}
	return nil
}

// clearJournal removes the journal and fsyncs its folder, so a crash after it cannot resurrect it.
func clearJournal(root nodefs.Root) error {
	dir, err := journalDir(root, false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	host := filepath.Join(dir, path.Base(JournalPath))
	if _, err := removeFile(host); err != nil {
		return fmt.Errorf("%s: %w", JournalPath, err)
	}
	cleanStaleTemps(host)
	return nil
}

// pending returns the journal of an unfinished change on the node, removing the journal of a change
// that finished. Needs the lock.
func (s *Store) pending() (*Journal, error) {
	j, _, done, err := loadJournal(s.state)
	if err != nil || j == nil {
		return nil, err
	}
	if done {
		return nil, clearJournal(s.state)
	}
	return j, nil
}

// at returns the Store of another state dir on the same node, sharing s's lock (the lock is the
// node's): for the journal's snapshot, which may live in a state dir other than --state-dir. The
// result is for use while s holds the lock.
func (s *Store) at(dir string) *Store {
	dir = nodefs.Clean(dir)
	if dir == s.dir {
		return s
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return &Store{root: s.root, state: s.state, dir: dir, lock: s.lock}
}

// mkdirChecked creates the folder host 0700 when missing, its missing parents 0755, and fsyncs its
// parent; it checks nothing (the caller's checkDir does). Errors start with what.
func mkdirChecked(host, what string) error {
	if _, err := os.Lstat(host); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(host), 0o755); err != nil {
		return fmt.Errorf("%s: %w", what, unwrapPathError(err))
	}
	if err := os.Mkdir(host, dirPerm); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s: %w", what, unwrapPathError(err))
	}
	if err := fsyncDir(filepath.Dir(host)); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
