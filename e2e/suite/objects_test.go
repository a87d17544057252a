package e2e

import (
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

const (
	ns               = "default"
	mirrorManagedBy  = "endpointslicemirroring-controller.k8s.io"
	regularManagedBy = "endpointslice-controller.k8s.io"
)

// probeControllers proves that kcm's controllers are syncing: a Service with a selector gets its
// EndpointSlice from the endpointslice controller (which no mirrorctl edit touches). Waiting for it first
// means that a missing mirrored slice afterwards is the mirroring controller's doing, not a slow kcm.
func (c *cluster) probeControllers(name string) time.Duration {
	c.t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": name},
			Ports:    []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
	if _, err := c.client.CoreV1().Services(ns).Create(c.ctx(), svc, metav1.CreateOptions{}); err != nil {
		c.t.Fatalf("create service %s: %v", name, err)
	}
	return waitFor(c.t, "EndpointSlice of selector service "+name, startTimeout, c.procs(), func() (bool, error) {
		s, err := c.slices(name, regularManagedBy)
		return len(s) > 0, err
	})
}

// createUserEndpoints makes what the mirroring controller exists for: a Service without a selector and a
// hand-written Endpoints object. Endpoints may not hold loopback addresses; 192.0.2.0/24 is data only.
func (c *cluster) createUserEndpoints(name, ip string) {
	c.t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}
	if _, err := c.client.CoreV1().Services(ns).Create(c.ctx(), svc, metav1.CreateOptions{}); err != nil {
		c.t.Fatalf("create service %s: %v", name, err)
	}
	ep := &corev1.Endpoints{ //nolint:staticcheck // v1 Endpoints is exactly what the mirroring controller reads.
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Subsets: []corev1.EndpointSubset{{ //nolint:staticcheck
			Addresses: []corev1.EndpointAddress{{IP: ip}},
			Ports:     []corev1.EndpointPort{{Port: 8080}}, //nolint:staticcheck
		}},
	}
	if _, err := c.client.CoreV1().Endpoints(ns).Create(c.ctx(), ep, metav1.CreateOptions{}); err != nil { //nolint:staticcheck
		c.t.Fatalf("create endpoints %s: %v", name, err)
	}
}

// setEndpointsIP rewrites the address of a hand-written Endpoints object.
func (c *cluster) setEndpointsIP(name, ip string) {
	c.t.Helper()
	eps := c.client.CoreV1().Endpoints(ns) //nolint:staticcheck
	ep, err := eps.Get(c.ctx(), name, metav1.GetOptions{})
	if err != nil {
		c.t.Fatalf("get endpoints %s: %v", name, err)
	}
	ep.Subsets[0].Addresses = []corev1.EndpointAddress{{IP: ip}}
	if _, err := eps.Update(c.ctx(), ep, metav1.UpdateOptions{}); err != nil {
		c.t.Fatalf("update endpoints %s: %v", name, err)
	}
}

func (c *cluster) slices(service, managedBy string) ([]discoveryv1.EndpointSlice, error) {
	l, err := c.client.DiscoveryV1().EndpointSlices(ns).List(c.ctx(), metav1.ListOptions{
		LabelSelector: fmt.Sprintf("%s=%s,%s=%s", discoveryv1.LabelServiceName, service, discoveryv1.LabelManagedBy, managedBy),
	})
	if err != nil {
		return nil, err
	}
	return l.Items, nil
}

// sliceIPs lists the addresses of a service's mirrored slices, sorted.
func (c *cluster) mirroredIPs(service string) ([]string, error) {
	s, err := c.slices(service, mirrorManagedBy)
	if err != nil {
		return nil, err
	}
	var ips []string
	for _, sl := range s {
		for _, e := range sl.Endpoints {
			ips = append(ips, e.Addresses...)
		}
	}
	slices.Sort(ips)
	return ips, nil
}

// waitMirrored waits until the service's mirrored slices hold exactly ip.
func (c *cluster) waitMirrored(service, ip string) time.Duration {
	c.t.Helper()
	return waitFor(c.t, fmt.Sprintf("mirrored EndpointSlice of %s with %s", service, ip), startTimeout, c.procs(), func() (bool, error) {
		ips, err := c.mirroredIPs(service)
		if err != nil {
			return false, err
		}
		if !slices.Equal(ips, []string{ip}) {
			return false, fmt.Errorf("mirrored addresses %v", ips)
		}
		return true, nil
	})
}

// holdsFor asserts that cond stays true for the whole window (an absence cannot be waited for, only
// watched for long enough: the window is longer than mirroring took while the controller ran).
func (c *cluster) holdsFor(what string, window time.Duration, cond func() (bool, string)) {
	c.t.Helper()
	deadline := time.Now().Add(window)
	for time.Now().Before(deadline) {
		if ok, detail := cond(); !ok {
			c.t.Fatalf("%s: broken after %s: %s", what, window-time.Until(deadline), detail)
		}
		for _, p := range c.procs() {
			if p.exited() {
				c.t.Fatalf("while checking %s: %s", what, p.describeExit())
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func (c *cluster) procs() []*proc {
	var ps []*proc
	for _, p := range []*proc{c.etcd, c.api, c.kcm} {
		if p != nil {
			ps = append(ps, p)
		}
	}
	return ps
}

// bootstrapControllersWork proves bootstrapsigner and tokencleaner run (kubeadm turns them on with
// `*,bootstrapsigner,tokencleaner`; a careless edit of --controllers silently drops them, and token-based
// `kubeadm join` breaks): the signer adds a JWS signature for a token to kube-public/cluster-info, and
// the cleaner deletes an expired token.
func (c *cluster) bootstrapControllersWork(tag string) {
	c.t.Helper()
	ctx := c.ctx()
	// Token ids are [a-z0-9]{6}; tag keeps them unique across calls.
	signID := fmt.Sprintf("sign%02s", tag)
	expiredID := fmt.Sprintf("expd%02s", tag)
	token := func(id string, expires time.Time) *corev1.Secret {
		return &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "bootstrap-token-" + id, Namespace: "kube-system"},
			Type:       corev1.SecretTypeBootstrapToken,
			StringData: map[string]string{
				"token-id":                       id,
				"token-secret":                   "0123456789abcdef",
				"expiration":                     expires.UTC().Format(time.RFC3339),
				"usage-bootstrap-signing":        "true",
				"usage-bootstrap-authentication": "true",
			},
		}
	}
	cms := c.client.CoreV1().ConfigMaps("kube-public")
	if _, err := cms.Get(ctx, "cluster-info", metav1.GetOptions{}); apierrors.IsNotFound(err) {
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "cluster-info"},
			Data:       map[string]string{"kubeconfig": fmt.Sprintf("apiVersion: v1\nkind: Config\nclusters:\n- name: \"\"\n  cluster:\n    server: https://%s:6443\n", advertiseAddress)},
		}
		if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			c.t.Fatalf("create kube-public/cluster-info: %v", err)
		}
	} else if err != nil {
		c.t.Fatalf("get kube-public/cluster-info: %v", err)
	}
	secrets := c.client.CoreV1().Secrets("kube-system")
	for _, s := range []*corev1.Secret{token(signID, time.Now().Add(time.Hour)), token(expiredID, time.Now().Add(-time.Hour))} {
		if _, err := secrets.Create(ctx, s, metav1.CreateOptions{}); err != nil {
			c.t.Fatalf("create secret %s: %v", s.Name, err)
		}
	}
	waitFor(c.t, "bootstrapsigner to sign cluster-info for token "+signID, startTimeout, c.procs(), func() (bool, error) {
		cm, err := cms.Get(c.ctx(), "cluster-info", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		_, ok := cm.Data["jws-kubeconfig-"+signID]
		return ok, fmt.Errorf("cluster-info keys: %v", keys(cm.Data))
	})
	waitFor(c.t, "tokencleaner to delete expired token "+expiredID, startTimeout, c.procs(), func() (bool, error) {
		_, err := secrets.Get(c.ctx(), "bootstrap-token-"+expiredID, metav1.GetOptions{})
		return apierrors.IsNotFound(err), err
	})
}

func keys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// healthzLines returns kcm's verbose health check lines ("[+]name ok").
func (c *cluster) healthzLines() []string {
	c.t.Helper()
	var out []string
	for _, l := range strings.Split(c.kcmGet("/healthz?verbose"), "\n") {
		if strings.HasPrefix(l, "[") {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return out
}
