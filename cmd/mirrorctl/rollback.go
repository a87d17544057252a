package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mirrorctl/mirrorctl/engine"
	"github.com/mirrorctl/mirrorctl/nodefs"
)

func rollbackCommand() *cli.Command {
	return &cli.Command{
		Name:      "rollback",
		Usage:     "restore the files of a snapshot (default: the latest) byte for byte, with mode and owner",
		ArgsUsage: "[ID]",
		Description: `Restores every file a snapshot holds, atomically. Refuses when a file changed since mirrorctl wrote
it (someone edited it after us) unless --force. The current files are snapshotted first, so a
rollback can itself be rolled back; when the state dir's file system is full, --no-snapshot restores
without saving them (that rollback cannot be undone).

Examples:
   mirrorctl rollback --dry-run
   mirrorctl rollback ID
   mirrorctl rollback --no-snapshot ID`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "dry-run", Usage: "print the diff and write nothing"},
			&cli.BoolFlag{Name: "force", Usage: "restore even files that changed since mirrorctl wrote them"},
			&cli.BoolFlag{Name: "no-snapshot", Usage: "do not save the state the rollback replaces (for a full state dir); the rollback cannot then be rolled back"},
			&cli.DurationFlag{Name: "lock-timeout", Value: 30 * time.Second, Usage: "how long (`DURATION`) to wait for another mirrorctl run on this node"},
			kubeconfigFlag("also restore the cluster objects the snapshot's run changed (live kubeadm-config, skip-mirror labels)"),
			timeoutFlag(2 * time.Minute),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usageErr("rollback takes at most one snapshot id")
			}
			g, err := getGlobals(c)
			if err != nil {
				return err
			}
			return runRollback(c, g, c.Args().First())
		},
	}
}

func runRollback(c *cli.Context, g *globals, id string) error {
	root, err := nodefs.New(g.root)
	if err != nil {
		return err
	}
	var cl *engine.Cluster
	if wantsCluster(c) {
		if cl, err = liveCluster(c, g); err != nil {
			return err
		}
	}
	env := newEnv(c, g, root)
	job := engine.Rollback(env, id, c.Bool("force"), cl, engine.Job{DryRun: c.Bool("dry-run"), LockTimeout: c.Duration("lock-timeout"), NoSnapshot: c.Bool("no-snapshot")})
	r, err := engine.Run(c.Context, env, job)
	if err != nil {
		return err
	}
	r.Mirroring = engine.StateAfter(env, r.Plan.Files, r.DryRun)
	m := job.Restore
	g.logf("rollback", "snapshot %s (%s, %s)", m.ID, m.Op, m.Time.Format(time.RFC3339))
	return printResult(g, r)
}

func snapshotsCommand() *cli.Command {
	open := func(c *cli.Context) (*globals, *engine.Env, error) {
		g, err := getGlobals(c)
		if err != nil {
			return nil, nil, err
		}
		env, err := g.env(c)
		return g, env, err
	}
	return &cli.Command{
		Name:  "snapshots",
		Usage: "list, show and prune rollback snapshots",
		Subcommands: []*cli.Command{
			{
				Name:  "list",
				Usage: "list snapshots and cluster records (skip, --kubeconfig runs), newest first",
				Action: func(c *cli.Context) error {
					g, s, err := open(c)
					if err != nil {
						return err
					}
					list, err := engine.List(s)
					if err != nil {
						return err
					}
					if g.json {
						return writeJSON(g.stdout, list)
					}
					return engine.WriteList(g.stdout, list)
				},
			},
			{
				Name:      "show",
				Usage:     "show one snapshot's metadata",
				ArgsUsage: "ID",
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usageErr("snapshots show takes one snapshot id")
					}
					g, s, err := open(c)
					if err != nil {
						return err
					}
					m, rec, err := engine.Show(s, c.Args().First())
					if m == nil && rec != nil {
						// A cluster-only record (skip, or a run that changed only the live ConfigMap).
						if g.json {
							return writeJSON(g.stdout, rec)
						}
						engine.WriteShow(g.stdout, nil, rec)
						return nil
					}
					if err != nil {
						return err
					}
					if g.json {
						return writeJSON(g.stdout, m)
					}
					engine.WriteShow(g.stdout, m, nil)
					return nil
				},
			},
			{
				Name:  "prune",
				Usage: "delete all but the newest N snapshots (and all but the newest N cluster-only records)",
				Flags: []cli.Flag{&cli.IntFlag{Name: "keep", Value: 10, Usage: "`N` snapshots to keep (cluster-only records are counted apart)"}},
				Action: func(c *cli.Context) error {
					g, s, err := open(c)
					if err != nil {
						return err
					}
					if c.Int("keep") < 0 {
						return usageErr("--keep must be >= 0")
					}
					removed, err := engine.Prune(c.Context, s, c.Int("keep"), 30*time.Second)
					if err != nil {
						return err
					}
					if removed == nil {
						removed = []string{}
					}
					if g.json {
						return writeJSON(g.stdout, map[string]any{"removed": removed})
					}
					for _, id := range removed {
						fmt.Fprintln(g.stdout, id)
					}
					g.logf("prune", "removed %d snapshot(s)", len(removed))
					return nil
				},
			},
		},
	}
}
