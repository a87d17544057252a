package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/mirrorctl/mirrorctl/"

// layers is docs/ARCHITECTURE.md's separation as imports: what each package must not import. A
// package not listed may import what it needs.
var layers = map[string][]string{
	// The command layer parses flags, calls the engine and prints: locks, snapshots and writes are
	// the engine's.
	"cmd/mirrorctl": {"snapshot", "github.com/google/renameio/v2", "yamlsplice", "yamledit"},
	// The change types are imported by everything that plans, writes or shows a change.
	"change": {"cmd/mirrorctl", "engine", "snapshot", "planfile", "distros", "lint", "cluster", "manifests", "patches"},
	// The controllers algebra is pure.
	"controllers": {"cmd/mirrorctl", "engine", "snapshot", "planfile", "distros", "lint", "cluster", "manifests", "patches", "change", "nodefs"},
	// Snapshots and plans hold changes of any adapter's files; they know no adapter.
	"snapshot": {"cmd/mirrorctl", "engine", "planfile", "distros", "lint", "cluster", "manifests", "patches"},
	"planfile": {"cmd/mirrorctl", "engine", "distros", "lint", "cluster", "manifests", "patches"},
	// Adapters plan; they never write, lock or snapshot.
	"distros": {"cmd/mirrorctl", "engine", "snapshot", "planfile", "cluster"},
	"lint":    {"cmd/mirrorctl", "engine", "planfile"},
	"engine":  {"cmd/mirrorctl"},
	// The command line's conventions know no mirrorctl package: any command inherits them.
	"cliflags": {"cmd/mirrorctl", "engine", "snapshot", "planfile", "distros", "lint", "cluster", "manifests", "patches", "change", "controllers", "nodefs", "yamledit"},
}

func TestLayers(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go tool on PATH")
	}
	cmd := exec.Command("go", "list", "-tags", "urfave_cli_no_docs", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./...")
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg := strings.TrimPrefix(f[0], module)
		forbidden, ok := layers[pkg]
		if !ok {
			continue
		}
		seen[pkg] = true
		for _, imp := range f[1:] {
			for _, bad := range forbidden {
				if imp == bad || imp == module+bad {
					t.Errorf("%s imports %s, across the line docs/ARCHITECTURE.md draws", pkg, strings.TrimPrefix(imp, module))
				}
			}
		}
	}
	for pkg := range layers {
		if !seen[pkg] {
			t.Errorf("package %s is gone: update the layers table and docs/ARCHITECTURE.md", pkg)
		}
	}
}

// TestCommandLayerWritesNothing: no command calls a lock, snapshot or write function itself; every
// change goes through engine.Run (and engine.Prune).
func TestCommandLayerWritesNothing(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	banned := map[string]bool{"Lock": true, "Commit": true, "Restore": true, "Rollback": true, "Prune": true, "WriteFile": true,
		"Rename": true, "Remove": true, "RemoveAll": true, "Create": true, "OpenFile": true, "Save": true}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || !banned[sel.Sel.Name] {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == "engine" {
				return true
			}
			t.Errorf("%s: %s calls %s: locks, snapshots and writes belong to the engine", fset.Position(call.Pos()), name, sel.Sel.Name)
			return true
		})
	}
}
