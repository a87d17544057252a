package patches

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/golden"
)

// TestRemoveAddedGivesBackTheOriginal: on every golden case where disable created the controllers
// entry (every shape: no controllerManager, no extraArgs, `extraArgs: {}`, v1beta2/3 maps, v1beta4/v1
// lists, ConfigMaps, CRLF, BOM, no trailing newline), enable with the file's bytes from before that
// disable gives those bytes back exactly: a disable/enable pair leaves a Git-tracked config as it was.
func TestRemoveAddedGivesBackTheOriginal(t *testing.T) {
	n := 0
	for _, dir := range golden.Cases(t, "testdata/kubeadm", "input.yaml") {
		if op, _ := readOp(t, dir); op != controllers.Disable {
			continue
		}
		input, err := os.ReadFile(filepath.Join(dir, "input.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		disabled, err := os.ReadFile(filepath.Join(dir, "expected.yaml"))
		if err != nil {
			continue // an error case
		}
		before, err := ReadKubeadmConfig(input)
		if err != nil || before.Set || bytes.Equal(input, disabled) {
			continue
		}
		n++
		t.Run(filepath.Base(dir), func(t *testing.T) {
			k, err := ParseKubeadmConfig(disabled)
			if err != nil {
				t.Fatal(err)
			}
			out, st, ok := k.RemoveAdded(input)
			if !ok || !bytes.Equal(out, input) {
				t.Fatalf("RemoveAdded: ok=%v; want the input back byte for byte, got:\n%s", ok, out)
			}
			if st.Set || !st.Mirroring {
				t.Errorf("state after: %+v", st)
			}
			// An edit elsewhere since the disable stays; only mirrorctl's lines go. (Appended at the
			// end: a file without a final newline would have its last line changed, not kept.)
			eol := "\n"
			if bytes.Contains(input, []byte("\r\n")) {
				eol = "\r\n"
			}
			edited := append(bytes.Clone(disabled), []byte(eol+"# reviewed"+eol)...)
			if k, err = ParseKubeadmConfig(edited); err != nil {
				t.Fatal(err)
			}
			out, _, ok = k.RemoveAdded(input)
			if want := append(bytes.Clone(input), []byte(eol+"# reviewed"+eol)...); bytes.HasSuffix(input, []byte("\n")) && (!ok || !bytes.Equal(out, want)) {
				t.Errorf("after an unrelated edit: ok=%v\n%s", ok, out)
			}
			// An entry the operator changed since is theirs now: left to the ordinary edit.
			changed := bytes.Replace(disabled, []byte("tokencleaner,"), []byte("tokencleaner,-ttl,"), 1)
			if bytes.Equal(changed, disabled) {
				t.Fatal("test input: no tokencleaner entry to change")
			}
			if k, err = ParseKubeadmConfig(changed); err != nil {
				t.Fatal(err)
			}
			if out, _, ok = k.RemoveAdded(input); ok {
				t.Errorf("an entry the operator changed was removed:\n%s", out)
			}
		})
	}
	if n < 8 {
		t.Fatalf("only %d golden cases where disable creates the entry", n)
	}
}

// TestRemoveAddedRefuses: nothing is taken back from a file mirrorctl did not add the entry to, or
// where the entry is there twice.
func TestRemoveAddedRefuses(t *testing.T) {
	input, err := os.ReadFile("testdata/kubeadm/no-controllermanager/input.yaml")
	if err != nil {
		t.Fatal(err)
	}
	disabled, err := os.ReadFile("testdata/kubeadm/no-controllermanager/expected.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct{ before, cur []byte }{
		"before already set controllers": {disabled, disabled},
		"mirroring is on now":            {input, input},
		"not a kubeadm config before":    {[]byte("a: b\n"), disabled},
	} {
		k, err := ParseKubeadmConfig(tc.cur)
		if err != nil {
			t.Fatal(err)
		}
		if out, _, ok := k.RemoveAdded(tc.before); ok {
			t.Errorf("%s: removed something:\n%s", name, out)
		}
	}
	if _, ok := reverseHunk([]byte("a\n"), []byte("a\nb\n"), []byte("a\nb\nc\na\nb\n")); ok {
		t.Error("reverseHunk: took back one of two identical blocks")
	}
	if out, ok := reverseHunk([]byte("a\nc"), []byte("a\nb\nc"), []byte("x\na\nb\nc")); !ok || string(out) != "x\na\nc" {
		t.Errorf("reverseHunk: %q %v", out, ok)
	}
}
