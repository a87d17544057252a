package planfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/golden"
	"github.com/mirrorctl/mirrorctl/nodefs"
)

const (
	manifestPath = "/etc/kubernetes/manifests/kube-controller-manager.yaml"
	configPath   = "/etc/kubernetes/kubeadm-config.yaml"
	machineID    = "4c4c4544004d3510804ab4c04f4e4d32"
)

var when = time.Date(2026, 11, 25, 9, 30, 12, 0, time.UTC)

// newRoot lays out a kubeadm control-plane node (the repository's testdata node) under a temp dir,
// with a hostname and a machine id.
func newRoot(t *testing.T) nodefs.Root {
	t.Helper()
	dir := t.TempDir()
	golden.CopyTree(t, filepath.Join("..", "testdata", "nodes", "kubeadm"), dir, golden.FileMode(0o600))
	writeNode(t, dir, "/etc/hostname", "cp-1\n")
	writeNode(t, dir, "/etc/machine-id", machineID+"\n")
	r, err := nodefs.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func writeNode(t *testing.T, root, nodePath, data string) {
	t.Helper()
	golden.WriteFile(t, filepath.Join(root, filepath.FromSlash(nodePath)), []byte(data), golden.FileMode(0o600))
}

func readNode(t *testing.T, r nodefs.Root, nodePath string) string {
	t.Helper()
	b, err := os.ReadFile(r.Host(nodePath))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// disablePlan is the plan `disable` makes on the testdata node, written out by hand so that this
// package's tests do not depend on the adapter (the CLI tests use the real one).
func disablePlan(t *testing.T, r nodefs.Root) *change.Plan {
	t.Helper()
	m, err := r.ReadFile(manifestPath, false)
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.ReadFile(configPath, false)
	if err != nil {
		t.Fatal(err)
	}
	mAfter := strings.Replace(string(m.Data), "--controllers=*,bootstrapsigner,tokencleaner", "--controllers=*,bootstrapsigner,tokencleaner,-endpointslicemirroring", 1)
	cAfter := strings.Replace(string(c.Data), "    allocate-node-cidrs: \"true\"\n", "    allocate-node-cidrs: \"true\"\n    controllers: '*,bootstrapsigner,tokencleaner,-endpointslicemirroring'\n", 1)
	if mAfter == string(m.Data) || cAfter == string(c.Data) {
		t.Fatal("testdata node changed: the hand-made edit no longer applies")
	}
	return &change.Plan{
		Distro: "kubeadm", Op: "disable", Mirroring: change.Disabled,
		Files: []change.FileChange{
			{Path: manifestPath, Kind: "static-pod-manifest", Before: m, After: []byte(mAfter)},
			{Path: configPath, Kind: "kubeadm-config", Before: c, After: []byte(cAfter)},
		},
		Warnings: []string{`a warning with "quotes" and: a colon`},
		Notes:    []string{"kube-controller-manager uses leader election: make the same change on every control-plane node"},
	}
}

func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	if strings.Count(s, old) != 1 {
		t.Fatalf("%q is not in the text exactly once", old)
	}
	return strings.Replace(s, old, new, 1)
}

func marshal(t *testing.T, p *change.Plan, id Identity, now time.Time) []byte {
	t.Helper()
	f, err := Build(p, string(p.Op), id, "v0.1.0-test", now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGolden(t *testing.T) {
	r := newRoot(t)
	got := marshal(t, disablePlan(t, r), ReadIdentity(r), when)
	path := filepath.Join("testdata", "kubeadm-disable.plan.yaml")
	golden.Check(t, path, got)
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The diff is a readable literal block, not an escaped string.
	if !bytes.Contains(got, []byte("diff: |\n  --- a/etc/kubernetes/manifests/kube-controller-manager.yaml\n")) {
		t.Error("diff is not a literal block")
	}
	f, err := Parse(want)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, want) {
		t.Error("Parse then Marshal does not give the same bytes")
	}
	if f.Checksum == "" || f.Operation != "disable" || f.Node.MachineID != machineID || f.Node.Hostname != "cp-1" || !f.Created.Equal(when) {
		t.Errorf("parsed header wrong: %+v", f)
	}
}

func TestStable(t *testing.T) {
	r := newRoot(t)
	a := marshal(t, disablePlan(t, r), ReadIdentity(r), when)
	b := marshal(t, disablePlan(t, r), ReadIdentity(r), when.Add(90*time.Minute+500*time.Millisecond))
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	if len(al) != len(bl) {
		t.Fatalf("line counts differ: %d, %d", len(al), len(bl))
	}
	var differ []string
	for i := range al {
		if al[i] != bl[i] {
			differ = append(differ, strings.SplitN(al[i], ":", 2)[0])
		}
	}
	// Only the time and the checksum over it may differ.
	if strings.Join(differ, ",") != "created,checksum" {
		t.Errorf("lines that differ between two builds: %q, want created and checksum", differ)
	}
	if !bytes.Contains(b, []byte(`created: "2026-11-25T11:00:12Z"`)) {
		t.Errorf("time not in whole UTC seconds:\n%s", b)
	}
}

// TestContentRoundTrip: every kind of file content comes back byte for byte, and text a reviewer
// reads stays a literal block.
func TestContentRoundTrip(t *testing.T) {
	cases := []struct {
		name    string
		data    string
		literal bool // expect a literal block
	}{
		{"plain", "a: 1\nb: 2\n", true},
		{"no final newline", "a: 1\nb: 2", true},
		{"two final newlines", "a: 1\n\n", true},
		{"three final newlines", "a: 1\n\n\n", true},
		{"blank lines inside", "a: 1\n\n\nb: 2\n", true},
		{"space before newline", "a: 1 \n \nb: 2\n", true},
		{"leading spaces", "  a: 1\nb: 2\n", true},
		{"leading blank line", "\na: 1\n", true},
		{"leading whitespace-only line", "   \na: 1\n", true},
		{"tabs", "a:\t1\n\tb\n", true},
		{"document markers", "---\na: 1\n...\n--- |\n", true},
		{"yaml-looking content", "k: |\n  x\n# c\n- |-\n  &a *b !t\n", true},
		{"unicode", "name: café ☕ 𝄞\n", true},
		{"whitespace-only last line", "a\n  ", true},
		{"crlf", "a: 1\r\nb: 2\r\n", false},
		{"nul", "a\x00b\n", false},
		{"nel", "a\u0085b\n", false},
		{"line separator", "a\u2028b\n", false},
		{"bom", "\ufeffa: 1\n", false},
		{"not utf-8", "a: \xff\xfe\n", false},
		{"only newlines", "\n\n", false},
		{"single line", "a: 1", false},
		{"empty", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := &nodefs.File{Path: "/etc/x.yaml", Exists: true, Data: []byte("old\n")}
			p := &change.Plan{Distro: "test", Op: "disable", Mirroring: change.Disabled, Files: []change.FileChange{
				{Path: "/etc/x.yaml", Kind: "k", Before: before, After: []byte(tc.data)},
				{Path: "/etc/new.yaml", Kind: "k", Before: &nodefs.File{Path: "/etc/new.yaml"}, After: []byte(tc.data + "x"), Mode: 0o640},
			}}
			b := marshal(t, p, Identity{}, when)
			f, err := Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Files[0].After; got != tc.data {
				t.Errorf("after = %q, want %q", got, tc.data)
			}
			if got := f.Files[1].After; got != tc.data+"x" {
				t.Errorf("created after = %q, want %q", got, tc.data+"x")
			}
			if f.Files[1].Mode != "0640" {
				t.Errorf("mode = %q, want 0640", f.Files[1].Mode)
			}
			first := string(b[bytes.Index(b, []byte("    after:")):])
			lit := strings.HasPrefix(first, "    after: |")
			if lit != tc.literal {
				t.Errorf("literal block = %v, want %v:\n%s", lit, tc.literal, b)
			}
		})
	}
}

func TestBuildRefuses(t *testing.T) {
	exists := &nodefs.File{Path: "/etc/a", Exists: true, Data: []byte("x\n")}
	cases := []struct {
		name string
		op   string
		p    *change.Plan
		want string
	}{
		{"nil plan", "disable", nil, "no plan"},
		{"bad op", "Dis able", &change.Plan{}, "operation"},
		{"twice", "disable", &change.Plan{Files: []change.FileChange{{Path: "/etc/a", Before: exists, After: exists.Data}, {Path: "/etc//a", Before: exists, After: exists.Data}}}, "/etc/a: listed twice"},
		{"removal", "disable", &change.Plan{Files: []change.FileChange{{Path: "/etc/a", Before: exists}}}, "/etc/a: the plan removes the file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Build(tc.p, tc.op, Identity{}, "v", when)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestParseRefusesEveryTruncation: no prefix of a plan is a plan.
func TestParseRefusesEveryTruncation(t *testing.T) {
	r := newRoot(t)
	b := marshal(t, disablePlan(t, r), ReadIdentity(r), when)
	for n := 0; n < len(b); n++ {
		_, err := Parse(b[:n])
		if err == nil {
			t.Fatalf("a plan cut to %d of %d bytes was accepted", n, len(b))
		}
		if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrNotPlan) {
			t.Fatalf("cut to %d bytes: err = %v, want ErrTruncated or ErrNotPlan", n, err)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Fatalf("error is not one line: %q", err)
		}
	}
}

// TestParseRefusesEveryByteEdit: changing any one byte is detected.
func TestParseRefusesEveryByteEdit(t *testing.T) {
	r := newRoot(t)
	b := marshal(t, disablePlan(t, r), ReadIdentity(r), when)
	for i := range b {
		for _, flip := range []byte{0x01, 0x20} {
			c := bytes.Clone(b)
			c[i] ^= flip
			if _, err := Parse(c); err == nil {
				t.Fatalf("byte %d xor %#x (%q -> %q) was accepted", i, flip, b[i], c[i])
			}
		}
	}
}

// reChecksum recomputes the checksum of an edited plan, as a forger (or a careless tool) would.
func reChecksum(b []byte) []byte {
	i := bytes.LastIndex(b[:len(b)-1], []byte("\n")) + 1
	body := b[:i]
	return append(bytes.Clone(body), []byte(checksumKey+digest(body)+"\n")...)
}

func TestParseRefuses(t *testing.T) {
	r := newRoot(t)
	good := marshal(t, disablePlan(t, r), ReadIdentity(r), when)
	edit := func(old, new string) []byte {
		if !bytes.Contains(good, []byte(old)) {
			t.Fatalf("plan lacks %q", old)
		}
		return bytes.Replace(good, []byte(old), []byte(new), 1)
	}
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrNotPlan},
		{"other yaml", []byte("apiVersion: v1\nkind: Pod\n"), ErrNotPlan},
		{"future format", edit("format: mirrorctl-plan/v1", "format: mirrorctl-plan/v2"), ErrFormat},
		{"no final newline", good[:len(good)-1], ErrTruncated},
		{"hand edit", edit("tokencleaner,-endpointslicemirroring", "tokencleaner,-endpointslice"), ErrChecksum},
		{"trailing garbage", append(bytes.Clone(good), "x\n"...), ErrTruncated},
		{"damaged checksum", append(bytes.Clone(good[:len(good)-10]), "zzzzzzzzz\n"...), ErrChecksum},
		// Edited and re-checksummed: caught by the consistency checks.
		{"new bytes edited", reChecksum(edit("      - --controllers=*,bootstrapsigner,tokencleaner,-endpointslicemirroring", "      - --controllers=*,bootstrapsigner,-endpointslicemirroring")), ErrMalformed},
		{"diff edited", reChecksum(edit("+    - --controllers=*,bootstrapsigner,tokencleaner,-endpointslicemirroring", "+    - --controllers=*,bootstrapsigner,tokencleaner,-endpointslicemirroring,foo")), ErrMalformed},
		{"comment added", reChecksum(edit("format: ", "# reviewed\nformat: ")), ErrMalformed},
		{"unknown key", reChecksum(edit("distro: kubeadm\n", "distro: kubeadm\nextra: 1\n")), ErrMalformed},
		{"bad time", reChecksum(edit(`created: "2026-11-25T09:30:12Z"`, `created: "yesterday"`)), ErrMalformed},
		{"changed flag lies", reChecksum(edit("changed: true\nmirrorctl", "changed: false\nmirrorctl")), ErrMalformed},
		{"not yaml", reChecksum(edit("distro: kubeadm\n", "distro: [kubeadm\n")), ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.data)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestReadIdentity(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		want  Identity
	}{
		{"both", map[string]string{"/etc/hostname": "cp-1\n", "/etc/machine-id": machineID + "\n"}, Identity{"cp-1", machineID}},
		{"comments and blanks", map[string]string{"/etc/hostname": "# set by cloud-init\n\n  cp-2  \n"}, Identity{Hostname: "cp-2"}},
		{"none", nil, Identity{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for p, d := range tc.files {
				writeNode(t, dir, p, d)
			}
			r, _ := nodefs.New(dir)
			if got := ReadIdentity(r); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// planOn makes and re-reads a plan for the node under r.
func planOn(t *testing.T, r nodefs.Root) *File {
	t.Helper()
	f, err := Parse(marshal(t, disablePlan(t, r), ReadIdentity(r), when))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestCheck(t *testing.T) {
	cases := []struct {
		name    string
		mutate  func(t *testing.T, r nodefs.Root, f *File)
		force   bool
		wantErr error
		naming  []string
		changed []bool // per file, when no error
	}{
		{name: "untouched node", changed: []bool{true, true}},
		{name: "manifest one byte changed", mutate: func(t *testing.T, r nodefs.Root, f *File) {
			writeNode(t, r.Dir, manifestPath, replaceOnce(t, readNode(t, r, manifestPath), "--bind-address=127.0.0.1", "--bind-address=127.0.0.2"))
		}, wantErr: ErrDrift, naming: []string{manifestPath}},
		{name: "config one byte changed", mutate: func(t *testing.T, r nodefs.Root, f *File) {
			writeNode(t, r.Dir, configPath, readNode(t, r, configPath)+" ")
		}, wantErr: ErrDrift, naming: []string{configPath, "changed since the plan was made"}},
		{name: "config gone", mutate: func(t *testing.T, r nodefs.Root, f *File) {
			os.Remove(r.Host(configPath))
		}, wantErr: ErrDrift, naming: []string{configPath + " (gone)"}},
		{name: "already applied", mutate: func(t *testing.T, r nodefs.Root, f *File) {
			for _, tg := range f.Files {
				writeNode(t, r.Dir, tg.Path, tg.After)
			}
		}, changed: []bool{false, false}},
		{name: "half applied", mutate: func(t *testing.T, r nodefs.Root, f *File) {
			writeNode(t, r.Dir, manifestPath, f.Files[0].After)
		}, changed: []bool{false, true}},
		{name: "applied then edited", mutate: func(t *testing.T, r nodefs.Root, f *File) {
			writeNode(t, r.Dir, manifestPath, f.Files[0].After+"\n")
			writeNode(t, r.Dir, configPath, f.Files[1].After)
		}, wantErr: ErrDrift, naming: []string{manifestPath}},
		{name: "other machine", mutate: func(t *testing.T, r nodefs.Root, f *File) {
			writeNode(t, r.Dir, "/etc/machine-id", "0123456789abcdef0123456789abcdef\n")
		}, wantErr: ErrIdentity, naming: []string{"/etc/machine-id is 0123456789abcdef0123456789abcdef here, " + machineID + " in the plan", "--force"}},
		{name: "other hostname", mutate: func(t *testing.T, r nodefs.Root, f *File) {
			writeNode(t, r.Dir, "/etc/hostname", "cp-2\n")
		}, wantErr: ErrIdentity, naming: []string{"/etc/hostname is cp-2 here, cp-1 in the plan"}},
		{name: "machine id gone", mutate: func(t *testing.T, r nodefs.Root, f *File) {
			os.Remove(r.Host("/etc/machine-id"))
		}, wantErr: ErrIdentity, naming: []string{"/etc/machine-id is (none) here"}},
		{name: "other machine forced", mutate: func(t *testing.T, r nodefs.Root, f *File) {
			writeNode(t, r.Dir, "/etc/machine-id", "0123456789abcdef0123456789abcdef\n")
		}, force: true, changed: []bool{true, true}},
		{name: "forced still checks files", mutate: func(t *testing.T, r nodefs.Root, f *File) {
			writeNode(t, r.Dir, "/etc/machine-id", "0123456789abcdef0123456789abcdef\n")
			writeNode(t, r.Dir, configPath, "")
		}, force: true, wantErr: ErrDrift, naming: []string{configPath}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRoot(t)
			f := planOn(t, r)
			if tc.mutate != nil {
				tc.mutate(t, r, f)
			}
			changes, err := f.Check(r, tc.force)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				for _, n := range tc.naming {
					if !strings.Contains(err.Error(), n) {
						t.Errorf("error %q does not say %q", err, n)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(changes) != len(tc.changed) {
				t.Fatalf("%d changes, want %d", len(changes), len(tc.changed))
			}
			for i, c := range changes {
				if c.Changed() != tc.changed[i] {
					t.Errorf("%s: changed = %v, want %v", c.Path, c.Changed(), tc.changed[i])
				}
				cur := readNode(t, r, c.Path)
				if string(c.Before.Data) != cur {
					t.Errorf("%s: Before is not the file as it is now", c.Path)
				}
				if string(c.After) != f.Files[i].After {
					t.Errorf("%s: After is not the planned bytes", c.Path)
				}
			}
		})
	}
}

func TestCheckCreatedAndUnchangedFiles(t *testing.T) {
	r := newRoot(t)
	p := &change.Plan{Distro: "test", Op: "enable", Mirroring: change.Enabled, Files: []change.FileChange{
		{Path: "/etc/new.yaml", Kind: "k", Before: &nodefs.File{Path: "/etc/new.yaml"}, After: []byte("new\n"), Mode: 0o640},
		{Path: "/etc/absent.yaml", Kind: "k", Before: &nodefs.File{Path: "/etc/absent.yaml"}},
		{Path: "/etc/hostname", Kind: "k", Before: &nodefs.File{Path: "/etc/hostname", Exists: true, Data: []byte("cp-1\n")}, After: []byte("cp-1\n")},
	}}
	f, err := Parse(marshal(t, p, ReadIdentity(r), when))
	if err != nil {
		t.Fatal(err)
	}
	changes, err := f.Check(r, false)
	if err != nil {
		t.Fatal(err)
	}
	if !changes[0].Changed() || changes[0].Mode != 0o640 || changes[1].Changed() || changes[2].Changed() {
		t.Fatalf("changes = %+v", changes)
	}
	writeNode(t, r.Dir, "/etc/new.yaml", "new\n")
	if changes, err = f.Check(r, false); err != nil || changes[0].Changed() {
		t.Fatalf("created file already there: changes %+v, err %v", changes, err)
	}
	writeNode(t, r.Dir, "/etc/absent.yaml", "")
	if _, err := f.Check(r, false); !errors.Is(err, ErrDrift) || !strings.Contains(err.Error(), "/etc/absent.yaml (exists now") {
		t.Fatalf("err = %v, want drift naming /etc/absent.yaml", err)
	}
}

func TestChangesShowPlanWithoutNode(t *testing.T) {
	r := newRoot(t)
	p := disablePlan(t, r)
	f := planOn(t, r)
	got := f.Plan(f.Changes())
	var d, want strings.Builder
	for i, c := range got.Files {
		d.WriteString(c.UnifiedDiff())
		want.WriteString(p.Files[i].UnifiedDiff())
		if c.AnsibleDiff() != p.Files[i].AnsibleDiff() {
			t.Errorf("%s: Ansible diff differs from the dry-run's", c.Path)
		}
	}
	if d.String() != want.String() || f.Diff != want.String() {
		t.Errorf("diff from the plan file differs from the dry-run's")
	}
	if got.Mirroring != change.Disabled || got.Distro != "kubeadm" || string(got.Op) != "disable" || len(got.Warnings) != 1 || len(got.Notes) != 1 {
		t.Errorf("plan = %+v", got)
	}
}

// TestScalarRoundTrip: warnings, notes and identity fields come back exactly, whatever they hold.
func TestScalarRoundTrip(t *testing.T) {
	odd := []string{"", "true", "null", "0600", "1e5", "- dash", "a: b", "#x", "x #y", " lead", "trail ", "\"q\" \\ b",
		"multi\nline", "nel\u0085", "sep\u2028", "bom\ufeff", "ctl\x00\x1b\x7f", "bad \xff utf-8", "café ☕ 𝄞", "~", "'single'", "*,-foo"}
	p := &change.Plan{Distro: "kube adm", Op: "disable", Mirroring: "", Warnings: odd, Notes: odd}
	f, err := Parse(marshal(t, p, Identity{Hostname: "x: y", MachineID: "1234"}, when))
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range odd {
		if f.Warnings[i] != w || f.Notes[i] != w {
			t.Errorf("got %q / %q, want %q", f.Warnings[i], f.Notes[i], w)
		}
	}
	if f.Node.Hostname != "x: y" || f.Node.MachineID != "1234" || f.Distro != "kube adm" || f.Changed || f.Diff != "" || len(f.Files) != 0 {
		t.Errorf("parsed %+v", f)
	}
}

// Recorded inputs round-trip in canonical form; values of another type are refused.
func TestInputs(t *testing.T) {
	r := newRoot(t)
	f, err := Build(disablePlan(t, r), "disable", Identity{}, "v", when)
	if err != nil {
		t.Fatal(err)
	}
	f.Inputs = Inputs{ControllerName: "endpointslice-mirroring-controller", Values: map[string]any{
		"kubeadm-config": []string{"/a.yaml", "/b: c.yaml"}, "flag": true, "off": false, "s": "true", "empty": "",
	}}.Recorded()
	b, err := Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	g, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g.Inputs, f.Inputs) || len(g.Inputs.Values) != 3 {
		t.Errorf("inputs read back as %#v, want %#v", g.Inputs, f.Inputs)
	}
	for _, bad := range []string{"    s: 3\n", "    S: x\n", "    s:\n      - 1\n"} {
		s := strings.Replace(string(b), "    s: \"true\"\n", bad, 1)
		body := s[:strings.LastIndex(s, checksumKey)]
		s = body + checksumKey + digest([]byte(body)) + "\n"
		if _, err := Parse([]byte(s)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v, want ErrMalformed", bad, err)
		}
	}
}

// A plan with a file it leaves alone shows and counts only the files it changes, as the dry-run did
// (show-plan showed the unchanged file as removed: +++ /dev/null, "2 file(s) would change").
func TestChangesUnchangedFileIsNoChange(t *testing.T) {
	r := newRoot(t)
	p := disablePlan(t, r)
	p.Files[1].After = p.Files[1].Before.Data
	f, err := Parse(marshal(t, p, ReadIdentity(r), when))
	if err != nil {
		t.Fatal(err)
	}
	got := f.Plan(f.Changes())
	for i, c := range got.Files {
		if c.Changed() != p.Files[i].Changed() {
			t.Errorf("%s: Changed() = %v from the plan file, %v in the dry-run", c.Path, c.Changed(), p.Files[i].Changed())
		}
		if d := c.UnifiedDiff(); d != p.Files[i].UnifiedDiff() {
			t.Errorf("%s: diff from the plan file differs from the dry-run's:\n%s", c.Path, d)
		}
		// An unchanged file has no Ansible diff in a result; the plan does not record its bytes.
		if c.Changed() && c.AnsibleDiff() != p.Files[i].AnsibleDiff() {
			t.Errorf("%s: Ansible diff differs from the dry-run's", c.Path)
		}
	}
	if !got.Changed() || f.Diff != p.Files[0].UnifiedDiff() {
		t.Errorf("plan changed %v, diff %q", got.Changed(), f.Diff)
	}
}
