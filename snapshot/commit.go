package snapshot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/nodefs"
)

// step is one file a transaction writes or removes.
type step struct {
	path   string // node path
	kind   string
	host   string            // resolved now, not at planning time
	cur    *nodefs.File      // re-read now; equal to the plan's Before
	mtime  time.Time         // cur's, to put back when undoing
	curX   map[string][]byte // cur's extended attributes (ACL, SELinux label, …), likewise
	data   []byte            // new bytes (nil with remove)
	remove bool
	mode   fs.FileMode
	uid    int
	gid    int
	setMod time.Time         // mtime to give the new file; zero: now
	xattrs map[string][]byte // extended attributes to give the new file; nil: what creating it gives
	dirs   []string          // folders missing now that writing the file creates (host paths, outermost first)
}

// Commit saves a snapshot of every changed file, then writes each one's After atomically, keeping the
// original's mode and owner (a file the plan creates gets c.Mode, 0600 if zero, and the process's
// owner; its parent folder must exist). Unchanged files are not touched. It returns the snapshot id,
// or "" and no snapshot when nothing changes.
//
// Each file must still hold its Before bytes (plan under the lock), or Commit fails with ErrStale and
// writes nothing; a file with more than one hard link fails it with ErrHardLinked unless
// info.SplitHardLinks. If a write fails midway, the files already written are restored from the
// snapshot and the snapshot is removed (nothing changed); if even that fails, the error names the
// snapshot to roll back to: that is the only case where Commit returns both an id and an error.
func (s *Store) Commit(changes []change.FileChange, info Info) (id string, err error) {
	if err := s.requireLock("Commit"); err != nil {
		return "", err
	}
	var steps []step
	for _, c := range changes {
		if !c.Changed() {
			continue
		}
		if c.After == nil {
			// nil After is how a rollback plan says "remove"; only Restore may do that.
			return "", fmt.Errorf("%s: the plan has no bytes to write (a rollback plan goes to Restore)", c.Path)
		}
		st, err := s.prepare(c)
		if err != nil {
			return "", err
		}
		if n := linkCount(st.host); st.cur.Exists && n > 1 && !info.SplitHardLinks {
			return "", hardLinked(st.path, n, false)
		}
		st.data = c.After
		if st.cur.Exists {
			st.mode, st.uid, st.gid, st.xattrs = st.cur.Mode, st.cur.UID, st.cur.GID, st.curX
		} else {
			st.mode, st.uid, st.gid = c.Mode.Perm(), -1, -1
			if st.mode == 0 {
				st.mode = filePerm
			}
		}
		steps = append(steps, st)
	}
	return s.apply(steps, info, "", false)
}

// prepare resolves a change's target and checks it still holds what the plan read.
func (s *Store) prepare(c change.FileChange) (step, error) {
	np := nodefs.Clean(c.Path)
	cur, err := s.root.ReadFile(np, true)
	if err != nil {
		return step{}, err
	}
	st := step{path: np, kind: c.Kind, host: cur.HostPath, cur: cur}
	if !cur.Exists {
		st.dirs = s.missingDirs(filepath.Dir(cur.HostPath))
	}
	wantExists := c.Before != nil && c.Before.Exists
	switch {
	case wantExists != cur.Exists:
		return step{}, fmt.Errorf("%s: %w (it %s now); nothing written, run again", np, ErrStale, map[bool]string{true: "exists", false: "is gone"}[cur.Exists])
	case cur.Exists && !bytes.Equal(cur.Data, c.Before.Data):
		return step{}, fmt.Errorf("%s: %w; nothing written, run again", np, ErrStale)
	}
	if cur.Exists {
		fi, err := os.Stat(cur.HostPath)
		if err != nil {
			return step{}, fmt.Errorf("%s: %w", np, unwrapPathError(err))
		}
		st.mtime = fi.ModTime()
		if st.curX, err = readXattrs(cur.HostPath); err != nil {
			return step{}, fmt.Errorf("%s: %w", np, err)
		}
	}
	return st, nil
}

// checkPlacement refuses targets that would share a folder with the state dir (in a static pod folder
// the kubelet would try to run its files) or live inside it or inside the journal's folder.
func (s *Store) checkPlacement(stateHost string, steps []step) error {
	journalHost, err := journalDir(s.state, false)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	seen := map[string]string{}
	for _, st := range steps {
		if other, ok := seen[st.host]; ok {
			return fmt.Errorf("%s: the same file as %s; a plan must name each file once", st.path, other)
		}
		seen[st.host] = st.path
		if filepath.Dir(st.host) == stateHost {
			return fmt.Errorf("%s: %w: the state dir %s is this file's own folder; use --state-dir elsewhere", st.path, ErrUnsafe, s.dir)
		}
		if strings.HasPrefix(st.host, stateHost+"/") {
			return fmt.Errorf("%s: is inside the state dir %s; mirrorctl does not edit its own state", st.path, s.dir)
		}
		if strings.HasPrefix(st.host, journalHost+"/") {
			return fmt.Errorf("%s: is inside %s, which holds mirrorctl's own state", st.path, path.Dir(JournalPath))
		}
	}
	return nil
}

// prior is the interrupted change a run completes: the new snapshot records, for every file of it,
// the bytes from before the interrupted run rather than the half-changed ones it finds.
type prior struct {
	j       *Journal
	m       *Meta
	from    *Store // the store holding m
	byPath  map[string]FileMeta
	carried []carried // its files this run does not write
}

// carried is a file of the interrupted change that this run leaves as it is: recorded in the new
// snapshot all the same, so its rollback restores it too.
type carried struct {
	f   FileMeta
	cur *nodefs.File
}

// completing checks that every file of the interrupted change still holds what it had before the
// interrupted run or what that run wrote (anything else is someone's edit, which completing and then
// rolling back would silently discard), and collects the files this run does not write.
func (s *Store) completing(j *Journal, steps []step) (*prior, error) {
	from := s.at(j.StateDir)
	m, err := from.Get(j.Snapshot)
	if err != nil {
		return nil, fmt.Errorf("completing the interrupted %s: %w", j.Op, err)
	}
	p := &prior{j: j, m: m, from: from, byPath: map[string]FileMeta{}}
	writes := map[string]bool{}
	for _, st := range steps {
		writes[st.path] = true
	}
	var drifted []string
	for _, f := range m.Files {
		p.byPath[f.Path] = f
		cur, err := s.root.ReadFile(f.Path, true)
		if err != nil {
			return nil, err
		}
		if fileStateOf(cur, f) == stateNeither {
			drifted = append(drifted, f.Path)
			continue
		}
		if !writes[f.Path] && (cur.Exists || f.Existed) {
			p.carried = append(p.carried, carried{f, cur})
		}
	}
	if len(drifted) > 0 {
		return nil, fmt.Errorf("%s: %w since the interrupted %s (snapshot %s); check it, then `mirrorctl rollback --force` restores the bytes from before that run; nothing written", joinPaths(drifted), ErrDrift, j.Op, j.Snapshot)
	}
	return p, nil
}

// apply runs a transaction: snapshot first, complete and durable, then the journal, then the writes,
// then the journal's removal.
//
// An unfinished journal from an earlier run decides what this one may do: restoring that change's own
// snapshot recovers from it (the journal stays until the restore is done, so a second interruption
// is recovered the same way); the same op again (a rollback for a rollback) completes it, its snapshot
// recording the bytes from before the interrupted run; anything else is refused.
//
// noSnap (a rollback with NoSnapshot) writes neither snapshot nor journal: nothing is saved, and a
// run interrupted midway is finished by running the same rollback again.
func (s *Store) apply(steps []step, info Info, rollbackOf string, noSnap bool) (string, error) {
	j, err := s.pending()
	if err != nil {
		return "", err
	}
	recovering := j != nil && rollbackOf != "" && rollbackOf == j.Snapshot && s.dir == j.StateDir
	if len(steps) == 0 {
		if recovering {
			return "", clearJournal(s.state)
		}
		return "", nil
	}
	var p *prior
	if j != nil && !recovering && noSnap {
		return "", fmt.Errorf("%w: %s; --no-snapshot cannot complete it, nothing written", ErrInterrupted, j.Advice())
	}
	if j != nil && !recovering {
		isRollback := rollbackOf != ""
		if isRollback != (j.RollbackOf != "") || !isRollback && info.Op != j.Op {
			return "", fmt.Errorf("%w: %s; nothing written", ErrInterrupted, j.Advice())
		}
		if p, err = s.completing(j, steps); err != nil {
			return "", err
		}
	}
	stateHost, err := s.stateHost()
	if err != nil {
		return "", err
	}
	if err := s.checkPlacement(stateHost, steps); err != nil {
		return "", err
	}
	m, snapHost := &Meta{}, ""
	if !noSnap {
		if m, snapHost, err = s.writeSnapshot(steps, info, rollbackOf, p); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				err = fmt.Errorf("%w: %w", ErrNoSpace, err)
			}
			return "", err
		}
	}
	id := m.ID
	dropSnapshot := func() error {
		if snapHost == "" {
			return nil
		}
		if err := os.RemoveAll(snapHost); err != nil {
			return err
		}
		_ = fsyncDir(filepath.Dir(snapHost))
		return nil
	}
	if !recovering && !noSnap {
		nj := &Journal{Snapshot: id, StateDir: s.dir, Op: info.Op, RollbackOf: rollbackOf, Command: info.Command, Time: m.Time}
		for _, f := range m.Files {
			nj.Files = append(nj.Files, f.Path)
		}
		if err := writeJournal(s.state, nj); err != nil {
			_ = dropSnapshot()
			return "", fmt.Errorf("%w; nothing written", err)
		}
		crashPoint("journal written")
	}
	for i, st := range steps {
		var done bool
		var werr error
		if st.remove {
			done, werr = removeFile(st.host)
		} else {
			done, werr = writeAtomic(st.host, st.data, st.mode, st.uid, st.gid, st.xattrs, st.setMod)
		}
		if werr == nil {
			crashPoint("step done")
			continue
		}
		n := i
		if done {
			n = i + 1
		}
		if uerr := undo(steps[:n]); uerr != nil {
			if noSnap {
				return "", fmt.Errorf("%s: %v; restoring the files already written failed too (%v): run the same rollback again", st.path, werr, uerr)
			}
			return id, fmt.Errorf("%s: %v; restoring the files already written failed too (%v): run `mirrorctl rollback %s`", st.path, werr, uerr, id)
		}
		// Say what is true: when the first write failed before its rename, no target was touched.
		outcome := "the files already written were restored, nothing changed"
		if n == 0 {
			outcome = "no file was written"
		}
		// The files are as this run found them: so must the journal be, before the snapshot it names goes.
		var jerr error
		switch {
		case recovering:
		case p != nil:
			jerr = writeJournal(s.state, j)
		default:
			jerr = clearJournal(s.state)
		}
		if jerr != nil {
			return "", fmt.Errorf("%s: %v; %s, but resetting %s failed (%v): `mirrorctl rollback` clears it", st.path, werr, outcome, JournalPath, jerr)
		}
		if rerr := dropSnapshot(); rerr != nil {
			return "", fmt.Errorf("%s: %v; %s (leftover snapshot %s)", st.path, werr, outcome, id)
		}
		return "", fmt.Errorf("%s: %w; %s", st.path, werr, outcome)
	}
	// Every file is written: the change is complete whether or not the journal's removal survives
	// (a journal whose files all hold their new bytes counts as finished and is removed by the next
	// locked run), so a failure here is not the caller's.
	_ = clearJournal(s.state)
	for _, st := range steps {
		cleanStaleTemps(st.host)
	}
	return id, nil
}

// undo puts back what steps found, newest write first, from the bytes read before the snapshot (the
// same bytes the snapshot holds, already verified on disk).
func undo(steps []step) error {
	var errs []string
	for i := len(steps) - 1; i >= 0; i-- {
		st := steps[i]
		var err error
		if st.cur.Exists {
			_, err = writeAtomic(st.host, st.cur.Data, st.cur.Mode, st.cur.UID, st.cur.GID, st.curX, st.mtime)
		} else if _, err = removeFile(st.host); err == nil {
			err = removeEmptyDirs(st.dirs)
		}
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", st.path, err))
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// writeSnapshot writes <state>/snapshots/<id>/: each existing file's bytes (0600, fsynced), fsyncs the
// folders, then writes meta.json atomically. Until meta.json exists the snapshot does not count, and
// no target has been touched. With p, the files of the interrupted change are recorded as they were
// before it (their bytes copied from its snapshot), and the ones this run leaves alone are added.
func (s *Store) writeSnapshot(steps []step, info Info, rollbackOf string, p *prior) (*Meta, string, error) {
	snaps, err := s.snapsHost(true)
	if err != nil {
		return nil, "", err
	}
	var priorHost string
	if p != nil {
		if priorHost, err = p.from.snapHost(p.m.ID); err != nil {
			return nil, "", err
		}
	}
	now := time.Now().UTC()
	var id, host string
	for tries := 0; ; tries++ {
		id = newID(now)
		host = filepath.Join(snaps, id)
		err := os.Mkdir(host, dirPerm)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || tries > 100 {
			return nil, "", fmt.Errorf("%s: %w", s.snapNode(id), unwrapPathError(err))
		}
	}
	crashPoint("snapshot dir made")
	fail := func(err error) (*Meta, string, error) {
		_ = os.RemoveAll(host)
		return nil, "", err
	}
	m := Meta{ID: id, Time: now, Command: info.Command, ToolVersion: info.ToolVersion, Distro: info.Distro, Op: info.Op, RollbackOf: rollbackOf}
	if p != nil {
		m.Completes = p.m.ID
	}
	// store records file i's state before the change: from the interrupted change's snapshot when the
	// file is one of its, else as read now.
	store := func(i int, fm *FileMeta, cur *nodefs.File, mtime time.Time, xattrs map[string][]byte) error {
		if pf, ok := p.lookup(fm.Path); ok {
			fm.Existed, fm.SHA256Before, fm.Mode, fm.UID, fm.GID, fm.ModTime, fm.Size, fm.Xattrs = pf.Existed, pf.SHA256Before, pf.Mode, pf.UID, pf.GID, pf.ModTime, pf.Size, pf.Xattrs
			if !pf.Existed {
				return nil
			}
			data, err := p.from.readStored(priorHost, p.m.ID, pf)
			if err != nil {
				return err
			}
			fm.Stored = storedName(i+1, fm.Path)
			return writeNew(filepath.Join(host, fm.Stored), data)
		}
		fm.Existed = cur.Exists
		if !cur.Exists {
			return nil
		}
		fm.SHA256Before = sha(cur.Data)
		fm.Mode = uint32(cur.Mode.Perm())
		fm.UID, fm.GID = cur.UID, cur.GID
		fm.ModTime = mtime.UTC()
		fm.Xattrs = xattrs
		fm.Size = int64(len(cur.Data))
		fm.Stored = storedName(i+1, fm.Path)
		return writeNew(filepath.Join(host, fm.Stored), cur.Data)
	}
	for i, st := range steps {
		fm := FileMeta{Path: st.path, Kind: st.kind, Removed: st.remove}
		if !st.remove && !st.cur.Exists {
			for _, d := range st.dirs {
				fm.CreatedDirs = append(fm.CreatedDirs, s.root.Node(d))
			}
		}
		if !st.remove {
			fm.SHA256After = sha(st.data)
		}
		if err := store(i, &fm, st.cur, st.mtime, st.curX); err != nil {
			return fail(fmt.Errorf("%s: %w", s.storedNode(id, fm.Stored), err))
		}
		if fm.Stored != "" {
			crashPoint("copy stored")
		}
		m.Files = append(m.Files, fm)
	}
	if p != nil {
		for _, c := range p.carried {
			fm := FileMeta{Path: c.f.Path, Kind: c.f.Kind}
			if c.cur.Exists {
				fm.SHA256After = sha(c.cur.Data)
			} else {
				fm.Removed = true
			}
			var xattrs map[string][]byte
			if c.cur.Exists {
				var err error
				if xattrs, err = readXattrs(c.cur.HostPath); err != nil {
					return fail(fmt.Errorf("%s: %w", c.f.Path, err))
				}
			}
			if err := store(len(m.Files), &fm, c.cur, time.Time{}, xattrs); err != nil {
				return fail(fmt.Errorf("%s: %w", s.storedNode(id, fm.Stored), err))
			}
			m.Files = append(m.Files, fm)
		}
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fail(fmt.Errorf("%s: %w", s.storedNode(id, metaName), err))
	}
	data = append(data, '\n')
	// The copies' folder entries must be durable before meta.json can be: POSIX does not order
	// entries within one directory across a power loss.
	if err := fsyncDir(host); err != nil {
		return fail(fmt.Errorf("%s: %w", s.snapNode(id), err))
	}
	if err := fsyncDir(snaps); err != nil {
		return fail(fmt.Errorf("%s: %w", s.snapsNode(), err))
	}
	// Written last and atomically (fsynced, renamed, folder fsynced): its presence is what makes the
	// snapshot count.
	if _, err := writeAtomic(filepath.Join(host, metaName), data, filePerm, -1, -1, nil, time.Time{}); err != nil {
		return fail(fmt.Errorf("%s: %w", s.storedNode(id, metaName), err))
	}
	return &m, host, nil
}

// lookup returns the interrupted change's record of a file (nothing without an interrupted change).
func (p *prior) lookup(path string) (FileMeta, bool) {
	if p == nil {
		return FileMeta{}, false
	}
	f, ok := p.byPath[path]
	return f, ok
}

// PlanRollback reads snapshot id and the current files and returns, for every file of the snapshot in
// its order, the FileChange that restores it: Before is the file now, After the snapshot's bytes. A file
// the snapshot's run created (FileMeta.Existed false) is to be removed: its After is nil while Before
// exists. A file already in the snapshot's state comes back unchanged (Changed() false), so a rollback
// after a run that was interrupted midway restores just what was written.
//
// A file that holds neither what the run wrote nor what it replaced was changed by someone else since:
// the error wraps ErrDrift and names every such file, unless force. PlanRollback writes nothing and
// needs no lock (rollback --dry-run uses it); Restore re-checks the files under the lock.
func (s *Store) PlanRollback(id string, force bool) ([]change.FileChange, *Meta, error) {
	m, err := s.Get(id)
	if err != nil {
		return nil, nil, err
	}
	snapHost, err := s.snapHost(id)
	if err != nil {
		return nil, nil, err
	}
	var plan []change.FileChange
	var drifted []string
	for _, f := range m.Files {
		cur, err := s.root.ReadFile(f.Path, true)
		if err != nil {
			return nil, nil, err
		}
		c := change.FileChange{Path: f.Path, Kind: f.Kind, Before: cur, Mode: fs.FileMode(f.Mode)}
		switch st := fileStateOf(cur, f); {
		case st == stateBefore || st == stateBoth:
			c.After = cur.Data // already as the snapshot has it
		case st == stateNeither && !force:
			drifted = append(drifted, f.Path)
		default:
			if f.Existed {
				if c.After, err = s.readStored(snapHost, id, f); err != nil {
					return nil, nil, err
				}
			}
		}
		plan = append(plan, c)
	}
	if len(drifted) > 0 {
		return nil, m, fmt.Errorf("%s: %w (snapshot %s); rolling back would discard that change: check it, then use --force", joinPaths(drifted), ErrDrift, id)
	}
	return plan, m, nil
}

// Restore writes a rollback plan from PlanRollback under the lock: each changed file gets the snapshot's
// bytes atomically with the snapshot's mode, owner and modification time, so a rolled-back file is
// the original in everything but inode and ctime; files the snapshot's run created are removed.
//
// Restore is itself a transaction: it first takes a new snapshot of the current state (Meta.RollbackOf =
// m.ID, Op "rollback" unless info says otherwise), so a rollback can be rolled back, and a failure
// midway restores what it had written. It returns that new snapshot's id ("" when nothing differs, or
// with NoSnapshot).
// Every file must still be as PlanRollback read it, or it fails with ErrStale and writes nothing.
func (s *Store) Restore(m *Meta, plan []change.FileChange, info Info, opts ...RestoreOption) (id string, err error) {
	if err := s.requireLock("Restore"); err != nil {
		return "", err
	}
	var o restoreOptions
	for _, opt := range opts {
		opt(&o)
	}
	if info.Op == "" {
		info.Op = "rollback"
	}
	byPath := map[string]FileMeta{}
	for _, f := range m.Files {
		byPath[f.Path] = f
	}
	var steps []step
	var created []string // folders the restored snapshot's run created for files now removed
	for _, c := range plan {
		f, ok := byPath[nodefs.Clean(c.Path)]
		if !ok {
			return "", fmt.Errorf("%s: not in snapshot %s", c.Path, m.ID)
		}
		curExists := c.Before != nil && c.Before.Exists
		remove := !f.Existed && curExists
		write := f.Existed && (!curExists || !bytes.Equal(c.Before.Data, c.After))
		if !remove && !write {
			continue
		}
		if write && sha(c.After) != f.SHA256Before {
			return "", fmt.Errorf("%s: the plan's bytes are not snapshot %s's", c.Path, m.ID)
		}
		st, err := s.prepare(c)
		if err != nil {
			return "", err
		}
		st.remove = remove
		if remove {
			created = append(created, f.CreatedDirs...)
		}
		if write {
			st.data = c.After
			// A snapshot older than xattrs in meta.json has none recorded (nil): the new file then keeps
			// what creating it gives, as rollbacks always did.
			st.mode, st.uid, st.gid, st.setMod, st.xattrs = fs.FileMode(f.Mode), f.UID, f.GID, f.ModTime, f.Xattrs
		}
		steps = append(steps, st)
	}
	if id, err = s.apply(steps, info, m.ID, o.noSnapshot); err != nil {
		return id, err
	}
	// The files are restored; a folder left over is cosmetic (the node works without it), so a
	// failure to remove one is not the rollback's.
	var hosts []string
	for _, d := range created {
		// Resolved as the write resolved them, and never out of the root.
		if parent, err := s.root.Resolve(path.Dir(d)); err == nil {
			hosts = append(hosts, filepath.Join(parent, path.Base(d)))
		}
	}
	_ = removeEmptyDirs(hosts)
	return id, nil
}

// missingDirs returns the folders from the host folder dir up that do not exist (outermost first):
// those a write of a file in dir creates.
func (s *Store) missingDirs(dir string) []string {
	var missing []string
	for d := dir; d != s.root.Dir && strings.HasPrefix(d, s.root.Dir); d = filepath.Dir(d) {
		if _, err := os.Lstat(d); !errors.Is(err, fs.ErrNotExist) {
			break
		}
		missing = append([]string{d}, missing...)
	}
	return missing
}

// removeEmptyDirs removes the host folders dirs (a change's created folders, outermost first),
// innermost first, each only when it is an empty real folder: a folder someone has put a file in
// since, or replaced by a link, stays.
func removeEmptyDirs(dirs []string) error {
	var errs []string
	for i := len(dirs) - 1; i >= 0; i-- {
		host := dirs[i]
		fi, err := os.Lstat(host)
		if err != nil || !fi.IsDir() {
			continue
		}
		if err := os.Remove(host); err != nil {
			if !errors.Is(err, syscall.ENOTEMPTY) && !errors.Is(err, syscall.EEXIST) {
				errs = append(errs, fmt.Sprintf("%s: %v", host, unwrapPathError(err)))
			}
			continue
		}
		_ = fsyncDir(filepath.Dir(host))
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// RestoreOption changes how Restore works.
type RestoreOption func(*restoreOptions)

type restoreOptions struct{ noSnapshot bool }

// NoSnapshot makes Restore write the snapshot's bytes without first saving the state it replaces
// (nor a journal): for a state dir whose file system is full (ErrNoSpace). The rollback then cannot
// itself be rolled back, and Restore returns no id. A failure midway still puts back what it had
// written, from the bytes read before writing.
func NoSnapshot() RestoreOption { return func(o *restoreOptions) { o.noSnapshot = true } }

// RollbackTarget returns the snapshot `rollback [ID]` restores and the Store holding it. With an id,
// that snapshot of s. Without one: when a change on this node was interrupted (see Journal), its
// snapshot, from whichever state dir holds it (the returned Store, sharing s's lock), or for an
// interrupted rollback the snapshot that rollback was restoring, so running it again completes it;
// otherwise LatestChange. It writes nothing and needs no lock.
func (s *Store) RollbackTarget(id string) (*Store, *Meta, error) {
	if id != "" {
		m, err := s.Get(id)
		return s, m, err
	}
	j, _, done, err := loadJournal(s.state)
	if err != nil {
		return s, nil, err
	}
	if j != nil && !done {
		owner := s.at(j.StateDir)
		target := j.Snapshot
		if j.RollbackOf != "" {
			target = j.RollbackOf
		}
		m, err := owner.Get(target)
		if err != nil {
			return owner, nil, fmt.Errorf("%s; but that snapshot cannot be read (%w): check the files by hand, then remove %s", j.Advice(), err, JournalPath)
		}
		return owner, m, nil
	}
	m, err := s.LatestChange()
	return s, m, err
}

// Rollback plans and restores snapshot id under the lock the caller holds; "" means RollbackTarget's
// choice (the interrupted change, else LatestChange, so running `rollback` twice does not undo the
// first rollback). It returns the plan (for the diff), the snapshot restored, and the id of the
// snapshot taken of the state it replaced ("" when the files were already as the snapshot has them).
func (s *Store) Rollback(id string, force bool, info Info) (newID string, plan []change.FileChange, m *Meta, err error) {
	owner, m, err := s.RollbackTarget(id)
	if err != nil {
		return "", nil, m, err
	}
	plan, m, err = owner.PlanRollback(m.ID, force)
	if err != nil {
		return "", nil, m, err
	}
	newID, err = owner.Restore(m, plan, info)
	return newID, plan, m, err
}
