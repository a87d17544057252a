// Package cliflags holds what makes mirrorctl's urfave/cli command line behave the way kubectl users
// expect, done once for every command so that commands added later inherit it: global flags accepted
// before or after the command (and listed in every command's help), -oVALUE, flag errors that spell
// flags with two dashes and suggest the nearest name, and the completion candidates of a flag's
// values. It knows no mirrorctl command.
package cliflags

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

// Category is the help heading of the global flags in a command's help.
const Category = "GLOBAL OPTIONS (before or after the command; after it wins)"

// Globalize gives every command (and subcommand) its own copy of the global flags, made by
// newFlags, in Category: urfave/cli parses each command's flags with that command's flag set only,
// so a global flag after the command would otherwise be "not defined". Value reads them back.
func Globalize(cmds []*cli.Command, newFlags func() []cli.Flag) {
	for _, c := range cmds {
		have := map[string]bool{}
		for _, f := range c.Flags {
			for _, n := range f.Names() {
				have[n] = true
			}
		}
		for _, f := range newFlags() {
			if have[f.Names()[0]] {
				continue // the command defines it itself
			}
			setCategory(f, Category)
			c.Flags = append(c.Flags, f)
		}
		Globalize(c.Subcommands, newFlags)
	}
}

func setCategory(f cli.Flag, cat string) {
	switch fl := f.(type) {
	case *cli.StringFlag:
		fl.Category = cat
	case *cli.BoolFlag:
		fl.Category = cat
	case *cli.IntFlag:
		fl.Category = cat
	case *cli.DurationFlag:
		fl.Category = cat
	case *cli.StringSliceFlag:
		fl.Category = cat
	}
}

// IsGlobalCopy reports whether f is a copy Globalize added to a command.
func IsGlobalCopy(f cli.Flag) bool {
	if cf, ok := f.(cli.CategorizableFlag); ok {
		return cf.GetCategory() == Category
	}
	return false
}

// Value returns the context to read the global flag name from: the innermost command on whose
// command line it was given (so `mirrorctl --root A status --root B` reads B), else c (environment
// variable or default, the same at every level).
func Value(c *cli.Context, name string) *cli.Context {
	for _, lc := range c.Lineage() {
		if lc == nil || lc.Command == nil {
			continue
		}
		var names []string
		for _, f := range lc.Command.Flags {
			if slices.Contains(f.Names(), name) {
				names = f.Names()
			}
		}
		if names == nil {
			continue
		}
		for _, n := range localNames(lc) {
			if slices.Contains(names, n) {
				return lc
			}
		}
	}
	return c
}

// localNames are the flags given on lc's own part of the command line (LocalFlagNames also counts
// environment variables, which every level shares; they must not make an outer level win).
func localNames(lc *cli.Context) (out []string) {
	defer func() { _ = recover() }() // a context without a flag set has none
	return lc.LocalFlagNames()
}

// Normalize rewrites args so that -oVALUE reads as -o VALUE for every one-letter flag that takes a
// value (kubectl's -ojson), unless the whole word is itself a flag's name (Go's flag package accepts
// -output as well as --output). Nothing after "--" is touched.
func Normalize(app *cli.App, args []string) []string {
	short, names := map[string]bool{}, map[string]bool{}
	var walk func(flags []cli.Flag, cmds []*cli.Command)
	walk = func(flags []cli.Flag, cmds []*cli.Command) {
		for _, f := range flags {
			for _, n := range f.Names() {
				names[n] = true
				if len(n) == 1 && TakesValue(f) {
					short[n] = true
				}
			}
		}
		for _, c := range cmds {
			walk(c.Flags, c.Subcommands)
		}
	}
	walk(app.Flags, app.Commands)
	out := make([]string, 0, len(args)+1)
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if i > 0 && len(a) > 2 && a[0] == '-' && a[1] != '-' && short[a[1:2]] && a[2] != '=' {
			if name, _, _ := strings.Cut(a[1:], "="); !names[name] {
				out = append(out, a[:2], a[2:])
				continue
			}
		}
		out = append(out, a)
	}
	return out
}

// TakesValue reports whether a flag needs a value (every flag but a switch).
func TakesValue(f cli.Flag) bool {
	if d, ok := f.(cli.DocGenerationFlag); ok {
		return d.TakesValue()
	}
	return false
}

// Dashes spells a flag name as it is typed: -o, --output.
func Dashes(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

var (
	notDefined   = regexp.MustCompile(`^flag provided but not defined: -+(\S+)$`)
	invalidValue = regexp.MustCompile(`^invalid value "(.*)" for flag -+(\S+): (.*)$`)
	needsArg     = regexp.MustCompile(`^flag needs an argument: -+(\S+)$`)
	anyFlag      = regexp.MustCompile(`(^|[\s:])-{1,2}([A-Za-z][A-Za-z0-9-]*)`)
)

// UsageError rewords a flag parsing error of a command whose flags are flags: flags with two dashes
// (as they are typed), the nearest flag name for an unknown one, and "missing unit" for a duration
// given as a bare number (--wait 3).
func UsageError(flags []cli.Flag, err error) error {
	msg := err.Error()
	if m := notDefined.FindStringSubmatch(msg); m != nil {
		s := "unknown flag " + Dashes(m[1])
		if near := Nearest(flagNames(flags), m[1]); near != "" {
			s += fmt.Sprintf(" (did you mean %s?)", Dashes(near))
		}
		return errors.New(s)
	}
	if m := needsArg.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("%s needs a value", Dashes(m[1]))
	}
	if m := invalidValue.FindStringSubmatch(msg); m != nil {
		value, name, why := m[1], m[2], m[3]
		if f := find(flags, name); f != nil {
			if _, ok := f.(*cli.DurationFlag); ok {
				if _, perr := time.ParseDuration(value); perr != nil {
					why = strings.TrimPrefix(perr.Error(), "time: ")
					if strings.Contains(why, "missing unit") {
						why = fmt.Sprintf("missing unit (e.g. %sm or %ss)", value, value)
					}
				}
			}
		}
		return fmt.Errorf("%s %q: %s", Dashes(name), value, why)
	}
	return errors.New(anyFlag.ReplaceAllStringFunc(msg, func(s string) string {
		m := anyFlag.FindStringSubmatch(s)
		return m[1] + Dashes(m[2])
	}))
}

func find(flags []cli.Flag, name string) cli.Flag {
	for _, f := range flags {
		if slices.Contains(f.Names(), name) {
			return f
		}
	}
	return nil
}

func flagNames(flags []cli.Flag) []string {
	var out []string
	for _, f := range flags {
		if v, ok := f.(cli.VisibleFlag); ok && !v.IsVisible() {
			continue
		}
		out = append(out, f.Names()...)
	}
	return append(out, "help")
}

// Nearest returns the candidate closest to typed, or "" when none is close enough to be a typo:
// within a third of the word's length in edits (at least one), or typed as a prefix of it.
func Nearest(candidates []string, typed string) string {
	best, bestD := "", 0
	for _, c := range candidates {
		if len(c) < 2 && len(typed) > 2 {
			continue
		}
		d := distance(c, typed)
		if strings.HasPrefix(c, typed) && len(typed) >= 3 {
			d = 1
		}
		if best == "" || d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" || bestD > max(1, len(typed)/3) {
		return ""
	}
	return best
}

// distance is the Damerau–Levenshtein (optimal string alignment) distance: a swapped pair of
// letters, the commonest typo, counts as one edit.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
