package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkPlan runs `disable --dry-run` in-process on the bench node (bench/testdata), the work after
// process start-up that bench/bench.sh times as a whole. Eight roots with manifests differing in a
// comment keep the page cache and the branch predictors from flattering one file.
func BenchmarkPlan(b *testing.B) {
	data, err := os.ReadFile("../../bench/testdata/kube-controller-manager.yaml")
	if err != nil {
		b.Fatal(err)
	}
	var roots []string
	for i := range 8 {
		root := b.TempDir()
		dir := filepath.Join(root, "etc/kubernetes/manifests")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "kube-controller-manager.yaml"), fmt.Appendf(data, "# %d\n", i), 0o600); err != nil {
			b.Fatal(err)
		}
		roots = append(roots, root)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if code := Main([]string{"mirrorctl", "--root", roots[i%len(roots)], "disable", "--dry-run"}, io.Discard, io.Discard); code != 0 {
			b.Fatalf("exit %d", code)
		}
		i++
	}
}
