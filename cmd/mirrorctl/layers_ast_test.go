package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The two rules below hold the rest of docs/ARCHITECTURE.md's separation, which imports cannot show:
// only the YAML editor (package yamledit) turns a node's position into a byte position, and only the
// controllers algebra (package controllers) knows how the --controllers flag is spelled. They read
// syntax, not types, so they are approximations chosen to be simple and strict:
//
//   - position: outside yamledit, no selector .Column at all (a column is only ever a byte position
//     or an indentation in the making), and no .Line as an operand of + - * / % or as an index or a
//     slice bound (line arithmetic is how a caller maps a node onto lines of text). Reporting a line
//     (Finding{Line: n.Line}, fmt arguments, comparisons) is fine.
//   - flag: outside controllers, no string literal whose whole value is the flag's spelling
//     (spellings below); a literal that merely mentions it in a longer message is fine. Code uses
//     controllers.FlagName and the functions of package controllers instead.
var flagSpellings = map[string]bool{
	"--controllers": true, "--controllers=": true, "controllers": true,
	"controllers=": true, "controllers-=": true, "controllers+=": true,
}

// layerViolations checks one parsed file against both rules and returns one line per violation.
func layerViolations(fset *token.FileSet, f *ast.File) []string {
	pkg := f.Name.Name
	var out []string
	report := func(n ast.Node, format string, args ...any) {
		out = append(out, fmt.Sprintf("%s: %s", fset.Position(n.Pos()), fmt.Sprintf(format, args...)))
	}
	// lineOperand marks the .Line selectors used in arithmetic, indexing or slicing.
	lineOperand := map[ast.Expr]bool{}
	mark := func(e ast.Expr) {
		for {
			p, ok := e.(*ast.ParenExpr)
			if !ok {
				break
			}
			e = p.X
		}
		lineOperand[e] = true
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.BinaryExpr:
			switch n.Op {
			case token.ADD, token.SUB, token.MUL, token.QUO, token.REM:
				mark(n.X)
				mark(n.Y)
			}
		case *ast.IndexExpr:
			mark(n.Index)
		case *ast.SliceExpr:
			for _, e := range []ast.Expr{n.Low, n.High, n.Max} {
				if e != nil {
					mark(e)
				}
			}
		case *ast.AssignStmt:
			if n.Tok != token.ASSIGN && n.Tok != token.DEFINE {
				for _, e := range n.Rhs { // x += n.Line
					mark(e)
				}
			}
		}
		return true
	})
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			if pkg == "yamledit" {
				return true
			}
			switch {
			case n.Sel.Name == "Column":
				report(n, "reads .Column: byte positions from node positions are package yamledit's")
			case n.Sel.Name == "Line" && lineOperand[ast.Expr(n)]:
				report(n, "computes with .Line: byte positions from node positions are package yamledit's")
			}
		case *ast.BasicLit:
			if n.Kind != token.STRING || pkg == "controllers" {
				return true
			}
			if s, err := strconv.Unquote(n.Value); err == nil && flagSpellings[s] {
				report(n, "spells the flag as %q: use package controllers (controllers.FlagName)", s)
			}
		}
		return true
	})
	return out
}

// TestLayersInSource applies layerViolations to every non-test Go file of the module. e2e/ holds
// other modules, and testdata is not compiled.
func TestLayersInSource(t *testing.T) {
	fset := token.NewFileSet()
	n := 0
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != "../.." && (name == "e2e" || name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		n++
		for _, v := range layerViolations(fset, f) {
			t.Error(v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 50 {
		t.Fatalf("checked only %d files: is the walk rooted at the module?", n)
	}
}

// TestLayerViolations proves the checker catches what it is meant to: one allowed and one refused
// snippet per rule.
func TestLayerViolations(t *testing.T) {
	cases := []struct {
		name, src string
		bad       bool
	}{
		{"column read", `package p; func f(n *yaml.Node) int { return n.Column - 1 }`, true},
		{"column read in yamledit", `package yamledit; func f(n *yaml.Node) int { return n.Column - 1 }`, false},
		{"line index", `package p; func f(lines []string, n *yaml.Node) string { return lines[n.Line-1] }`, true},
		{"line arithmetic", `package p; func f(base int, n *yaml.Node) int { return base + n.Line }`, true},
		{"line in parentheses", `package p; func f(n *yaml.Node) int { return (n.Line) - 1 }`, true},
		{"line added to", `package p; func f(n *yaml.Node) (x int) { x += n.Line; return }`, true},
		{"line slice bound", `package p; func f(lines []string, n *yaml.Node) []string { return lines[n.Line:] }`, true},
		{"line reported", `package p; func f(n *yaml.Node) Finding { return Finding{Line: n.Line} }`, false},
		{"line in a message", `package p; func f(n *yaml.Node) string { return fmt.Sprintf("line %d", n.Line) }`, false},
		{"line compared", `package p; func f(k, v *yaml.Node) bool { return v.Line > k.Line }`, false},
		{"flag spelled", `package p; func f(argv []string) { controllers.Scan(argv, "controllers") }`, true},
		{"flag prefix spelled", `package p; func f(a string) bool { return strings.HasPrefix(a, "--controllers=") }`, true},
		{"k3s arg spelled", `package p; func f(a string) bool { return strings.HasPrefix(a, "controllers-=") }`, true},
		{"flag spelled in controllers", `package controllers; const FlagName = "controllers"`, false},
		{"flag in a message", `package p; func f(v string) error { return fmt.Errorf("--controllers=%s is broken", v) }`, false},
		{"flag by name", `package p; func f(argv []string) { controllers.Scan(argv, controllers.FlagName) }`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, "snippet.go", c.src, 0)
			if err != nil {
				t.Fatal(err)
			}
			got := layerViolations(fset, f)
			if (len(got) > 0) != c.bad {
				t.Errorf("violations %q; want bad=%v", got, c.bad)
			}
		})
	}
}
