package cluster

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/mirrorctl/mirrorctl/nodefs"
	"github.com/mirrorctl/mirrorctl/snapshot"
)

// Record is what mirrorctl saved before it changed cluster objects: enough to put them back and to
// notice when someone else changed them since. It is the cluster-side twin of a file snapshot and
// shares its id when one run changes both (`mirrorctl disable --kubeconfig …`).
type Record struct {
	ID          string            `json:"id"`
	Time        time.Time         `json:"time"`
	Op          string            `json:"op"` // disable, enable, skip, unskip, adopt, rollback
	Command     []string          `json:"command,omitempty"`
	ToolVersion string            `json:"tool_version,omitempty"`
	Server      string            `json:"server"`
	RollbackOf  string            `json:"rollback_of,omitempty"`
	ConfigMaps  []ConfigMapRecord `json:"configmaps,omitempty"`
	Labels      []LabelRecord     `json:"labels,omitempty"`
	// Slices are the EndpointSlices `adopt` created (only adopt --rollback deletes them).
	Slices []SliceRecord `json:"endpoint_slices,omitempty"`
	// Deleted are objects a run deleted (prune-endpoints), whole; Created those a restore created.
	Deleted []DeletedRecord `json:"deleted,omitempty"`
	Created []ObjectRef     `json:"created,omitempty"`
}

// SliceRecord is one EndpointSlice mirrorctl created; UID is empty until the API server answered.
type SliceRecord struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Service   string `json:"service"`
	UID       string `json:"uid"`
}

// ConfigMapRecord is one ConfigMap key mirrorctl rewrote. The whole data map is kept for the
// operator; rollback restores only Key, the one mirrorctl changed (kubeadm may have changed others).
type ConfigMapRecord struct {
	Namespace       string            `json:"namespace"`
	Name            string            `json:"name"`
	UID             string            `json:"uid"`
	ResourceVersion string            `json:"resource_version"` // as read before the change
	Key             string            `json:"key"`
	DataBefore      map[string]string `json:"data_before"`
	SHA256Before    string            `json:"sha256_before"` // of DataBefore[Key]
	SHA256After     string            `json:"sha256_after"`  // of what mirrorctl wrote
}

// LabelRecord is one object's label before and after mirrorctl set or removed it (nil: absent).
type LabelRecord struct {
	Kind      string  `json:"kind"` // Endpoints
	Namespace string  `json:"namespace"`
	Name      string  `json:"name"`
	UID       string  `json:"uid"`
	Label     string  `json:"label"`
	Before    *string `json:"before"`
	After     *string `json:"after"`
}

// ErrNoRecord means the state dir holds no cluster record with that id.
var ErrNoRecord = errors.New("no cluster record")

// recordsDir is where records live, beside the file snapshots: <state>/cluster/<id>.json.
const recordsDir = "cluster"

// Records is the cluster records folder of one state dir.
type Records struct {
	root nodefs.Root
	dir  string // node path
}

// OpenRecords returns the records of a snapshot store's state dir. Like snapshot.Open it creates
// nothing; Save needs the store's lock (which creates the state dir).
func OpenRecords(s *snapshot.Store) *Records {
	return &Records{root: s.Root(), dir: path.Join(s.Dir(), recordsDir)}
}

// Dir returns the records folder's node path.
func (r *Records) Dir() string { return r.dir }

// NewID returns an id in the shape of snapshot ids, so both kinds sort and read the same.
func NewID(now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

func (r *Records) node(id string) string { return path.Join(r.dir, id+".json") }

// Save writes rec atomically (0600) under <state>/cluster, creating the folder (0700). The caller holds
// the store's lock, so the state dir exists and was checked.
func (r *Records) Save(rec *Record) error {
	if err := snapshot.ValidID(rec.ID); err != nil {
		return err
	}
	host := r.root.Host(r.dir)
	if err := os.Mkdir(host, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s: %w", r.dir, unwrap(err))
	}
	if fi, err := os.Lstat(host); err != nil || !fi.IsDir() || fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%s: refusing a records folder that is not a private directory (chmod 700 it)", r.dir)
	}
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", r.node(rec.ID), err)
	}
	return snapshot.WriteFile(r.root, r.node(rec.ID), append(data, '\n'), 0o600, -1, -1)
}

// Remove deletes a record (a run that wrote nothing after all).
func (r *Records) Remove(id string) error {
	if err := snapshot.ValidID(id); err != nil {
		return err
	}
	if err := os.Remove(r.root.Host(r.node(id))); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", r.node(id), unwrap(err))
	}
	return nil
}

// Get reads one record; an unknown id wraps ErrNoRecord.
func (r *Records) Get(id string) (*Record, error) {
	if err := snapshot.ValidID(id); err != nil {
		return nil, err
	}
	f, err := r.root.ReadFile(r.node(id), true)
	if err != nil {
		return nil, err
	}
	if !f.Exists {
		return nil, fmt.Errorf("%s: %w %s in %s", id, ErrNoRecord, id, r.dir)
	}
	var rec Record
	if err := json.Unmarshal(f.Data, &rec); err != nil {
		return nil, fmt.Errorf("%s: %w", f.Path, err)
	}
	if rec.ID != id {
		return nil, fmt.Errorf("%s: id %q does not match the file name", f.Path, rec.ID)
	}
	return &rec, nil
}

// List returns every record, newest first; a missing folder means none.
func (r *Records) List() ([]Record, error) {
	entries, err := os.ReadDir(r.root.Host(r.dir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.dir, unwrap(err))
	}
	var all []Record
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || snapshot.ValidID(id) != nil {
			continue
		}
		rec, err := r.Get(id)
		if err != nil {
			return nil, err
		}
		all = append(all, *rec)
	}
	sort.SliceStable(all, func(i, j int) bool {
		if !all[i].Time.Equal(all[j].Time) {
			return all[i].Time.After(all[j].Time)
		}
		return all[i].ID > all[j].ID
	})
	return all, nil
}

// Latest returns the newest record for which keep is true, or an error wrapping ErrNoRecord.
func (r *Records) Latest(keep func(*Record) bool) (*Record, error) {
	all, err := r.List()
	if err != nil {
		return nil, err
	}
	for i := range all {
		if keep == nil || keep(&all[i]) {
			return &all[i], nil
		}
	}
	return nil, fmt.Errorf("%w in %s", ErrNoRecord, r.dir)
}

func shaOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func unwrap(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
