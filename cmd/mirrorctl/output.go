package main

import (
	"fmt"
	"io"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/cliflags"
	"github.com/mirrorctl/mirrorctl/engine"
)

func writeJSON(w io.Writer, v any) error { return cliflags.WriteJSON(w, v) }

// printDiffs prints each change's unified diff on stdout: `mirrorctl disable --dry-run > change.patch`
// is a patch.
func printDiffs(g *globals, changes []change.FileChange) int {
	n := 0
	for _, f := range changes {
		d := g.secrets.Diff(f.UnifiedDiff())
		if d == "" {
			continue
		}
		n++
		if g.color {
			d = change.Colorize(d)
		}
		fmt.Fprint(g.stdout, d)
	}
	return n
}

// printResult prints a changing command's result: JSON (extra, when not nil, is the command's object
// embedding r), or in text mode the diff alone on stdout and the summary on stderr.
func printResult(g *globals, r *engine.Result, extra ...any) error {
	for _, w := range r.Warnings {
		g.logf("warning", "%s", w)
	}
	for _, n := range r.Remarks {
		g.logf("note", "%s", n)
	}
	if g.json {
		g.secrets.Entries(r.Diff)
		if len(extra) > 0 {
			return writeJSON(g.stdout, extra[0])
		}
		return writeJSON(g.stdout, r)
	}
	printDiffs(g, r.Changes)
	fmt.Fprintln(g.stderr, r.Summary(g.undoFlags()))
	return nil
}
