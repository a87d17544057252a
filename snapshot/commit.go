package snapshot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/nodefs"
)

// step is one file a transaction writes or removes.
type step struct {
	path   string // node path
	kind   string
	host   string       // resolved now, not at planning time
	cur    *nodefs.File // re-read now; equal to the plan's Before
	mtime  time.Time    // cur's, to put back when undoing
	data   []byte       // new bytes (nil with remove)
	remove bool
	mode   fs.FileMode
	uid    int
	gid    int
	setMod time.Time // mtime to give the new file; zero: now
}

// Commit saves a snapshot of every changed file, then writes each one's After atomically, keeping the
// original's mode and owner (a file the plan creates gets c.Mode, 0600 if zero, and the process's
// owner; its parent folder must exist). Unchanged files are not touched. It returns the snapshot id,
// or "" and no snapshot when nothing changes.
//
// Each file must still hold its Before bytes (plan under the lock), or Commit fails with ErrStale and
// writes nothing. If a write fails midway, the files already written are restored from the snapshot
// and the snapshot is removed (nothing changed); if even that fails, the error names the snapshot to
// roll back to: that is the only case where Commit returns both an id and an error.
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
		st.data = c.After
		if st.cur.Exists {
			st.mode, st.uid, st.gid = st.cur.Mode, st.cur.UID, st.cur.GID
		} else {
			st.mode, st.uid, st.gid = c.Mode.Perm(), -1, -1
			if st.mode == 0 {
				st.mode = filePerm
			}
		}
		steps = append(steps, st)
	}
	return s.apply(steps, info, "")
}

// prepare resolves a change's target and checks it still holds what the plan read.
func (s *Store) prepare(c change.FileChange) (step, error) {
	np := nodefs.Clean(c.Path)
	cur, err := s.root.ReadFile(np, true)
	if err != nil {
		return step{}, err
	}
	st := step{path: np, kind: c.Kind, host: cur.HostPath, cur: cur}
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
	}
	return st, nil
}

// checkPlacement refuses targets that would share a folder with the state dir (its lock file would sit
// beside a target; in a static pod folder the kubelet would try to run it) or live inside it.
func (s *Store) checkPlacement(stateHost string, steps []step) error {
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
	}
	return nil
}

// apply runs a transaction: snapshot first, complete and durable, then the writes.
func (s *Store) apply(steps []step, info Info, rollbackOf string) (string, error) {
	if len(steps) == 0 {
		return "", nil
	}
	stateHost, err := s.stateHost()
	if err != nil {
		return "", err
	}
	if err := s.checkPlacement(stateHost, steps); err != nil {
		return "", err
	}
	id, snapHost, err := s.writeSnapshot(steps, info, rollbackOf)
	if err != nil {
		return "", err
	}
	for i, st := range steps {
		var done bool
		var werr error
		if st.remove {
			done, werr = removeFile(st.host)
		} else {
			done, werr = writeAtomic(st.host, st.data, st.mode, st.uid, st.gid, st.setMod)
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
			return id, fmt.Errorf("%s: %v; restoring the files already written failed too (%v): run `mirrorctl rollback %s`", st.path, werr, uerr, id)
		}
		if rerr := os.RemoveAll(snapHost); rerr != nil {
			return "", fmt.Errorf("%s: %v; the files already written were restored, nothing changed (leftover snapshot %s)", st.path, werr, id)
		}
		_ = fsyncDir(filepath.Dir(snapHost))
		return "", fmt.Errorf("%s: %w; the files already written were restored, nothing changed", st.path, werr)
	}
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
			_, err = writeAtomic(st.host, st.cur.Data, st.cur.Mode, st.cur.UID, st.cur.GID, st.mtime)
		} else {
			_, err = removeFile(st.host)
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
// no target has been touched.
func (s *Store) writeSnapshot(steps []step, info Info, rollbackOf string) (string, string, error) {
	snaps, err := s.snapsHost(true)
	if err != nil {
		return "", "", err
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
			return "", "", fmt.Errorf("%s: %w", s.snapNode(id), unwrapPathError(err))
		}
	}
	crashPoint("snapshot dir made")
	fail := func(err error) (string, string, error) {
		_ = os.RemoveAll(host)
		return "", "", err
	}
	m := Meta{ID: id, Time: now, Command: info.Command, ToolVersion: info.ToolVersion, Distro: info.Distro, Op: info.Op, RollbackOf: rollbackOf}
	for i, st := range steps {
		fm := FileMeta{Path: st.path, Kind: st.kind, Existed: st.cur.Exists, Removed: st.remove}
		if !st.remove {
			fm.SHA256After = sha(st.data)
		}
		if st.cur.Exists {
			fm.SHA256Before = sha(st.cur.Data)
			fm.Mode = uint32(st.cur.Mode.Perm())
			fm.UID, fm.GID = st.cur.UID, st.cur.GID
			fm.ModTime = st.mtime.UTC()
			fm.Size = int64(len(st.cur.Data))
			fm.Stored = storedName(i+1, st.path)
			if err := writeNew(filepath.Join(host, fm.Stored), st.cur.Data); err != nil {
				return fail(fmt.Errorf("%s: %w", s.storedNode(id, fm.Stored), err))
			}
			crashPoint("copy stored")
		}
		m.Files = append(m.Files, fm)
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
	if _, err := writeAtomic(filepath.Join(host, metaName), data, filePerm, -1, -1, time.Time{}); err != nil {
		return fail(fmt.Errorf("%s: %w", s.storedNode(id, metaName), err))
	}
	return id, host, nil
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
		var curSHA string
		if cur.Exists {
			curSHA = sha(cur.Data)
		}
		inBefore := cur.Exists == f.Existed && (!cur.Exists || curSHA == f.SHA256Before)
		inAfter := cur.Exists != f.Removed && (f.Removed || curSHA == f.SHA256After)
		c := change.FileChange{Path: f.Path, Kind: f.Kind, Before: cur, Mode: fs.FileMode(f.Mode)}
		switch {
		case inBefore:
			c.After = cur.Data // already as the snapshot has it
		case !inAfter && !force:
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
// midway restores what it had written. It returns that new snapshot's id ("" when nothing differs).
// Every file must still be as PlanRollback read it, or it fails with ErrStale and writes nothing.
func (s *Store) Restore(m *Meta, plan []change.FileChange, info Info) (id string, err error) {
	if err := s.requireLock("Restore"); err != nil {
		return "", err
	}
	if info.Op == "" {
		info.Op = "rollback"
	}
	byPath := map[string]FileMeta{}
	for _, f := range m.Files {
		byPath[f.Path] = f
	}
	var steps []step
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
		if write {
			st.data = c.After
			st.mode, st.uid, st.gid, st.setMod = fs.FileMode(f.Mode), f.UID, f.GID, f.ModTime
		}
		steps = append(steps, st)
	}
	return s.apply(steps, info, m.ID)
}

// Rollback plans and restores snapshot id under the lock the caller holds; "" means LatestChange, so
// running `rollback` twice does not undo the first rollback. It returns the plan (for the diff), the
// snapshot restored, and the id of the snapshot taken of the state it replaced ("" when the files were
// already as the snapshot has them).
func (s *Store) Rollback(id string, force bool, info Info) (newID string, plan []change.FileChange, m *Meta, err error) {
	if id == "" {
		latest, err := s.LatestChange()
		if err != nil {
			return "", nil, nil, err
		}
		id = latest.ID
	}
	plan, m, err = s.PlanRollback(id, force)
	if err != nil {
		return "", nil, m, err
	}
	newID, err = s.Restore(m, plan, info)
	return newID, plan, m, err
}
