package controllers_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mirrorctl/mirrorctl/controllers"
)

// TestGeneratedReleasesAreCurrent re-runs the generator when the Kubernetes source it reads is in the
// module cache, and fails when controllers_gen.go is stale.
func TestGeneratedReleasesAreCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	cache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Skipf("go env: %v", err)
	}
	for _, r := range controllers.Releases() {
		dir := filepath.Join(strings.TrimSpace(string(cache)), r.Source, "cmd", "kube-controller-manager")
		if _, err := os.Stat(dir); err != nil {
			t.Skipf("%s is not in the module cache (go mod download %s)", r.Source, r.Source)
		}
	}
	got, err := exec.Command("go", "run", "./internal/gencontrollers").Output()
	if err != nil {
		t.Fatalf("gencontrollers: %v", err)
	}
	want, err := os.ReadFile("controllers_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("controllers_gen.go is stale: go run ./controllers/internal/gencontrollers > controllers/controllers_gen.go")
	}
}

func TestReleases(t *testing.T) {
	rs := controllers.Releases()
	if len(rs) < 5 {
		t.Fatalf("%d releases", len(rs))
	}
	for _, r := range rs {
		v := controllers.ParseVersion(r.Minor)
		got, ok := controllers.ReleaseFor(v)
		if !ok || got.Minor != r.Minor {
			t.Errorf("ReleaseFor(%s) = %s, %v", v, got.Minor, ok)
		}
		want := controllers.NameAlias
		if v.AtLeast(1, 28) {
			want = controllers.NameCanonical
		}
		if r.MirroringName() != want {
			t.Errorf("%s: mirroring is %q, want %q", r.Minor, r.MirroringName(), want)
		}
		if v.AtLeast(1, 28) && r.Canonical[controllers.NameAlias] != controllers.NameCanonical {
			t.Errorf("%s: alias %q not resolved to %q", r.Minor, controllers.NameAlias, controllers.NameCanonical)
		}
		for n := range r.OffByDefault {
			if r.Canonical[n] != n {
				t.Errorf("%s: off-by-default %q is not canonical", r.Minor, n)
			}
		}
		if len(r.OffByDefault) < 2 || len(r.Controllers()) < 30 {
			t.Errorf("%s: table too small: %d controllers, %d off by default", r.Minor, len(r.Controllers()), len(r.OffByDefault))
		}
	}
	if _, ok := controllers.ReleaseFor(controllers.Version{}); ok {
		t.Error("ReleaseFor(unknown) found a table")
	}
}
