package main

import (
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/distros"
	"github.com/mirrorctl/mirrorctl/lint"
	"github.com/mirrorctl/mirrorctl/nodefs"
	"github.com/mirrorctl/mirrorctl/snapshot"
)

// Flags every command that reads a node's targets shares (disable, enable, status).
func targetFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "distro", Value: "auto", Usage: "distribution: auto or one of " + fmt.Sprint(distros.Names())},
		&cli.StringSliceFlag{Name: "kubeadm-config", Usage: "kubeadm config file or exported kubeadm-config ConfigMap to edit too (repeatable; default: /etc/kubernetes/kubeadm-config.yaml when present)"},
		&cli.StringFlag{Name: "k0s-config", Usage: "k0s: config file (default /etc/k0s/k0s.yaml)"},
		&cli.BoolFlag{Name: "i-understand-k0s-ha-needs-mirroring", Usage: "k0s: disable mirroring even on an HA control plane, whose `kubernetes` Endpoints depend on it"},
		&cli.StringFlag{Name: "kind-config", Usage: "kind: cluster config file to edit"},
		&cli.StringFlag{Name: "kind-node-version", Usage: "kind: Kubernetes version of the node image (picks the kubeadm extraArgs shape)"},
		&cli.StringFlag{Name: "talos-config", Usage: "Talos: machine config file to rewrite"},
		&cli.StringFlag{Name: "talos-patch-out", Usage: "Talos: write a machine-config patch for `talosctl patch mc --patch @FILE` here"},
		&cli.BoolFlag{Name: "talos-document", Usage: "Talos: emit the v1.14+ KubeControllerManagerConfig document form"},
		&cli.StringFlag{Name: "kops-spec", Usage: "kops: cluster spec file to edit"},
	}
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
   mirrorctl --root /mnt/node -o json %s --kubeadm-config /etc/kubernetes/kubeadm-config.yaml`, map[bool]string{true: "on", false: "off"}[op == controllers.Enable], name, name),
		Flags: append(append(targetFlags(), waitFlags()...),
			&cli.BoolFlag{Name: "dry-run", Usage: "print the diff and write nothing (no snapshot, no lock, no state dir)"},
			&cli.StringFlag{Name: "controller-name", Usage: "controller name to write: endpointslicemirroring or endpointslice-mirroring-controller (default: by version)"},
			&cli.DurationFlag{Name: "lock-timeout", Value: 30 * time.Second, Usage: "how long to wait for another mirrorctl run on this node"},
			&cli.BoolFlag{Name: "restart", Usage: "k3s, RKE2, k0s, MicroK8s: restart the service after writing (only with --root /)"},
			&cli.StringFlag{Name: "save-plan", Usage: "with --dry-run: save the plan to FILE (a path on this machine, not under --root) for `mirrorctl apply-plan FILE`"},
			kubeconfigFlag("also edit the live ClusterConfiguration (ConfigMap kube-system/kubeadm-config) through this kubeconfig (under --root)"),
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
	return distros.Options{
		Root:            root,
		Op:              op,
		ControllerName:  c.String("controller-name"),
		KubeadmConfigs:  c.StringSlice("kubeadm-config"),
		K0sConfig:       c.String("k0s-config"),
		AllowK0sHA:      c.Bool("i-understand-k0s-ha-needs-mirroring"),
		KindConfig:      c.String("kind-config"),
		KindNodeVersion: c.String("kind-node-version"),
		TalosConfig:     c.String("talos-config"),
		TalosPatchOut:   c.String("talos-patch-out"),
		TalosDocument:   c.Bool("talos-document"),
		KopsSpec:        c.String("kops-spec"),
		Restart:         c.Bool("restart"),
	}, nil
}

// options builds the adapter options and picks the adapter: the one --distro names, or the one detected.
func options(c *cli.Context, g *globals, op controllers.Op) (distros.Adapter, distros.Options, error) {
	o, err := baseOptions(c, g, op)
	if err != nil {
		return nil, o, err
	}
	var a distros.Adapter
	if d := c.String("distro"); d != "auto" && d != "" {
		a, err = distros.Get(d)
		if err != nil {
			return nil, o, usageErr("--distro: %v", err)
		}
	} else {
		a, err = distros.Detect(o.Root)
		if err != nil {
			return nil, o, err
		}
	}
	return a, o, nil
}

// result is the JSON object every changing command prints; its keys are public contract.
type result struct {
	Changed   bool               `json:"changed"`
	Mirroring string             `json:"mirroring"`
	Snapshot  *string            `json:"snapshot"`
	Files     []fileResult       `json:"files"`
	Diff      []change.DiffEntry `json:"diff"`
	Warnings  []string           `json:"warnings"`
	Distro    string             `json:"distro"`
	DryRun    bool               `json:"dry_run"`
	Notes     []string           `json:"notes"`
	changes   []change.FileChange
}

type fileResult struct {
	Path    string `json:"path"`
	Kind    string `json:"kind"`
	Changed bool   `json:"changed"`
}

func newResult(p *change.Plan, dryRun bool) *result {
	r := &result{Mirroring: p.Mirroring, Files: []fileResult{}, Diff: []change.DiffEntry{},
		Warnings: append([]string{}, p.Warnings...), Notes: append([]string{}, p.Notes...),
		Distro: p.Distro, DryRun: dryRun, changes: p.Files}
	for _, f := range p.Files {
		ch := f.Changed()
		r.Files = append(r.Files, fileResult{Path: f.Path, Kind: f.Kind, Changed: ch})
		if ch {
			r.Changed = true
			r.Diff = append(r.Diff, f.AnsibleDiff())
		}
	}
	return r
}

func runMutate(c *cli.Context, g *globals, op controllers.Op) error {
	a, o, err := options(c, g, op)
	if err != nil {
		return err
	}
	dryRun := c.Bool("dry-run")
	savePath := c.String("save-plan")
	if savePath != "" && !dryRun {
		return usageErr("--save-plan needs --dry-run: a saved plan is reviewed first, then applied with `mirrorctl apply-plan FILE`")
	}
	if savePath != "" && c.String("kubeconfig") != "" {
		return usageErr("--save-plan covers node files only; run the --kubeconfig change separately")
	}
	if c.Bool("restart") && o.Root.Dir != "/" {
		return usageErr("--restart restarts this machine's service: it cannot be combined with --root %s", o.Root.Dir)
	}
	if err := checkWait(c, a.Name()); err != nil {
		return err
	}
	g.logf("plan", "%s on %s node (root %s)", op, a.Name(), o.Root.Dir)
	plan, err := a.Plan(o)
	if err != nil {
		return err
	}
	// Lint findings (an EndpointSliceMirroring feature gate, backup files the kubelet would run, …)
	// are printed before every change: they are how nodes break after a "successful" edit.
	plan.Warnings = append(preChangeWarnings(o, plan), plan.Warnings...)
	live, err := livePlan(c, g, op)
	if err != nil {
		return err
	}
	if dryRun || (!plan.Changed() && !live.Changed()) {
		r := newResult(plan, dryRun)
		live.addTo(r)
		if !r.Changed {
			g.logf("plan", "mirroring is already %s: nothing to change", plan.Mirroring)
		}
		if savePath != "" {
			if _, err := savePlan(g, plan, op, savePath); err != nil {
				return err
			}
		}
		return printResult(g, r)
	}

	store := snapshot.Open(o.Root, g.stateDir)
	unlock, err := lockStore(c, store, c.Duration("lock-timeout"))
	if err != nil {
		return err
	}
	defer unlock()
	// Plan again under the lock: another run may have changed the node since the first look.
	if plan, err = a.Plan(o); err != nil {
		return err
	}
	plan.Warnings = append(preChangeWarnings(o, plan), plan.Warnings...)
	if live != nil {
		if live, err = livePlan(c, g, op); err != nil {
			return err
		}
	}
	r := newResult(plan, false)
	live.addTo(r)
	if !r.Changed {
		g.logf("plan", "mirroring is already %s: nothing to change", plan.Mirroring)
		return printResult(g, r)
	}
	var id string
	if plan.Changed() {
		id, err = store.Commit(plan.Files, snapshot.Info{
			Command: commandLine(c), ToolVersion: version, Distro: plan.Distro, Op: string(op),
		})
		if err != nil {
			return err
		}
		r.Snapshot = &id
		g.logf("snapshot", "saved %s in %s", id, g.stateDir)
		for _, f := range plan.Files {
			if f.Changed() {
				g.logf("write", "wrote %s", f.Path)
			}
		}
	}
	if c.Bool("restart") && plan.Changed() {
		if err := restart(g, plan.Distro); err != nil {
			return fmt.Errorf("%w; the files are written (undo: mirrorctl rollback %s)", err, id)
		}
	}
	// The health gate comes before the live ClusterConfiguration: an automatic rollback restores the
	// node's files, and the cluster must not keep a change the node could not run.
	if err := waitOrRollback(c, g, store, plan.Distro, id, plan.Mirroring == change.Enabled, c.Duration("wait")); err != nil {
		return err
	}
	if err := liveApply(c, g, live, store, id, r); err != nil {
		return err
	}
	for _, n := range plan.Notes {
		g.logf("next", "%s", n)
	}
	return printResult(g, r)
}

// checkWait refuses a health gate that could only time out and roll back a good change: it watches
// this node's kcm, which restarts by itself only on kubeadm-style nodes (the kubelet watches the
// manifest); k3s, RKE2, k0s and MicroK8s need --restart, and kind, Talos and kops apply elsewhere.
func checkWait(c *cli.Context, distro string) error {
	if c.Duration("wait") <= 0 || c.Bool("dry-run") {
		return nil
	}
	switch {
	case distro == "kind" || distro == "talos" || distro == "kops" || distro == "managed":
		return usageErr("--wait watches this node's kube-controller-manager; a %s change takes effect elsewhere", distro)
	case distros.RestartCommand(distro) != nil && !c.Bool("restart"):
		return usageErr("--wait needs --restart on %s: the change takes effect only when %s runs", distro, strings.Join(distros.RestartCommand(distro), " "))
	}
	return nil
}

// preChangeWarnings is lint's view of the node, except that what reads EndpointSlices once mirroring
// is off is said about the state after the change, not before it.
func preChangeWarnings(o distros.Options, p *change.Plan) []string {
	var w []string
	for _, s := range lintWarnings(o) {
		if !strings.HasSuffix(s, "["+lint.CheckMirroringConsumers+"]") {
			w = append(w, s)
		}
	}
	if p.Mirroring == change.Disabled && len(p.Files) > 0 {
		for _, f := range lint.ConsumerNotes(p.Files[0].Path, p.Version) {
			w = append(w, "lint: "+f.String())
		}
	}
	return w
}

// restart runs the distribution's restart command (k3s, RKE2, k0s, MicroK8s) so the change takes effect.
func restart(g *globals, distro string) error {
	argv := distros.RestartCommand(distro)
	if len(argv) == 0 {
		g.logf("restart", "%s needs no restart: the kubelet picks up the manifest", distro)
		return nil
	}
	g.logf("restart", "%s", strings.Join(argv, " "))
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = g.stderr, g.stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("--restart: %s: %v", strings.Join(argv, " "), err)
	}
	return nil
}
