package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/mirrorctl/mirrorctl/controllers"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels and annotations the mirroring controller goes by (k8s.io/api/discovery/v1, client-go
// resourcelock; checked against kube-controller-manager v1.37.2's endpointslicemirroring controller).
const (
	LabelSkipMirror     = discoveryv1.LabelSkipMirror // "endpointslice.kubernetes.io/skip-mirror"
	LabelManagedBy      = discoveryv1.LabelManagedBy
	LabelServiceName    = discoveryv1.LabelServiceName
	MirroringController = "endpointslicemirroring-controller.k8s.io"
	// From 1.33 the Endpoints controller labels what it writes (kubernetes v1.37.2
	// pkg/controller/endpoint: LabelManagedBy, ControllerName), and deletes only Endpoints it labelled.
	LabelEndpointsManagedBy = "endpoints.kubernetes.io/managed-by"
	EndpointsController     = "endpoint-controller"
	// Endpoints carrying this annotation are leader-election locks; the controller never mirrors them.
	leaderAnnotation = "control-plane.alpha.kubernetes.io/leader"
	// kubeadm labels its static pods component=<name>; the kubelet's mirror pods keep the label.
	kcmSelector   = "component=kube-controller-manager"
	kcmContainer  = "kube-controller-manager"
	mirrorPodAnno = "kubernetes.io/config.mirror"
)

// DefaultPageSize is the list page size: kubectl's, small enough that a page of big Endpoints stays a
// few megabytes, big enough that 10,000 objects take 20 requests.
const DefaultPageSize = 500

// Audit is the answer to "is it safe to switch the mirroring controller off on this cluster?".
type Audit struct {
	Server        string `json:"server"`
	ServerVersion string `json:"server_version"`
	// Safe is true when nothing depends on mirroring: no mirrored slices, no selector-less Service whose
	// Endpoints would be mirrored, no APIService behind one.
	Safe bool `json:"safe"`
	// Mirroring is what the control plane's kcm pods run: enabled, disabled, mixed or unknown.
	Mirroring      string              `json:"mirroring"`
	MirroredSlices []MirroredService   `json:"mirrored_slices"`
	WouldMirror    []MirroredEndpoints `json:"would_mirror"`
	APIServices    []APIServiceDepend  `json:"apiservices"`
	ControlPlane   []KCMPod            `json:"control_plane"`
	Findings       []string            `json:"findings"` // why it is not safe; empty when Safe
	Warnings       []string            `json:"warnings"`
	Notes          []string            `json:"notes"`
	Counts         Counts              `json:"counts"`
	// Cost is what the Endpoints and mirroring controllers maintain now (issue 16 §5).
	Cost Cost `json:"cost"`
	// EndpointsController answers "is it safe to stop the Endpoints controller?"; only with
	// AuditOptions.EndpointsController (audit --endpoints-controller).
	EndpointsController *ReaderAudit `json:"endpoints_controller,omitempty"`
}

// MirroredEndpoints is a selector-less Service's Endpoints that the controller mirrors now, and who
// writes it.
type MirroredEndpoints struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Writer    Writer `json:"writer"`
}

func (m MirroredEndpoints) String() string { return m.Namespace + "/" + m.Name }

// Cost is the number and serialized size of the objects each controller keeps written. Bytes are the
// protobuf encoding of each object as read (managedFields included): what etcd stores, less its
// envelope of a few dozen bytes per object.
type Cost struct {
	// Endpoints written by the Endpoints controller: from 1.33 it labels them
	// endpoints.kubernetes.io/managed-by=endpoint-controller; older servers' are not counted.
	Endpoints CostFigure `json:"endpoints"`
	// EndpointSlices written by the mirroring controller.
	MirroredSlices CostFigure `json:"mirrored_slices"`
}

// CostFigure is one controller's objects.
type CostFigure struct {
	Selector string `json:"selector"` // the label selecting them
	Objects  int    `json:"objects"`
	Bytes    int64  `json:"bytes"`
}

// MirroredService groups the mirrored EndpointSlices of one Service: kube-proxy reads only slices, so
// with mirroring off these keep whatever addresses they had (stale), and new ones never appear.
type MirroredService struct {
	Namespace string   `json:"namespace"`
	Service   string   `json:"service"`
	Slices    []string `json:"slices"`
	Endpoints int      `json:"endpoints"` // addresses across the slices
	// Writer is who writes the Service's Endpoints; null when it has none (the slices are left over).
	Writer *Writer `json:"writer"`
}

// ObjectRef names a namespaced object.
type ObjectRef struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

func (o ObjectRef) String() string { return o.Namespace + "/" + o.Name }

// APIServiceDepend is an aggregated API served through a selector-less Service: from 1.34 the
// aggregator reads EndpointSlices for availability and routing.
type APIServiceDepend struct {
	Name           string    `json:"name"`
	Service        ObjectRef `json:"service"`
	MirroredSlices int       `json:"mirrored_slices"`
}

// KCMPod is one control-plane node's kube-controller-manager as its mirror pod shows it.
type KCMPod struct {
	Node        string `json:"node"`
	Pod         string `json:"pod"`
	Version     string `json:"version"`
	Controllers string `json:"controllers"` // the effective --controllers value ("*" without the flag)
	Mirroring   string `json:"mirroring"`   // enabled, disabled or unknown (unreadable flags)
	Leader      bool   `json:"leader"`
	Note        string `json:"note,omitempty"`

	// EndpointsController is whether the Endpoints controller runs there: enabled, disabled or unknown.
	EndpointsController string `json:"endpoints_controller"`
}

// Counts are what the audit read; Requests shows it stayed paginated (no per-object calls).
type Counts struct {
	Services             int `json:"services"`
	SelectorlessServices int `json:"selectorless_services"`
	Endpoints            int `json:"endpoints"`
	MirroredSlices       int `json:"mirrored_slices"`
	APIServices          int `json:"apiservices"`
	Requests             int `json:"requests"`
}

// AuditOptions tunes the audit.
type AuditOptions struct {
	PageSize int64 // 0: DefaultPageSize
	// StaticAfter is ClassifyWriter's threshold (0: DefaultStaticAfter); Now its clock (zero: time.Now).
	StaticAfter time.Duration
	Now         time.Time
	// EndpointsController adds the readers of Endpoints (ReaderAudit): the API server's metrics, and
	// the audit log at AuditLog (a host path; "" for none).
	EndpointsController bool
	AuditLog            string
}

// paging is how a run lists collections: the page size, and where it counts its requests.
type paging struct {
	size     int64
	requests *int
}

// listKind is a List kind: one page of a collection and the token to the next.
type listKind interface{ GetContinue() string }

// list pages through the objects of namespace ns ("" for all) matching the label selector sel, with
// fetch (an API List method), and calls each with every page. It returns fetch's error as it is.
// Paginated lists are served from one consistent snapshot of etcd (the first page's resourceVersion),
// so the pages add up to one point in time.
func list[L listKind](ctx context.Context, pg paging, fetch func(context.Context, string, metav1.ListOptions) (L, error), ns, sel string, each func(L)) error {
	opts := metav1.ListOptions{Limit: pg.size, LabelSelector: sel}
	for {
		*pg.requests++
		l, err := fetch(ctx, ns, opts)
		if err != nil {
			return err
		}
		each(l)
		if opts.Continue = l.GetContinue(); opts.Continue == "" {
			return nil
		}
	}
}

// RunAudit reads the cluster with paginated lists (a constant number of requests per 500 objects,
// never one per object) and keeps only what it reports, so memory stays flat on big clusters.
func (c *Client) RunAudit(ctx context.Context, o AuditOptions) (*Audit, error) {
	ps := o.PageSize
	if ps <= 0 {
		ps = DefaultPageSize
	}
	a := &Audit{Server: c.Host, MirroredSlices: []MirroredService{}, WouldMirror: []MirroredEndpoints{}, APIServices: []APIServiceDepend{},
		ControlPlane: []KCMPod{}, Findings: []string{}, Warnings: []string{}, Notes: []string{},
		Cost: Cost{Endpoints: CostFigure{Selector: LabelEndpointsManagedBy + "=" + EndpointsController},
			MirroredSlices: CostFigure{Selector: LabelManagedBy + "=" + MirroringController}}}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}

	a.Counts.Requests++
	sv, err := c.Kube.ServerVersion(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: server version: %s", c.Source, oneLine(err.Error()))
	}
	a.ServerVersion = sv.GitVersion
	ver := controllers.ParseVersion(sv.GitVersion)

	pg := paging{ps, &a.Counts.Requests}
	// Selector-less Services: the only ones whose Endpoints the controller mirrors.
	selectorless := map[ObjectRef]bool{}
	err = list(ctx, pg, c.Kube.ListServices, "", "", func(l *corev1.ServiceList) {
		for i := range l.Items {
			s := &l.Items[i]
			a.Counts.Services++
			// The controller tests Selector == nil, not empty; ExternalName Services have none either and
			// are mirrored alike when someone writes their Endpoints.
			if s.Spec.Selector == nil {
				selectorless[ObjectRef{s.Namespace, s.Name}] = true
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("list services: %s", oneLine(err.Error()))
	}
	a.Counts.SelectorlessServices = len(selectorless)

	// Endpoints of those Services that the controller would mirror now, and who writes each; the
	// writers of the others behind selector-less Services too, for their leftover mirrored slices.
	writers := map[ObjectRef]Writer{}
	err = list(ctx, pg, c.Kube.ListEndpoints, "", "", func(l *corev1.EndpointsList) {
		for i := range l.Items {
			e := &l.Items[i]
			a.Counts.Endpoints++
			if e.Labels[LabelEndpointsManagedBy] == EndpointsController {
				a.Cost.Endpoints.Objects++
				a.Cost.Endpoints.Bytes += int64(e.Size())
			}
			ref := ObjectRef{e.Namespace, e.Name}
			if !selectorless[ref] {
				continue
			}
			w := ClassifyWriter(e.ManagedFields, now, o.StaticAfter)
			writers[ref] = w
			if WouldBeMirrored(e) {
				a.WouldMirror = append(a.WouldMirror, MirroredEndpoints{Namespace: e.Namespace, Name: e.Name, Writer: w})
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("list endpoints: %s", oneLine(err.Error()))
	}

	// Mirrored slices, filtered by the API server.
	bySvc := map[ObjectRef]*MirroredService{}
	err = list(ctx, pg, c.Kube.ListEndpointSlices, "", LabelManagedBy+"="+MirroringController, func(l *discoveryv1.EndpointSliceList) {
		for i := range l.Items {
			s := &l.Items[i]
			a.Counts.MirroredSlices++
			a.Cost.MirroredSlices.Objects++
			a.Cost.MirroredSlices.Bytes += int64(s.Size())
			ref := ObjectRef{s.Namespace, s.Labels[LabelServiceName]}
			m := bySvc[ref]
			if m == nil {
				m = &MirroredService{Namespace: ref.Namespace, Service: ref.Name}
				bySvc[ref] = m
			}
			m.Slices = append(m.Slices, s.Name)
			m.Endpoints += len(s.Endpoints)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("list endpointslices: %s", oneLine(err.Error()))
	}
	for ref, m := range bySvc {
		sort.Strings(m.Slices)
		if w, ok := writers[ref]; ok {
			m.Writer = &w
		}
		a.MirroredSlices = append(a.MirroredSlices, *m)
	}
	sort.Slice(a.MirroredSlices, func(i, j int) bool {
		x, y := a.MirroredSlices[i], a.MirroredSlices[j]
		return x.Namespace+"/"+x.Service < y.Namespace+"/"+y.Service
	})
	sort.Slice(a.WouldMirror, func(i, j int) bool { return a.WouldMirror[i].String() < a.WouldMirror[j].String() })

	if err := c.auditAPIServices(ctx, a, selectorless, bySvc); err != nil {
		return nil, err
	}
	if err := c.auditControlPlane(ctx, ps, a); err != nil {
		return nil, err
	}
	a.conclude(ver)
	if o.EndpointsController {
		r, err := c.auditReaders(ctx, a, o.AuditLog)
		if err != nil {
			return nil, err
		}
		a.EndpointsController = r
	}
	return a, nil
}

// Unsafe is the audit's answer for the exit status: with the Endpoints controller's question asked,
// that one's; else the mirroring controller's.
func (a *Audit) Unsafe() bool {
	if a.EndpointsController != nil {
		return !a.EndpointsController.Safe
	}
	return !a.Safe
}

// WouldBeMirrored is the controller's shouldMirror: no skip-mirror="true" label, no leader-election
// annotation. (It also needs a selector-less Service of the same name.)
func WouldBeMirrored(e *corev1.Endpoints) bool {
	if e.Labels[LabelSkipMirror] == "true" {
		return false
	}
	_, leader := e.Annotations[leaderAnnotation]
	return !leader
}

// apiService is the part of apiregistration.k8s.io/v1 APIService the audit reads; decoding it by hand
// keeps the kube-aggregator client out of mirrorctl.
type apiService struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Service *struct {
			Namespace string `json:"namespace"`
			Name      string `json:"name"`
		} `json:"service"`
	} `json:"spec"`
}

func (c *Client) auditAPIServices(ctx context.Context, a *Audit, selectorless map[ObjectRef]bool, mirrored map[ObjectRef]*MirroredService) error {
	rc, ok := c.Kube.(jsonGetter)
	if !ok { // the fake clientset has no REST client
		a.Warnings = append(a.Warnings, "APIServices not checked: no REST client")
		return nil
	}
	cont := ""
	for {
		a.Counts.Requests++
		q := url.Values{"limit": {"500"}}
		if cont != "" {
			q.Set("continue", cont)
		}
		raw, err := rc.GetJSON(ctx, "/apis/apiregistration.k8s.io/v1/apiservices", q)
		if apierrors.IsNotFound(err) {
			a.Warnings = append(a.Warnings, "APIServices not checked: the API server serves no apiregistration.k8s.io/v1")
			return nil
		}
		if apierrors.IsForbidden(err) {
			a.Warnings = append(a.Warnings, "APIServices not checked: "+oneLine(err.Error()))
			return nil
		}
		if err != nil {
			return fmt.Errorf("list apiservices: %s", oneLine(err.Error()))
		}
		var l struct {
			Metadata struct {
				Continue string `json:"continue"`
			} `json:"metadata"`
			Items []apiService `json:"items"`
		}
		if err := json.Unmarshal(raw, &l); err != nil {
			return fmt.Errorf("list apiservices: %w", err)
		}
		for _, s := range l.Items {
			a.Counts.APIServices++
			if s.Spec.Service == nil {
				continue // served by kube-apiserver itself
			}
			ref := ObjectRef{s.Spec.Service.Namespace, s.Spec.Service.Name}
			if !selectorless[ref] {
				continue
			}
			n := 0
			if m := mirrored[ref]; m != nil {
				n = len(m.Slices)
			}
			a.APIServices = append(a.APIServices, APIServiceDepend{Name: s.Metadata.Name, Service: ref, MirroredSlices: n})
		}
		if cont = l.Metadata.Continue; cont == "" {
			break
		}
	}
	sort.Slice(a.APIServices, func(i, j int) bool { return a.APIServices[i].Name < a.APIServices[j].Name })
	return nil
}

// auditControlPlane reads each control-plane node's kcm flags from its mirror pod, so one run from
// anywhere shows the whole control plane (kcm uses leader election: every node must agree).
func (c *Client) auditControlPlane(ctx context.Context, ps int64, a *Audit) error {
	leader := ""
	a.Counts.Requests++
	if l, err := c.Kube.GetLease(ctx, "kube-system", "kube-controller-manager", metav1.GetOptions{}); err == nil && l.Spec.HolderIdentity != nil {
		// kcm's identity is "<hostname>_<uuid>".
		leader, _, _ = strings.Cut(*l.Spec.HolderIdentity, "_")
	}
	err := list(ctx, paging{ps, &a.Counts.Requests}, c.Kube.ListPods, "kube-system", kcmSelector, func(l *corev1.PodList) {
		for i := range l.Items {
			a.ControlPlane = append(a.ControlPlane, kcmPod(&l.Items[i], leader))
		}
	})
	switch {
	case apierrors.IsForbidden(err):
		a.Warnings = append(a.Warnings, "control plane not checked: "+oneLine(err.Error()))
	case err != nil:
		return fmt.Errorf("list kube-system pods: %s", oneLine(err.Error()))
	}
	sort.Slice(a.ControlPlane, func(i, j int) bool { return a.ControlPlane[i].Node < a.ControlPlane[j].Node })
	return nil
}

func kcmPod(p *corev1.Pod, leader string) KCMPod {
	k := KCMPod{Node: p.Spec.NodeName, Pod: p.Name, Mirroring: "unknown", EndpointsController: "unknown", Version: "unknown"}
	k.Leader = leader != "" && (leader == p.Spec.NodeName || strings.HasPrefix(leader, p.Spec.NodeName+"."))
	if _, ok := p.Annotations[mirrorPodAnno]; !ok {
		k.Note = "not a static pod's mirror pod"
	}
	var ctr *corev1.Container
	for i := range p.Spec.Containers {
		if p.Spec.Containers[i].Name == kcmContainer {
			ctr = &p.Spec.Containers[i]
		}
	}
	if ctr == nil {
		k.Note = "no container named " + kcmContainer
		return k
	}
	if v := controllers.ImageVersion(ctr.Image); v.Known {
		k.Version = v.String()
	}
	entries, err := EffectiveControllers(append(append([]string{}, ctr.Command...), ctr.Args...))
	if err != nil {
		k.Note = err.Error()
		return k
	}
	k.Controllers = controllers.Join(entries)
	if controllers.MirroringEnabled(entries) {
		k.Mirroring = "enabled"
	} else {
		k.Mirroring = "disabled"
	}
	k.EndpointsController = "disabled"
	if controllers.EndpointsEnabled(entries) {
		k.EndpointsController = "enabled"
	}
	return k
}

// EffectiveControllers reads --controllers from a command line (controllers.Occurrences): repeated
// occurrences concatenated, "*" without any. A bare --controllers at the end sets nothing here; kcm
// itself refuses it ("flag needs an argument"), which the pod's own status shows.
func EffectiveControllers(argv []string) ([]string, error) {
	occ, _ := controllers.Occurrences(argv)
	if err := controllers.FirstBroken(occ); err != nil {
		return nil, err
	}
	return controllers.Effective(occ), nil
}

// conclude decides Safe and writes the findings, warnings and notes.
func (a *Audit) conclude(v controllers.Version) {
	states := map[string][]string{}
	for _, k := range a.ControlPlane {
		states[k.Mirroring] = append(states[k.Mirroring], k.Node)
	}
	switch {
	case len(a.ControlPlane) == 0:
		a.Mirroring = "unknown"
		a.Warnings = append(a.Warnings, "no kube-controller-manager pods (label "+kcmSelector+") in kube-system: the control plane's flags are not visible from the API (not kubeadm, or a managed control plane); check each control-plane node with `mirrorctl status`")
	case len(states) == 1:
		for s := range states {
			a.Mirroring = s
		}
	default:
		a.Mirroring = "mixed"
		var parts []string
		for _, s := range []string{"enabled", "disabled", "unknown"} {
			if n := states[s]; len(n) > 0 {
				parts = append(parts, s+" on "+strings.Join(n, ", "))
			}
		}
		a.Warnings = append(a.Warnings, "control-plane nodes disagree (mirroring "+strings.Join(parts, "; ")+"): kube-controller-manager uses leader election, so mirroring runs whenever a node that has it takes the lease; change every control-plane node")
	}

	slices := a.Counts.MirroredSlices
	if slices > 0 {
		f := fmt.Sprintf("%d mirrored EndpointSlice(s) for %d Service(s): with mirroring off they go stale (kube-proxy reads only EndpointSlices); label their Endpoints endpointslice.kubernetes.io/skip-mirror=true (`mirrorctl skip`) or replace them with EndpointSlices of your own first", slices, len(a.MirroredSlices))
		if a.Mirroring == "disabled" {
			f = fmt.Sprintf("%d mirrored EndpointSlice(s) for %d Service(s) are already stale: mirroring is off, nothing updates or deletes them", slices, len(a.MirroredSlices))
		}
		a.Findings = append(a.Findings, f)
	}
	if n := len(a.WouldMirror); n > 0 {
		f := fmt.Sprintf("%d selector-less Service(s) have Endpoints without the skip-mirror label: the controller mirrors them now", n)
		if a.Mirroring == "disabled" {
			f = fmt.Sprintf("%d selector-less Service(s) have hand-written Endpoints without the skip-mirror label: with mirroring off nothing turns them into EndpointSlices, so kube-proxy only sees slices you write yourself", n)
		}
		a.Findings = append(a.Findings, f)
	}
	if n := len(a.APIServices); n > 0 {
		names := make([]string, 0, n)
		for _, s := range a.APIServices {
			names = append(names, s.Name)
		}
		msg := fmt.Sprintf("%d APIService(s) are served by selector-less Services (%s): from 1.34 the aggregator reads EndpointSlices for their availability and routing", n, strings.Join(names, ", "))
		if v.Known && !v.AtLeast(1, 34) {
			a.Warnings = append(a.Warnings, msg+"; this server is "+v.String()+", so this matters after an upgrade")
		} else {
			a.Findings = append(a.Findings, msg)
		}
	}
	if v.Known && !v.AtLeast(1, 33) {
		a.Notes = append(a.Notes, "before 1.33 the Endpoints controller does not label the Endpoints it writes ("+LabelEndpointsManagedBy+"): cost.endpoints counts none on this "+v.String()+" server")
	}
	if (!v.Known || v.AtLeast(1, 37)) && (slices > 0 || len(a.WouldMirror) > 0) {
		a.Notes = append(a.Notes, "from 1.37 the services/proxy subresource reads EndpointSlices too: proxying to the selector-less Services above (kubectl proxy, API server proxy URLs) needs their slices")
	}
	a.Notes = append(a.Notes,
		"v1 Endpoints is deprecated from 1.33 (every call gets an API warning; no removal is scheduled): write EndpointSlices with your own managed-by label for selector-less Services, and mirroring has nothing left to do",
		"KEP-4974 makes a kube-controller-manager without the mirroring controller a supported, conforming configuration, but the conformance e2e test for EndpointSlice mirroring fails on such a cluster: expect it when you run conformance")
	a.Safe = len(a.Findings) == 0
}
