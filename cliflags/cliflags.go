// Package cliflags holds what makes mirrorctl's urfave/cli command line behave the way kubectl users
// expect, done once for every command so that commands added later inherit it: global flags accepted
// before or after the command (and listed in every command's help), -oVALUE, flag errors that spell
// flags with two dashes and suggest the nearest name, and the completion candidates of a flag's
// values. It knows no mirrorctl command.
package cliflags

import (
	"errors"
	"fmt"
	"os"
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
	global:
		for _, f := range newFlags() {
			for _, n := range f.Names() {
				if have[n] {
					continue global // the command has a flag of that name: its own wins
				}
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

// Value returns the context to read the global flag name from: the innermost command on whose
// command line it was given (so `mirrorctl --root A status --root B` reads B), else c (environment
// variable or default, the same at every level).
func Value(c *cli.Context, name string) *cli.Context {
	for _, lc := range c.Lineage() {
		if lc == nil || lc.Command == nil {
			continue
		}
		var flag cli.Flag
		for _, f := range lc.Command.Flags {
			if slices.Contains(f.Names(), name) {
				flag = f
			}
		}
		if flag == nil {
			continue
		}
		for _, n := range localNames(lc) {
			if slices.Contains(flag.Names(), n) && !fromEnv(lc, flag, name) {
				return lc
			}
		}
	}
	return c
}

// fromEnv says whether the value lc holds for flag is its environment variable's rather than one
// given at this level (LocalFlagNames counts both). urfave/cli keeps no record of which it was; a
// value equal to the variable's is taken as the variable's, which gives the same value unless the
// same flag was also given, differently, at an outer level.
func fromEnv(lc *cli.Context, flag cli.Flag, name string) bool {
	d, ok := flag.(cli.DocGenerationFlag)
	if !ok {
		return false
	}
	for _, e := range d.GetEnvVars() {
		if v, set := os.LookupEnv(e); set {
			return fmt.Sprint(lc.Value(name)) == v || (v == "true" && lc.Bool(name))
		}
	}
	return false
}

// localNames are the flags lc's level holds a value of its own for: given there, or from the
// environment (see fromEnv).
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
// within a third of the word's length in edits (at least one), or typed as a prefix of it; never for
// a word shorter than three letters.
func Nearest(candidates []string, typed string) string {
	if len(typed) < 3 {
		return "" // any one- or two-letter word is one edit from too much
	}
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

// Completion says what to offer: Values the candidates of a flag's value by flag name (nil: none,
// the shell completes file names), Args the candidates of a command's arguments.
type Completion struct {
	Values func(c *cli.Context, flag string) []string
	Args   func(c *cli.Context, cmd *cli.Command) []string
	// HasArgs says which commands Args has candidates for (fish asks the binary for those only,
	// and completes file names for the others).
	HasArgs func(cmd *cli.Command) bool
}

// CompletionFlag is the word urfave/cli's completion protocol appends to the command line.
const CompletionFlag = "--generate-bash-completion"

// Install sets the completion of the app and of every command (the bash and zsh scripts ask the
// binary itself, passing the words up to the cursor, the one being completed last, then
// CompletionFlag): after a flag that takes a value, that flag's values; for a word starting with a
// dash, the command's flags; else its subcommands and argument candidates. args is the command line
// as run.
func (cp Completion) Install(app *cli.App, args func() []string) {
	app.BashComplete = cp.complete(nil, app.Flags, app.Commands, args)
	var walk func(cmds []*cli.Command)
	walk = func(cmds []*cli.Command) {
		for _, c := range cmds {
			c.BashComplete = cp.complete(c, c.Flags, c.Subcommands, args)
			walk(c.Subcommands)
		}
	}
	walk(app.Commands)
}

func (cp Completion) complete(cmd *cli.Command, flags []cli.Flag, subs []*cli.Command, args func() []string) cli.BashCompleteFunc {
	return func(c *cli.Context) {
		// The scripts pass the words up to the cursor, the word being completed last (maybe "").
		words := args()
		if n := len(words); n > 0 && words[n-1] == CompletionFlag {
			words = words[:n-1]
		}
		var cur, prev string
		if n := len(words); n > 1 {
			cur = words[n-1]
			if n > 2 {
				prev = words[n-2]
			}
		}
		out := c.App.Writer
		if valueFlag(flags, prev) && !strings.Contains(prev, "=") {
			if cp.Values != nil {
				for _, v := range cp.Values(c, strings.TrimLeft(prev, "-")) {
					fmt.Fprintln(out, v)
				}
			}
			return
		}
		if strings.HasPrefix(cur, "-") {
			for _, f := range flags {
				if v, ok := f.(cli.VisibleFlag); ok && !v.IsVisible() {
					continue
				}
				for _, n := range f.Names() {
					fmt.Fprintln(out, Dashes(n))
				}
			}
			return
		}
		for _, s := range subs {
			if !s.Hidden {
				fmt.Fprintln(out, s.Name)
			}
		}
		if cmd != nil && cp.Args != nil {
			for _, a := range cp.Args(c, cmd) {
				fmt.Fprintln(out, a)
			}
		}
	}
}

// valueFlag says whether word is one of flags that takes a value.
func valueFlag(flags []cli.Flag, word string) bool {
	if !strings.HasPrefix(word, "-") {
		return false
	}
	name, _, _ := strings.Cut(strings.TrimLeft(word, "-"), "=")
	f := find(flags, name)
	return f != nil && TakesValue(f)
}

// Fish returns urfave/cli's fish script with the value candidates added: static ones (values with a
// nil context) inline, and a command's arguments asked of the binary, like bash.
func (cp Completion) Fish(app *cli.App) (string, error) {
	s, err := app.ToFishCompletion()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		line = strings.ReplaceAll(line, "`", "") // a usage's `PLACEHOLDER` marks, not fish syntax
		b.WriteString(line)
		if i := strings.Index(line, " -l "); i >= 0 && cp.Values != nil && strings.Contains(line, " -r") {
			name, _, _ := strings.Cut(line[i+4:], " ")
			if vs := cp.Values(nil, name); len(vs) > 0 {
				fmt.Fprintf(&b, " -a '%s'", strings.Join(vs, " "))
			}
		}
		b.WriteString("\n")
	}
	var walk func(prefix []string, cmds []*cli.Command)
	walk = func(prefix []string, cmds []*cli.Command) {
		for _, c := range cmds {
			if c.Hidden {
				continue
			}
			path := append(append([]string(nil), prefix...), c.Name)
			if cp.HasArgs != nil && cp.HasArgs(c) {
				fmt.Fprintf(&b, "complete -c %s -n '__fish_seen_subcommand_from %s' -f -a '(__%s_args)'\n", app.Name, c.Name, app.Name)
			}
			walk(path, c.Subcommands)
		}
	}
	fmt.Fprintf(&b, `function __%[1]s_args
    set -l words (commandline -opc)
    $words '' %[2]s 2>/dev/null
end
`, app.Name, CompletionFlag)
	walk(nil, app.Commands)
	return strings.TrimRight(b.String(), "\n") + "\n", nil
}

// The bash and zsh scripts ask the program itself for candidates (urfave/cli's
// --generate-bash-completion, answered by cliflags.Completion), so they never go stale as commands
// and flags change. They pass the words up to the cursor, the one being completed last.
const bashScript = `# bash completion for NAME; load with: source <(NAME completion bash)
_NAME_complete() {
  local cur opts
  COMPREPLY=()
  cur="${COMP_WORDS[COMP_CWORD]}"
  opts=$("${COMP_WORDS[0]}" "${COMP_WORDS[@]:1:$COMP_CWORD-1}" "${cur}" --generate-bash-completion 2>/dev/null)
  COMPREPLY=($(compgen -W "${opts}" -- "${cur}"))
  return 0
}
complete -o bashdefault -o default -F _NAME_complete NAME
`

const zshScript = `#compdef NAME
# zsh completion for NAME; load with: source <(NAME completion zsh)
_NAME() {
  local -a opts
  opts=("${(@f)$("${words[1]}" "${(@)words[2,CURRENT]}" --generate-bash-completion 2>/dev/null)}")
  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}
compdef _NAME NAME
`

// Script is the completion script of shell (bash, zsh or fish) for app; another shell is a usage error.
func (cp Completion) Script(app *cli.App, shell string) (string, error) {
	switch shell {
	case "bash":
		return strings.ReplaceAll(bashScript, "NAME", app.Name), nil
	case "zsh":
		return strings.ReplaceAll(zshScript, "NAME", app.Name), nil
	case "fish":
		return cp.Fish(app)
	}
	return "", Usagef("completion: want bash, zsh or fish (got %q)", shell)
}
