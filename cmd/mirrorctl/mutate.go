package main

import (
	"errors"
	"fmt"
	iofs "io/fs"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/distros"
	"github.com/mirrorctl/mirrorctl/engine"
	"github.com/mirrorctl/mirrorctl/nodefs"
)

// Flags every command that reads a node's targets shares (disable, enable, status): --distro, then one
// flag per adapter input; write says whether the command changes them (else the inputs only a change
// reads are hidden from help: still accepted, so one set of flags serves status and disable alike).
func targetFlags(write bool) []cli.Flag {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "distro", Value: "auto", Usage: "distribution `NAME`: auto or one of " + strings.Join(distros.Names(), ", ") + " (auto: named by a --kind-config, --talos-config, --talos-patch-out or --kops-spec given, else detected under --root)"},
	}
	for _, in := range distros.Inputs() {
		hidden := in.WriteOnly && !write
		switch in.Kind {
		case distros.StringInput:
			flags = append(flags, &cli.StringFlag{Name: in.Name, Usage: in.Usage, TakesFile: in.File, Hidden: hidden})
		case distros.BoolInput:
			flags = append(flags, &cli.BoolFlag{Name: in.Name, Usage: in.Usage, Hidden: hidden})
		case distros.StringsInput:
			flags = append(flags, &cli.StringSliceFlag{Name: in.Name, Usage: in.Usage, TakesFile: in.File, Hidden: hidden})
		default:
			panic(fmt.Sprintf("input %s: kind %s has no flag type", in.Name, in.Kind))
		}
	}
	return flags
}

func mutateCommand(name string) *cli.Command {
	op := controllers.Op(name)
	verb := "off"
	if op == controllers.Enable {
		verb = "back on"
	}
	return &cli.Command{
		Name:  name,
		Usage: "switch the EndpointSlice mirroring controller " + verb,
		Description: fmt.Sprintf(`Plans the change on every target file, shows it as a unified diff, snapshots the files it is
about to change into the state dir, then writes each one atomically. Idempotent: when mirroring is
already %s nothing is written and no snapshot is taken (exit 0, "changed": false).

Examples:
   mirrorctl %s --dry-run
   mirrorctl --root /mnt/node -o json %s --kubeadm-config /etc/kubernetes/kubeadm-config.yaml
   mirrorctl %s --dry-run -f clusters/prod/kcp.yaml

With -f FILE (repeatable) it edits files of a repository instead of a node: a Cluster API
KubeadmControlPlane or KubeadmControlPlaneTemplate, kubespray group_vars, a k0sctl.yaml, or any file the
distribution flags name, each recognised by its content, relative to the current directory. The diff
names them as given, for git apply. All of them or none are written.`, map[bool]string{true: "on", false: "off"}[op == controllers.Enable], name, name, name),
		Flags: append(append(append(targetFlags(true), fileFlag()), waitFlags()...),
			&cli.BoolFlag{Name: "dry-run", Usage: "print the diff and write nothing (no snapshot, no lock, no state dir)"},
			&cli.StringFlag{Name: "controller-name", Usage: "controller `NAME` to write: endpointslicemirroring or endpointslice-mirroring-controller (default: by version)"},
			&cli.BoolFlag{Name: "endpoints-controller", Usage: "also switch the Endpoints controller (endpoint / endpoints-controller, name by version) " + verb + "; disable refuses unless every kube-apiserver is " + distros.EndpointsFreeAPIServer.String() + " or newer"},
			skipAPIServerCheckFlag(),
			&cli.DurationFlag{Name: "lock-timeout", Value: 30 * time.Second, Usage: "how long (`DURATION`) to wait for another mirrorctl run on this node"},
			&cli.BoolFlag{Name: "restart", Usage: "k3s, RKE2, k0s, MicroK8s: restart the service after writing (only with --root /)"},
			forceFlag(),
			exitCodeFlag("with --dry-run: exit 3 when the command would change something, 0 when not (as git diff --exit-code)"),
			&cli.StringFlag{Name: "save-plan", TakesFile: true, Usage: "with --dry-run: save the plan to `FILE` (where you are: relative to the working directory, never under --root) for mirrorctl apply-plan FILE"},
			kubeconfigFlag("also edit the live ClusterConfiguration (ConfigMap kube-system/kubeadm-config) through this kubeconfig `FILE`"),
			timeoutFlag(2*time.Minute),
		),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErr("%s takes no arguments (got %q)", name, c.Args().First())
			}
			g, err := getGlobals(c)
			if err != nil {
				return err
			}
			return runMutate(c, g, op)
		},
	}
}

// baseOptions builds the adapter options from the flags.
func baseOptions(c *cli.Context, g *globals, op controllers.Op) (distros.Options, error) {
	root, err := nodefs.New(g.root)
	if err != nil {
		return distros.Options{}, err
	}
	values := distros.Values{}
	for _, in := range distros.Inputs() {
		switch in.Kind {
		case distros.StringInput:
			v := c.String(in.Name)
			if in.File && v != "" {
				if v, err = g.nodeArg(root, in.Name, v); err != nil {
					return distros.Options{}, err
				}
			}
			values[in.Name] = v
		case distros.BoolInput:
			values[in.Name] = c.Bool(in.Name)
		case distros.StringsInput:
			vs := c.StringSlice(in.Name)
			if in.File {
				vs = append([]string(nil), vs...)
				for i := range vs {
					if vs[i], err = g.nodeArg(root, in.Name, vs[i]); err != nil {
						return distros.Options{}, err
					}
				}
			}
			values[in.Name] = vs
		}
	}
	return distros.Options{Root: root, Op: op, ControllerName: c.String("controller-name"),
		EndpointsController: c.Bool("endpoints-controller"), Inputs: values}, nil
}

// options builds the adapter options and picks the adapter: the one --distro names, or the one detected.
func options(c *cli.Context, g *globals, op controllers.Op) (distros.Adapter, distros.Options, error) {
	o, err := baseOptions(c, g, op)
	if err != nil {
		return nil, o, err
	}
	var given []string
	for _, in := range distros.Inputs() {
		if c.IsSet(in.Name) {
			given = append(given, in.Name)
		}
	}
	a, err := engine.PickAdapter(c.String("distro"), given, o.Root, func(format string, a ...any) { g.vlogf(vDecisions, "distro", format, a...) })
	return a, o, engineErr(err)
}

// engineErr is err, a usage error (exit status 2) when the engine says it is one.
func engineErr(err error) error {
	var u *engine.UsageError
	if errors.As(err, &u) {
		return usageErr("%v", err)
	}
	return err
}

func runMutate(c *cli.Context, g *globals, op controllers.Op) error {
	if filesGiven(c) {
		return runMutateFiles(c, g, op)
	}
	a, o, err := options(c, g, op)
	if err != nil {
		return err
	}
	dryRun := c.Bool("dry-run")
	savePath := c.String("save-plan")
	if savePath != "" && !dryRun {
		return usageErr("--save-plan needs --dry-run: a saved plan is reviewed first, then applied with `mirrorctl apply-plan FILE`")
	}
	if savePath != "" && wantsCluster(c) {
		return usageErr("--save-plan covers node files only; run the --kubeconfig change separately")
	}
	if c.Bool("restart") && o.Root.Dir != "/" {
		return usageErr("--restart restarts this machine's service: it cannot be combined with --root %s", o.Root.Dir)
	}
	if err := checkExitCode(c); err != nil {
		return err
	}
	if c.Duration("wait") > 0 && !c.Bool("dry-run") {
		if err := engineErr(engine.CheckWait(a.Name(), c.Bool("restart"))); err != nil {
			return err
		}
	}
	env := newEnv(c, g, o.Root)
	job := engine.Job{DryRun: dryRun, LockTimeout: c.Duration("lock-timeout"), Force: c.Bool("force"), Gate: gate(c, g, o.Root, a.Name())}
	if c.Bool("restart") {
		job.Activate = engine.Restart(env, a.Name())
	}
	job.APIServers.Skip = c.Bool("skip-apiserver-version-check")
	if wantsCluster(c) {
		cl, err := liveCluster(c, g)
		if err != nil {
			return err
		}
		job.Live = engine.LiveKubeadmConfig(env, cl, op, &o)
		job.APIServers.Cluster = cl
	}
	r, err := engine.Run(c.Context, env, engine.Mutate(env, a, o, job))
	if err != nil {
		return err
	}
	if savePath != "" {
		if _, err := savePlan(g, r.Plan, string(op), engine.PlanInputs(a, o), savePath); err != nil {
			return err
		}
	}
	if err := printResult(g, r); err != nil {
		return err
	}
	return wouldChange(c, r.Changed)
}

func exitCodeFlag(usage string) cli.Flag { return &cli.BoolFlag{Name: "exit-code", Usage: usage} }

// checkExitCode: --exit-code answers "would it change?", a dry run's question.
func checkExitCode(c *cli.Context) error {
	if c.Bool("exit-code") && !c.Bool("dry-run") {
		return usageErr("--exit-code goes with --dry-run")
	}
	return nil
}

// wouldChange is --exit-code's status: 3 when the dry run would change something.
func wouldChange(c *cli.Context, changed bool) error {
	if c.Bool("exit-code") && changed {
		return &exitCode{Code: exitFindings}
	}
	return nil
}

// runMutateFiles is disable and enable with -f: one change over the files given.
func runMutateFiles(c *cli.Context, g *globals, op controllers.Op) error {
	fs, o, err := filesOptions(c, g, op)
	if err != nil {
		return err
	}
	if err := checkExitCode(c); err != nil {
		return err
	}
	env := newEnv(c, g, o.Root)
	job := engine.Job{DryRun: c.Bool("dry-run"), LockTimeout: c.Duration("lock-timeout"), Force: c.Bool("force")}
	job.APIServers.Skip = c.Bool("skip-apiserver-version-check")
	r, err := engine.Run(c.Context, env, engine.MutateFiles(env, fs, o, job))
	if err != nil && !job.DryRun && errors.Is(err, iofs.ErrPermission) {
		return fmt.Errorf("%w (writing -f files takes a lock and snapshots them like node files: run as root, or review with --dry-run and apply its diff with git apply)", err)
	}
	if err != nil {
		return err
	}
	if err := printResult(g, r); err != nil {
		return err
	}
	return wouldChange(c, r.Changed)
}

// forceFlag is --force on the commands that rewrite targets (disable, enable, lint --fix): it writes a
// target with more than one hard link, which the rewrite splits from its other names.
func forceFlag() cli.Flag {
	return &cli.BoolFlag{Name: "force", Usage: "rewrite a target that has more than one hard link (its other names keep the old bytes), with a warning"}
}

// skipAPIServerCheckFlag is the override of the guard before disable --endpoints-controller (and a plan
// that does it): the kube-apiserver versions are then not checked.
func skipAPIServerCheckFlag() cli.Flag {
	return &cli.BoolFlag{Name: strings.TrimPrefix(distros.SkipAPIServerCheckFlag, "--"),
		Usage: "with --endpoints-controller: switch the Endpoints controller off without checking that every kube-apiserver is " + distros.EndpointsFreeAPIServer.String() + " or newer (older ones read Endpoints), with a warning"}
}
