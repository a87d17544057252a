package main

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/cluster"
	"github.com/mirrorctl/mirrorctl/distros"
	"github.com/mirrorctl/mirrorctl/manifests"
	"github.com/mirrorctl/mirrorctl/nodefs"
	"github.com/mirrorctl/mirrorctl/snapshot"
)

func rollbackCommand() *cli.Command {
	return &cli.Command{
		Name:      "rollback",
		Usage:     "restore the files of a snapshot (default: the latest) byte for byte, with mode and owner",
		ArgsUsage: "[ID]",
		Description: `Restores every file a snapshot holds, atomically. Refuses when a file changed since mirrorctl wrote
it (someone edited it after us) unless --force. The current files are snapshotted first, so a
rollback can itself be rolled back.

Examples:
   mirrorctl rollback --dry-run
   mirrorctl rollback ID`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "dry-run", Usage: "print the diff and write nothing"},
			&cli.BoolFlag{Name: "force", Usage: "restore even files that changed since mirrorctl wrote them"},
			&cli.DurationFlag{Name: "lock-timeout", Value: 30 * time.Second, Usage: "how long to wait for another mirrorctl run on this node"},
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
			root, err := nodefs.New(g.root)
			if err != nil {
				return err
			}
			store := snapshot.Open(root, g.stateDir)
			dryRun := c.Bool("dry-run")
			plan := func() ([]change.FileChange, *snapshot.Meta, error) {
				// Without an id: an interrupted change's snapshot (from whichever state dir holds it),
				// else the latest change.
				owner, m, err := store.RollbackTarget(c.Args().First())
				if err != nil {
					return nil, nil, err
				}
				store = owner
				return store.PlanRollback(m.ID, c.Bool("force"))
			}
			if id := c.Args().First(); id != "" {
				// Before the lock, which would create the state dir for a bad id.
				if err := snapshot.ValidID(id); err != nil {
					return err
				}
			}
			if !dryRun {
				unlock, err := lockStore(c, store, c.Duration("lock-timeout"))
				if err != nil {
					return err
				}
				defer unlock()
			}
			changes, meta, err := plan()
			if errors.Is(err, snapshot.ErrNotFound) && c.Args().First() != "" {
				// A run that changed only cluster objects (the files were already as wanted) has a
				// cluster record under its id and no file snapshot.
				if m, ok := clusterOnlySnapshot(store, c.Args().First()); ok {
					changes, meta, err = nil, m, nil
				}
			}
			if err != nil {
				return err
			}
			p := &change.Plan{Distro: meta.Distro, Files: changes, Mirroring: change.Unknown}
			r := newResult(p, dryRun)
			// Cluster objects the snapshot's run changed (live kubeadm-config, skip-mirror labels).
			live, err := liveRollbackPlan(c, g, store, meta.ID, r)
			if err != nil {
				return err
			}
			if !dryRun && r.Changed {
				var id string
				if p.Changed() {
					id, err = store.Restore(meta, changes, snapshot.Info{Command: commandLine(c), ToolVersion: version, Distro: meta.Distro, Op: "rollback"})
					if err != nil {
						return err
					}
					if id != "" {
						r.Snapshot = &id
						g.logf("snapshot", "saved the pre-rollback state as %s", id)
					}
					for _, f := range changes {
						if f.Changed() {
							g.logf("write", "restored %s", f.Path)
						}
					}
				}
				if err := liveRollbackApply(c, g, live, store, id, r); err != nil {
					return err
				}
			}
			r.Mirroring = stateAfter(g, changes, dryRun)
			g.logf("rollback", "snapshot %s (%s, %s)", meta.ID, meta.Op, meta.Time.Format(time.RFC3339))
			return printResult(g, r)
		},
	}
}

// stateAfter is the node's mirroring state after a rollback: read with the detected adapter, or for a
// dry run from the kcm manifest the rollback would restore; "unknown" when neither says.
func stateAfter(g *globals, changes []change.FileChange, dryRun bool) string {
	if dryRun {
		for _, f := range changes {
			if f.Kind != distros.KindStaticPod || f.After == nil {
				continue
			}
			if m, err := manifests.Parse(f.After); err == nil {
				if on, err := m.Mirroring(); err == nil {
					return change.StateOf(on)
				}
			}
		}
		return change.Unknown
	}
	root, err := nodefs.New(g.root)
	if err != nil {
		return change.Unknown
	}
	a, err := distros.Detect(root)
	if err != nil {
		return change.Unknown
	}
	st, err := a.Status(distros.Options{Root: root})
	if err != nil {
		return change.Unknown
	}
	st.Summarize()
	return st.Mirroring
}

func snapshotsCommand() *cli.Command {
	open := func(c *cli.Context) (*globals, *snapshot.Store, error) {
		g, err := getGlobals(c)
		if err != nil {
			return nil, nil, err
		}
		root, err := nodefs.New(g.root)
		if err != nil {
			return nil, nil, err
		}
		return g, snapshot.Open(root, g.stateDir), nil
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
					list, err := listEntries(s)
					if err != nil {
						return err
					}
					if g.json {
						return writeJSON(g.stdout, list)
					}
					tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
					fmt.Fprintln(tw, "ID\tTIME\tOP\tDISTRO\tFILES\tCLUSTER")
					for _, m := range list {
						var paths []string
						for _, f := range m.Files {
							paths = append(paths, f.Path)
						}
						distro := m.Distro
						if distro == "" {
							distro = "-"
						}
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.ID, m.Time.Format(time.RFC3339), m.Op, distro, joinOr(paths, "-"), joinOr(clusterObjects(m.Cluster), "-"))
					}
					return tw.Flush()
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
					m, err := s.Get(c.Args().First())
					rec, recErr := cluster.OpenRecords(s).Get(c.Args().First())
					if err != nil && recErr == nil {
						// A cluster-only record (skip, or a run that changed only the live ConfigMap).
						if g.json {
							return writeJSON(g.stdout, rec)
						}
						fmt.Fprintf(g.stdout, "id: %s\ntime: %s\nop: %s\nserver: %s\ntool version: %s\ncommand: %v\n", rec.ID, rec.Time, rec.Op, rec.Server, rec.ToolVersion, rec.Command)
						for _, o := range clusterObjects(rec) {
							fmt.Fprintf(g.stdout, "object: %s\n", o)
						}
						return nil
					}
					if err != nil {
						return err
					}
					if g.json {
						return writeJSON(g.stdout, m)
					}
					fmt.Fprintf(g.stdout, "id: %s\ntime: %s\nop: %s\ndistro: %s\ntool version: %s\ncommand: %v\n", m.ID, m.Time, m.Op, m.Distro, m.ToolVersion, m.Command)
					for _, f := range m.Files {
						fmt.Fprintf(g.stdout, "file: %s mode %04o uid %d gid %d existed %v\n  sha256 before %s\n  sha256 after  %s\n", f.Path, f.Mode, f.UID, f.GID, f.Existed, f.SHA256Before, f.SHA256After)
					}
					return nil
				},
			},
			{
				Name:  "prune",
				Usage: "delete all but the newest N snapshots (and all but the newest N cluster-only records)",
				Flags: []cli.Flag{&cli.IntFlag{Name: "keep", Value: 10, Usage: "snapshots to keep (cluster-only records are counted apart)"}},
				Action: func(c *cli.Context) error {
					g, s, err := open(c)
					if err != nil {
						return err
					}
					if c.Int("keep") < 0 {
						return usageErr("--keep must be >= 0")
					}
					unlock, err := lockStore(c, s, 30*time.Second)
					if err != nil {
						return err
					}
					defer unlock()
					removed, err := s.Prune(c.Int("keep"))
					if err != nil {
						return err
					}
					// Cluster records share their snapshot's id and go with it; cluster-only records
					// (skip, or only the live ConfigMap changed) are kept to the same count apart.
					recs := cluster.OpenRecords(s)
					for _, id := range removed {
						_ = recs.Remove(id)
					}
					gone, err := pruneClusterOnly(s, recs, c.Int("keep"))
					removed = append(removed, gone...)
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

// listEntry is a snapshot as `snapshots list` shows it, with the cluster record of the same run; a
// cluster-only record (skip, or a run that changed only the live ConfigMap) has no files.
type listEntry struct {
	snapshot.Meta
	Cluster *cluster.Record `json:"cluster,omitempty"`
}

func listEntries(s *snapshot.Store) ([]listEntry, error) {
	metas, err := s.List()
	if err != nil {
		return nil, err
	}
	recs, err := cluster.OpenRecords(s).List()
	if err != nil {
		return nil, err
	}
	byID := map[string]*cluster.Record{}
	for i := range recs {
		byID[recs[i].ID] = &recs[i]
	}
	out := []listEntry{}
	for _, m := range metas {
		out = append(out, listEntry{Meta: m, Cluster: byID[m.ID]})
		delete(byID, m.ID)
	}
	for _, r := range recs {
		if byID[r.ID] != nil {
			out = append(out, listEntry{Meta: snapshot.Meta{ID: r.ID, Time: r.Time, Command: r.Command, ToolVersion: r.ToolVersion,
				Op: r.Op, RollbackOf: r.RollbackOf, Files: []snapshot.FileMeta{}}, Cluster: byID[r.ID]})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.After(out[j].Time)
		}
		return out[i].ID > out[j].ID
	})
	return out, nil
}

// clusterObjects names the objects a record changed, for the list and show texts.
func clusterObjects(r *cluster.Record) []string {
	if r == nil {
		return nil
	}
	var out []string
	for _, c := range r.ConfigMaps {
		out = append(out, "configmap "+c.Namespace+"/"+c.Name)
	}
	for _, l := range r.Labels {
		out = append(out, strings.ToLower(l.Kind)+" "+l.Namespace+"/"+l.Name)
	}
	return out
}

// pruneClusterOnly removes the cluster records without a snapshot beyond the newest keep of them.
func pruneClusterOnly(s *snapshot.Store, recs *cluster.Records, keep int) ([]string, error) {
	metas, err := s.List()
	if err != nil {
		return nil, err
	}
	hasSnap := map[string]bool{}
	for _, m := range metas {
		hasSnap[m.ID] = true
	}
	all, err := recs.List() // newest first
	if err != nil {
		return nil, err
	}
	var removed []string
	n := 0
	for _, r := range all {
		if hasSnap[r.ID] {
			continue
		}
		if n++; n <= keep {
			continue
		}
		if err := recs.Remove(r.ID); err != nil {
			return removed, err
		}
		removed = append(removed, r.ID)
	}
	return removed, nil
}
