package golden

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// recorder is a testing.TB that keeps failures instead of reporting them, so that the failing paths
// of Check can be tested. Fatal ends the goroutine, as it does for a real test.
type recorder struct {
	testing.TB
	errors []string
	fatal  bool
}

func (r *recorder) Helper() {}
func (r *recorder) Error(a ...any) {
	r.errors = append(r.errors, fmt.Sprint(a...))
}
func (r *recorder) Errorf(f string, a ...any) { r.errors = append(r.errors, fmt.Sprintf(f, a...)) }
func (r *recorder) Fatal(a ...any)            { r.Error(a...); r.fatal = true; runtime.Goexit() }
func (r *recorder) Fatalf(f string, a ...any) { r.Errorf(f, a...); r.fatal = true; runtime.Goexit() }

func record(t *testing.T, f func(tb testing.TB)) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

func withUpdate(t *testing.T, on bool) {
	old := *update
	*update = on
	t.Cleanup(func() { *update = old })
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "expected.yaml")
	if err := os.WriteFile(path, []byte("a: 1\nb: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := record(t, func(tb testing.TB) { Check(tb, path, []byte("a: 1\nb: 2\n")) }); len(r.errors) > 0 {
		t.Errorf("same bytes: %q", r.errors)
	}
	r := record(t, func(tb testing.TB) { Check(tb, path, []byte("a: 1\nb: 3\n")) })
	if len(r.errors) != 1 || r.fatal || !strings.Contains(r.errors[0], "-b: 2\n+b: 3\n") || !strings.Contains(r.errors[0], "-update") {
		t.Errorf("other bytes: want one error with a unified diff, got %q", r.errors)
	}
	r = record(t, func(tb testing.TB) { Check(tb, path, []byte("a: 1\r\nb: 2\r\n")) })
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], `got  "a: 1\r\nb: 2\r\n"`) {
		t.Errorf("line endings: want them shown quoted, got %q", r.errors)
	}
	r = record(t, func(tb testing.TB) { Check(tb, filepath.Join(dir, "missing.txt"), nil) })
	if !r.fatal || !strings.Contains(r.errors[0], "-update") {
		t.Errorf("missing file: want a fatal error naming -update, got %q", r.errors)
	}
}

func TestCheckUpdate(t *testing.T) {
	withUpdate(t, true)
	dir := t.TempDir()
	same := filepath.Join(dir, "same.txt")
	if err := os.WriteFile(same, []byte("x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(same, old, old); err != nil {
		t.Fatal(err)
	}
	before := Tree(t, dir, DirTimes())
	Check(t, same, []byte("x\n"))
	CompareTrees(t, before, Tree(t, dir, DirTimes())) // unchanged bytes are not rewritten

	Check(t, same, []byte("y\n"))
	Check(t, filepath.Join(dir, "new", "case", "expected.txt"), []byte("z\n"))
	for p, want := range map[string]string{same: "y\n", filepath.Join(dir, "new", "case", "expected.txt"): "z\n"} {
		if b, err := os.ReadFile(p); err != nil || string(b) != want {
			t.Errorf("%s: %q, %v; want %q", p, b, err, want)
		}
	}
	if !Updating() {
		t.Error("Updating() is false under -update")
	}
}

func TestCases(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"b/input.yaml", "a/input.yaml", "c/other.yaml", "file.yaml"} {
		write(filepath.Join(dir, p), nil)
	}
	got := Cases(t, dir, "input.yaml")
	if want := []string{filepath.Join(dir, "a"), filepath.Join(dir, "b")}; !slices.Equal(got, want) {
		t.Errorf("Cases(input.yaml) = %q, want %q", got, want)
	}
	if got := Cases(t, dir, ""); len(got) != 3 {
		t.Errorf("Cases(\"\") = %q, want the three folders", got)
	}
	if r := record(t, func(tb testing.TB) { Cases(tb, dir, "expected.yaml") }); !r.fatal {
		t.Error("no case: want a fatal error")
	}
}

func umask() fs.FileMode {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return fs.FileMode(m)
}

func mkfile(t *testing.T, p, data string, mode fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func TestCopyTree(t *testing.T) {
	src := t.TempDir()
	mkfile(t, filepath.Join(src, "etc/a.yaml"), "a\n", 0o640)
	mkfile(t, filepath.Join(src, "etc/read-only"), "r\n", 0o444)
	mkfile(t, filepath.Join(src, "bin/run.sh"), "#!/bin/sh\n", 0o755)
	if err := os.Symlink("../nowhere", filepath.Join(src, "etc/dangling")); err != nil {
		t.Fatal(err)
	}
	m := umask()

	dst := filepath.Join(t.TempDir(), "node")
	CopyTree(t, src, dst)
	want := Tree(t, src, ContentsOnly())
	if d := Diff(want, Tree(t, dst, ContentsOnly())); len(d) > 0 {
		t.Errorf("the copy differs: %q", d)
	}
	got := Tree(t, dst)
	for p, mode := range map[string]fs.FileMode{"etc/a.yaml": 0o640, "etc/read-only": 0o644, "bin/run.sh": 0o755, "etc": fs.ModeDir | 0o755} {
		if want := mode &^ m; got[p].Mode != want {
			t.Errorf("%s: mode %v, want %v", p, got[p].Mode, want)
		}
	}
	if got["etc/dangling"].Link != "../nowhere" {
		t.Errorf("symlink not copied as a link: %+v", got["etc/dangling"])
	}

	forced := t.TempDir()
	CopyTree(t, src, forced, FileMode(0o600), DirMode(0o700))
	got = Tree(t, forced)
	for p, mode := range map[string]fs.FileMode{"etc/a.yaml": 0o600, "bin/run.sh": 0o600, "etc": fs.ModeDir | 0o700} {
		if got[p].Mode != mode&^m {
			t.Errorf("forced: %s: mode %v, want %v", p, got[p].Mode, mode&^m)
		}
	}

	// Laid over a base: entries of another type are replaced, directories merged.
	over := t.TempDir()
	mkfile(t, filepath.Join(over, "etc/a.yaml/inner"), "a dir where src has a file\n", 0o600)
	mkfile(t, filepath.Join(over, "etc/dangling"), "a file where src has a link\n", 0o600)
	mkfile(t, filepath.Join(over, "etc/kept"), "k\n", 0o600)
	CopyTree(t, src, over)
	got = Tree(t, over, ContentsOnly())
	if _, ok := got["etc/kept"]; !ok || got["etc/dangling"].Link != "../nowhere" || got["etc/a.yaml"] != want["etc/a.yaml"] {
		t.Errorf("overlay: %+v", got)
	}

	if r := record(t, func(tb testing.TB) { CopyTree(tb, filepath.Join(src, "missing"), t.TempDir()) }); !r.fatal {
		t.Error("a missing source: want a fatal error")
	}
}

func TestWriteFile(t *testing.T) {
	root := t.TempDir()
	m := umask()
	WriteFile(t, filepath.Join(root, "etc/a/b"), []byte("b\n"))
	WriteFile(t, filepath.Join(root, "var/c/d"), []byte("d\n"), FileMode(0o600), DirMode(0o700))
	got := Tree(t, root)
	for p, mode := range map[string]fs.FileMode{"etc/a/b": 0o644, "etc/a": fs.ModeDir | 0o755, "var/c/d": 0o600, "var/c": fs.ModeDir | 0o700} {
		if got[p].Mode != mode&^m {
			t.Errorf("%s: mode %v, want %v", p, got[p].Mode, mode&^m)
		}
	}
	if b, err := os.ReadFile(filepath.Join(root, "etc/a/b")); err != nil || string(b) != "b\n" {
		t.Errorf("etc/a/b: %q, %v", b, err)
	}
}

func TestTree(t *testing.T) {
	root := t.TempDir()
	mkfile(t, filepath.Join(root, "etc/a"), "a\n", 0o600)
	mkfile(t, filepath.Join(root, "etc/b"), "b\n", 0o600)
	mkfile(t, filepath.Join(root, "etc/c"), "c\n", 0o600)
	mkfile(t, filepath.Join(root, "var/state/lock"), "1\n", 0o600)
	if err := syscall.Mkfifo(filepath.Join(root, "etc/fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Timestamps are coarse on some file systems: put the folder's in the past to see it move.
	past := time.Now().Add(-time.Hour)
	if err := os.Chtimes(filepath.Join(root, "etc"), past, past); err != nil {
		t.Fatal(err)
	}
	before := Tree(t, root)
	beforeDirs := Tree(t, root, DirTimes())
	if d := Diff(before, Tree(t, root)); len(d) > 0 {
		t.Fatalf("two snapshots of an untouched tree differ: %q", d)
	}
	if f := before["etc/a"]; f.Size != 2 || f.SHA256 != "87428fc522803d31065e7bce3cf03fe475096631e5e07bbd7a0fde60c4cf25c7" || f.Mode != 0o600 || f.ModTime.IsZero() {
		t.Errorf("etc/a: %+v", f)
	}
	if f := before["etc"]; !f.Mode.IsDir() || !f.ModTime.IsZero() {
		t.Errorf("etc: %+v (directories without times by default)", f)
	}
	if before["etc/fifo"].Mode&fs.ModeNamedPipe == 0 {
		t.Errorf("etc/fifo: %+v", before["etc/fifo"])
	}

	// A file created and removed again shows only in the directory's time.
	mkfile(t, filepath.Join(root, "etc/tmp"), "", 0o600)
	os.Remove(filepath.Join(root, "etc/tmp"))
	if d := Diff(before, Tree(t, root)); len(d) > 0 {
		t.Errorf("without DirTimes: %q", d)
	}
	if d := Diff(beforeDirs, Tree(t, root, DirTimes())); len(d) != 1 || !strings.HasPrefix(d[0], "etc: changed: mtime "+beforeDirs["etc"].ModTime.Format(time.RFC3339Nano)+" → ") {
		t.Errorf("with DirTimes: %q", d)
	}

	mkfile(t, filepath.Join(root, "etc/a"), "A\n", 0o600) // same size, other bytes
	mkfile(t, filepath.Join(root, "etc/b"), "b\n", 0o644) // mode
	os.Remove(filepath.Join(root, "etc/c"))               // removed
	mkfile(t, filepath.Join(root, "etc/d"), "d\n", 0o600) // created
	mkfile(t, filepath.Join(root, "var/state/lock"), "2\n", 0o600)
	then := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	os.Chtimes(filepath.Join(root, "etc/b"), then, then)
	got := Diff(before, Tree(t, root))
	var paths []string
	for _, d := range got {
		paths = append(paths, d[:strings.Index(d, ":")])
	}
	if !slices.Equal(paths, []string{"etc/a", "etc/b", "etc/c", "etc/d", "var/state/lock"}) ||
		!strings.HasPrefix(got[0], "etc/a: changed: bytes (2 → 2 bytes)") ||
		!strings.Contains(got[1], "mode -rw------- → -rw-r--r--") || !strings.Contains(got[1], "→ 2020-01-02T03:04:05Z") ||
		got[2] != "etc/c: removed" || got[3] != "etc/d: created" {
		t.Errorf("Diff:\n%s", strings.Join(got, "\n"))
	}
	if d := Diff(Tree(t, root, Skip("var/state")), Tree(t, root, Skip("var/state/"))); len(d) > 0 {
		t.Errorf("Skip: %q", d)
	}
	if _, ok := Tree(t, root, Skip("var/state"))["var/state/lock"]; ok {
		t.Error("Skip left the path in")
	}
	contents := Tree(t, root, ContentsOnly())
	if _, ok := contents["etc"]; ok || len(contents) != 4 || contents["etc/b"].Mode != 0 || !contents["etc/b"].ModTime.IsZero() {
		t.Errorf("ContentsOnly: %+v", contents)
	}
	if got := Tree(t, filepath.Join(root, "missing")); len(got) != 0 {
		t.Errorf("a missing root: %+v", got)
	}
}

// The package is test support: only _test files may import it, and it may import no package of the
// module (so that every package's tests can use it without a cycle).
func TestImportedOnlyByTests(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go tool on PATH")
	}
	cmd := exec.Command("go", "list", "-tags", "urfave_cli_no_docs", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./...")
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const module, self = "github.com/mirrorctl/mirrorctl/", "github.com/mirrorctl/mirrorctl/golden"
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		for _, imp := range f[1:] {
			if f[0] == self && strings.HasPrefix(imp, module) {
				t.Errorf("golden imports %s", imp)
			}
			if f[0] != self && imp == self {
				t.Errorf("%s imports golden outside its tests", f[0])
			}
		}
	}
}
