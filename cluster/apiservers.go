package cluster

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/mirrorctl/mirrorctl/controllers"
)

// What the cluster exposes about its kube-apiservers (read in k8s.io/kubernetes@v1.37.2):
//   - each kube-apiserver keeps an identity Lease in kube-system named after its server ID, labelled
//     apiserver.kubernetes.io/identity=kube-apiserver and kubernetes.io/hostname=<its hostname>
//     (pkg/controlplane/apiserver/server.go, labelAPIServerHeartbeatFunc; feature APIServerIdentity, on
//     by default). It carries no version: it counts the apiservers, it does not date them.
//   - /version answers for the one apiserver that served the request.
//   - kubeadm (and RKE2) run each kube-apiserver as a static pod labelled component=kube-apiserver: the
//     kubelet's mirror pod in kube-system shows the image, whose tag is the version.
const (
	apiserverIdentitySelector = "apiserver.kubernetes.io/identity=kube-apiserver"
	apiserverPodSelector      = "component=kube-apiserver"
	apiserverContainer        = "kube-apiserver"
	hostnameLabel             = "kubernetes.io/hostname"
)

// APIServer is one kube-apiserver as the cluster shows it.
type APIServer struct {
	Name    string              // identity lease, mirror pod, or "/version"
	Node    string              // hostname or node name, when known
	Version controllers.Version // unknown when nothing the cluster shows says
	From    string              // where Version was read
}

// APIServers is every kube-apiserver mirrorctl could find, and whether that is all of them.
type APIServers struct {
	Servers []APIServer
	// Complete says every kube-apiserver of the cluster has an entry with a known version: the
	// identity leases (the count) are each matched by a mirror pod, or there is one lease and /version
	// answered for it. Why says what is missing when it is false.
	Complete bool
	Why      string
}

// APIServers finds each kube-apiserver's version: the identity leases count them, the mirror pods'
// image tags give their versions, /version the version of the one that answers. Forbidden lists are
// not errors: what they would have shown is then missing, and Why says so.
func (c *Client) APIServers(ctx context.Context) (*APIServers, error) {
	requests := 0
	pg := paging{DefaultPageSize, &requests}
	out := &APIServers{}
	info, err := c.Kube.ServerVersion(ctx)
	if err != nil {
		return nil, fmt.Errorf("GET /version: %s", oneLine(err.Error()))
	}
	answered := controllers.ParseVersion(info.GitVersion)

	var leases []coordinationv1.Lease
	now := time.Now()
	leaseErr := list(ctx, pg, c.Kube.ListLeases, "kube-system", apiserverIdentitySelector, func(l *coordinationv1.LeaseList) {
		for _, le := range l.Items {
			if leaseLive(&le, now) {
				leases = append(leases, le)
			}
		}
	})
	if leaseErr != nil && !apierrors.IsForbidden(leaseErr) {
		return nil, fmt.Errorf("list kube-system leases: %s", oneLine(leaseErr.Error()))
	}
	var pods []APIServer
	podErr := list(ctx, pg, c.Kube.ListPods, "kube-system", apiserverPodSelector, func(l *corev1.PodList) {
		for i := range l.Items {
			pods = append(pods, apiserverPod(&l.Items[i]))
		}
	})
	if podErr != nil && !apierrors.IsForbidden(podErr) {
		return nil, fmt.Errorf("list kube-system pods: %s", oneLine(podErr.Error()))
	}
	sort.Slice(pods, func(i, j int) bool { return pods[i].Node < pods[j].Node })
	out.Servers = append(out.Servers, pods...)
	out.Servers = append(out.Servers, APIServer{Name: "the kube-apiserver answering /version", Version: answered, From: "GET /version"})

	switch {
	case leaseErr != nil:
		out.Why = "cannot list the kube-apiserver identity leases in kube-system (" + oneLine(leaseErr.Error()) + "): how many kube-apiservers there are is unknown"
	case len(leases) == 0:
		out.Why = "no kube-apiserver identity leases (label " + apiserverIdentitySelector + ") in kube-system: how many kube-apiservers there are is unknown (feature APIServerIdentity off?)"
	case len(leases) == 1 && len(pods) == 0:
		out.Complete = answered.Known
		if !answered.Known {
			out.Why = "/version answered " + info.GitVersion + ", which is not a version"
		}
	default:
		// Several apiservers (or mirror pods to match): each lease's hostname must have a mirror
		// pod with a readable image tag.
		var missing []string
		for _, le := range leases {
			host := le.Labels[hostnameLabel]
			found := false
			for _, p := range pods {
				if host != "" && p.Version.Known && sameHost(host, p.Node) {
					found = true
				}
			}
			if !found {
				missing = append(missing, fmt.Sprintf("%s (host %q)", le.Name, host))
			}
		}
		if len(missing) > 0 {
			why := fmt.Sprintf("%d kube-apiservers hold identity leases; no kube-apiserver mirror pod with a version tag matches %s", len(leases), strings.Join(missing, ", "))
			if podErr != nil {
				why += " (cannot list kube-system pods: " + oneLine(podErr.Error()) + ")"
			}
			out.Why = why
		} else {
			out.Complete = true
		}
	}
	return out, nil
}

// leaseLive says whether an identity lease is still renewed: a stopped apiserver's lease stays until
// the garbage collector removes it (an hour by default), and says nothing about the cluster now.
func leaseLive(l *coordinationv1.Lease, now time.Time) bool {
	if l.Spec.RenewTime == nil || l.Spec.LeaseDurationSeconds == nil {
		return true // cannot tell: count it, so it must be accounted for
	}
	return l.Spec.RenewTime.Add(time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second).After(now)
}

// sameHost matches a hostname label with a node name, either one possibly fully qualified.
func sameHost(a, b string) bool {
	return a == b || strings.HasPrefix(a, b+".") || strings.HasPrefix(b, a+".")
}

func apiserverPod(p *corev1.Pod) APIServer {
	s := APIServer{Name: "pod " + p.Namespace + "/" + p.Name, Node: p.Spec.NodeName}
	for _, ctr := range p.Spec.Containers {
		if ctr.Name == apiserverContainer {
			s.Version = controllers.ImageVersion(ctr.Image)
			s.From = "image " + ctr.Image
		}
	}
	if s.From == "" {
		s.From = "no container named " + apiserverContainer
	}
	return s
}
