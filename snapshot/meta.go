package snapshot

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mirrorctl/mirrorctl/nodefs"
)

// Info describes the run that takes a snapshot; it is recorded in Meta.
type Info struct {
	Command     []string // os.Args, for the operator reading `snapshots show`
	ToolVersion string
	Distro      string
	Op          string // "disable", "enable", "lint-fix", …; Restore defaults it to "rollback"
	// SplitHardLinks lets Commit rewrite a target with more than one hard link (--force); without it
	// Commit refuses one (ErrHardLinked). Not recorded.
	SplitHardLinks bool
}

// Meta is a snapshot's meta.json.
type Meta struct {
	ID          string    `json:"id"`
	Time        time.Time `json:"time"` // UTC
	Command     []string  `json:"command"`
	ToolVersion string    `json:"tool_version"`
	Distro      string    `json:"distro,omitempty"`
	Op          string    `json:"op"`
	RollbackOf  string    `json:"rollback_of,omitempty"` // set on the snapshot a Restore takes
	// Completes names the snapshot of an interrupted change this one's run completed: this snapshot
	// then holds, for every file of that change, the bytes from before it (see Journal).
	Completes string     `json:"completes,omitempty"`
	Files     []FileMeta `json:"files"`
}

// FileMeta is one file of a snapshot: its state before the change and the digest of what the change
// wrote. Mode, UID, GID and ModTime are the file's before the change (zero when !Existed).
type FileMeta struct {
	Path         string    `json:"path"` // node path
	Kind         string    `json:"kind,omitempty"`
	Existed      bool      `json:"existed"`
	SHA256Before string    `json:"sha256_before,omitempty"` // "" when !Existed
	SHA256After  string    `json:"sha256_after,omitempty"`  // "" when Removed
	Removed      bool      `json:"removed,omitempty"`       // the change removed the file (a rollback of a creation)
	Mode         uint32    `json:"mode"`                    // permission bits
	UID          int       `json:"uid"`
	GID          int       `json:"gid"`
	ModTime      time.Time `json:"mtime,omitzero"`
	Size         int64     `json:"size"`
	Stored       string    `json:"stored,omitempty"` // file name inside the snapshot dir; "" when !Existed
	// CreatedDirs are the folders the change created for a file that did not exist (node paths,
	// outermost first): its rollback removes them again, each only when empty.
	CreatedDirs []string `json:"created_dirs,omitempty"`
	// Added are the keys the change created in the file rather than edited (change.FileChange.Added),
	// e.g. a kubeadm config's controllerManager.extraArgs.controllers: mirrorctl's, not the operator's,
	// so a later enable may take them back, from the bytes stored here.
	Added []string `json:"added,omitempty"`
	// Xattrs are the file's extended attributes before the change, the POSIX ACL
	// (system.posix_acl_access) and SELinux label among them; values base64 in JSON. {} when it had
	// none; null when !Existed; absent in a snapshot from a release that did not record them.
	Xattrs map[string][]byte `json:"xattrs"`
}

// idLayout is the time part of an id: sortable, and readable in `snapshots list`.
const idLayout = "20060102T150405Z"

var (
	idRE     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$`) })
	storedRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]{2,}-[A-Za-z0-9._-]{1,100}$`) })
	shaRE    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-f]{64}$`) })
)

// newID returns e.g. 20261125T093012Z-1a2b3c: the UTC second, then 24 random bits so two runs in one
// second (on different roots, or one after another) do not collide.
func newID(now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:]) // never fails on Linux (getrandom)
	return now.UTC().Format(idLayout) + "-" + hex.EncodeToString(b[:])
}

// ValidID checks that id has exactly the shape mirrorctl generates, so it can never name a path
// outside the snapshots folder ("../x", "a/b", "").
func ValidID(id string) error {
	if !idRE().MatchString(id) {
		return fmt.Errorf("snapshot id %q: not a snapshot id (expected e.g. 20261125T093012Z-1a2b3c)", id)
	}
	return nil
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// storedName is the name of a file's copy inside a snapshot dir: an index (so two targets with one
// base name cannot collide, and the name never starts with '.') and the base name, for humans.
func storedName(i int, nodePath string) string {
	base := []byte(filepath.Base(nodePath))
	for j, c := range base {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			base[j] = '_'
		}
	}
	if len(base) > 100 {
		base = base[:100]
	}
	return fmt.Sprintf("%02d-%s", i, base)
}

// maxMetaSize bounds meta.json: a handful of files' metadata is a few kilobytes.
const maxMetaSize = 1 << 20

// readRegular reads a regular file, never through a symlink, refusing one larger than limit.
func readRegular(host string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(host, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, fmt.Errorf("%w: it is a symlink", ErrUnsafe)
		}
		return nil, unwrapPathError(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, unwrapPathError(err)
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("file is %d bytes, more than the %d a snapshot file can be", fi.Size(), limit)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, unwrapPathError(err)
	}
	return data, nil
}

// snapHost returns the checked host path of one snapshot's dir.
func (s *Store) snapHost(id string) (string, error) {
	if err := ValidID(id); err != nil {
		return "", err
	}
	snaps, err := s.snapsHost(false)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("snapshot %s: %w in %s", id, ErrNotFound, s.dir)
		}
		return "", err
	}
	host := filepath.Join(snaps, id)
	if err := checkDir(host, s.snapNode(id)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("snapshot %s: %w in %s", id, ErrNotFound, s.dir)
		}
		return "", err
	}
	return host, nil
}

// readMeta reads and validates a snapshot's meta.json. It returns an error wrapping fs.ErrNotExist for
// an incomplete snapshot.
func (s *Store) readMeta(snapHost, id string) (*Meta, error) {
	node := s.storedNode(id, metaName)
	data, err := readRegular(filepath.Join(snapHost, metaName), maxMetaSize)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", node, err)
	}
	var m Meta
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", node, err)
	}
	if err := m.validate(id); err != nil {
		return nil, fmt.Errorf("%s: %w", node, err)
	}
	return &m, nil
}

// validate refuses a meta.json that could make a rollback write somewhere odd or read outside the
// snapshot dir, whoever wrote it.
func (m *Meta) validate(id string) error {
	if m.ID != id {
		return fmt.Errorf("id %q does not match its folder %s", m.ID, id)
	}
	seen := map[string]bool{}
	for _, f := range m.Files {
		if f.Path == "" || nodefs.Clean(f.Path) != f.Path {
			return fmt.Errorf("file path %q is not a clean absolute node path", f.Path)
		}
		if seen[f.Path] {
			return fmt.Errorf("file %s is listed twice", f.Path)
		}
		seen[f.Path] = true
		if f.Existed {
			if !storedRE().MatchString(f.Stored) {
				return fmt.Errorf("file %s: stored name %q is not one mirrorctl writes", f.Path, f.Stored)
			}
			if !shaRE().MatchString(f.SHA256Before) {
				return fmt.Errorf("file %s: sha256_before %q is not a sha256", f.Path, f.SHA256Before)
			}
		} else if f.Stored != "" {
			return fmt.Errorf("file %s: did not exist but has a stored copy %q", f.Path, f.Stored)
		}
		if !f.Removed && !shaRE().MatchString(f.SHA256After) {
			return fmt.Errorf("file %s: sha256_after %q is not a sha256", f.Path, f.SHA256After)
		}
		if err := validXattrs(f.Xattrs); err != nil {
			return fmt.Errorf("file %s: %w", f.Path, err)
		}
		if f.Mode&^uint32(fs.ModePerm) != 0 {
			return fmt.Errorf("file %s: mode %o has more than permission bits", f.Path, f.Mode)
		}
		for _, d := range f.CreatedDirs {
			if f.Existed || d == "/" || nodefs.Clean(d) != d {
				return fmt.Errorf("file %s: created folder %q is not a clean node path of a created file", f.Path, d)
			}
		}
	}
	return nil
}

// Get returns a complete snapshot's metadata. The id must have the generated shape.
func (s *Store) Get(id string) (*Meta, error) {
	host, err := s.snapHost(id)
	if err != nil {
		return nil, err
	}
	m, err := s.readMeta(host, id)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("snapshot %s: incomplete (no %s; a run was interrupted before writing anything): %w", id, metaName, ErrNotFound)
	}
	return m, err
}

// List returns every complete snapshot, newest first. A missing state dir means none. Snapshot dirs
// without meta.json (a run interrupted while snapshotting, before it touched any target) are skipped;
// entries that are not snapshot ids are ignored, never touched.
func (s *Store) List() ([]Meta, error) {
	all, _, err := s.scan()
	return all, err
}

// scan returns the complete snapshots (newest first) and the ids of incomplete ones.
func (s *Store) scan() ([]Meta, []string, error) {
	snaps, err := s.snapsHost(false)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, nil
		}
		return nil, nil, err
	}
	entries, err := os.ReadDir(snaps)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", s.snapsNode(), unwrapPathError(err))
	}
	var all []Meta
	var incomplete []string
	for _, e := range entries {
		id := e.Name()
		if ValidID(id) != nil {
			continue
		}
		host := filepath.Join(snaps, id)
		if err := checkDir(host, s.snapNode(id)); err != nil {
			return nil, nil, err
		}
		m, err := s.readMeta(host, id)
		if errors.Is(err, fs.ErrNotExist) {
			incomplete = append(incomplete, id)
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		all = append(all, *m)
	}
	sort.SliceStable(all, func(i, j int) bool {
		if !all[i].Time.Equal(all[j].Time) {
			return all[i].Time.After(all[j].Time)
		}
		return all[i].ID > all[j].ID
	})
	sort.Strings(incomplete)
	return all, incomplete, nil
}

// Latest returns the newest complete snapshot, or an error wrapping ErrNotFound.
func (s *Store) Latest() (*Meta, error) {
	all, err := s.List()
	if err != nil {
		return nil, err
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("%w: no snapshots in %s", ErrNotFound, s.dir)
	}
	return &all[0], nil
}

// LatestChange returns the newest complete snapshot taken by a change rather than by a rollback
// (RollbackOf == ""). Rolling it back undoes the last disable/enable; doing that twice finds the files
// already restored and changes nothing, where "the newest snapshot" would undo the rollback itself
// (use its id explicitly for that).
func (s *Store) LatestChange() (*Meta, error) {
	all, err := s.List()
	if err != nil {
		return nil, err
	}
	for i := range all {
		if all[i].RollbackOf == "" {
			return &all[i], nil
		}
	}
	return nil, fmt.Errorf("%w: no snapshot of a change in %s", ErrNotFound, s.dir)
}

// ReadStored returns the bytes snapshot m holds for file f (as they were before m's change), checked
// against the recorded digest; for `snapshots show`. A file that did not exist has none.
func (s *Store) ReadStored(m *Meta, f FileMeta) ([]byte, error) {
	if !f.Existed {
		return nil, fmt.Errorf("%s: did not exist before snapshot %s", f.Path, m.ID)
	}
	host, err := s.snapHost(m.ID)
	if err != nil {
		return nil, err
	}
	if !storedRE().MatchString(f.Stored) {
		return nil, fmt.Errorf("%s: stored name %q is not one mirrorctl writes", f.Path, f.Stored)
	}
	return s.readStored(host, m.ID, f)
}

// Prune removes all but the keep newest complete snapshots, and every incomplete one. It needs the lock:
// without it, an incomplete snapshot could be one another run is writing right now.
// removed lists the ids removed (oldest first).
func (s *Store) Prune(keep int) (removed []string, err error) {
	if keep < 0 {
		return nil, fmt.Errorf("prune: keep must be 0 or more, not %d", keep)
	}
	if err := s.requireLock("Prune"); err != nil {
		return nil, err
	}
	all, incomplete, err := s.scan()
	if err != nil {
		return nil, err
	}
	// An interrupted change's snapshot is what recovering from it needs, however old.
	j, err := s.pending()
	if err != nil {
		return nil, err
	}
	needed := map[string]bool{}
	if j != nil && j.StateDir == s.dir {
		needed[j.Snapshot], needed[j.RollbackOf] = true, true
	}
	victims := append([]string(nil), incomplete...)
	if len(all) > keep {
		for _, m := range all[keep:] {
			if !needed[m.ID] {
				victims = append(victims, m.ID)
			}
		}
	}
	if len(victims) == 0 {
		return nil, nil
	}
	sort.Strings(victims)
	snaps, err := s.snapsHost(false)
	if err != nil {
		return nil, err
	}
	for _, id := range victims {
		host := filepath.Join(snaps, id)
		if err := checkDir(host, s.snapNode(id)); err != nil {
			return removed, err
		}
		if err := os.RemoveAll(host); err != nil {
			return removed, fmt.Errorf("%s: %w", s.snapNode(id), unwrapPathError(err))
		}
		removed = append(removed, id)
	}
	if err := fsyncDir(snaps); err != nil {
		return removed, fmt.Errorf("%s: %w", s.snapsNode(), err)
	}
	return removed, nil
}

// readStored returns a snapshot file's bytes, checked against the digest recorded for them.
func (s *Store) readStored(snapHost, id string, f FileMeta) ([]byte, error) {
	node := s.storedNode(id, f.Stored)
	data, err := readRegular(filepath.Join(snapHost, f.Stored), nodefs.MaxFileSize)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", node, err)
	}
	if got := sha(data); got != f.SHA256Before {
		return nil, fmt.Errorf("%s: corrupt snapshot copy of %s: sha256 %s, recorded %s", node, f.Path, short(got), short(f.SHA256Before))
	}
	return data, nil
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// joinPaths lists paths for a one-line error.
func joinPaths(p []string) string { return strings.Join(p, ", ") }
