package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"
)

// writeMan renders the man page from the command definitions. mirrorctl renders it itself rather than
// with urfave/cli's ToMan: that one drags in a Markdown engine whose package set-up runs at the start
// of every mirrorctl process (the binary is built with -tags urfave_cli_no_docs to leave it out).
func writeMan(w io.Writer, app *cli.App) error {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p(".TH MIRRORCTL 8 \"\" \"mirrorctl\" \"System Administration\"\n")
	p(".SH NAME\nmirrorctl \\- %s\n", roff(app.Usage))
	p(".SH SYNOPSIS\n.B mirrorctl\n[\\fIglobal options\\fR] \\fIcommand\\fR [\\fIcommand options\\fR] [\\fIarguments\\fR...]\n")
	p(".SH DESCRIPTION\n%s\n", roffText(app.Description))
	p(".SH GLOBAL OPTIONS\n")
	manFlags(&b, app.Flags)
	p(".SH COMMANDS\n")
	for _, c := range app.Commands {
		manCommandSection(&b, c, "")
	}
	p(".SH ENVIRONMENT\nEvery option can also be set from the environment; a flag on the command line wins.\n")
	for _, e := range envVars(app) {
		p(".TP\n.B %s\n%s\n", roff(e.name), roff(e.usedBy))
	}
	p(".TP\n.B NO_COLOR\nwhen set, --color auto never colors\n")
	p(".TP\n.B KUBECONFIG\nkubeconfig files for the cluster commands when --kubeconfig is not given\n")
	p(".SH EXIT STATUS\n")
	for _, e := range [][2]string{
		{"0", "success, changed or not"},
		{"1", "error: one line on stderr naming the file and the problem; nothing on disk changed"},
		{"2", "usage error (unknown flag or command, bad flag value)"},
		{"3", "findings (lint), or something depends on mirroring (audit)"},
	} {
		p(".TP\n.B %s\n%s\n", e[0], roff(e[1]))
	}
	p(".SH SIGNALS\n%s\n", roff("SIGINT and SIGTERM end a run at once while it has written nothing (a plan, status, lint, waiting for the lock). Once a command holds the lock, calls the API server or runs the --wait gate, they are caught: writes finish, the call or wait is cancelled, and the command says what state it leaves and how to undo it."))
	p(".SH FILES\n.TP\n.I /etc/kubernetes/manifests/kube\\-controller\\-manager.yaml\nkubeadm's kube-controller-manager static pod manifest\n")
	p(".TP\n.I /etc/kubernetes/kubeadm\\-config.yaml\nkubeadm configuration, edited when present\n")
	p(".TP\n.I /var/lib/mirrorctl\nsnapshots (--state-dir)\n")
	p(".TP\n.I /var/lib/mirrorctl/transaction.json\nthe journal of a change in progress, whatever --state-dir says: present after a run died between two files (status reports it; rollback restores them, a re-run completes the change)\n")
	p(".TP\n.I /run/mirrorctl/lock\nthe node's one lock, whatever --state-dir says\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func manCommandSection(b *strings.Builder, c *cli.Command, parent string) {
	if c.Hidden {
		return
	}
	name := strings.TrimSpace(parent + " " + c.Name)
	fmt.Fprintf(b, ".SS %s\n", roff(name))
	if len(c.Aliases) > 0 {
		fmt.Fprintf(b, "(also: %s)\n.br\n", roff(strings.Join(c.Aliases, ", ")))
	}
	fmt.Fprintf(b, "%s\n", roff(c.Usage))
	if c.Description != "" {
		fmt.Fprintf(b, ".PP\n%s\n", roffText(c.Description))
	}
	manFlags(b, c.Flags)
	for _, s := range c.Subcommands {
		manCommandSection(b, s, name)
	}
}

func manFlags(b *strings.Builder, flags []cli.Flag) {
	for _, f := range flags {
		d, ok := f.(cli.DocGenerationFlag)
		if !ok {
			continue
		}
		if v, ok := f.(cli.VisibleFlag); ok && !v.IsVisible() {
			continue
		}
		var names []string
		for _, n := range f.Names() {
			dash := "\\-\\-"
			if len(n) == 1 {
				dash = "\\-"
			}
			names = append(names, "\\fB"+dash+roff(n)+"\\fR")
		}
		head := strings.Join(names, ", ")
		if d.TakesValue() {
			head += " \\fIvalue\\fR"
		}
		text := roff(d.GetUsage())
		if _, isBool := f.(*cli.BoolFlag); !isBool {
			def := d.GetDefaultText()
			if def == "" {
				def = d.GetValue()
			}
			if def != "" && def != `""` && def != "[]" {
				text += " (default: " + roff(def) + ")"
			}
		}
		fmt.Fprintf(b, ".TP\n%s\n%s\n", head, text)
	}
}

type envVar struct{ name, usedBy string }

// envVars lists every MIRRORCTL_* variable with the flag(s) it sets.
func envVars(app *cli.App) []envVar {
	by := map[string][]string{}
	var walk func(prefix string, flags []cli.Flag, cmds []*cli.Command)
	walk = func(prefix string, flags []cli.Flag, cmds []*cli.Command) {
		for _, f := range flags {
			d, ok := f.(cli.DocGenerationFlag)
			if !ok {
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

// roff escapes text for a roff line: backslashes, hyphens that must stay ASCII (flags, paths), and a
// leading dot or quote that roff would read as a request.
func roff(s string) string {
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

// roffText is roff for a paragraph that keeps its line breaks as filled text and blank lines as
// paragraph breaks; indented lines (examples) are kept as they are.
func roffText(s string) string {
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
		out = append(out, roff(line))
	}
	if inEx {
		out = append(out, ".EE")
	}
	return strings.Join(out, "\n")
}
