package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/mirrorctl/mirrorctl/cliflags"
	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/distros"
	"github.com/mirrorctl/mirrorctl/engine"
)

// completion says what the shells offer: the values of the flags that have a fixed set, snapshot
// ids for rollback and snapshots show, the shells for completion.
func completion() cliflags.Completion {
	return cliflags.Completion{
		Values: func(c *cli.Context, flag string) []string {
			switch flag {
			case "output", "o":
				return []string{"text", "json"}
			case "color":
				return []string{"auto", "always", "never"}
			case "distro":
				return append([]string{"auto"}, distros.Names()...)
			case "controller-name":
				return []string{controllers.NameAlias, controllers.NameCanonical}
			}
			return nil
		},
		HasArgs: func(cmd *cli.Command) bool { return snapshotArg[cmd.Name] || cmd.Name == "completion" },
		Args: func(c *cli.Context, cmd *cli.Command) []string {
			switch {
			case cmd.Name == "completion":
				return []string{"bash", "zsh", "fish"}
			case snapshotArg[cmd.Name]:
				return snapshotIDs(c)
			}
			return nil
		},
	}
}

// snapshotArg: the commands whose argument is a snapshot id.
var snapshotArg = map[string]bool{"rollback": true, "show": true}

// snapshotIDs lists the snapshot ids of the state dir this command line names; none on any error.
func snapshotIDs(c *cli.Context) []string {
	g, err := getGlobals(c)
	if err != nil {
		return nil
	}
	env, err := g.env(c)
	if err != nil {
		return nil
	}
	ids, _ := engine.IDs(env)
	return ids
}

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script (bash, zsh or fish)",
		ArgsUsage: "bash|zsh|fish",
		Description: `Examples:
   source <(mirrorctl completion bash)
   mirrorctl completion fish > ~/.config/fish/completions/mirrorctl.fish`,
		Action: func(c *cli.Context) error {
			s, err := completion().Script(c.App, c.Args().First())
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(c.App.Writer, s)
			return err
		},
	}
}

func manCommand() *cli.Command {
	return &cli.Command{
		Name:   "man",
		Usage:  "print the man page (roff), generated from the command definitions",
		Hidden: true,
		Action: func(c *cli.Context) error {
			return writeMan(c.App.Writer, c.App)
		},
	}
}
