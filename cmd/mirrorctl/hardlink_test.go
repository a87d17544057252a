package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// linkCount returns rel's number of hard links under root.
func linkCount(t *testing.T, root, rel string) uint64 {
	t.Helper()
	fi, err := os.Stat(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return uint64(fi.Sys().(*syscall.Stat_t).Nlink)
}

// A hard-linked target is refused by default naming its link count (the corpus class
// manifest-hard-linked covers that); --force writes it and says, in text and in JSON, that the other
// name keeps the old bytes (issue 14 §5). Every command that rewrites targets has the flag.
func TestHardLinkedTargetNeedsForce(t *testing.T) {
	cases := []struct {
		name   string
		target string
		node   func(t *testing.T) string
		args   func(t *testing.T, root string) []string
	}{
		{"disable", kcmPath, newNode, func(*testing.T, string) []string { return []string{"disable"} }},
		{"lint --fix", apiserverRel, nodeWithGate, func(*testing.T, string) []string { return []string{"lint", "--fix"} }},
		{"apply-plan", kcmPath, newNode, func(t *testing.T, root string) []string {
			plan := filepath.Join(t.TempDir(), "disable.plan")
			if r := run(t, "--root", root, "disable", "--dry-run", "--save-plan", plan); r.code != 0 {
				t.Fatalf("save plan: exit %d: %s", r.code, r.stderr)
			}
			return []string{"apply-plan", plan}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, json := range []bool{false, true} {
				root := c.node(t)
				args := c.args(t, root)
				other := filepath.Join(root, "etc/kubernetes", filepath.Base(c.target)+".link")
				if err := os.Link(filepath.Join(root, c.target), other); err != nil {
					t.Skipf("link: %v", err)
				}
				orig, _ := os.ReadFile(other)
				before := hashTree(t, root)
				global := []string{"--root", root}
				if json {
					global = append(global, "-o", "json")
				}
				r := run(t, append(global, args...)...)
				if r.code != 1 || !strings.Contains(r.stderr, c.target) || !strings.Contains(r.stderr, "2 links") {
					t.Fatalf("%v without --force: exit %d, stderr %s; want exit 1 naming the file and its 2 links", args, r.code, r.stderr)
				}
				diffTrees(t, before, hashTree(t, root)) // refused in the plan phase: not even the state dir

				// Flags go before apply-plan's argument.
				forced := append([]string{args[0], "--force"}, args[1:]...)
				r = run(t, append(global, forced...)...)
				if r.code != 0 {
					t.Fatalf("%v --force: exit %d: %s", args, r.code, r.stderr)
				}
				warned := r.stderr
				if json {
					warned = r.stdout
					if !strings.Contains(r.stdout, `"warnings": [`) {
						t.Errorf("JSON has no warnings list: %s", r.stdout)
					}
				}
				if !strings.Contains(warned, "--force: /"+c.target+" has 2 hard links") {
					t.Errorf("%v --force (json %v): no warning about the split; stdout %s stderr %s", args, json, r.stdout, r.stderr)
				}
				if n := linkCount(t, root, c.target); n != 1 {
					t.Errorf("target has %d links after the write, want 1 (split)", n)
				}
				if got, _ := os.ReadFile(other); string(got) != string(orig) {
					t.Errorf("the other name changed")
				}
			}
		})
	}
}
