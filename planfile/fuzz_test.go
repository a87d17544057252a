package planfile

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/nodefs"
)

// FuzzParse: no input makes Parse panic, and whatever it accepts is exactly what Marshal writes.
func FuzzParse(f *testing.F) {
	golden, err := os.ReadFile(filepath.Join("testdata", "kubeadm-disable.plan.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	f.Add(golden[:len(golden)/2])
	f.Add([]byte("format: mirrorctl-plan/v1\nchecksum: sha256:00\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			return
		}
		out, err := Marshal(p)
		if err != nil {
			t.Fatalf("accepted plan does not marshal: %v", err)
		}
		if !bytes.Equal(out, data) {
			t.Fatalf("accepted plan is not in canonical form")
		}
	})
}

// FuzzContent: any file content, old or new, comes back from a plan byte for byte.
func FuzzContent(f *testing.F) {
	for _, s := range []string{"a: 1\n", "a\n \n", "  x\n\n\n", "\n", "a\r\nb", "\xff", "- |\n  x\n", "\t\n", "#\n", "\u0085"} {
		f.Add([]byte(s), []byte("old\n"))
	}
	f.Fuzz(func(t *testing.T, after, before []byte) {
		p := &change.Plan{Distro: "d", Op: "disable", Files: []change.FileChange{
			{Path: "/etc/a", Kind: "k", Before: &nodefs.File{Path: "/etc/a", Exists: true, Data: before}, After: after},
			{Path: "/etc/b", Kind: "k", Before: &nodefs.File{Path: "/etc/b"}, After: after},
		}, Warnings: []string{string(after)}}
		fl, err := Build(p, "disable", Identity{Hostname: string(before)}, "v", when)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Marshal(fl)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		if got.Files[1].After != string(after) || got.Warnings[0] != string(after) || got.Node.Hostname != string(before) {
			t.Fatalf("content did not come back")
		}
		if !bytes.Equal(before, after) && (got.Files[0].After != string(after) || got.Files[0].Before != string(before)) {
			t.Fatalf("content did not come back")
		}
	})
}
