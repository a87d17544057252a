package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/mirrorctl/mirrorctl/cliflags"
	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/distros"
	"github.com/mirrorctl/mirrorctl/engine"
	"github.com/mirrorctl/mirrorctl/nodefs"
)

// The bash and zsh scripts ask mirrorctl itself for candidates (urfave/cli's
// --generate-bash-completion, answered by cliflags.Completion), so they never go stale as commands
// and flags change. They pass the words up to the cursor, the one being completed last.
const bashCompletion = `# bash completion for mirrorctl; load with: source <(mirrorctl completion bash)
_mirrorctl_complete() {
  local cur opts
  COMPREPLY=()
  cur="${COMP_WORDS[COMP_CWORD]}"
  opts=$("${COMP_WORDS[0]}" "${COMP_WORDS[@]:1:$COMP_CWORD-1}" "${cur}" --generate-bash-completion 2>/dev/null)
  COMPREPLY=($(compgen -W "${opts}" -- "${cur}"))
  return 0
}
complete -o bashdefault -o default -F _mirrorctl_complete mirrorctl
`

const zshCompletion = `#compdef mirrorctl
# zsh completion for mirrorctl; load with: source <(mirrorctl completion zsh)
_mirrorctl() {
  local -a opts
  opts=("${(@f)$("${words[1]}" "${(@)words[2,CURRENT]}" --generate-bash-completion 2>/dev/null)}")
  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}
compdef _mirrorctl mirrorctl
`

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
	root, err := nodefs.New(g.root)
	if err != nil {
		return nil
	}
	list, err := engine.List(newEnv(c, g, root))
	if err != nil {
		return nil
	}
	var ids []string
	for _, m := range list {
		ids = append(ids, m.ID)
	}
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
			switch c.Args().First() {
			case "bash":
				_, err := fmt.Fprint(c.App.Writer, bashCompletion)
				return err
			case "zsh":
				_, err := fmt.Fprint(c.App.Writer, zshCompletion)
				return err
			case "fish":
				s, err := completion().Fish(c.App)
				if err != nil {
					return err
				}
				_, err = fmt.Fprint(c.App.Writer, s)
				return err
			default:
				return usageErr("completion: want bash, zsh or fish (got %q)", c.Args().First())
			}
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
