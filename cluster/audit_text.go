package cluster

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteText writes the audit as audit prints it in text mode: the control plane, the mirrored slices,
// the selector-less Services mirrored now and the APIServices behind them, then the verdict.
func (a *Audit) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "server: %s (%s)\nmirroring on the control plane: %s\n", a.Server, a.ServerVersion, a.Mirroring)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	section := func(title string) { fmt.Fprintf(tw, "\n%s\n", title) }
	section("CONTROL PLANE (kube-controller-manager mirror pods)")
	if len(a.ControlPlane) == 0 {
		fmt.Fprintln(tw, "(none found)")
	} else {
		fmt.Fprintln(tw, "NODE\tPOD\tVERSION\tMIRRORING\tLEADER\tCONTROLLERS")
		for _, k := range a.ControlPlane {
			ctl := k.Controllers
			if k.Note != "" {
				ctl += " (" + k.Note + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.Node, k.Pod, k.Version, k.Mirroring, map[bool]string{true: "yes", false: "-"}[k.Leader], ctl)
		}
	}
	section(fmt.Sprintf("MIRRORED ENDPOINTSLICES (%d; stale once mirroring is off)", a.Counts.MirroredSlices))
	if len(a.MirroredSlices) == 0 {
		fmt.Fprintln(tw, "(none)")
	} else {
		fmt.Fprintln(tw, "NAMESPACE\tSERVICE\tSLICES\tENDPOINTS")
		for _, m := range a.MirroredSlices {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", m.Namespace, m.Service, strings.Join(m.Slices, ","), m.Endpoints)
		}
	}
	section(fmt.Sprintf("SELECTOR-LESS SERVICES MIRRORED NOW (%d; Endpoints without %s=true)", len(a.WouldMirror), LabelSkipMirror))
	if len(a.WouldMirror) == 0 {
		fmt.Fprintln(tw, "(none)")
	} else {
		fmt.Fprintln(tw, "NAMESPACE\tSERVICE")
		for _, o := range a.WouldMirror {
			fmt.Fprintf(tw, "%s\t%s\n", o.Namespace, o.Name)
		}
	}
	section(fmt.Sprintf("APISERVICES BEHIND SELECTOR-LESS SERVICES (%d)", len(a.APIServices)))
	if len(a.APIServices) == 0 {
		fmt.Fprintln(tw, "(none)")
	} else {
		fmt.Fprintln(tw, "APISERVICE\tSERVICE\tMIRRORED SLICES")
		for _, s := range a.APIServices {
			fmt.Fprintf(tw, "%s\t%s\t%d\n", s.Name, s.Service, s.MirroredSlices)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	list := func(title string, items []string) {
		if len(items) == 0 {
			return
		}
		fmt.Fprintf(w, "\n%s:\n", title)
		for _, s := range items {
			fmt.Fprintf(w, "  - %s\n", s)
		}
	}
	list("findings", a.Findings)
	list("warnings", a.Warnings)
	list("notes", a.Notes)
	verdict := "SAFE: nothing depends on the mirroring controller (exit 0)"
	if !a.Safe {
		verdict = "NOT SAFE: something depends on the mirroring controller (exit 3)"
	}
	fmt.Fprintf(w, "\n%s\nread %d services, %d endpoints, %d mirrored slices, %d apiservices in %d requests\n", verdict,
		a.Counts.Services, a.Counts.Endpoints, a.Counts.MirroredSlices, a.Counts.APIServices, a.Counts.Requests)
	return nil
}
