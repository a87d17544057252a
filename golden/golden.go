// Package golden is the test support every package's tests share: golden files that
// `go test ./pkg -update` rewrites, and file trees copied into temp dirs, snapshotted and compared.
//
// Only _test files import it, and it imports no mirrorctl package, so any package's tests can use it
// without an import cycle. The -update flag is registered here, once: a test binary that imports
// this package accepts -update, and no test file defines its own.
//
// The layout of golden cases is the kyaml one: a directory per case under testdata, holding its
// input and the expected outputs beside it (testdata/<case>/input.yaml, expected-disable.yaml,
// error-enable.txt, ...). Which files a case holds is the test's business; Cases lists the cases
// and Check compares or rewrites one expected file.
package golden

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/pmezard/go-difflib/difflib"
)

var update = flag.Bool("update", false, "rewrite golden files with what the tests produce instead of comparing")

// Updating reports whether the run was started with -update. Tests that decide which golden files
// exist (an error file instead of an expected output, say) consult it to remove the stale one.
func Updating() bool { return *update }

// Check compares got with the golden file at path and fails the test, showing a unified diff, when
// they differ. With -update it writes got to path instead (creating folders) and passes.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := write(path, got); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from what the test produced (go test -update rewrites it):\n%s", path, textDiff(path, want, got))
	}
}

// write leaves a file that already holds the bytes alone, so that -update on a passing suite
// touches nothing (git sees no change, not even a mode or mtime).
func write(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// textDiff is a unified diff from want (the golden file at path) to got. Differences a unified diff
// cannot show (line endings, a missing final newline) are shown quoted.
func textDiff(path string, want, got []byte) string {
	d, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(string(want)), B: difflib.SplitLines(string(got)),
		FromFile: path, ToFile: "got", Context: 3,
	})
	if d == "" || bytes.Contains(want, []byte("\r")) || bytes.Contains(got, []byte("\r")) ||
		bytes.HasSuffix(want, []byte("\n")) != bytes.HasSuffix(got, []byte("\n")) {
		d += fmt.Sprintf("want %q\ngot  %q\n", clip(want), clip(got))
	}
	return d
}

func clip(b []byte) string {
	if len(b) > 2000 {
		return string(b[:1000]) + "…" + string(b[len(b)-1000:])
	}
	return string(b)
}

// Cases lists the golden cases under dir, sorted: every directory holding file (input.yaml, say), or
// every directory when file is "". It fails the test when there is none, so that a moved testdata
// folder cannot pass by running nothing.
func Cases(t testing.TB, dir, file string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("golden cases: %v", err)
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		c := filepath.Join(dir, e.Name())
		if file != "" {
			if _, err := os.Stat(filepath.Join(c, file)); errors.Is(err, fs.ErrNotExist) {
				continue
			} else if err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		t.Fatalf("no golden cases under %s (a folder per case, holding %q)", dir, file)
	}
	return out
}
