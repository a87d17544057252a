package manifests

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/golden"
	"github.com/pmezard/go-difflib/difflib"
)

// TestGolden runs every case under testdata/manifests/<case>/: input.yaml, and for each op an
// expected-<op>.yaml (the edited file) or error-<op>.txt (the one-line error).
func TestGolden(t *testing.T) {
	for _, dir := range golden.Cases(t, "../testdata/manifests", "input.yaml") {
		in := filepath.Join(dir, "input.yaml")
		for _, op := range []controllers.Op{controllers.Disable, controllers.Enable} {
			t.Run(filepath.Base(dir)+"/"+string(op), func(t *testing.T) {
				data, err := os.ReadFile(in)
				if err != nil {
					t.Fatal(err)
				}
				out, err := edit(data, op)
				expected := filepath.Join(dir, "expected-"+string(op)+".yaml")
				errFile := filepath.Join(dir, "error-"+string(op)+".txt")
				if err != nil {
					if strings.Contains(err.Error(), "\n") {
						t.Errorf("error is not one line: %q", err)
					}
					golden.Check(t, errFile, []byte(err.Error()+"\n"))
					if _, e := os.Stat(expected); e == nil {
						t.Errorf("unexpected error %v; %s exists", err, expected)
					}
					return
				}
				golden.Check(t, expected, out)
				again, err := edit(out, op)
				if err != nil || string(again) != string(out) {
					t.Errorf("second %s is not a no-op: err=%v", op, err)
				}
			})
		}
	}
}

func edit(data []byte, op controllers.Op) ([]byte, error) {
	m, err := Parse(data)
	if err != nil {
		return nil, err
	}
	name, err := controllers.NameFor(m.Version, "")
	if err != nil {
		return nil, err
	}
	out, _, err := m.Edit(op, name)
	return out, err
}

// TestOnlyTheFlagLineChanges checks, for every valid case, that an edit replaces one line, inserts one
// line, or removes whole lines, and that every line it writes is the controllers flag.
func TestOnlyTheFlagLineChanges(t *testing.T) {
	cases, _ := filepath.Glob("../testdata/manifests/*/input.yaml")
	for _, in := range cases {
		data, _ := os.ReadFile(in)
		for _, op := range []controllers.Op{controllers.Disable, controllers.Enable} {
			out, err := edit(data, op)
			if err != nil || string(out) == string(data) {
				continue
			}
			a := strings.SplitAfter(string(data), "\n")
			b := strings.SplitAfter(string(out), "\n")
			m := difflib.NewMatcher(a, b)
			for _, oc := range m.GetOpCodes() {
				removed, added := a[oc.I1:oc.I2], b[oc.J1:oc.J2]
				switch oc.Tag {
				case 'e', 'd':
					continue // whole lines removed: an emptied repeated flag
				case 'r':
					if len(removed) != 1 || len(added) != 1 {
						t.Errorf("%s %s: replaced %d lines with %d, want 1 with 1", in, op, len(removed), len(added))
					}
				case 'i':
					if len(added) != 1 {
						t.Errorf("%s %s: inserted %d lines, want 1", in, op, len(added))
					}
				}
				for _, l := range added {
					if !strings.Contains(l, "--controllers") && !strings.Contains(l, "endpointslice") {
						t.Errorf("%s %s: wrote a line that is not the controllers flag: %q", in, op, l)
					}
				}
			}
		}
	}
}

// BenchmarkParseEdit measures the whole in-memory plan for a real kubeadm manifest: parse, locate,
// splice, and the re-parse check.
func BenchmarkParseEdit(b *testing.B) {
	data, err := os.ReadFile("../testdata/manifests/kubeadm-v1.29-sample/input.yaml")
	if err != nil {
		b.Fatal(err)
	}
	// Eight variants, so that a parse kept by content anywhere would show as a speed-up that is not real.
	var variants [][]byte
	for i := range 8 {
		variants = append(variants, append(bytes.Clone(data), fmt.Sprintf("# %d\n", i)...))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := edit(variants[i%len(variants)], controllers.Disable); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// A Manifest never sees a change its caller makes to its buffer after Parse.
func TestParseKeepsItsOwnCopy(t *testing.T) {
	data, err := os.ReadFile("../testdata/manifests/kubeadm-generated-v1.37/input.yaml")
	if err != nil {
		t.Fatal(err)
	}
	buf := bytes.Clone(data)
	m1, err := Parse(buf)
	if err != nil {
		t.Fatal(err)
	}
	for i := range buf {
		buf[i] = ' '
	}
	out, changed, err := m1.Edit(controllers.Disable, "endpointslice-mirroring-controller")
	if err != nil || !changed {
		t.Fatalf("edit after the first caller overwrote its buffer: changed=%v err=%v", changed, err)
	}
	if !bytes.Contains(out, []byte("-endpointslice-mirroring-controller")) || bytes.Contains(out, []byte("     \n     ")) {
		t.Errorf("edit used the overwritten buffer:\n%s", out)
	}
}

func TestFlag(t *testing.T) {
	for _, c := range []struct {
		name, yaml, flag, want string
		ok                     bool
	}{
		{"joined", "command: [kube-controller-manager, --kubeconfig=/a.conf]", "kubeconfig", "/a.conf", true},
		{"separate", "command: [kube-controller-manager, --kubeconfig, /b.conf]", "kubeconfig", "/b.conf", true},
		{"last wins, args after command", "command: [kube-controller-manager, --kubeconfig=/a]\n    args: [--kubeconfig=/c]", "kubeconfig", "/c", true},
		{"a longer flag is not it", "command: [kube-controller-manager, --authentication-kubeconfig=/x, --kubeconfig-dir=/y]", "kubeconfig", "", false},
		{"unset", "command: [kube-controller-manager]", "kubeconfig", "", false},
		{"no value at the end", "command: [kube-controller-manager, --kubeconfig]", "kubeconfig", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc := "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: kube-controller-manager\n    " + c.yaml + "\n"
			m, err := Parse([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			got, ok := m.Flag(c.flag)
			if got != c.want || ok != c.ok {
				t.Errorf("Flag(%q) = %q, %v; want %q, %v", c.flag, got, ok, c.want, c.ok)
			}
		})
	}
}

// Edited hands back the parse that checked the edit: the same bytes as Edit, the same state as a fresh
// parse of them, and m itself when nothing changes.
func TestEditedIsTheCheckedParse(t *testing.T) {
	data, err := os.ReadFile("../testdata/manifests/kubeadm-generated-v1.37/input.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	after, changed, err := m.Edited(controllers.Disable, controllers.NameCanonical)
	if err != nil || !changed {
		t.Fatalf("Edited: changed=%v err=%v", changed, err)
	}
	out, _, err := m.Edit(controllers.Disable, controllers.NameCanonical)
	if err != nil || !bytes.Equal(after.Bytes(), out) {
		t.Fatalf("Edited's bytes differ from Edit's (err %v)", err)
	}
	fresh, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	on, err1 := after.Mirroring()
	want, err2 := fresh.Mirroring()
	if on != want || err1 != nil || err2 != nil || on {
		t.Errorf("Edited says mirroring %v (%v), a fresh parse %v (%v)", on, err1, want, err2)
	}
	again, changed, err := after.Edited(controllers.Disable, controllers.NameCanonical)
	if err != nil || changed || again != after {
		t.Errorf("an edit that changes nothing: changed=%v, same Manifest %v, err %v", changed, again == after, err)
	}
}
