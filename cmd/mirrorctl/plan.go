package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/engine"
	"github.com/mirrorctl/mirrorctl/nodefs"
	"github.com/mirrorctl/mirrorctl/planfile"
	"github.com/mirrorctl/mirrorctl/snapshot"
)

// Plan files are host paths, relative to the current directory, never resolved under --root: a plan
// is for the reviewer and the operator, who run mirrorctl from the host that mounts the node image.
// On the node itself (--root /) the two are the same.

// planDirsRefused are folders whose every non-dot file a kubelet runs: a plan saved there would be
// taken for a static pod.
var planDirsRefused = []string{
	"/etc/kubernetes/manifests",
	"/var/lib/rancher/rke2/agent/pod-manifests",
	"/var/lib/rancher/k3s/agent/pod-manifests",
}

// maxPlanSize bounds what show-plan and apply-plan read: a plan holds a few config files, each at
// most nodefs.MaxFileSize, twice (old and new bytes).
const maxPlanSize = 4*nodefs.MaxFileSize + 1<<20

// savePlan writes a dry-run's plan to path (a host path, see above) atomically with mode 0600 and
// returns the sha256 of the file, which a change ticket cites and `apply-plan --expect-sha256` checks.
func savePlan(g *globals, p *change.Plan, op string, path string) (sum string, err error) {
	root, err := nodefs.New(g.root)
	if err != nil {
		return "", err
	}
	host, err := planHostPath(root, path)
	if err != nil {
		return "", err
	}
	if err := notATarget(root, p, host, path); err != nil {
		return "", err
	}
	f, err := planfile.Build(p, op, planfile.ReadIdentity(root), version, time.Now())
	if err != nil {
		return "", err
	}
	data, err := planfile.Marshal(f)
	if err != nil {
		return "", err
	}
	hostRoot, err := nodefs.New("/")
	if err != nil {
		return "", err
	}
	if err := snapshot.WriteFile(hostRoot, host, data, 0o600, -1, -1); err != nil {
		return "", fmt.Errorf("--save-plan: %w", err)
	}
	sum = planfile.Sum(data)
	g.logf("plan", "saved %s sha256 %s", path, sum)
	for _, t := range f.Files {
		if m := credentialRE().FindStringSubmatch(t.After); t.Changed && m != nil {
			g.logf("warning", "%s holds the complete contents of %s, which has a %s: keep the plan as private as that file, and cite its sha256 rather than paste it", path, t.Path, m[1])
		}
	}
	return sum, nil
}

// planHostPath checks where a plan is to be saved and returns its absolute host path.
func planHostPath(root nodefs.Root, path string) (string, error) {
	if path == "" {
		return "", usageErr("--save-plan: empty file name")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("--save-plan %s: %w", path, err)
	}
	if fi, err := os.Stat(abs); err == nil && fi.IsDir() {
		return "", fmt.Errorf("--save-plan %s: is a directory", path)
	}
	dir, err := filepath.EvalSymlinks(filepath.Dir(abs))
	if err != nil {
		return "", fmt.Errorf("--save-plan %s: folder %s: %w", path, filepath.Dir(abs), unwrapPath(err))
	}
	for _, d := range planDirsRefused {
		for _, base := range []string{"/", root.Dir} {
			refused := filepath.Join(base, d)
			if real, err := filepath.EvalSymlinks(refused); err == nil {
				refused = real
			}
			if dir == refused {
				return "", fmt.Errorf("--save-plan %s: is in %s, whose files the kubelet runs as static pods; save the plan elsewhere", path, refused)
			}
		}
	}
	return filepath.Join(dir, filepath.Base(abs)), nil
}

// notATarget refuses a plan path that names one of the plan's own files (under --root), which
// saving would overwrite with the plan.
func notATarget(root nodefs.Root, p *change.Plan, host, path string) error {
	fi, err := os.Stat(host)
	for _, c := range p.Files {
		th, rerr := root.Resolve(c.Path)
		if rerr != nil {
			continue
		}
		same := th == host
		if tfi, terr := os.Stat(th); !same && err == nil && terr == nil {
			same = os.SameFile(fi, tfi)
		}
		if same {
			return fmt.Errorf("--save-plan %s: is %s, a file the plan changes", path, c.Path)
		}
	}
	return nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// credentialRE finds the secrets a kubeadm config or a kubeconfig-like file may hold (bootstrap
// tokens, the certificate key that decrypts the uploaded control-plane certificates, client keys).
var credentialRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?m)^[ \t-]*(token|certificateKey|client-key-data|client-certificate-data|password):[ \t]*\S`)
})

var planVersionRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?m)^mirrorctl_version: "?([^"\n]*)"?\n`) })

// readPlan reads and checks a plan file (a host path) and returns it with the sha256 of its bytes.
func readPlan(path string) (*planfile.File, string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	if !fi.Mode().IsRegular() {
		return nil, "", fmt.Errorf("%s: not a regular file", path)
	}
	if fi.Size() > maxPlanSize {
		return nil, "", fmt.Errorf("%s: %d bytes, larger than any plan mirrorctl writes", path, fi.Size())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	f, err := planfile.Parse(data)
	if err != nil {
		if m := planVersionRE().FindSubmatch(data); m != nil && string(m[1]) != version && errors.Is(err, planfile.ErrMalformed) {
			// A later mirrorctl may render diffs or the file differently; say so rather than let
			// "malformed" suggest tampering.
			return nil, "", fmt.Errorf("%s: %w (the plan was made by mirrorctl %s, this is %s)", path, err, m[1], version)
		}
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	return f, planfile.Sum(data), nil
}

// planInfo is the "plan" key show-plan and apply-plan add to the JSON result of a dry-run or a run.
type planInfo struct {
	File             string            `json:"file"`
	SHA256           string            `json:"sha256"`
	Operation        string            `json:"operation"`
	Created          time.Time         `json:"created"`
	MirrorctlVersion string            `json:"mirrorctl_version"`
	Node             planfile.Identity `json:"node"`
}

// planResult is the same JSON object `disable` prints, plus which plan it came from.
type planResult struct {
	*engine.Result
	Plan planInfo `json:"plan"`
}

func newPlanInfo(path, sum string, f *planfile.File) planInfo {
	return planInfo{File: path, SHA256: sum, Operation: f.Operation, Created: f.Created,
		MirrorctlVersion: f.MirrorctlVersion, Node: f.Node}
}

func printPlanResult(g *globals, r *engine.Result, info planInfo) error {
	return printResult(g, r, planResult{Result: r, Plan: info})
}

// describePlan logs what a plan is: which file, which digest, what it does and where it was made.
func describePlan(g *globals, path, sum string, f *planfile.File) {
	node := f.Node.Hostname
	if node == "" {
		node = "(no hostname)"
	}
	if f.Node.MachineID != "" {
		node += " machine-id " + f.Node.MachineID
	}
	g.logf("plan", "%s sha256 %s: %s on %s node %s, made %s by mirrorctl %s", path, sum, f.Operation, f.Distro, node, f.Created.Format(time.RFC3339), f.MirrorctlVersion)
}

// show-plan and apply-plan have no "Examples:" section: every example there runs in a test on the
// sample node, and these need a saved plan; the help shows the workflow in prose instead.

func showPlanCommand() *cli.Command {
	return &cli.Command{
		Name:      "show-plan",
		Usage:     "print a saved plan's diff and summary",
		ArgsUsage: "FILE",
		Description: `Reads a plan saved by ` + "`disable --dry-run --save-plan FILE`" + ` (or enable), checks it (format,
checksum, that its diff is the diff of the bytes it would write) and prints the diff on stdout and
the summary on stderr, exactly as the dry-run did. With -o json it prints the dry-run's JSON object
plus a "plan" key (file, sha256, operation, created, mirrorctl_version, node). It does not look at
the node: use ` + "`apply-plan --dry-run FILE`" + ` to check that the plan still applies.

FILE is a host path (not under --root). The workflow, with a plan named disable.plan:
   on the node: ` + "`mirrorctl disable --dry-run --save-plan disable.plan`" + ` (prints the plan's sha256)
   in review:   ` + "`mirrorctl show-plan disable.plan`" + `, and cite the sha256 in the ticket
   on the node: ` + "`mirrorctl apply-plan --expect-sha256 SHA256 disable.plan`" + ``,
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErr("show-plan takes one plan file")
			}
			g, err := getGlobals(c)
			if err != nil {
				return err
			}
			path := c.Args().First()
			f, sum, err := readPlan(path)
			if err != nil {
				return err
			}
			describePlan(g, path, sum, f)
			r := engine.NewResult(f.Plan(f.Changes()), true)
			return printPlanResult(g, r, newPlanInfo(path, sum, f))
		},
	}
}

func applyPlanCommand() *cli.Command {
	return &cli.Command{
		Name:      "apply-plan",
		Usage:     "apply exactly a reviewed plan saved with --save-plan, if the node has not changed since",
		ArgsUsage: "FILE",
		Description: `Applies a plan saved by ` + "`disable --dry-run --save-plan FILE`" + ` (or enable): takes the lock,
checks that every target file still has the sha256 the plan recorded and that the node is the one
the plan was made on (/etc/hostname and /etc/machine-id under --root), then snapshots the files and
writes exactly the plan's bytes, with the same guarantees and JSON result as disable. If any file
changed since the plan was made it refuses and writes nothing: make a new plan.

Idempotent: when the files already hold the planned bytes (the plan was applied before) nothing is
written ("changed": false). A file that holds anything else is refused.

FILE is a host path (not under --root). --force overrides only the node identity check, never a
changed file. --expect-sha256 refuses any plan file but the one a change ticket cites. --wait
gates the change on kube-controller-manager's health exactly as for disable (automatic rollback).

For example, after ` + "`mirrorctl disable --dry-run --save-plan disable.plan`" + ` and review:
   ` + "`mirrorctl apply-plan --dry-run disable.plan`" + ` (does it still apply?), then
   ` + "`mirrorctl apply-plan --expect-sha256 SHA256 disable.plan`" + `.`,
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "dry-run", Usage: "check the plan against the node and print what it would change; write nothing"},
			&cli.BoolFlag{Name: "force", Usage: "apply a plan made on a node with another hostname or machine-id (the files must still match)"},
			&cli.StringFlag{Name: "expect-sha256", Usage: "refuse the plan unless the file's sha256 is this (the digest a ticket cites)"},
			&cli.DurationFlag{Name: "lock-timeout", Value: 30 * time.Second, Usage: "how long to wait for another mirrorctl run on this node"},
		}, waitFlags()...),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErr("apply-plan takes one plan file")
			}
			g, err := getGlobals(c)
			if err != nil {
				return err
			}
			return runApplyPlan(c, g, c.Args().First())
		},
	}
}

func runApplyPlan(c *cli.Context, g *globals, path string) error {
	root, err := nodefs.New(g.root)
	if err != nil {
		return err
	}
	f, sum, err := readPlan(path)
	if err != nil {
		return err
	}
	if want := strings.ToLower(strings.TrimSpace(c.String("expect-sha256"))); want != "" && want != sum {
		return fmt.Errorf("%s: sha256 %s, not %s as --expect-sha256 requires; nothing written", path, sum, want)
	}
	describePlan(g, path, sum, f)
	if _, known := map[string]bool{change.Enabled: true, change.Disabled: false}[f.MirroringAfter]; c.Duration("wait") > 0 && !known {
		return usageErr("--wait: the plan leaves mirroring %q, so there is no state to wait for", f.MirroringAfter)
	}
	env := newEnv(c, g, root)
	job := engine.Job{DryRun: c.Bool("dry-run"), LockTimeout: c.Duration("lock-timeout"), Gate: gate(c, g, root, f.Distro)}
	r, err := engine.Run(c.Context, env, engine.ApplyPlan(env, f, c.Bool("force"), job))
	if err != nil {
		return err
	}
	return printPlanResult(g, r, newPlanInfo(path, sum, f))
}
