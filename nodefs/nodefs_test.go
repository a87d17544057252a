package nodefs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mkRoot(t *testing.T) Root {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "etc/kubernetes/manifests"), 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "etc/kubernetes/manifests/kcm.yaml"), []byte("kind: Pod\n"), 0o600)
	r, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestClean(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"etc/kubernetes":       "/etc/kubernetes",
		"/etc/../etc/x":        "/etc/x",
		"../../outside":        "/outside",
		"/":                    "/",
		"/var/lib//mirrorctl/": "/var/lib/mirrorctl",
	} {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHostStaysUnderRoot(t *testing.T) {
	t.Parallel()
	r := mkRoot(t)
	for _, p := range []string{"../../etc/passwd", "/../../../etc/shadow", "etc/../../x"} {
		if h := r.Host(p); !strings.HasPrefix(h, r.Dir+string(filepath.Separator)) {
			t.Errorf("Host(%q) = %q escapes %q", p, h, r.Dir)
		}
	}
}

func TestResolveSymlinks(t *testing.T) {
	t.Parallel()
	r := mkRoot(t)
	m := filepath.Join(r.Dir, "etc/kubernetes/manifests")
	// An absolute link inside the node: resolved under the root, as the node would see it.
	os.Symlink("/etc/kubernetes/manifests/kcm.yaml", filepath.Join(m, "abs-link.yaml"))
	// A relative link inside the root.
	os.Symlink("kcm.yaml", filepath.Join(m, "rel-link.yaml"))
	// A relative link that climbs out of the root.
	os.Symlink("../../../../../../../../etc/hostname", filepath.Join(m, "escape.yaml"))
	// A loop.
	os.Symlink("loop-b", filepath.Join(m, "loop-a"))
	os.Symlink("loop-a", filepath.Join(m, "loop-b"))

	for _, name := range []string{"abs-link.yaml", "rel-link.yaml"} {
		f, err := r.ReadFile("/etc/kubernetes/manifests/"+name, false)
		if err != nil || string(f.Data) != "kind: Pod\n" {
			t.Errorf("%s: %v %+v", name, err, f)
		}
		if f != nil && f.HostPath != filepath.Join(m, "kcm.yaml") {
			t.Errorf("%s resolved to %s", name, f.HostPath)
		}
	}
	if _, err := r.ReadFile("/etc/kubernetes/manifests/escape.yaml", false); !errors.Is(err, ErrEscapes) {
		t.Errorf("escape: %v, want ErrEscapes", err)
	}
	if _, err := r.ReadFile("/etc/kubernetes/manifests/loop-a", false); err == nil || !strings.Contains(err.Error(), "symbolic links") {
		t.Errorf("loop: %v", err)
	}
}

func TestReadFileErrorsNameTheNodePath(t *testing.T) {
	t.Parallel()
	r := mkRoot(t)
	os.Mkdir(filepath.Join(r.Dir, "etc/kubernetes/manifests/dir.yaml"), 0o700)
	big := filepath.Join(r.Dir, "etc/big.yaml")
	f, _ := os.Create(big)
	f.Truncate(MaxFileSize + 1)
	f.Close()
	for path, want := range map[string]string{
		"/etc/kubernetes/manifests/missing.yaml": "no such file",
		"/etc/kubernetes/manifests/dir.yaml":     "is a directory",
		"/etc/big.yaml":                          "larger than",
	} {
		_, err := r.ReadFile(path, false)
		if err == nil || !strings.HasPrefix(err.Error(), path+": ") || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), r.Dir) {
			t.Errorf("%s: %v (want %q, node path only)", path, err, want)
		}
	}
	if f, err := r.ReadFile("/etc/kubernetes/manifests/missing.yaml", true); err != nil || f.Exists {
		t.Errorf("allowMissing: %v %+v", err, f)
	}
}

func TestNewRejectsBadRoots(t *testing.T) {
	t.Parallel()
	if _, err := New("/nonexistent/mirrorctl-root"); err == nil {
		t.Error("missing root accepted")
	}
	file := filepath.Join(t.TempDir(), "f")
	os.WriteFile(file, nil, 0o600)
	if _, err := New(file); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("file root: %v", err)
	}
}

// The kernel follows a link before it reads the ".." after it; cleaning the path as text first reads
// another file than the kubelet does (issue 14 §9).
func TestResolveFollowsLinksBeforeDotDot(t *testing.T) {
	t.Parallel()
	r := mkRoot(t)
	put := func(p, data string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(r.Host(p)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(r.Host(p), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, p string) {
		t.Helper()
		if err := os.Symlink(target, r.Host(p)); err != nil {
			t.Fatal(err)
		}
	}
	m := "/etc/kubernetes/manifests"
	put(m+"/.real.yaml", "decoy\n")
	put("/srv/pods/inner/x", "")
	put("/srv/pods/.real.yaml", "kernel\n")
	link("/srv/pods/inner", m+"/sub")
	link("sub/../.real.yaml", m+"/via-sub.yaml")
	// An absolute target is taken under the root; its ".." at the root stays at the root.
	link("/../../srv/pods/.real.yaml", m+"/abs-dotdot.yaml")
	// A relative link into a linked folder, then up out of it.
	link("../srv/pods/inner", "/etc/inner")
	link("/etc/inner/../.real.yaml", m+"/abs-via-link.yaml")

	for _, tc := range []struct{ path, want string }{
		{m + "/via-sub.yaml", "/srv/pods/.real.yaml"},
		{m + "/abs-dotdot.yaml", "/srv/pods/.real.yaml"},
		{m + "/abs-via-link.yaml", "/srv/pods/.real.yaml"},
		{m + "/sub/../.real.yaml", "/srv/pods/.real.yaml"},
		{"/../../" + m + "/.real.yaml", m + "/.real.yaml"},
		{m + "/missing/../kcm.yaml", m + "/missing/../kcm.yaml"},
	} {
		got, err := r.Resolve(tc.path)
		if err != nil {
			t.Errorf("Resolve(%s): %v", tc.path, err)
			continue
		}
		if want := r.Host(tc.want); strings.Contains(tc.want, "..") {
			want = r.Dir + tc.want
			if got != want {
				t.Errorf("Resolve(%s) = %s, want %s (kept as written past a missing component)", tc.path, got, want)
			}
		} else if got != want {
			t.Errorf("Resolve(%s) = %s, want %s", tc.path, got, want)
		}
	}
	if f, err := r.ReadFile(m+"/via-sub.yaml", false); err != nil || string(f.Data) != "kernel\n" {
		t.Errorf("read via sub: %v %+v", err, f)
	}
	if _, err := r.ReadFile(m+"/missing/../kcm.yaml", false); err == nil {
		t.Error("a path through a missing folder was read; the kernel refuses it")
	}
}
