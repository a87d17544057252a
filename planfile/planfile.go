// Package planfile saves a dry-run as a reviewable plan file and checks, before anything is applied,
// that the node is still exactly as the plan saw it.
//
// A plan holds the operation, every target file with the sha256 of the bytes it had and the complete
// bytes it is to get, the unified diff a reviewer reads, the node's identity, the mirrorctl version
// and the time. It is YAML with the diff and file contents as literal blocks, so it can be read and
// pasted into a ticket as is. Its last line is a checksum over every byte above it: a plan that was
// edited, truncated or is not in the form mirrorctl writes is refused. (The checksum is not a
// signature; whoever can write the file can recompute it. Tickets cite the sha256 of the whole file,
// which apply-plan prints and can require with --expect-sha256.)
//
// apply-plan writes exactly the recorded bytes, and only when every target still has the recorded
// sha256 (or already holds the planned bytes: applying twice is a no-op).
package planfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/nodefs"
)

// Format is the format version this package writes and the only one it reads.
const Format = "mirrorctl-plan/v1"

// Node paths the identity is read from.
const (
	HostnamePath  = "/etc/hostname"
	MachineIDPath = "/etc/machine-id"
)

var (
	// ErrNotPlan means the bytes are not a mirrorctl plan at all.
	ErrNotPlan = errors.New("not a mirrorctl plan file")
	// ErrFormat means a plan of another format version.
	ErrFormat = errors.New("unsupported plan format")
	// ErrTruncated means the checksum line that ends every plan is missing.
	ErrTruncated = errors.New("plan is truncated: the checksum line that ends it is missing")
	// ErrChecksum means the content does not match its checksum: the plan was edited.
	ErrChecksum = errors.New("plan was edited after mirrorctl wrote it: checksum mismatch")
	// ErrMalformed means the plan cannot be decoded or is inconsistent.
	ErrMalformed = errors.New("malformed plan")
	// ErrDrift means a target no longer has the bytes the plan was made from.
	ErrDrift = errors.New("changed since the plan was made")
	// ErrIdentity means the plan was made on another node.
	ErrIdentity = errors.New("the plan was made on another node")
	// ErrNotTarget means the plan names a file its operation may not write: the checksum proves a
	// plan is intact, not that it came from mirrorctl, so the files it may touch are recomputed from
	// its recorded inputs and anything else is refused.
	ErrNotTarget = errors.New("not a file this plan's operation may change")
)

// Identity says which node a plan was made on. Empty fields mean the file was absent.
type Identity struct {
	Hostname  string `yaml:"hostname" json:"hostname"`
	MachineID string `yaml:"machine_id" json:"machine_id"`
}

// ReadIdentity reads the node's hostname (/etc/hostname: the first line that is not a comment) and
// machine id (/etc/machine-id) under root. A file that is missing or unreadable leaves its field empty.
func ReadIdentity(root nodefs.Root) Identity {
	var id Identity
	if f, err := root.ReadFile(HostnamePath, true); err == nil && f.Exists {
		for _, l := range strings.Split(string(f.Data), "\n") {
			l = strings.TrimSpace(l)
			if l != "" && !strings.HasPrefix(l, "#") {
				id.Hostname = l
				break
			}
		}
	}
	if f, err := root.ReadFile(MachineIDPath, true); err == nil && f.Exists {
		id.MachineID = strings.TrimSpace(string(f.Data))
	}
	return id
}

// Target is one file of a plan.
type Target struct {
	Path    string `yaml:"path"` // node path
	Kind    string `yaml:"kind"`
	Exists  bool   `yaml:"exists"`  // the file existed when the plan was made
	Changed bool   `yaml:"changed"` // the plan writes it
	// Mode is the permission bits, in octal, for a file the plan creates ("" otherwise: an existing
	// file keeps its own mode and owner).
	Mode         string `yaml:"mode,omitempty"`
	SHA256Before string `yaml:"sha256_before,omitempty"` // hex; "" when !Exists
	SHA256After  string `yaml:"sha256_after,omitempty"`  // hex; "" when !Changed
	Before       string `yaml:"before,omitempty"`        // the bytes it had, when Changed and Exists
	After        string `yaml:"after,omitempty"`         // the bytes to write, when Changed
}

// Inputs are what a plan was computed from besides the node's files: --controller-name and the
// adapter's inputs (distros.Options). apply-plan recomputes from them the files the operation may
// change, so what a plan may write is decided by the adapter, never by the plan file.
type Inputs struct {
	ControllerName string
	// EndpointsController is --endpoints-controller: the plan switches the Endpoints controller too.
	EndpointsController bool
	// Values by input name: a string, a bool or a []string (distros.Values). Unset and empty values
	// are not recorded.
	Values map[string]any
}

// File is a plan.
type File struct {
	Format         string
	Operation      string // "disable", "enable", "lint-fix", …
	Distro         string
	MirroringAfter string // the state after applying: "enabled" or "disabled"
	// EndpointsAfter is the Endpoints controller's state after applying, in a plan that switches it
	// ("" otherwise, and the key is not written: plans without it read as before).
	EndpointsAfter   string
	Changed          bool // applying would change at least one file
	MirrorctlVersion string
	Created          time.Time // UTC, whole seconds
	Node             Identity
	// Inputs is nil in plans made before mirrorctl recorded them (the key is additive in format
	// v1); apply-plan then allows only the files the operation touches with no inputs given.
	Inputs   *Inputs
	Warnings []string
	Notes    []string
	Diff     string // unified diff of every changed file, as `disable --dry-run` prints it
	Files    []Target
	Checksum string // hex sha256 of every byte above the checksum line; set by Parse
}

// wire is the YAML shape of File, for decoding.
type wire struct {
	Format           string      `yaml:"format"`
	Operation        string      `yaml:"operation"`
	Distro           string      `yaml:"distro"`
	MirroringAfter   string      `yaml:"mirroring_after"`
	EndpointsAfter   string      `yaml:"endpoints_after"`
	Changed          bool        `yaml:"changed"`
	MirrorctlVersion string      `yaml:"mirrorctl_version"`
	Created          string      `yaml:"created"`
	Node             Identity    `yaml:"node"`
	Inputs           *wireInputs `yaml:"inputs"`
	Warnings         []string    `yaml:"warnings"`
	Notes            []string    `yaml:"notes"`
	Diff             string      `yaml:"diff"`
	Files            []Target    `yaml:"files"`
}

type wireInputs struct {
	ControllerName      string         `yaml:"controller_name"`
	EndpointsController bool           `yaml:"endpoints_controller"`
	Values              map[string]any `yaml:"values"`
}

// header opens every plan; it is covered by the checksum like everything else.
const header = `# mirrorctl plan. Review the diff, then apply it on the same node with:
#   mirrorctl apply-plan THIS-FILE
# apply-plan writes exactly the bytes below, and only if every file still has the sha256 recorded
# here. Do not edit this file: the checksum on its last line covers every byte above it.
`

const checksumKey = "checksum: sha256:"

// Build turns a dry-run plan into a plan file. op names the operation ("disable", …), identity the
// node, toolVersion the mirrorctl that made it. It refuses a plan it could not apply exactly.
func Build(p *change.Plan, op string, identity Identity, toolVersion string, now time.Time) (*File, error) {
	if p == nil {
		return nil, errors.New("planfile: no plan")
	}
	if !opRE().MatchString(op) {
		return nil, fmt.Errorf("planfile: operation %q: want lower-case letters and dashes", op)
	}
	f := &File{
		Format: Format, Operation: op, Distro: p.Distro, MirroringAfter: p.Mirroring, EndpointsAfter: p.Endpoints,
		MirrorctlVersion: toolVersion, Created: now.UTC().Truncate(time.Second), Node: identity,
		Warnings: append([]string{}, p.Warnings...), Notes: append([]string{}, p.Notes...),
	}
	seen := map[string]bool{}
	var diff strings.Builder
	for _, c := range p.Files {
		np := nodefs.Clean(c.Path)
		if seen[np] {
			return nil, fmt.Errorf("%s: listed twice in the plan", np)
		}
		seen[np] = true
		t := Target{Path: np, Kind: c.Kind, Exists: c.Before != nil && c.Before.Exists, Changed: c.Changed()}
		if t.Exists {
			t.SHA256Before = digest(c.Before.Data)
		}
		if t.Changed {
			if t.Exists && c.After == nil {
				return nil, fmt.Errorf("%s: the plan removes the file; a plan file can only record new contents", np)
			}
			f.Changed = true
			t.SHA256After, t.After = digest(c.After), string(c.After)
			if t.Exists {
				t.Before = string(c.Before.Data)
			} else {
				mode := c.Mode.Perm()
				if mode == 0 {
					mode = 0o600 // what snapshot.Commit gives a created file without a mode
				}
				t.Mode = fmt.Sprintf("%04o", mode)
			}
			c.Path = np // the diff's headers, as validate re-renders them
			diff.WriteString(c.UnifiedDiff())
		}
		f.Files = append(f.Files, t)
	}
	f.Diff = diff.String()
	return f, nil
}

var (
	opRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z-]{0,31}$`) })
	hexRE  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-f]{64}$`) })
	modeRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^0[0-7]{3}$`) })
)

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Sum returns the hex sha256 of a plan file's bytes: the id a ticket cites.
func Sum(data []byte) string { return digest(data) }

// Marshal returns the plan's bytes: canonical YAML, then the checksum line. The same File always
// gives the same bytes. It re-reads what it wrote with Parse, so a plan that saves is a plan that
// applies.
func Marshal(f *File) ([]byte, error) {
	body := emit(f)
	sum := sha256.Sum256(body)
	out := append(body, []byte(checksumKey+hex.EncodeToString(sum[:])+"\n")...)
	if _, err := Parse(out); err != nil {
		return nil, fmt.Errorf("planfile: the plan does not read back: %w", err)
	}
	return out, nil
}

// emit writes everything but the checksum line, in the order a reviewer reads: what, where, the
// diff, then the complete contents.
func emit(f *File) []byte {
	var e emitter
	e.b.WriteString(header)
	e.key(0, "format", f.Format)
	e.key(0, "operation", f.Operation)
	e.key(0, "distro", f.Distro)
	e.key(0, "mirroring_after", f.MirroringAfter)
	if f.EndpointsAfter != "" {
		e.key(0, "endpoints_after", f.EndpointsAfter)
	}
	e.raw(0, "changed", boolText(f.Changed))
	e.key(0, "mirrorctl_version", f.MirrorctlVersion)
	e.key(0, "created", f.Created.UTC().Format(time.RFC3339))
	e.b.WriteString("node:\n")
	e.key(2, "hostname", f.Node.Hostname)
	e.key(2, "machine_id", f.Node.MachineID)
	if f.Inputs != nil {
		e.inputs(f.Inputs)
	}
	e.list(0, "warnings", f.Warnings)
	e.list(0, "notes", f.Notes)
	e.key(0, "diff", f.Diff)
	if len(f.Files) == 0 {
		e.raw(0, "files", "[]")
	} else {
		e.b.WriteString("files:\n")
	}
	for _, t := range f.Files {
		// The item's first key shares the "- " line; its value is laid out as at indent 4.
		e.b.WriteString("  - path:" + text(4, t.Path))
		e.key(4, "kind", t.Kind)
		e.raw(4, "exists", boolText(t.Exists))
		e.raw(4, "changed", boolText(t.Changed))
		if t.Mode != "" {
			e.key(4, "mode", t.Mode)
		}
		if t.SHA256Before != "" {
			e.key(4, "sha256_before", t.SHA256Before)
		}
		if t.SHA256After != "" {
			e.key(4, "sha256_after", t.SHA256After)
		}
		if t.Before != "" {
			e.key(4, "before", t.Before)
		}
		if t.After != "" {
			e.key(4, "after", t.After)
		}
	}
	return e.b.Bytes()
}

var formatRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?m)^format: *(.*)\n`) })

// Parse reads a plan file and checks it completely: format version, checksum, canonical form, and
// that every digest and the diff agree with the recorded contents. Errors are one line.
func Parse(data []byte) (*File, error) {
	m := formatRE().FindSubmatch(data)
	if m == nil {
		return nil, fmt.Errorf("%w (no %q line)", ErrNotPlan, "format: "+Format)
	}
	if got := strings.Trim(strings.TrimSpace(string(m[1])), `"'`); got != Format {
		return nil, fmt.Errorf("%w %q: this mirrorctl reads %s; use the mirrorctl version that made the plan, or make a new plan", ErrFormat, got, Format)
	}
	if len(data) == 0 || data[len(data)-1] != '\n' {
		return nil, ErrTruncated
	}
	i := bytes.LastIndexByte(data[:len(data)-1], '\n') + 1
	last := string(data[i : len(data)-1])
	if !strings.HasPrefix(last, checksumKey) {
		return nil, ErrTruncated
	}
	want := strings.TrimPrefix(last, checksumKey)
	if !hexRE().MatchString(want) {
		return nil, fmt.Errorf("%w (the checksum line is damaged)", ErrChecksum)
	}
	body := data[:i]
	if got := digest(body); got != want {
		return nil, fmt.Errorf("%w (sha256 %s, recorded %s)", ErrChecksum, short(got), short(want))
	}

	var w wire
	dec := yaml.NewDecoder(bytes.NewReader(body))
	dec.KnownFields(true)
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrMalformed, oneLine(err.Error()))
	}
	var extra any
	if err := dec.Decode(&extra); err != io.EOF {
		return nil, fmt.Errorf("%w: more than one YAML document", ErrMalformed)
	}
	created, err := time.Parse(time.RFC3339, w.Created)
	if err != nil {
		return nil, fmt.Errorf("%w: created %q: not an RFC 3339 time", ErrMalformed, w.Created)
	}
	f := &File{
		Format: w.Format, Operation: w.Operation, Distro: w.Distro, MirroringAfter: w.MirroringAfter, EndpointsAfter: w.EndpointsAfter,
		Changed: w.Changed, MirrorctlVersion: w.MirrorctlVersion, Created: created.UTC(), Node: w.Node,
		Warnings: nonNil(w.Warnings), Notes: nonNil(w.Notes), Diff: w.Diff, Files: w.Files, Checksum: want,
	}
	if w.Inputs != nil {
		in, err := decodeInputs(w.Inputs)
		if err != nil {
			return nil, fmt.Errorf("%w: inputs: %v", ErrMalformed, err)
		}
		f.Inputs = in
	}
	if err := f.validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if !bytes.Equal(emit(f), body) {
		return nil, fmt.Errorf("%w: not in the form mirrorctl writes (edited, then re-checksummed?)", ErrMalformed)
	}
	return f, nil
}

// validate checks what the checksum cannot: that the plan is internally consistent, so the diff a
// reviewer read is the diff of the bytes apply-plan writes.
func (f *File) validate() error {
	if !opRE().MatchString(f.Operation) {
		return fmt.Errorf("operation %q: not an operation", f.Operation)
	}
	switch f.EndpointsAfter {
	case "", change.Enabled, change.Disabled:
	default:
		return fmt.Errorf("endpoints_after %q: want enabled or disabled", f.EndpointsAfter)
	}
	seen := map[string]bool{}
	changed := false
	var diff strings.Builder
	for _, t := range f.Files {
		if t.Path == "" || nodefs.Clean(t.Path) != t.Path || t.Path == "/" {
			return fmt.Errorf("file path %q: want an absolute, clean node path", t.Path)
		}
		if seen[t.Path] {
			return fmt.Errorf("%s: listed twice", t.Path)
		}
		seen[t.Path] = true
		if t.Exists != (t.SHA256Before != "") {
			return fmt.Errorf("%s: sha256_before must be set exactly when the file exists", t.Path)
		}
		if t.Exists && !hexRE().MatchString(t.SHA256Before) {
			return fmt.Errorf("%s: sha256_before %q: not a sha256", t.Path, t.SHA256Before)
		}
		if !t.Changed {
			if t.SHA256After != "" || t.Before != "" || t.After != "" || t.Mode != "" {
				return fmt.Errorf("%s: an unchanged file records no contents", t.Path)
			}
			continue
		}
		changed = true
		if got := digest([]byte(t.After)); got != t.SHA256After {
			return fmt.Errorf("%s: the recorded new contents have sha256 %s, not the recorded %s", t.Path, short(got), short(t.SHA256After))
		}
		if t.Exists {
			if got := digest([]byte(t.Before)); got != t.SHA256Before {
				return fmt.Errorf("%s: the recorded old contents have sha256 %s, not the recorded %s", t.Path, short(got), short(t.SHA256Before))
			}
			if t.Before == t.After || t.Mode != "" {
				return fmt.Errorf("%s: a changed existing file needs new contents and no mode", t.Path)
			}
		} else if !modeRE().MatchString(t.Mode) {
			return fmt.Errorf("%s: mode %q: want octal permission bits like 0600", t.Path, t.Mode)
		}
		diff.WriteString(t.change(nil).UnifiedDiff())
	}
	if changed != f.Changed {
		return errors.New("changed does not match the files")
	}
	if diff.String() != f.Diff {
		return errors.New("the diff does not match the recorded contents")
	}
	return nil
}

var inputNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9-]{0,63}$`) })

// Recorded returns the inputs as a plan records them: empty values dropped, lists copied.
func (in Inputs) Recorded() *Inputs {
	out := &Inputs{ControllerName: in.ControllerName, EndpointsController: in.EndpointsController, Values: map[string]any{}}
	for k, v := range in.Values {
		switch v := v.(type) {
		case string:
			if v != "" {
				out.Values[k] = v
			}
		case bool:
			if v {
				out.Values[k] = v
			}
		case []string:
			if len(v) > 0 {
				out.Values[k] = append([]string{}, v...)
			}
		}
	}
	return out
}

// decodeInputs checks the decoded inputs: names an input could have, values of the three kinds.
func decodeInputs(w *wireInputs) (*Inputs, error) {
	in := &Inputs{ControllerName: w.ControllerName, EndpointsController: w.EndpointsController, Values: map[string]any{}}
	for k, v := range w.Values {
		if !inputNameRE().MatchString(k) {
			return nil, fmt.Errorf("%q: not an input name", k)
		}
		switch v := v.(type) {
		case string, bool:
			in.Values[k] = v
		case []any:
			var l []string
			for _, it := range v {
				s, ok := it.(string)
				if !ok {
					return nil, fmt.Errorf("%s: want a list of strings", k)
				}
				l = append(l, s)
			}
			in.Values[k] = l
		default:
			return nil, fmt.Errorf("%s: want a string, a bool or a list of strings", k)
		}
	}
	return in, nil
}

// CheckTargets refuses a plan naming any file outside allowed: the node paths the plan's operation
// may change, as the adapter lists them for the plan's recorded inputs. Paths compare exactly (Parse
// already refused any that is not absolute and clean): a link to a target is not the target.
func (f *File) CheckTargets(allowed []string) error {
	ok := map[string]bool{}
	for _, p := range allowed {
		ok[nodefs.Clean(p)] = true
	}
	var bad []string
	for _, t := range f.Files {
		if !ok[t.Path] {
			bad = append(bad, t.Path)
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s: %w (%s %s for these inputs: %s); nothing written", strings.Join(bad, ", "), ErrNotTarget, f.Distro, f.Operation, strings.Join(allowed, ", "))
	}
	return nil
}

// change returns the target as a FileChange from the recorded contents; cur, when given, is the file
// as read now and becomes Before.
func (t Target) change(cur *nodefs.File) change.FileChange {
	c := change.FileChange{Path: t.Path, Kind: t.Kind, Before: cur}
	if c.Before == nil {
		c.Before = &nodefs.File{Path: t.Path, Exists: t.Exists}
		if t.Changed && t.Exists {
			c.Before.Data = []byte(t.Before)
		}
	}
	if t.Changed {
		c.After = []byte(t.After)
		if m, err := strconv.ParseUint(t.Mode, 8, 32); err == nil {
			c.Mode = fs.FileMode(m).Perm()
		}
	} else if c.Before.Exists {
		// A file the plan leaves alone keeps its bytes (a plan does not record them). After must not
		// be nil: a nil After of an existing file is its removal, shown as +++ /dev/null.
		if c.Before.Data == nil {
			c.Before.Data = []byte{}
		}
		c.After = c.Before.Data
	}
	return c
}

// Changes returns the plan's files as recorded, for showing the plan without the node: Before holds
// the recorded old bytes (for unchanged files, none).
func (f *File) Changes() []change.FileChange {
	var out []change.FileChange
	for _, t := range f.Files {
		out = append(out, t.change(nil))
	}
	return out
}

// Plan wraps changes (from Changes or Check) with the plan's operation, distro, state and messages.
func (f *File) Plan(changes []change.FileChange) *change.Plan {
	return &change.Plan{
		Distro: f.Distro, Op: controllers.Op(f.Operation), Files: changes, Mirroring: f.MirroringAfter, Endpoints: f.EndpointsAfter,
		Warnings: append([]string{}, f.Warnings...), Notes: append([]string{}, f.Notes...),
	}
}

// CheckIdentity compares the node under root with the one the plan was made on. The error wraps
// ErrIdentity and names every field that differs.
func (f *File) CheckIdentity(root nodefs.Root) error {
	now := ReadIdentity(root)
	var diffs []string
	if now.MachineID != f.Node.MachineID {
		diffs = append(diffs, fmt.Sprintf("%s is %s here, %s in the plan", MachineIDPath, orNone(now.MachineID), orNone(f.Node.MachineID)))
	}
	if now.Hostname != f.Node.Hostname {
		diffs = append(diffs, fmt.Sprintf("%s is %s here, %s in the plan", HostnamePath, orNone(now.Hostname), orNone(f.Node.Hostname)))
	}
	if len(diffs) > 0 {
		return fmt.Errorf("%w: %s; make a new plan on this node, or use --force if it is the same node", ErrIdentity, strings.Join(diffs, "; "))
	}
	return nil
}

// Check re-reads every target under root and returns the changes that apply the plan: Before is the
// file as it is now, After the recorded bytes. Every target must still hold the bytes the plan was
// made from, or already hold the planned bytes (then its change is empty; a plan applied twice comes
// back with no change at all). Anything else is refused with ErrDrift, naming each file; a plan made
// on another node is refused with ErrIdentity unless force. Check writes nothing; call it again under
// the lock before committing.
func (f *File) Check(root nodefs.Root, force bool) ([]change.FileChange, error) {
	if !force {
		if err := f.CheckIdentity(root); err != nil {
			return nil, err
		}
	}
	var changes []change.FileChange
	var drift []string
	for _, t := range f.Files {
		cur, err := root.ReadFile(t.Path, true)
		if err != nil {
			return nil, err
		}
		var sum string
		if cur.Exists {
			sum = digest(cur.Data)
		}
		atBefore := cur.Exists == t.Exists && sum == t.SHA256Before
		atAfter := t.Changed && cur.Exists && sum == t.SHA256After
		switch {
		case atBefore:
			changes = append(changes, t.change(cur))
		case atAfter:
			changes = append(changes, change.FileChange{Path: t.Path, Kind: t.Kind, Before: cur, After: cur.Data})
		case !cur.Exists:
			drift = append(drift, t.Path+" (gone)")
		case !t.Exists:
			drift = append(drift, fmt.Sprintf("%s (exists now, sha256 %s)", t.Path, short(sum)))
		default:
			drift = append(drift, fmt.Sprintf("%s (sha256 %s now, %s in the plan)", t.Path, short(sum), short(t.SHA256Before)))
		}
	}
	if len(drift) > 0 {
		return nil, fmt.Errorf("%s: %w; nothing written: make a new plan", strings.Join(drift, ", "), ErrDrift)
	}
	return changes, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
