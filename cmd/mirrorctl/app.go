package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mirrorctl/mirrorctl/engine"
	"github.com/mirrorctl/mirrorctl/nodefs"
	"github.com/urfave/cli/v2"
)

// Set at build time by the Makefile (-ldflags -X).
var (
	version = "dev"
	commit  = "unknown"
	date    = "unknown"
)

// Exit codes are part of the public contract (README "Exit codes").
const (
	exitOK       = 0
	exitError    = 1 // nothing on disk changed
	exitUsage    = 2
	exitFindings = 3 // lint findings, audit says something depends on mirroring
)

// exitCode carries a non-error exit status (findings) or an error with its status.
type exitCode struct {
	code int
	err  error
}

func (e *exitCode) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}
func (e *exitCode) Unwrap() error { return e.err }

func usageErr(format string, a ...any) error {
	return &exitCode{code: exitUsage, err: fmt.Errorf(format, a...)}
}

// Main runs mirrorctl with args (args[0] is the program name) and returns the exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	app.Metadata = map[string]any{"args": args}
	// Ctrl-C or a TERM from a supervisor cancels writes and waits once a command starts them (see
	// interrupts).
	ctx, stop := engine.WithInterrupts(context.Background())
	defer stop()
	err := app.RunContext(ctx, args)
	if err == nil {
		if app.Metadata["usage"] == true {
			return exitUsage
		}
		return exitOK
	}
	code := exitError
	var ec *exitCode
	if errors.As(err, &ec) {
		code = ec.code
		if ec.err == nil {
			return code
		}
	}
	// A refusal that knows the way out (a managed node: the change to make at its source of truth)
	// prints it first, each line a "[managed]" log line, so the error itself stays one line.
	var d interface{ Details() []string }
	if errors.As(err, &d) {
		for _, l := range d.Details() {
			fmt.Fprintf(stderr, "[managed] %s\n", l)
		}
	}
	// One line, always: scripts and Ansible show it as is. An API call a signal cut short says which
	// (net/http reports the context's cause); a wait says so itself (engine.InterruptCause).
	fmt.Fprintf(stderr, "mirrorctl: %s\n", strings.Join(strings.Fields(err.Error()), " "))
	return code
}

func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:  "mirrorctl",
		Usage: "switch kube-controller-manager's EndpointSlice mirroring controller off and on, safely",
		Description: `mirrorctl edits kube-controller-manager's --controllers flag where the node's Kubernetes
distribution keeps it (kubeadm: the static pod manifest and the ClusterConfiguration), shows every
change as a unified diff first, snapshots every file before writing it, writes atomically, and can
roll back byte for byte. It never uses a feature gate: there is no EndpointSliceMirroring gate, and
an unknown gate stops the component from starting.`,
		Version:              fmt.Sprintf("%s (commit %s, built %s)", version, commit, date),
		Writer:               stdout,
		ErrWriter:            stderr,
		HideHelpCommand:      true,
		EnableBashCompletion: true,
		Flags:                globalFlags(),
		Commands: []*cli.Command{
			mutateCommand("disable"),
			mutateCommand("enable"),
			statusCommand(),
			rollbackCommand(),
			snapshotsCommand(),
			distrosCommand(),
			versionCommand(),
			completionCommand(),
			manCommand(),
			showPlanCommand(),
			applyPlanCommand(),
			lintCommand(),
			auditCommand(),
			skipCommand(),
			adoptCommand(),
			pruneEndpointsCommand(),
		},
		OnUsageError: func(c *cli.Context, err error, isSub bool) error {
			return &exitCode{code: exitUsage, err: err}
		},
		CommandNotFound: func(c *cli.Context, name string) {
			fmt.Fprintf(c.App.ErrWriter, "mirrorctl: unknown command %q (see mirrorctl --help)\n", name)
			c.App.Metadata["usage"] = true
		},
		ExitErrHandler: func(*cli.Context, error) {}, // Main reports errors, once
	}
	addEnvVars(app.Flags, "")
	for _, c := range app.Commands {
		setUsageHandler(c)
	}
	return app
}

func setUsageHandler(c *cli.Command) {
	c.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
		return &exitCode{code: exitUsage, err: fmt.Errorf("%s: %w", c.Name, err)}
	}
	addEnvVars(c.Flags, "")
	for _, s := range c.Subcommands {
		setUsageHandler(s)
	}
}

// addEnvVars gives every flag an environment variable MIRRORCTL_<FLAG>, so Ansible, systemd units and
// CI can set anything without building command lines. It reads the Name field, not Names(): urfave/cli
// runs a regexp over every name there, and this walks every flag of every command at each start.
func addEnvVars(flags []cli.Flag, _ string) {
	env := func(name string, vars *[]string) {
		if len(*vars) == 0 {
			*vars = []string{"MIRRORCTL_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))}
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

func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "root", Value: "/", Usage: "node file system root: every path read or written resolves under it, like a chroot"},
		&cli.StringFlag{Name: "state-dir", Value: "/var/lib/mirrorctl", Usage: "where snapshots live (under --root); the lock (/run/mirrorctl/lock) and the journal of a change in progress (/var/lib/mirrorctl/transaction.json) are the node's, whatever this says"},
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text", Usage: "result format: text or json"},
		&cli.StringFlag{Name: "color", Value: "auto", Usage: "color diffs: auto (on a terminal, unless NO_COLOR is set), always or never"},
		&cli.BoolFlag{Name: "show-secrets", Usage: "print credentials (bootstrap tokens, certificate keys, client keys) in diffs as they are, instead of <redacted>"},
	}
}

type globals struct {
	secrets       bool // --show-secrets
	warnedSecrets bool
	root          string
	stateDir      string
	json          bool
	color         bool
	stdout        io.Writer
	stderr        io.Writer
}

func getGlobals(c *cli.Context) (*globals, error) {
	g := &globals{secrets: c.Bool("show-secrets"), root: c.String("root"), stateDir: c.String("state-dir"), stdout: c.App.Writer, stderr: c.App.ErrWriter}
	switch c.String("output") {
	case "text", "":
	case "json":
		g.json = true
	default:
		return nil, usageErr("--output %q: want text or json", c.String("output"))
	}
	switch c.String("color") {
	case "always":
		g.color = true
	case "never":
	case "auto", "":
		g.color = isTerminal(g.stdout) && os.Getenv("NO_COLOR") == ""
	default:
		return nil, usageErr("--color %q: want auto, always or never", c.String("color"))
	}
	return g, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// logf writes a "[phase] message" line to stderr; stdout carries only the result.
func (g *globals) logf(phase, format string, a ...any) {
	fmt.Fprintf(g.stderr, "[%s] %s\n", phase, fmt.Sprintf(format, a...))
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print mirrorctl's version",
		Action: func(c *cli.Context) error {
			g, err := getGlobals(c)
			if err != nil {
				return err
			}
			if g.json {
				return writeJSON(g.stdout, map[string]string{"version": version, "commit": commit, "date": date})
			}
			fmt.Fprintf(g.stdout, "mirrorctl %s (commit %s, built %s)\n", version, commit, date)
			return nil
		},
	}
}

// commandLine is the command as run, recorded in snapshot metadata.
func commandLine(c *cli.Context) []string {
	if a, ok := c.App.Metadata["args"].([]string); ok {
		return a
	}
	return nil
}

// newEnv is what the engine needs of this run.
func newEnv(c *cli.Context, g *globals, root nodefs.Root) *engine.Env {
	return &engine.Env{Root: root, StateDir: g.stateDir, Command: commandLine(c), Version: version, Stderr: g.stderr,
		Log: g.logf}
}
