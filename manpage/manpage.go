// Package manpage renders a urfave/cli App as a man(7) page. urfave/cli's own ToMan drags in a
// Markdown engine whose package set-up runs at the start of every process of the program that links
// it; this renderer is plain string building.
package manpage

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"
)

// Page is what the App does not say: the page's section and manual, environment variables no flag
// reads, and the sections after ENVIRONMENT, as roff.
type Page struct {
	Section  int
	Manual   string      // e.g. "System Administration"
	EnvIntro string      // the ENVIRONMENT section's first line
	Env      [][2]string // more variables: name, meaning
	Tail     string      // roff for the sections after ENVIRONMENT (EXIT STATUS, FILES, …)
	// SharedCategory: flags in this category are every command's (the global flags, accepted after
	// the command too); they are listed once, under GLOBAL OPTIONS, with SharedNote.
	SharedCategory string
	SharedNote     string
}

// Write renders app: NAME, SYNOPSIS, DESCRIPTION, GLOBAL OPTIONS, COMMANDS (every visible command
// and subcommand with its flags), ENVIRONMENT (every flag's variables, then p.Env), then p.Tail.
func Write(w io.Writer, app *cli.App, p Page) error {
	var b strings.Builder
	f := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	f(".TH %s %d \"\" \"%s\" \"%s\"\n", strings.ToUpper(app.Name), p.Section, app.Name, p.Manual)
	f(".SH NAME\n%s \\- %s\n", app.Name, Roff(app.Usage))
	f(".SH SYNOPSIS\n.B %s\n[\\fIglobal options\\fR] \\fIcommand\\fR [\\fIcommand options\\fR] [\\fIarguments\\fR...]\n", app.Name)
	f(".SH DESCRIPTION\n%s\n", RoffText(app.Description))
	f(".SH GLOBAL OPTIONS\n")
	if p.SharedNote != "" {
		f("%s\n", Roff(p.SharedNote))
	}
	flags(&b, app.Flags, "")
	f(".SH COMMANDS\n")
	for _, c := range app.Commands {
		commandSection(&b, c, "", p.SharedCategory)
	}
	f(".SH ENVIRONMENT\n%s\n", p.EnvIntro)
	for _, e := range envVars(app, p.SharedCategory) {
		f(".TP\n.B %s\n%s\n", Roff(e.name), Roff(e.usedBy))
	}
	for _, e := range p.Env {
		f(".TP\n.B %s\n%s\n", e[0], e[1])
	}
	b.WriteString(p.Tail)
	_, err := io.WriteString(w, b.String())
	return err
}

func commandSection(b *strings.Builder, c *cli.Command, parent, shared string) {
	if c.Hidden {
		return
	}
	name := strings.TrimSpace(parent + " " + c.Name)
	fmt.Fprintf(b, ".SS %s\n", Roff(name))
	if len(c.Aliases) > 0 {
		fmt.Fprintf(b, "(also: %s)\n.br\n", Roff(strings.Join(c.Aliases, ", ")))
	}
	fmt.Fprintf(b, "%s\n", Roff(c.Usage))
	if c.Description != "" {
		fmt.Fprintf(b, ".PP\n%s\n", RoffText(c.Description))
	}
	flags(b, c.Flags, shared)
	for _, s := range c.Subcommands {
		commandSection(b, s, name, shared)
	}
}

// flags renders flags, leaving out those in category skip (listed once under GLOBAL OPTIONS).
func flags(b *strings.Builder, flags []cli.Flag, skip string) {
	for _, f := range flags {
		d, ok := f.(cli.DocGenerationFlag)
		if !ok {
			continue
		}
		if cf, ok := f.(cli.CategorizableFlag); ok && skip != "" && cf.GetCategory() == skip {
			continue
		}
		if v, ok := f.(cli.VisibleFlag); ok && !v.IsVisible() {
			continue
		}
		var names []string
		for i, n := range f.Names() {
			dash := "\\-\\-"
			if len(n) == 1 {
				dash = "\\-"
			}
			names = append(names, "\\fB"+dash+Roff(n)+"\\fR")
			if len(n) == 1 && i == 0 {
				// A one-letter name of its own (kubectl's -v) is typed with two dashes too.
				names = append(names, "\\fB\\-\\-"+Roff(n)+"\\fR")
			}
		}
		head := strings.Join(names, ", ")
		// urfave/cli's convention: a `WORD` in the usage names the value.
		placeholder, usage := unquoteUsage(d.GetUsage())
		if placeholder == "" {
			placeholder = "value"
		}
		if d.TakesValue() {
			head += " \\fI" + Roff(placeholder) + "\\fR"
		}
		text := Roff(usage)
		if _, isBool := f.(*cli.BoolFlag); !isBool {
			def := d.GetDefaultText()
			if def == "" {
				def = d.GetValue()
			}
			if def != "" && def != `""` && def != "[]" {
				text += " (default: " + Roff(def) + ")"
			}
		}
		fmt.Fprintf(b, ".TP\n%s\n%s\n", head, text)
	}
}

type envVar struct{ name, usedBy string }

// envVars lists every environment variable a flag reads, with the flag(s) it sets.
func envVars(app *cli.App, skip string) []envVar {
	by := map[string][]string{}
	var walk func(prefix string, flags []cli.Flag, cmds []*cli.Command)
	walk = func(prefix string, flags []cli.Flag, cmds []*cli.Command) {
		for _, f := range flags {
			d, ok := f.(cli.DocGenerationFlag)
			if !ok {
				continue
			}
			if cf, ok := f.(cli.CategorizableFlag); ok && skip != "" && cf.GetCategory() == skip {
				continue
			}
			for _, e := range d.GetEnvVars() {
				by[e] = append(by[e], strings.TrimSpace(prefix+" --"+f.Names()[0]))
			}
		}
		for _, c := range cmds {
			if !c.Hidden {
				walk(strings.TrimSpace(prefix+" "+c.Name), c.Flags, c.Subcommands)
			}
		}
	}
	walk("", app.Flags, app.Commands)
	var out []envVar
	for e, users := range by {
		sort.Strings(users)
		out = append(out, envVar{e, strings.Join(dedupe(users), ", ")})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func dedupe(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// Roff escapes text for a roff line: backslashes, hyphens that must stay ASCII (flags, paths), and a
// leading dot or quote that roff would read as a request.
func Roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	// Non-ASCII as named code points: man(1) does not run every page through preconv.
	var b strings.Builder
	for _, r := range s {
		if r < 0x80 {
			b.WriteRune(r)
		} else {
			fmt.Fprintf(&b, `\[u%04X]`, r)
		}
	}
	return b.String()
}

// RoffText is Roff for a paragraph that keeps its line breaks as filled text and blank lines as
// paragraph breaks; indented lines (examples) are kept as they are.
func RoffText(s string) string {
	var out []string
	inEx := false
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		indented := strings.HasPrefix(line, "  ") || strings.HasPrefix(line, "\t")
		switch {
		case indented && !inEx:
			out = append(out, ".PP", ".EX")
			inEx = true
		case !indented && inEx:
			out = append(out, ".EE")
			inEx = false
		}
		if strings.TrimSpace(line) == "" && !inEx {
			out = append(out, ".PP")
			continue
		}
		out = append(out, Roff(line))
	}
	if inEx {
		out = append(out, ".EE")
	}
	return strings.Join(out, "\n")
}

// unquoteUsage is urfave/cli's (unexported) rule: the first `WORD` in a usage names the flag's
// value, and prints without the backticks.
func unquoteUsage(usage string) (string, string) {
	i := strings.IndexByte(usage, '`')
	if i < 0 {
		return "", usage
	}
	j := strings.IndexByte(usage[i+1:], '`')
	if j < 0 {
		return "", usage
	}
	name := usage[i+1 : i+1+j]
	return name, usage[:i] + name + usage[i+2+j:]
}
