package cliflags

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
)

// ExitUsage is the exit status of a usage error (unknown flag or command, bad flag value).
const ExitUsage = 2

// Exit carries a non-error exit status (findings: Err nil) or an error with its status.
type Exit struct {
	Code int
	Err  error
}

func (e *Exit) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit %d", e.Code)
	}
	return e.Err.Error()
}
func (e *Exit) Unwrap() error { return e.Err }

// Usagef is a usage error: exit status ExitUsage.
func Usagef(format string, a ...any) error {
	return &Exit{Code: ExitUsage, Err: fmt.Errorf(format, a...)}
}

// Metadata keys Run and the app share: the command line as run, whether -o json was read, and the
// message of a usage error urfave/cli reports without returning an error (an unknown command).
const (
	metaArgs  = "args"
	metaJSON  = "json"
	metaUsage = "usage"
)

// Args is the command line as run (args[0] the program name), recorded in snapshot metadata.
func Args(app *cli.App) []string {
	if a, ok := app.Metadata[metaArgs].([]string); ok {
		return a
	}
	return nil
}

// Run runs app with args (args[0] is the program name) and returns the exit status. Errors are
// reported once, here: one line "NAME: message" on stderr (an error with Details() []string prints
// those first, each a "[detailTag] ..." line), and with -o json also {"error", "exit_code"} on
// stdout, so scripts read one stream.
func Run(ctx context.Context, app *cli.App, args []string, detailTag string) int {
	if app.Metadata == nil {
		app.Metadata = map[string]any{}
	}
	app.Metadata[metaArgs] = args
	args = Normalize(app, args)
	stdout, stderr := app.Writer, app.ErrWriter
	err := app.RunContext(ctx, args)
	if err == nil {
		if msg, ok := app.Metadata[metaUsage].(string); ok {
			if jsonRequested(app, args) {
				_ = WriteJSON(stdout, map[string]any{"error": msg, "exit_code": ExitUsage})
			}
			return ExitUsage
		}
		return 0
	}
	code := 1
	var ec *Exit
	if errors.As(err, &ec) {
		code = ec.Code
		if ec.Err == nil {
			return code
		}
	}
	// A refusal that knows the way out prints it first, so the error itself stays one line.
	var d interface{ Details() []string }
	if errors.As(err, &d) {
		for _, l := range d.Details() {
			fmt.Fprintf(stderr, "[%s] %s\n", detailTag, l)
		}
	}
	// One line, always: scripts and Ansible show it as is.
	msg := strings.Join(strings.Fields(err.Error()), " ")
	fmt.Fprintf(stderr, "%s: %s\n", app.Name, msg)
	if app.Metadata[metaJSON] == true || (app.Metadata[metaJSON] == nil && jsonRequested(app, args)) {
		_ = WriteJSON(stdout, map[string]any{"error": msg, "exit_code": code})
	}
	return code
}

// WriteJSON writes v indented, the way every result is printed.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// envPrefix is the prefix of every flag's environment variable: NAME_ for app NAME.
func envPrefix(app *cli.App) string { return strings.ToUpper(app.Name) + "_" }

// jsonRequested says whether the command line (or NAME_OUTPUT) asks for -o json, for errors
// raised before the flags were read (a usage error). The last -o wins, as it does for the flags.
func jsonRequested(app *cli.App, args []string) bool {
	out := os.Getenv(envPrefix(app) + "OUTPUT")
	for i := 1; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || (name != "o" && name != "output") {
			continue
		}
		if !hasValue && i+1 < len(args) {
			i++
			value = args[i]
		}
		out = value
	}
	return out == "json"
}

// Setup wires the app's commands (set them first) the kubectl way, once, so commands added later
// inherit it: the global flags (made by globals) after the command too, an environment variable
// NAME_<FLAG> for every flag, usage errors with exit status ExitUsage that name the command and
// suggest the nearest flag or command, no `help` subcommand (HelpCommand is the help), and each
// command passed to perCommand (for flags that go with others) before its own flags are wired.
func Setup(app *cli.App, globals func() []cli.Flag, perCommand func(*cli.Command)) {
	app.HideHelpCommand = true
	app.OnUsageError = func(c *cli.Context, err error, isSub bool) error {
		return &Exit{Code: ExitUsage, Err: UsageError(app.Flags, err)}
	}
	app.CommandNotFound = func(c *cli.Context, name string) {
		msg := fmt.Sprintf("unknown command %q%s (see %s --help)", name, didYouMean(app.Commands, name), app.Name)
		fmt.Fprintf(c.App.ErrWriter, "%s: %s\n", app.Name, msg)
		c.App.Metadata[metaUsage] = msg
	}
	app.ExitErrHandler = func(*cli.Context, error) {} // Run reports errors, once
	Globalize(app.Commands, globals)
	addEnvVars(app.Flags, envPrefix(app))
	for _, c := range app.Commands {
		setUsageHandler(app, c, "", perCommand)
	}
}

// HelpCommand is `NAME help [COMMAND [SUBCOMMAND]]`: the same text as COMMAND --help. urfave/cli's
// help command makes itself its own subcommand when run, which a second App in the same process
// (the tests) then walks forever.
func HelpCommand(appName string) *cli.Command {
	return &cli.Command{
		Name:      "help",
		Usage:     "show the help of " + appName + " or of a command (the same as COMMAND --help)",
		ArgsUsage: "[COMMAND [SUBCOMMAND]]",
		Action: func(c *cli.Context) error {
			args := c.Args().Slice()
			if len(args) == 0 {
				return cli.ShowAppHelp(c)
			}
			cmds, name := c.App.Commands, ""
			var cmd *cli.Command
			for _, a := range args {
				cmd = nil
				for _, x := range cmds {
					if x.HasName(a) && !x.Hidden {
						cmd = x
					}
				}
				if cmd == nil {
					return Usagef("help: unknown command %q%s", strings.TrimSpace(name+" "+a), didYouMean(cmds, a))
				}
				name = strings.TrimSpace(name + " " + a)
				cmds = cmd.Subcommands
			}
			if len(args) == 1 {
				return cli.ShowCommandHelp(c, args[0])
			}
			cli.HelpPrinter(c.App.Writer, cli.CommandHelpTemplate, cmd)
			return nil
		},
	}
}

func didYouMean(cmds []*cli.Command, typed string) string {
	var names []string
	for _, c := range cmds {
		if !c.Hidden {
			names = append(names, c.Names()...)
		}
	}
	if near := Nearest(append(names, "help"), typed); near != "" {
		return fmt.Sprintf(" (did you mean %q?)", near)
	}
	return ""
}

func setUsageHandler(app *cli.App, c *cli.Command, parent string, perCommand func(*cli.Command)) {
	name := strings.TrimSpace(parent + " " + c.Name)
	c.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
		return &Exit{Code: ExitUsage, Err: fmt.Errorf("%s: %w", name, UsageError(c.Flags, err))}
	}
	c.HideHelpCommand = true
	if parent != "" {
		c.HelpName = app.Name + " " + name
	}
	if len(c.Subcommands) > 0 && c.Action == nil {
		sub := c
		c.Action = func(cc *cli.Context) error {
			if cc.NArg() == 0 {
				return cli.ShowSubcommandHelp(cc)
			}
			return Usagef("%s: unknown command %q%s", name, cc.Args().First(), didYouMean(sub.Subcommands, cc.Args().First()))
		}
	}
	if perCommand != nil {
		perCommand(c)
	}
	addEnvVars(c.Flags, envPrefix(app))
	for _, s := range c.Subcommands {
		setUsageHandler(app, s, name, perCommand)
	}
}

// addEnvVars gives every flag an environment variable PREFIX<FLAG>, so Ansible, systemd units and
// CI can set anything without building command lines. It reads the Name field, not Names(): urfave/cli
// runs a regexp over every name there, and this walks every flag of every command at each start.
func addEnvVars(flags []cli.Flag, prefix string) {
	env := func(name string, vars *[]string) {
		if len(*vars) == 0 {
			*vars = []string{prefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))}
		}
	}
	for _, f := range flags {
		switch fl := f.(type) {
		case *cli.StringFlag:
			env(fl.Name, &fl.EnvVars)
		case *cli.BoolFlag:
			env(fl.Name, &fl.EnvVars)
		case *cli.StringSliceFlag:
			env(fl.Name, &fl.EnvVars)
		case *cli.DurationFlag:
			env(fl.Name, &fl.EnvVars)
		case *cli.IntFlag:
			env(fl.Name, &fl.EnvVars)
		}
	}
}

// IsTerminal says whether w is a terminal (for --color auto and progress lines).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// ShellQuote quotes s for a POSIX shell, only when it needs it (hints the operator copies).
func ShellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@%+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Output reads the global --output (text or json) and --color (auto, always or never) flags: whether
// the result is JSON (Run then prints errors as JSON too) and whether diffs on w get colors (auto: on a
// terminal, unless NO_COLOR is set).
func Output(c *cli.Context, w io.Writer) (json, color bool, err error) {
	switch out := Value(c, "output").String("output"); out {
	case "text", "":
		c.App.Metadata[metaJSON] = false
	case "json":
		json = true
		c.App.Metadata[metaJSON] = true
	default:
		return false, false, Usagef("--output %q: want text or json", out)
	}
	switch col := Value(c, "color").String("color"); col {
	case "always":
		color = true
	case "never":
	case "auto", "":
		color = IsTerminal(w) && os.Getenv("NO_COLOR") == ""
	default:
		return json, false, Usagef("--color %q: want auto, always or never", col)
	}
	return json, color, nil
}

// VersionCommand is `NAME version`: "NAME VERSION (commit COMMIT, built DATE)", or with -o json an
// object {"version", "commit", "date"}.
func VersionCommand(name, version, commit, date string) *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print " + name + "'s version",
		Action: func(c *cli.Context) error {
			json, _, err := Output(c, c.App.Writer)
			if err != nil {
				return err
			}
			if json {
				return WriteJSON(c.App.Writer, map[string]string{"version": version, "commit": commit, "date": date})
			}
			fmt.Fprintf(c.App.Writer, "%s %s (commit %s, built %s)\n", name, version, commit, date)
			return nil
		},
	}
}
