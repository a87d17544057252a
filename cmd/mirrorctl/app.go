package main

import (
	"context"
	"fmt"
	"io"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/cliflags"
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
type exitCode = cliflags.Exit

func usageErr(format string, a ...any) error { return cliflags.Usagef(format, a...) }

// Main runs mirrorctl with args (args[0] is the program name) and returns the exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	// Ctrl-C or a TERM from a supervisor cancels writes and waits once a command starts them (see
	// interrupts). A refusal that knows the way out (a managed node: the change to make at its source of
	// truth) prints it first, each line a "[managed]" log line; an API call a signal cut short says which
	// (net/http reports the context's cause); a wait says so itself (engine.InterruptCause).
	ctx, stop := engine.WithInterrupts(context.Background())
	defer stop()
	return cliflags.Run(ctx, newApp(stdout, stderr), args, "managed")
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
		EnableBashCompletion: true,
		Flags:                globalFlags(),
		Commands: []*cli.Command{
			mutateCommand("disable"),
			mutateCommand("enable"),
			statusCommand(),
			rollbackCommand(),
			snapshotsCommand(),
			distrosCommand(),
			cliflags.VersionCommand("mirrorctl", version, commit, date),
			completionCommand(),
			manCommand(),
			showPlanCommand(),
			applyPlanCommand(),
			lintCommand(),
			auditCommand(),
			skipCommand(),
			adoptCommand(),
			pruneEndpointsCommand(),
			cliflags.HelpCommand("mirrorctl"),
		},
	}
	// Once for every command, so commands added later inherit it: the global flags after the
	// command too, and --context wherever --kubeconfig is.
	cliflags.Setup(app, globalFlags, func(c *cli.Command) {
		for _, f := range c.Flags {
			if f.Names()[0] == "kubeconfig" {
				c.Flags = append(c.Flags, contextFlag())
				break
			}
		}
	})
	completion().Install(app, func() []string { return cliflags.Args(app) })
	return app
}

func init() {
	// -v is verbosity, as in kubectl and kubeadm; the version is --version (or `mirrorctl version`).
	cli.VersionFlag = &cli.BoolFlag{Name: "version", Usage: "print the version and exit"}
}

// Verbosity levels of -v (README "Verbosity"): what each adds on stderr.
const (
	vDecisions = 1 // where inputs come from: the distribution picked and why, each path the command line named and the file it is, the kubeconfig, context and server, the state dir
	vRequests  = 2 // every API request: method, URL, status, time
)

func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Name: "v", Value: 0, Usage: "verbosity `N` on stderr (also --v N): 0 the phases and the result; 1 also where inputs come from (distribution and why, paths, kubeconfig, context, server, state dir); 2 also every API request", DefaultText: "0"},
		&cli.StringFlag{Name: "root", Value: "/", Usage: "node file system root `DIR`: every node path read or written resolves under it, like a chroot; files named on the command line are where you are (relative to the working directory), an absolute one under --root when --root is given"},
		&cli.StringFlag{Name: "state-dir", Value: "/var/lib/mirrorctl", Usage: "`DIR` where snapshots live (a node path, under --root); the lock (/run/mirrorctl/lock) and the journal of a change in progress (/var/lib/mirrorctl/transaction.json) are the node's, whatever this says"},
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text", Usage: "result `FORMAT`: text or json (-ojson, --output=json)"},
		&cli.StringFlag{Name: "color", Value: "auto", Usage: "color diffs `WHEN`: auto (on a terminal, unless NO_COLOR is set), always or never"},
		&cli.BoolFlag{Name: "show-secrets", Usage: "print credentials (bootstrap tokens, certificate keys, client keys) in diffs as they are, instead of <redacted>"},
	}
}

type globals struct {
	v           int              // -v
	secrets     change.Redaction // --show-secrets
	root        string
	stateDir    string
	stateDirSet bool // --state-dir given (flag or environment)
	rootSet     bool // --root given
	json        bool
	color       bool
	stdout      io.Writer
	stderr      io.Writer
}

func getGlobals(c *cli.Context) (*globals, error) {
	at := func(name string) *cli.Context { return cliflags.Value(c, name) }
	g := &globals{v: at("v").Int("v"), root: at("root").String("root"), stateDir: at("state-dir").String("state-dir"), stdout: c.App.Writer, stderr: c.App.ErrWriter}
	g.secrets = change.Redaction{Show: at("show-secrets").Bool("show-secrets"), Warn: func() {
		g.logf("warning", "--show-secrets: this output holds credentials; keep it as private as the files they come from")
	}}
	g.stateDirSet = at("state-dir").IsSet("state-dir")
	g.rootSet = at("root").IsSet("root")
	var err error
	if g.json, g.color, err = cliflags.Output(c, g.stdout); err != nil {
		return nil, err
	}
	return g, nil
}

// logf writes a "[phase] message" line to stderr; stdout carries only the result.
func (g *globals) logf(phase, format string, a ...any) {
	fmt.Fprintf(g.stderr, "[%s] %s\n", phase, fmt.Sprintf(format, a...))
}

// named resolves a file the operator named with --flag (nodefs.Root.Arg); a bad one is a usage error.
func (g *globals) named(root nodefs.Root, flag, p string) (nodefs.Named, error) {
	n, err := root.Arg(flag, p, g.sayPath)
	if err != nil {
		return n, usageErr("%v", err)
	}
	return n, nil
}

// nodeArg is named for a file the engine reads or writes: it must be under --root.
func (g *globals) nodeArg(root nodefs.Root, flag, p string) (string, error) {
	n, err := root.NodeArg(flag, p, g.sayPath)
	if err != nil {
		return "", usageErr("%v", err)
	}
	return n, nil
}

func (g *globals) sayPath(verbose bool, format string, a ...any) {
	if !verbose || g.v >= vDecisions {
		g.logf("path", format, a...)
	}
}

// vlogf is logf from verbosity level on (-v level).
func (g *globals) vlogf(level int, phase, format string, a ...any) {
	if g.v >= level {
		g.logf(phase, format, a...)
	}
}

// undoFlags are the global flags an undo hint must repeat for `rollback` to find the snapshot: the
// --root and --state-dir this run used, when not the defaults.
func (g *globals) undoFlags() string {
	s := ""
	if g.rootSet && g.root != "/" {
		s += " --root " + cliflags.ShellQuote(g.root)
	}
	if g.stateDirSet {
		s += " --state-dir " + cliflags.ShellQuote(g.stateDir)
	}
	return s
}

// env is newEnv on the node --root names.
func (g *globals) env(c *cli.Context) (*engine.Env, error) {
	root, err := nodefs.New(g.root)
	if err != nil {
		return nil, err
	}
	return newEnv(c, g, root), nil
}

// newEnv is what the engine needs of this run.
func newEnv(c *cli.Context, g *globals, root nodefs.Root) *engine.Env {
	return &engine.Env{Root: root, StateDir: g.stateDir, Command: cliflags.Args(c.App), Version: version, Stderr: g.stderr,
		Log: g.logf, UndoFlags: g.undoFlags(), StateDirGiven: g.stateDirSet}
}
