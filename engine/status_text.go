package engine

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/mirrorctl/mirrorctl/distros"
)

// WriteText prints status as text: the overall states, then one row per file.
func (r *StatusResult) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "distro: %s\nmirroring: %s\nendpoints controller: %s\n\n", r.Distro, r.Mirroring, r.Endpoints)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FILE\tKIND\tVERSION\tMIRRORING\tENDPOINTS\tCONTROLLERS")
	for _, f := range r.Files {
		v := f.Controllers
		if v == "" {
			v = "(not set)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", f.Path, f.Kind, f.Version, f.Mirroring, f.Endpoints, v)
	}
	return tw.Flush()
}

// DistroRow is one adapter in `mirrorctl distros`: whether it is detected under --root, and its targets.
type DistroRow struct {
	Name     string           `json:"name"`
	Detected bool             `json:"detected"`
	Evidence []string         `json:"evidence"`
	Targets  []distros.Target `json:"targets"`
	Error    string           `json:"error,omitempty"`
}

// Distros is every adapter's row for the node o.Root names.
func Distros(o distros.Options) []DistroRow {
	var rows []DistroRow
	for _, ad := range distros.All() {
		ev := ad.Detect(o.Root)
		r := DistroRow{Name: ad.Name(), Detected: len(ev) > 0, Evidence: append([]string{}, ev...), Targets: []distros.Target{}}
		if t, err := ad.Targets(o); err != nil {
			r.Error = err.Error()
		} else if t != nil {
			r.Targets = t
		}
		rows = append(rows, r)
	}
	return rows
}

// WriteDistros prints the rows of Distros as a table.
func WriteDistros(w io.Writer, rows []DistroRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DISTRO\tDETECTED\tTARGETS")
	for _, r := range rows {
		var ts []string
		for _, t := range r.Targets {
			ts = append(ts, t.Path)
		}
		det := "no"
		if r.Detected {
			det = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Name, det, joinOr(ts, "-"))
	}
	return tw.Flush()
}
