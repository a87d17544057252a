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
		fmt.Fprintln(tw, "NODE\tPOD\tVERSION\tMIRRORING\tENDPOINTS CTRL\tLEADER\tCONTROLLERS")
		for _, k := range a.ControlPlane {
			ctl := k.Controllers
			if k.Note != "" {
				ctl += " (" + k.Note + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.Node, k.Pod, k.Version, k.Mirroring, k.EndpointsController, map[bool]string{true: "yes", false: "-"}[k.Leader], ctl)
		}
	}
	section(fmt.Sprintf("MIRRORED ENDPOINTSLICES (%d; stale once mirroring is off)", a.Counts.MirroredSlices))
	if len(a.MirroredSlices) == 0 {
		fmt.Fprintln(tw, "(none)")
	} else {
		fmt.Fprintln(tw, "NAMESPACE\tSERVICE\tSLICES\tENDPOINTS\tWRITER")
		for _, m := range a.MirroredSlices {
			w := "- (no Endpoints)"
			if m.Writer != nil {
				w = writerText(*m.Writer)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", m.Namespace, m.Service, strings.Join(m.Slices, ","), m.Endpoints, w)
		}
	}
	section(fmt.Sprintf("SELECTOR-LESS SERVICES MIRRORED NOW (%d; Endpoints without %s=true)", len(a.WouldMirror), LabelSkipMirror))
	if len(a.WouldMirror) == 0 {
		fmt.Fprintln(tw, "(none)")
	} else {
		fmt.Fprintln(tw, "NAMESPACE\tSERVICE\tWRITER")
		for _, o := range a.WouldMirror {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", o.Namespace, o.Name, writerText(o.Writer))
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
	section("COST (what the controllers keep written now)")
	fmt.Fprintln(tw, "OBJECTS\tCOUNT\tBYTES\tSELECTOR")
	fmt.Fprintf(tw, "Endpoints (Endpoints controller)\t%d\t%d\t%s\n", a.Cost.Endpoints.Objects, a.Cost.Endpoints.Bytes, a.Cost.Endpoints.Selector)
	fmt.Fprintf(tw, "EndpointSlices (mirroring)\t%d\t%d\t%s\n", a.Cost.MirroredSlices.Objects, a.Cost.MirroredSlices.Bytes, a.Cost.MirroredSlices.Selector)
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
	if r := a.EndpointsController; r != nil {
		if err := r.writeText(w); err != nil {
			return err
		}
		// The exit status answers the question asked: the Endpoints controller's.
		verdict = "mirroring controller: safe to disable"
		if !a.Safe {
			verdict = "mirroring controller: NOT safe to disable (see findings)"
		}
		if r.Safe {
			verdict += "\nSAFE to stop the Endpoints controller: nothing outside the control plane reads Endpoints (exit 0)"
		} else {
			verdict += "\nNOT SAFE to stop the Endpoints controller: something reads Endpoints, or who does is unknown (exit 3)"
		}
	}
	fmt.Fprintf(w, "\n%s\nread %d services, %d endpoints, %d mirrored slices, %d apiservices in %d requests\n", verdict,
		a.Counts.Services, a.Counts.Endpoints, a.Counts.MirroredSlices, a.Counts.APIServices, a.Counts.Requests)
	return nil
}

func writerText(w Writer) string {
	if w.Manager == "" {
		return w.Kind + " (" + w.Reason + ")"
	}
	when := "-"
	if w.Updated != nil {
		when = w.Updated.Format("2006-01-02T15:04:05Z")
	}
	return fmt.Sprintf("%s: %s %s %s", w.Kind, w.Manager, w.Operation, when)
}

func (r *ReaderAudit) writeText(w io.Writer) error {
	fmt.Fprintf(w, "\nREADERS OF ENDPOINTS (is it safe to stop the Endpoints controller?)\n")
	if m := r.Metrics; m != nil {
		fmt.Fprintf(w, "API server metrics since it started: deprecated v1 Endpoints requested: %v; reads GET %.0f, LIST %.0f, WATCH %.0f (its own: %.0f); watches open now: %.0f\n",
			m.DeprecatedRequested, m.Reads["GET"], m.Reads["LIST"], m.Reads["WATCH"], m.SelfReads["GET"]+m.SelfReads["LIST"]+m.SelfReads["WATCH"], m.Watches)
	} else {
		fmt.Fprintln(w, "API server metrics: not read")
	}
	if s := r.AuditLog; s != nil {
		fmt.Fprintf(w, "audit log %s: %d events, %d reads of Endpoints\n", s.File, s.Events, s.EndpointsReads)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		if len(r.Readers) == 0 {
			fmt.Fprintln(tw, "(no client read Endpoints)")
		} else {
			fmt.Fprintln(tw, "USER\tUSER AGENT\tREQUESTS\tVERBS\tLAST\tBLOCKS")
			for _, rd := range r.Readers {
				b := "yes"
				if !rd.Blocks {
					b = "no (" + rd.Component + ")"
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", rd.User, rd.UserAgent, rd.Requests, verbList(rd.Verbs), rd.Last.Format("2006-01-02T15:04:05Z"), b)
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	for _, l := range []struct {
		title string
		items []string
	}{{"findings", r.Findings}, {"warnings", r.Warnings}, {"notes", r.Notes}} {
		if len(l.items) == 0 {
			continue
		}
		fmt.Fprintf(w, "%s (Endpoints controller):\n", l.title)
		for _, s := range l.items {
			fmt.Fprintf(w, "  - %s\n", s)
		}
	}
	return nil
}
