package engine

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mirrorctl/mirrorctl/cluster"
	"github.com/mirrorctl/mirrorctl/snapshot"
)

// WriteList prints `snapshots list` as a table, newest first as List returns them.
func WriteList(w io.Writer, list []Entry) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.ID, m.Time.Format(time.RFC3339), m.Op, distro, joinOr(paths, "-"), joinOr(Objects(m.Cluster), "-"))
	}
	return tw.Flush()
}

func joinOr(s []string, empty string) string {
	if len(s) == 0 {
		return empty
	}
	return strings.Join(s, ", ")
}

// WriteShow prints `snapshots show`: a snapshot's metadata, or a cluster-only record's (skip, or a
// run that changed only the live ConfigMap) when m is nil.
func WriteShow(w io.Writer, m *snapshot.Meta, rec *cluster.Record) {
	if m == nil {
		fmt.Fprintf(w, "id: %s\ntime: %s\nop: %s\nserver: %s\ntool version: %s\ncommand: %v\n", rec.ID, rec.Time, rec.Op, rec.Server, rec.ToolVersion, rec.Command)
		for _, o := range Objects(rec) {
			fmt.Fprintf(w, "object: %s\n", o)
		}
		return
	}
	fmt.Fprintf(w, "id: %s\ntime: %s\nop: %s\ndistro: %s\ntool version: %s\ncommand: %v\n", m.ID, m.Time, m.Op, m.Distro, m.ToolVersion, m.Command)
	for _, f := range m.Files {
		fmt.Fprintf(w, "file: %s mode %04o uid %d gid %d existed %v\n  sha256 before %s\n  sha256 after  %s\n", f.Path, f.Mode, f.UID, f.GID, f.Existed, f.SHA256Before, f.SHA256After)
	}
}
