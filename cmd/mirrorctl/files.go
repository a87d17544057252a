package main

import (
	"os"
	"slices"

	"github.com/urfave/cli/v2"

	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/distros"
)

// fileFlag is -f on disable, enable and status.
func fileFlag() cli.Flag {
	return &cli.StringSliceFlag{Name: "file", Aliases: []string{"f"}, TakesFile: true,
		Usage: "edit (or report) this repository `FILE` instead of a node: Cluster API KubeadmControlPlane(Template), kubespray group_vars, k0sctl.yaml, or any config the distribution flags read; recognised by content, relative to the current directory, never under --root (repeatable: one change)"}
}

// filesGiven reports whether -f was given.
func filesGiven(c *cli.Context) bool { return len(c.StringSlice("file")) > 0 }

// filesOptions builds the -f source: the files are on this machine, so the root is "/", and what
// would name a node is refused rather than ignored.
func filesOptions(c *cli.Context, g *globals, op controllers.Op) (*distros.Files, distros.Options, error) {
	var o distros.Options
	if g.root != "" && g.root != "/" {
		return nil, o, usageErr("-f names files on this machine, relative to the current directory; --root names a node: run them separately")
	}
	if d := c.String("distro"); d != "auto" && d != "" {
		return nil, o, usageErr("-f recognises each file by its content: drop --distro %s", d)
	}
	for _, in := range distros.Inputs() {
		honoured := slices.ContainsFunc((*distros.Files)(nil).Inputs(), func(fi distros.Input) bool { return fi.Name == in.Name })
		if c.IsSet(in.Name) && !honoured {
			return nil, o, usageErr("-f edits the files it names; --%s is for a node: run it separately (or name that file with -f)", in.Name)
		}
	}
	if c.IsSet("save-plan") {
		return nil, o, usageErr("--save-plan is for a node's files; with -f the repository is the plan: review `--dry-run` (git apply takes its diff), then run without --dry-run")
	}
	for _, f := range []string{"kubeconfig", "context", "wait", "restart"} {
		if c.IsSet(f) {
			return nil, o, usageErr("--%s cannot be combined with -f: the files are applied elsewhere, by the tool that owns them", f)
		}
	}
	cwd, err := os.Getwd()
	if err != nil {
		return nil, o, err
	}
	fs, err := distros.NewFiles(cwd, c.StringSlice("file"))
	if err != nil {
		return nil, o, usageErr("%v", err)
	}
	// The same options a node run gets (so every switch of the command reaches the files' editors),
	// over this machine's root.
	o, err = baseOptions(c, g, op)
	return fs, o, err
}
