package e2e

// Issue 16 §2 against the real kube-apiserver and kube-controller-manager 1.37: `mirrorctl adopt`
// replaces the mirroring controller's slices with mirrorctl's own while a client watches the Service's
// EndpointSlices, and `adopt --rollback` hands the Service back to mirroring.

import (
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

const adoptManagedBy = "adopt.mirrorctl.io"

type adoptOut struct {
	Changed   bool    `json:"changed"`
	DryRun    bool    `json:"dry_run"`
	Snapshot  *string `json:"snapshot"`
	ManagedBy string  `json:"managed_by"`
	Objects   []struct {
		Name   string `json:"name"`
		Writer *struct {
			Manager, Operation, Kind string
		} `json:"writer"`
		Endpoints      int      `json:"endpoints"`
		SlicesCreated  []string `json:"slices_created"`
		SlicesAdopted  []string `json:"slices_adopted"`
		SlicesDeleted  []string `json:"slices_deleted"`
		MirroredSlices []string `json:"mirrored_slices"`
		Before         *string  `json:"label_before"`
		After          *string  `json:"label_after"`
		Changed        bool     `json:"changed"`
	} `json:"objects"`
	Diff []struct {
		Path string `json:"path"`
	} `json:"diff"`
}

func runAdopt(t *testing.T, root string, args ...string) adoptOut {
	t.Helper()
	out, errOut, code := mirrorctlExit(t, root, append([]string{"adopt", "--kubeconfig", adminConf}, args...)...)
	if code != 0 {
		t.Fatalf("adopt %q: exit %d\n%s", args, code, errOut)
	}
	t.Logf("adopt %q stderr:\n%s", args, errOut)
	return decode[adoptOut](t, "adopt", out)
}

// slicesOf lists a Service's EndpointSlices managed by managedBy ("" for every manager).
func (c *cluster) slicesOf(namespace, service, managedBy string) []discoveryv1.EndpointSlice {
	c.t.Helper()
	sel := discoveryv1.LabelServiceName + "=" + service
	if managedBy != "" {
		sel += "," + discoveryv1.LabelManagedBy + "=" + managedBy
	}
	l, err := c.client.DiscoveryV1().EndpointSlices(namespace).List(c.ctx(), metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		c.t.Fatal(err)
	}
	return l.Items
}

// addressesOf is the set of addresses the slices carry, sorted.
func addressesOf(ss []discoveryv1.EndpointSlice) []string {
	set := map[string]bool{}
	for _, s := range ss {
		for _, e := range s.Endpoints {
			for _, a := range e.Addresses {
				set[a] = true
			}
		}
	}
	var out []string
	for a := range set {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// poller lists a Service's slices every 100 ms, as kube-proxy would see them, and keeps every list
// that lacked an address of want.
type poller struct {
	stop   chan struct{}
	done   sync.WaitGroup
	mu     sync.Mutex
	polls  int
	broken []string
}

func (c *cluster) pollSlices(namespace, service string, want []string) *poller {
	p := &poller{stop: make(chan struct{})}
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			l, err := c.client.DiscoveryV1().EndpointSlices(namespace).List(c.ctx(), metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + service})
			p.mu.Lock()
			p.polls++
			if err != nil {
				p.broken = append(p.broken, "list: "+err.Error())
			} else if got := addressesOf(l.Items); !slices.Equal(got, want) {
				var names []string
				for _, s := range l.Items {
					names = append(names, s.Name+"("+s.Labels[discoveryv1.LabelManagedBy]+")")
				}
				p.broken = append(p.broken, fmt.Sprintf("%s: addresses %v in slices %v", time.Now().Format("15:04:05.000"), got, names))
			}
			p.mu.Unlock()
			select {
			case <-p.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return p
}

func (p *poller) finish(t *testing.T, what string) {
	t.Helper()
	close(p.stop)
	p.done.Wait()
	t.Logf("%s: %d polls of the Service's EndpointSlices, %d without every address", what, p.polls, len(p.broken))
	if len(p.broken) > 0 {
		t.Fatalf("%s: the Service lost addresses:\n%s", what, strings.Join(p.broken, "\n"))
	}
	if p.polls < 5 {
		t.Fatalf("%s: only %d polls: the window was not watched", what, p.polls)
	}
}

// sliceView is what a slice routes to and says about itself, keyed for comparison: its endpoints in
// address order (the mirroring controller's order is a set's), its ports in order.
type sliceView struct {
	AddressType discoveryv1.AddressType
	Ports       []discoveryv1.EndpointPort
	Endpoints   []discoveryv1.Endpoint
	Labels      map[string]string // without managed-by
	Annotations map[string]string
}

func viewsOf(ss []discoveryv1.EndpointSlice) map[string]sliceView {
	out := map[string]sliceView{}
	for _, s := range ss {
		v := sliceView{AddressType: s.AddressType, Ports: s.Ports, Endpoints: append([]discoveryv1.Endpoint{}, s.Endpoints...),
			Labels: map[string]string{}, Annotations: s.Annotations}
		sort.Slice(v.Endpoints, func(i, j int) bool { return v.Endpoints[i].Addresses[0] < v.Endpoints[j].Addresses[0] })
		for k, val := range s.Labels {
			if k != discoveryv1.LabelManagedBy {
				v.Labels[k] = val
			}
		}
		if len(v.Annotations) == 0 {
			v.Annotations = nil
		}
		var ports []string
		for _, p := range s.Ports {
			ports = append(ports, fmt.Sprintf("%s/%d", deref(p.Name), *p.Port))
		}
		out[string(s.AddressType)+" "+strings.Join(ports, ",")] = v
	}
	return out
}

// kubectlCreate creates obj (apiVersion and kind set) with real kubectl, as a person would.
func kubectlCreate(t testing.TB, kubectl, root string, obj any) {
	t.Helper()
	body, err := yaml.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "object.yaml")
	writeFile(t, f, body, 0o600)
	run(t, nil, kubectl, "--kubeconfig", filepath.Join(root, adminConf), "create", "-f", f)
}

// handWrittenEndpoints is userEndpoints with the Endpoints written by real kubectl: static for adopt.
func (c *cluster) handWrittenEndpoints(kubectl, namespace, name, ip string, labels map[string]string) {
	c.t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 443, TargetPort: intstr.FromInt32(8443)}}},
	}
	if _, err := c.client.CoreV1().Services(namespace).Create(c.ctx(), svc, metav1.CreateOptions{}); err != nil {
		c.t.Fatal(err)
	}
	kubectlCreate(c.t, kubectl, c.root, &corev1.Endpoints{ //nolint:staticcheck // v1 Endpoints, hand-written
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Endpoints"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: labels},
		Subsets: []corev1.EndpointSubset{{ //nolint:staticcheck
			Addresses: []corev1.EndpointAddress{{IP: ip}},
			Ports:     []corev1.EndpointPort{{Port: 8443}}, //nolint:staticcheck
		}},
	})
}

// TestAdopt: a selector-less Service with hand-written Endpoints (ready and not-ready addresses,
// hostnames, a node name, a target reference, two ports, a second subset, an IPv6 address) is
// adopted while a client polls its slices every 100 ms: no poll misses an address, the mirrored slices
// go, the adopted ones equal them. A second adopt changes nothing; audit says safe; adopt --rollback
// brings the mirrored slices back (again watched) and removes the adopted ones; live Endpoints and
// default/kubernetes are refused.
func TestAdopt(t *testing.T) {
	kcmBin := bin(t, set137, "kube-controller-manager")
	kubeadm := bin(t, set137, "kubeadm")
	kubectl := bin(t, set137, "kubectl")
	mirrorctlBin(t)
	c := newCluster(t)
	root := c.root
	manifest, _ := kubeadmNode(t, root, kubeadm, v1beta4Defaults, k8sVersion(t, set137))
	c.startKCM(kcmBin, manifest)
	c.createMirrorPod(manifest, "e2e-node")
	c.probeControllers("probe")

	const nsName, name = "shop", "orders-db"
	c.ensureNamespace(nsName)
	ctx := c.ctx()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: nsName},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{
			{Name: "pg", Port: 5432, TargetPort: intstr.FromInt32(5432)},
			{Name: "metrics", Port: 9187, TargetPort: intstr.FromInt32(9187)},
		}},
	}
	svc, err := c.client.CoreV1().Services(nsName).Create(ctx, svc, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	node := "db-node-1"
	ep := &corev1.Endpoints{ //nolint:staticcheck // v1 Endpoints is what is adopted
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: nsName, Labels: map[string]string{"team": "storage"},
			Annotations: map[string]string{"example.com/owner": "dba"}},
		Subsets: []corev1.EndpointSubset{ //nolint:staticcheck
			{
				Addresses: []corev1.EndpointAddress{
					{IP: "192.0.2.11", Hostname: "db-1"},
					{IP: "192.0.2.10", Hostname: "db-0", NodeName: &node,
						TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: nsName, Name: "db-0", UID: "0e8f7c1e-6c59-4d8b-9f43-4a1f6f3b2a10"}},
					{IP: "2001:db8::10", Hostname: "db-6"},
				},
				NotReadyAddresses: []corev1.EndpointAddress{{IP: "192.0.2.12", Hostname: "db-2"}},
				Ports:             []corev1.EndpointPort{{Name: "pg", Port: 5432}, {Name: "metrics", Port: 9187, Protocol: corev1.ProtocolTCP}}, //nolint:staticcheck
			},
			{
				Addresses: []corev1.EndpointAddress{{IP: "192.0.2.20"}},
				Ports:     []corev1.EndpointPort{{Name: "pg", Port: 5432}, {Name: "metrics", Port: 9187}}, //nolint:staticcheck
			},
			{
				Addresses: []corev1.EndpointAddress{{IP: "192.0.2.30", Hostname: "backup"}},
				Ports:     []corev1.EndpointPort{{Name: "pg", Port: 6432}}, //nolint:staticcheck
			},
		},
	}
	// Written by a person: real kubectl creates it (its field manager is then kubectl-create).
	ep.APIVersion, ep.Kind = "v1", "Endpoints"
	kubectlCreate(t, kubectl, root, ep)
	all := []string{"192.0.2.10", "192.0.2.11", "192.0.2.12", "192.0.2.20", "192.0.2.30", "2001:db8::10"}
	waitFor(t, "mirrored slices with every address", startTimeout, c.procs(), func() (bool, error) {
		return slices.Equal(addressesOf(c.slicesOf(nsName, name, mirrorManagedBy)), all), nil
	})
	mirrored := c.slicesOf(nsName, name, mirrorManagedBy)
	t.Logf("%d mirrored slices", len(mirrored))
	if a := runAudit(t, root, exitFindings); !slices.Contains(a.wouldMirror(), nsName+"/"+name) {
		t.Fatalf("audit before adopt: would mirror %v", a.wouldMirror())
	}

	// Dry run: the diff of every object, nothing written.
	d := runAdopt(t, root, "-n", nsName, "--all", "--dry-run")
	if !d.Changed || !d.DryRun || d.Snapshot != nil || len(d.Objects) != 1 || len(d.Objects[0].SlicesCreated) != len(mirrored) ||
		len(d.Diff) != len(mirrored)+1 || d.Objects[0].Writer == nil || d.Objects[0].Writer.Kind != "static" || d.Objects[0].Writer.Manager != "kubectl-create" {
		t.Fatalf("adopt --dry-run: %+v", d)
	}
	if n := len(c.slicesOf(nsName, name, adoptManagedBy)); n != 0 || c.skipLabel(nsName, name) != nil {
		t.Fatalf("adopt --dry-run wrote: %d adopted slices, label %v", n, c.skipLabel(nsName, name))
	}

	// The real thing, watched.
	p := c.pollSlices(nsName, name, all)
	time.Sleep(300 * time.Millisecond)
	a := runAdopt(t, root, "-n", nsName, name)
	if !a.Changed || a.Snapshot == nil || len(a.Objects) != 1 || deref(a.Objects[0].After) != "true" || a.ManagedBy != adoptManagedBy {
		t.Fatalf("adopt: %+v", a)
	}
	took := waitFor(t, "mirrored slices gone", startTimeout, c.procs(), func() (bool, error) {
		return len(c.slicesOf(nsName, name, mirrorManagedBy)) == 0, nil
	})
	time.Sleep(500 * time.Millisecond)
	p.finish(t, "adopt")
	t.Logf("kcm deleted the mirrored slices %s after adopt returned", took.Round(time.Millisecond))

	adopted := c.slicesOf(nsName, name, adoptManagedBy)
	if len(adopted) != 3 || len(mirrored) != 3 { // IPv4 and IPv6 of pg+metrics, IPv4 of pg:6432
		t.Fatalf("%d adopted and %d mirrored slices, want 3 each", len(adopted), len(mirrored))
	}
	for k, v := range viewsOf(adopted) {
		t.Logf("adopted %s: %d endpoints, labels %v, annotations %v", k, len(v.Endpoints), v.Labels, v.Annotations)
	}
	if got, want := viewsOf(adopted), viewsOf(mirrored); !reflect.DeepEqual(got, want) {
		t.Fatalf("adopted slices differ from the mirrored ones:\nadopted  %+v\nmirrored %+v", got, want)
	}
	for _, s := range adopted {
		if len(s.OwnerReferences) != 1 || s.OwnerReferences[0].Kind != "Service" || s.OwnerReferences[0].UID != svc.UID {
			t.Fatalf("adopted slice %s owners %+v, want the Service %s", s.Name, s.OwnerReferences, svc.UID)
		}
	}
	// Nothing else rewrote them: the EndpointSlice controller leaves slices of a selector-less Service alone.
	if s := runAdopt(t, root, "-n", nsName, name); s.Changed || s.Snapshot != nil || len(s.Objects[0].SlicesAdopted) != len(adopted) {
		t.Fatalf("second adopt: %+v, want no change", s)
	}
	if s := runAdopt(t, root, "-n", nsName, "--all"); s.Changed || s.Snapshot != nil {
		t.Fatalf("adopt --all after adopt: %+v, want no change", s)
	}
	if au := runAudit(t, root, 0); !au.Safe {
		t.Fatalf("audit after adopt: %+v", au)
	}

	// Rollback, watched: the label goes, mirroring re-creates its slices, only then ours go.
	p = c.pollSlices(nsName, name, all)
	time.Sleep(300 * time.Millisecond)
	r := runAdopt(t, root, "--rollback")
	time.Sleep(300 * time.Millisecond)
	p.finish(t, "adopt --rollback")
	if !r.Changed || len(r.Objects) != 1 || r.Objects[0].After != nil || len(r.Objects[0].SlicesDeleted) != len(adopted) {
		t.Fatalf("adopt --rollback: %+v", r)
	}
	if n := len(c.slicesOf(nsName, name, adoptManagedBy)); n != 0 || c.skipLabel(nsName, name) != nil {
		t.Fatalf("after adopt --rollback: %d adopted slices left, label %v", n, c.skipLabel(nsName, name))
	}
	if got, want := viewsOf(c.slicesOf(nsName, name, mirrorManagedBy)), viewsOf(mirrored); !reflect.DeepEqual(got, want) {
		t.Fatalf("mirrored slices after rollback differ:\n%+v\n%+v", got, want)
	}
	if s := runAdopt(t, root, "--rollback", *a.Snapshot); s.Changed {
		t.Fatalf("second rollback: %+v", s)
	}

	// Refusals, each leaving everything as it was (exit 1).
	if _, errOut, code := mirrorctlExit(t, root, "adopt", "--kubeconfig", adminConf, "-n", "default", "kubernetes"); code != 1 || !strings.Contains(errOut, "managed by the API server") {
		t.Fatalf("adopt default/kubernetes: exit %d %s", code, errOut)
	}
	// Live: Endpoints this test's client (a controller, not kubectl) wrote just now.
	if err := userEndpoints(c.ctx(), c.client, nsName, "feeder", "192.0.2.40", nil, nil); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := mirrorctlExit(t, root, "adopt", "--kubeconfig", adminConf, "-n", nsName, "--all")
	if code != 1 || !strings.Contains(errOut, "shop/feeder is written by a controller") || !strings.Contains(errOut, "--force") {
		t.Fatalf("adopt of live Endpoints: exit %d %s", code, errOut)
	}
	if n := len(c.slicesOf(nsName, name, adoptManagedBy)) + len(c.slicesOf(nsName, "feeder", adoptManagedBy)); n != 0 || c.skipLabel(nsName, name) != nil {
		t.Fatalf("a refused adopt wrote: %d adopted slices", n)
	}
	// With --force the operator takes the staleness on.
	if s := runAdopt(t, root, "-n", nsName, "--force", "feeder"); !s.Changed || s.Objects[0].Writer.Kind != "live" {
		t.Fatalf("adopt --force of live Endpoints: %+v", s)
	}
	if got := addressesOf(c.slicesOf(nsName, "feeder", adoptManagedBy)); !slices.Equal(got, []string{"192.0.2.40"}) {
		t.Fatalf("adopted feeder: %v", got)
	}

	// A failure midway: the second slice's name is taken by someone else's slice. The first one is
	// deleted again, the Endpoints stays unlabelled, its mirrored slices keep serving, no record stays.
	c.handWrittenEndpoints(kubectl, nsName, "ledger", "192.0.2.50", nil)
	// A second subset (so a second slice), added by hand with kubectl patch.
	run(t, nil, kubectl, "--kubeconfig", filepath.Join(root, adminConf), "-n", nsName, "patch", "endpoints", "ledger", "--type=json",
		`-p=[{"op":"add","path":"/subsets/-","value":{"addresses":[{"ip":"192.0.2.51"}],"ports":[{"port":9000}]}}]`)
	waitFor(t, "mirrored slices of ledger", startTimeout, c.procs(), func() (bool, error) {
		return len(c.slicesOf(nsName, "ledger", mirrorManagedBy)) == 2, nil
	})
	port, proto := int32(1), corev1.ProtocolTCP
	foreign := &discoveryv1.EndpointSlice{
		TypeMeta:    metav1.TypeMeta{APIVersion: "discovery.k8s.io/v1", Kind: "EndpointSlice"},
		ObjectMeta:  metav1.ObjectMeta{Name: "ledger-adopted-2", Namespace: nsName, Labels: map[string]string{discoveryv1.LabelManagedBy: "hand.example.com"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Port: &port, Protocol: &proto}},
	}
	kubectlCreate(t, kubectl, root, foreign)
	before := c.slicesOf(nsName, "ledger", mirrorManagedBy)
	_, errOut, code = mirrorctlExit(t, root, "adopt", "--kubeconfig", adminConf, "-n", nsName, "ledger")
	t.Logf("adopt over a taken slice name:\n%s", errOut)
	if code != 1 || !strings.Contains(errOut, "ledger-adopted-2") || !strings.Contains(errOut, "the slices it created were deleted, nothing changed") {
		t.Fatalf("adopt over a taken slice name: exit %d %s", code, errOut)
	}
	if n := len(c.slicesOf(nsName, "ledger", adoptManagedBy)); n != 0 || c.skipLabel(nsName, "ledger") != nil {
		t.Fatalf("after a failed adopt: %d adopted slices, label %v", n, c.skipLabel(nsName, "ledger"))
	}
	if after := c.slicesOf(nsName, "ledger", mirrorManagedBy); !reflect.DeepEqual(viewsOf(after), viewsOf(before)) {
		t.Fatalf("the mirrored slices changed under a failed adopt")
	}
	// The latest adoption on record is still feeder's: the failed run left none.
	if r := runAdopt(t, root, "--rollback", "--dry-run"); len(r.Objects) != 1 || r.Objects[0].Name != "feeder" {
		t.Fatalf("latest adoption after a failed run: %+v", r)
	}
}
