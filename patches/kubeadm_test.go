package patches

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// Each folder under testdata/kubeadm is a case:
//
//	input.yaml     the kubeadm config or exported ConfigMap
//	op             optional: "disable" (default) or "enable", optionally followed by a --controller-name
//	expected.yaml  the edited file (== input.yaml when nothing changes), or
//	error.txt      the one-line error, for invalid inputs
//	state.json     the state after the edit (ReadKubeadmConfig of expected.yaml)
func TestKubeadmGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/kubeadm/*/input.yaml")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, in := range dirs {
		dir := filepath.Dir(in)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			input, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			op, override := readOp(t, dir)
			out, after, changed, err := EditKubeadmConfig(input, op, override)
			errFile := filepath.Join(dir, "error.txt")
			if err != nil {
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error is not one line: %q", err)
				}
				if strings.Contains(err.Error(), dir) || strings.Contains(err.Error(), "input.yaml") {
					t.Errorf("error names a file; the caller does that: %q", err)
				}
				golden(t, errFile, []byte(err.Error()+"\n"))
				if *update {
					os.Remove(filepath.Join(dir, "expected.yaml"))
					os.Remove(filepath.Join(dir, "state.json"))
				}
				for _, f := range []string{"expected.yaml", "state.json"} {
					if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
						t.Errorf("%s exists for an error case", f)
					}
				}
				return
			}
			if *update {
				os.Remove(errFile)
			}
			if _, err := os.Stat(errFile); err == nil {
				t.Fatalf("EditKubeadmConfig succeeded; want the error in %s", errFile)
			}
			golden(t, filepath.Join(dir, "expected.yaml"), out)
			st, _ := json.MarshalIndent(struct {
				Changed bool `json:"changed"`
				*KubeadmState
			}{changed, after}, "", "  ")
			golden(t, filepath.Join(dir, "state.json"), append(st, '\n'))

			if changed != (string(out) != string(input)) {
				t.Errorf("changed = %v but output differs = %v", changed, string(out) != string(input))
			}
			if after.Mirroring != (op == Enable) {
				t.Errorf("mirroring after %s = %v", op, after.Mirroring)
			}
			checkOnlyControllerLines(t, string(input), string(out))
			// Idempotent: a second run changes nothing, under either name.
			for _, name := range []string{override, NameAlias} {
				again, _, changed2, err := EditKubeadmConfig(out, op, name)
				if err != nil || changed2 || string(again) != string(out) {
					t.Errorf("second %s (name %q): changed=%v err=%v", op, name, changed2, err)
				}
			}
			// Read agrees with the edit's report.
			st2, err := ReadKubeadmConfig(out)
			if err != nil || !slices.Equal(st2.Controllers, after.Controllers) || st2.Mirroring != after.Mirroring {
				t.Errorf("ReadKubeadmConfig(output) = %+v, %v; edit said %+v", st2, err, after)
			}
		})
	}
}

func readOp(t *testing.T, dir string) (Op, string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "op"))
	if errors.Is(err, os.ErrNotExist) {
		return Disable, ""
	}
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	op, override := Op(f[0]), ""
	if len(f) > 1 {
		override = f[1]
	}
	return op, override
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./patches -run TestKubeadmGolden -update)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// The lines an edit may add or remove: controllers values and entries, their new parents, and keys
// whose empty value ({}, [], null) was opened up for them. Anything else is damage.
var (
	allowedAdded   = regexp.MustCompile(`^\s*(controllerManager:|extraArgs:|- name: controllers|value: \S+|controllers: \S+)(\s+#.*)?$`)
	allowedRemoved = regexp.MustCompile(`^\s*(value: \S+|controllers: \S+|controllerManager:\s*(\{\s*\}|null|~)|extraArgs:\s*(\{\s*\}|\[\s*\]|null|~))(\s+#.*)?$`)
)

// checkOnlyControllerLines diffs the files line by line and checks that only controllers lines changed.
func checkOnlyControllerLines(t *testing.T, before, after string) {
	t.Helper()
	a, b := strings.SplitAfter(before, "\n"), strings.SplitAfter(after, "\n")
	removed, added := lineDiff(a, b)
	for _, l := range removed {
		if l = strings.TrimRight(l, "\r\n"); !allowedRemoved.MatchString(l) {
			t.Errorf("edit changed an unrelated line %q", l)
		}
	}
	for _, l := range added {
		if l = strings.TrimRight(l, "\r\n"); !allowedAdded.MatchString(l) {
			t.Errorf("edit added an unexpected line %q", l)
		}
	}
	if len(removed) > 2 || len(added) > 6 {
		t.Errorf("edit touched too much: -%d +%d lines", len(removed), len(added))
	}
}

// lineDiff returns the lines of a not in b and of b not in a, by longest common subsequence.
func lineDiff(a, b []string) (removed, added []string) {
	n, m := len(a), len(b)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case a[i] == b[j]:
			i++
			j++
		case lcs[i+1][j] >= lcs[i][j+1]:
			removed = append(removed, a[i])
			i++
		default:
			added = append(added, b[j])
			j++
		}
	}
	return append(removed, a[i:]...), append(added, b[j:]...)
}
