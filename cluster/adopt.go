package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	endpointsv1 "k8s.io/kubernetes/pkg/api/v1/endpoints"
	"sigs.k8s.io/yaml"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/nodefs"
	"github.com/mirrorctl/mirrorctl/snapshot"
)

// AdoptController is the endpointslice.kubernetes.io/managed-by value of the slices `adopt` writes:
// domain-qualified like the controllers' own ("endpointslicemirroring-controller.k8s.io"), and not
// one of theirs, so neither the mirroring controller nor the EndpointSlice controller touches them.
const AdoptController = "adopt.mirrorctl.io"

// KindSlice is the FileChange kind of an EndpointSlice in plans and output.
const KindSlice = "endpointslice"

// MaxEndpointsPerSlice is the API's limit (k8s.io/kubernetes pkg/apis/discovery/validation
// maxEndpoints) and kcm's default --mirroring-max-endpoints-per-subset.
const MaxEndpointsPerSlice = 1000

// AdoptOptions selects the Endpoints of one namespace to move off mirroring.
type AdoptOptions struct {
	Namespace string
	Selector  string
	Names     []string
	All       bool
	// Force adopts Endpoints a controller keeps writing (their adopted copy goes stale at its next write).
	Force      bool
	Now        time.Time
	StaleAfter time.Duration
}

// Adoption is the plan for one Endpoints: the slices to create (none when adopted already) and the
// skip-mirror label that hands its mirrored copies back to the mirroring controller for deletion.
type Adoption struct {
	Namespace, Name string
	ServiceUID      string
	Writer          Writer
	Create          []*discoveryv1.EndpointSlice
	Adopted         []string // adopted slices already there, matching the Endpoints
	Mirrored        []string // the mirroring controller's slices now
	Endpoints       int      // endpoints across the desired slices
	Label           LabelChange
}

// Changed reports whether the adoption writes anything.
func (a Adoption) Changed() bool { return len(a.Create) > 0 || a.Label.Changed() }

// FileChanges renders each slice to create and the label as YAML, for a dry run's diff.
func (a Adoption) FileChanges() []change.FileChange {
	var out []change.FileChange
	for _, s := range a.Create {
		out = append(out, SliceFileChange(s, false))
	}
	return append(out, a.Label.FileChange())
}

// SliceFileChange shows an EndpointSlice being created (or, gone, deleted).
func SliceFileChange(s *discoveryv1.EndpointSlice, gone bool) change.FileChange {
	p := "endpointslice:" + s.Namespace + "/" + s.Name
	c := s.DeepCopy()
	c.APIVersion, c.Kind = "discovery.k8s.io/v1", "EndpointSlice"
	c.ManagedFields, c.ResourceVersion, c.CreationTimestamp, c.Generation = nil, "", metav1.Time{}, 0
	data, err := yaml.Marshal(c)
	if err != nil {
		data = []byte("# " + err.Error() + "\n")
	}
	if gone {
		return change.FileChange{Path: p, Kind: KindSlice, Before: &nodefs.File{Path: p, Data: data, Exists: true}}
	}
	return change.FileChange{Path: p, Kind: KindSlice, Before: &nodefs.File{Path: p}, After: data}
}

// DesiredSlices is what the mirroring controller makes of ep (k8s.io/kubernetes v1.37.2
// pkg/controller/endpointslicemirroring: reconciler.go reconcile, utils.go newEndpointSlice,
// addressToEndpoint, epPortsToEpsPorts), owned by the Service instead of the Endpoints and labelled
// managed-by AdoptController: the subsets repacked by the same function, one slice per subset and IP
// family, the endpoint fields it sets (address re-stringified, ready, hostname, nodeName, targetRef),
// the Endpoints' labels and annotations but the two it leaves out. Where a subset has more than
// MaxEndpointsPerSlice addresses of a family, mirroring drops the rest; the further slices here keep
// them (warning returned). Invalid IPs are left out, as mirroring does. Endpoints are in the repacked
// order (mirroring's is a set's, random).
func DesiredSlices(ep *corev1.Endpoints, svc *corev1.Service) ([]*discoveryv1.EndpointSlice, []string) {
	var out []*discoveryv1.EndpointSlice
	var warnings []string
	invalid := 0
	for _, ss := range endpointsv1.RepackSubsets(ep.Subsets) {
		ports := slicePorts(ss.Ports)
		byFamily := map[discoveryv1.AddressType][]discoveryv1.Endpoint{}
		add := func(addrs []corev1.EndpointAddress, ready bool) {
			for _, a := range addrs {
				e, t := sliceEndpoint(a, ready)
				if e == nil {
					invalid++
					continue
				}
				byFamily[t] = append(byFamily[t], *e)
			}
		}
		add(ss.Addresses, true)
		add(ss.NotReadyAddresses, false)
		for _, t := range []discoveryv1.AddressType{discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6} {
			eps := byFamily[t]
			if len(eps) > MaxEndpointsPerSlice {
				warnings = append(warnings, fmt.Sprintf("endpoints %s/%s: a subset has %d %s addresses; mirroring keeps the first %d (its --mirroring-max-endpoints-per-subset), the adopted slices keep all of them", ep.Namespace, ep.Name, len(eps), t, MaxEndpointsPerSlice))
			}
			for len(eps) > 0 {
				n := min(len(eps), MaxEndpointsPerSlice)
				out = append(out, newSlice(ep, svc, ports, t, eps[:n]))
				eps = eps[n:]
			}
		}
	}
	if invalid > 0 {
		warnings = append(warnings, fmt.Sprintf("endpoints %s/%s: %d address(es) are not valid IPs; mirroring skips them, so does adopt", ep.Namespace, ep.Name, invalid))
	}
	for i, s := range out {
		s.Name = fmt.Sprintf("%s-adopted-%d", ep.Name, i+1)
	}
	return out, warnings
}

func newSlice(ep *corev1.Endpoints, svc *corev1.Service, ports []discoveryv1.EndpointPort, t discoveryv1.AddressType, eps []discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	controller := true
	s := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:   ep.Namespace,
			Labels:      map[string]string{},
			Annotations: map[string]string{},
			// The Service owns them: the garbage collector deletes them with it, as it deletes the Endpoints'
			// mirrored copies with the Endpoints. No blockOwnerDeletion, which needs update rights on
			// services/finalizers under the OwnerReferencesPermissionEnforcement admission plugin.
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Service", Name: svc.Name, UID: svc.UID, Controller: &controller}},
		},
		AddressType: t,
		Endpoints:   append([]discoveryv1.Endpoint{}, eps...),
		Ports:       ports,
	}
	for k, v := range ep.Labels {
		s.Labels[k] = v
	}
	s.Labels[LabelServiceName] = ep.Name
	s.Labels[LabelManagedBy] = AdoptController
	for k, v := range ep.Annotations {
		if k == corev1.EndpointsLastChangeTriggerTime || k == corev1.LastAppliedConfigAnnotation {
			continue
		}
		s.Annotations[k] = v
	}
	return s
}

// slicePorts is epPortsToEpsPorts: every field a pointer, the name set even when empty.
func slicePorts(ps []corev1.EndpointPort) []discoveryv1.EndpointPort {
	out := []discoveryv1.EndpointPort{}
	for _, p := range ps {
		p := p
		out = append(out, discoveryv1.EndpointPort{Name: &p.Name, Port: &p.Port, Protocol: &p.Protocol, AppProtocol: p.AppProtocol})
	}
	return out
}

// sliceEndpoint is addressToEndpoint. mirroring parses with netutils.ParseIPSloppy, net.ParseIP that
// also takes IPv4 octets with leading zeros; the re-stringified form drops them alike.
func sliceEndpoint(a corev1.EndpointAddress, ready bool) (*discoveryv1.Endpoint, discoveryv1.AddressType) {
	ip := parseIPSloppy(a.IP)
	if ip == nil {
		return nil, ""
	}
	t := discoveryv1.AddressTypeIPv4
	if ip.To4() == nil {
		t = discoveryv1.AddressTypeIPv6
	}
	e := &discoveryv1.Endpoint{Addresses: []string{ip.String()}, Conditions: discoveryv1.EndpointConditions{Ready: &ready}, TargetRef: a.TargetRef}
	if a.NodeName != nil {
		n := *a.NodeName
		e.NodeName = &n
	}
	if a.Hostname != "" {
		h := a.Hostname
		e.Hostname = &h
	}
	return e, t
}

// parseIPSloppy is k8s.io/utils/net's ParseIPSloppy (Go's parser before 1.17: leading zeros allowed,
// read as decimal).
func parseIPSloppy(s string) net.IP {
	if ip := net.ParseIP(s); ip != nil {
		return ip
	}
	parts := strings.Split(s, ".")
	if len(parts) != 4 || strings.Contains(s, ":") {
		return nil
	}
	var b [4]byte
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 8)
		if err != nil || p == "" || p[0] == '+' {
			return nil
		}
		b[i] = byte(n)
	}
	return net.IPv4(b[0], b[1], b[2], b[3])
}

// SliceContent is a canonical form of what slices route to: per slice its address type and ports in
// order, and its endpoints as a set. Two slice sets that route the same compare equal whatever their
// names, owners, labels or the order of their endpoints.
func SliceContent(slices []*discoveryv1.EndpointSlice) []string {
	var out []string
	for _, s := range slices {
		var ports []string
		for _, p := range s.Ports {
			ports = append(ports, fmt.Sprintf("%s/%s/%s/%s", quoted(p.Name), strOf(p.Protocol), intOf(p.Port), quoted(p.AppProtocol)))
		}
		head := string(s.AddressType) + " [" + strings.Join(ports, ",") + "]"
		for _, e := range s.Endpoints {
			ref := ""
			if e.TargetRef != nil {
				ref = e.TargetRef.Kind + "/" + e.TargetRef.Namespace + "/" + e.TargetRef.Name + "/" + string(e.TargetRef.UID)
			}
			out = append(out, fmt.Sprintf("%s %s ready=%s serving=%s terminating=%s host=%s node=%s zone=%s ref=%s", head,
				strings.Join(e.Addresses, ","), boolOf(e.Conditions.Ready), boolOf(e.Conditions.Serving), boolOf(e.Conditions.Terminating),
				quoted(e.Hostname), quoted(e.NodeName), quoted(e.Zone), ref))
		}
	}
	sort.Strings(out)
	return out
}

func quoted(p *string) string {
	if p == nil {
		return "-"
	}
	return strconv.Quote(*p)
}

func strOf(p *corev1.Protocol) string {
	if p == nil {
		return "-"
	}
	return string(*p)
}

func intOf(p *int32) string {
	if p == nil {
		return "-"
	}
	return strconv.Itoa(int(*p))
}

func boolOf(p *bool) string {
	if p == nil {
		return "-"
	}
	return strconv.FormatBool(*p)
}

// ErrLive refuses Endpoints a controller keeps writing: their adopted copy would go stale.
var ErrLive = errors.New("is written by a controller")

// PlanAdopt plans the adoption of the selected Endpoints of one namespace, sorted by name. It reads the
// namespace's Services, Endpoints and EndpointSlices with paginated lists. Named objects that do not
// exist, are not a selector-less Service's, or are protected are errors (nothing changes); a selection
// leaves them out with a warning. Live Endpoints (ClassifyWriter) stop the run unless Force.
func (c *Client) PlanAdopt(ctx context.Context, o AdoptOptions) ([]Adoption, []string, error) {
	if o.Namespace == "" {
		return nil, nil, errors.New("a namespace is required")
	}
	if err := oneSelection(o.Selector, o.Names, o.All); err != nil {
		return nil, nil, err
	}
	if o.StaleAfter <= 0 {
		o.StaleAfter = DefaultStaticAfter
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	want := map[string]bool{}
	for _, n := range o.Names {
		if protected(o.Namespace, n) {
			return nil, nil, fmt.Errorf("endpoints %s/%s %w", o.Namespace, n, ErrProtected)
		}
		want[n] = true
	}
	var requests int
	pg := paging{DefaultPageSize, &requests}
	services := map[string]*corev1.Service{}
	err := list(ctx, pg, c.Kube.ListServices, o.Namespace, "", func(l *corev1.ServiceList) {
		for i := range l.Items {
			services[l.Items[i].Name] = &l.Items[i]
		}
	})
	if err != nil {
		return nil, nil, fmt.Errorf("list services in %s: %s", o.Namespace, oneLine(err.Error()))
	}
	adopted, mirrored := map[string][]*discoveryv1.EndpointSlice{}, map[string][]*discoveryv1.EndpointSlice{}
	err = list(ctx, pg, c.Kube.ListEndpointSlices, o.Namespace, LabelManagedBy+" in ("+AdoptController+","+MirroringController+")", func(l *discoveryv1.EndpointSliceList) {
		for i := range l.Items {
			s := &l.Items[i]
			if s.Labels[LabelManagedBy] == AdoptController {
				adopted[s.Labels[LabelServiceName]] = append(adopted[s.Labels[LabelServiceName]], s)
			} else {
				mirrored[s.Labels[LabelServiceName]] = append(mirrored[s.Labels[LabelServiceName]], s)
			}
		}
	})
	if err != nil {
		return nil, nil, fmt.Errorf("list endpointslices in %s: %s", o.Namespace, oneLine(err.Error()))
	}

	var warnings, refused, live []string
	found := map[string]bool{}
	var out []Adoption
	selectorOwned := 0
	err = list(ctx, pg, c.Kube.ListEndpoints, o.Namespace, o.Selector, func(l *corev1.EndpointsList) {
		for i := range l.Items {
			e := &l.Items[i]
			if len(want) > 0 && !want[e.Name] {
				continue
			}
			found[e.Name] = true
			named := len(want) > 0
			skipf := func(format string, args ...any) {
				msg := fmt.Sprintf("endpoints %s/%s ", e.Namespace, e.Name) + fmt.Sprintf(format, args...)
				if named {
					refused = append(refused, msg)
				} else {
					warnings = append(warnings, "left out "+msg)
				}
			}
			svc := services[e.Name]
			_, leader := e.Annotations[leaderAnnotation]
			switch {
			case protected(e.Namespace, e.Name):
				skipf("%s", ErrProtected.Error())
				continue
			case leader:
				skipf("is a leader-election lock: nothing mirrors it")
				continue
			case svc == nil:
				skipf("has no Service: nothing mirrors it")
				continue
			case svc.Spec.Selector != nil:
				if named {
					skipf("belongs to a Service with a selector: the EndpointSlice controller writes its slices, nothing mirrors it")
				} else {
					selectorOwned++
				}
				continue
			}
			a := Adoption{Namespace: e.Namespace, Name: e.Name, ServiceUID: string(svc.UID), Label: planLabel(e, false)}
			for _, s := range adopted[e.Name] {
				a.Adopted = append(a.Adopted, s.Name)
			}
			for _, s := range mirrored[e.Name] {
				a.Mirrored = append(a.Mirrored, s.Name)
			}
			sort.Strings(a.Adopted)
			sort.Strings(a.Mirrored)
			if e.Labels[LabelSkipMirror] == "true" && len(a.Adopted) == 0 {
				// Not mirrored already: the state adopt leads to holds, so this is no error. Creating slices
				// here would route a Service to addresses it does not serve now.
				warnings = append(warnings, fmt.Sprintf("left out endpoints %s/%s: labelled %s=true by someone else, so nothing mirrors it and there is nothing to adopt", e.Namespace, e.Name, LabelSkipMirror))
				continue
			}
			a.Writer = ClassifyWriter(e.ManagedFields, o.Now, o.StaleAfter)
			if a.Writer.Kind != WriterStatic && len(a.Adopted) == 0 && !o.Force {
				what := "has no managedFields naming the writer of its addresses"
				if a.Writer.Kind == WriterLive {
					what = fmt.Sprintf("%s (%s, last %s at %s)", ErrLive.Error(), a.Writer.Manager, a.Writer.Operation, a.Writer.Updated.Format(time.RFC3339))
				}
				live = append(live, fmt.Sprintf("endpoints %s/%s %s", e.Namespace, e.Name, what))
				continue
			}
			desired, w := DesiredSlices(e, svc)
			warnings = append(warnings, w...)
			for _, s := range desired {
				a.Endpoints += len(s.Endpoints)
			}
			if len(a.Adopted) > 0 {
				if !equalStrings(SliceContent(adopted[e.Name]), SliceContent(desired)) {
					refused = append(refused, fmt.Sprintf("endpoints %s/%s changed since it was adopted (its adopted slices %s no longer match it): `mirrorctl adopt --rollback`, then adopt it again", e.Namespace, e.Name, strings.Join(a.Adopted, ", ")))
					continue
				}
			} else {
				a.Create = desired
			}
			out = append(out, a)
		}
	})
	if err != nil {
		return nil, nil, fmt.Errorf("list endpoints in %s: %s", o.Namespace, oneLine(err.Error()))
	}
	var missing []string
	for n := range want {
		if !found[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, nil, fmt.Errorf("endpoints %s in namespace %s: not found", strings.Join(missing, ", "), o.Namespace)
	}
	if len(refused) > 0 {
		sort.Strings(refused)
		return nil, nil, errors.New(strings.Join(refused, "; "))
	}
	if len(live) > 0 {
		sort.Strings(live)
		return nil, nil, fmt.Errorf("%s: its adopted copy would go stale at the next write; make that writer write EndpointSlices itself, or adopt anyway with --force", strings.Join(live, "; "))
	}
	if selectorOwned > 0 {
		warnings = append(warnings, fmt.Sprintf("left out %d Endpoints of Services with a selector (the Endpoints controller's; nothing mirrors them)", selectorOwned))
	}
	if len(out) == 0 {
		warnings = append(warnings, "no Endpoints to adopt in namespace "+o.Namespace)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, warnings, nil
}

func oneSelection(selector string, names []string, all bool) error {
	n := 0
	if selector != "" {
		n++
		if _, err := labels.Parse(selector); err != nil {
			return fmt.Errorf("--selector %q: %s", selector, oneLine(err.Error()))
		}
	}
	if len(names) > 0 {
		n++
	}
	if all {
		n++
	}
	if n != 1 {
		return errors.New("select Endpoints with exactly one of: --selector, names, --all")
	}
	return nil
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// CreateSlices creates an adoption's slices in order; created is called with each one the API server
// accepted (its UID for the record). An error leaves the ones created so far for the caller to delete.
func (c *Client) CreateSlices(ctx context.Context, a *Adoption, created func(*discoveryv1.EndpointSlice) error) error {
	for _, s := range a.Create {
		got, err := c.Kube.CreateEndpointSlice(ctx, s, metav1.CreateOptions{FieldManager: "mirrorctl"})
		if err != nil {
			return fmt.Errorf("create endpointslice %s/%s: %s", s.Namespace, s.Name, oneLine(err.Error()))
		}
		if err := created(got); err != nil {
			return err
		}
	}
	return nil
}

// DeleteSlice deletes one EndpointSlice mirrorctl created, only if it is still that object (UID);
// already gone is success.
func (c *Client) DeleteSlice(ctx context.Context, r SliceRecord) error {
	opts := metav1.DeleteOptions{}
	if r.UID != "" {
		uid := types.UID(r.UID)
		opts.Preconditions = &metav1.Preconditions{UID: &uid}
	}
	err := c.Kube.DeleteEndpointSlice(ctx, r.Namespace, r.Name, opts)
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete endpointslice %s/%s: %s", r.Namespace, r.Name, oneLine(err.Error()))
	}
	return nil
}

// SkipMirrorLabelled reads Endpoints ns/name back and reports whether it carries skip-mirror=true.
func (c *Client) SkipMirrorLabelled(ctx context.Context, ns, name string) (bool, error) {
	e, err := c.Kube.GetEndpoints(ctx, ns, name, metav1.GetOptions{})
	if err != nil {
		return false, fmt.Errorf("endpoints %s/%s: %s", ns, name, oneLine(err.Error()))
	}
	return e.Labels[LabelSkipMirror] == "true", nil
}

// AdoptRollback is the plan of `adopt --rollback`: the labels to put back, then the slices to delete.
type AdoptRollback struct {
	Labels []LabelChange
	Slices []SliceRecord                // recorded slices still there (same UID)
	Shown  []*discoveryv1.EndpointSlice // the same, as read, for the diff
}

// PlanAdoptRollback compares the record with the cluster: labels as PlanLabelRollback does (drift is
// refused unless force); each recorded slice still there with its UID is to be deleted, one re-created
// under its name by someone else is drift, one gone is nothing to do.
func (c *Client) PlanAdoptRollback(ctx context.Context, rec *Record, force bool) (*AdoptRollback, error) {
	labels, err := c.PlanLabelRollback(ctx, rec.Labels, force)
	if err != nil {
		return nil, err
	}
	out := &AdoptRollback{Labels: labels}
	byNS := map[string]map[string]*discoveryv1.EndpointSlice{}
	var drifted []string
	for _, r := range rec.Slices {
		if byNS[r.Namespace] == nil {
			byNS[r.Namespace] = map[string]*discoveryv1.EndpointSlice{}
			var requests int
			m := byNS[r.Namespace]
			err := list(ctx, paging{DefaultPageSize, &requests}, c.Kube.ListEndpointSlices, r.Namespace, LabelManagedBy+"="+AdoptController, func(l *discoveryv1.EndpointSliceList) {
				for i := range l.Items {
					m[l.Items[i].Name] = &l.Items[i]
				}
			})
			if err != nil {
				return nil, fmt.Errorf("list endpointslices in %s: %s", r.Namespace, oneLine(err.Error()))
			}
		}
		s := byNS[r.Namespace][r.Name]
		switch {
		case s == nil:
		case r.UID != "" && string(s.UID) != r.UID:
			if !force {
				drifted = append(drifted, r.Namespace+"/"+r.Name+" (re-created)")
			}
		default:
			out.Slices = append(out.Slices, r)
			out.Shown = append(out.Shown, s)
		}
	}
	if len(drifted) > 0 {
		return nil, fmt.Errorf("endpointslices %s %w: not deleting what mirrorctl did not create", strings.Join(drifted, ", "), snapshot.ErrDrift)
	}
	return out, nil
}

// FileChanges shows the labels and the slices' deletion.
func (r *AdoptRollback) FileChanges() []change.FileChange {
	var out []change.FileChange
	for _, l := range r.Labels {
		out = append(out, l.FileChange())
	}
	for _, s := range r.Shown {
		out = append(out, SliceFileChange(s, true))
	}
	return out
}

// MirroredMatch reports whether the mirroring controller's slices of Endpoints ns/name carry what it
// would make of the Endpoints now (an Endpoints with no address has no slices, matched by none).
func (c *Client) MirroredMatch(ctx context.Context, ns, name string) (bool, error) {
	e, err := c.Kube.GetEndpoints(ctx, ns, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return true, nil // nothing to mirror any more
	}
	if err != nil {
		return false, fmt.Errorf("endpoints %s/%s: %s", ns, name, oneLine(err.Error()))
	}
	want, _ := DesiredSlices(e, &corev1.Service{})
	var got []*discoveryv1.EndpointSlice
	var requests int
	err = list(ctx, paging{DefaultPageSize, &requests}, c.Kube.ListEndpointSlices, ns, LabelManagedBy+"="+MirroringController+","+LabelServiceName+"="+name, func(l *discoveryv1.EndpointSliceList) {
		for i := range l.Items {
			got = append(got, &l.Items[i])
		}
	})
	if err != nil {
		return false, fmt.Errorf("list endpointslices of %s/%s: %s", ns, name, oneLine(err.Error()))
	}
	return equalStrings(SliceContent(got), SliceContent(want)), nil
}
