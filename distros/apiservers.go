package distros

import (
	"fmt"

	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/manifests"
)

// EndpointsFreeAPIServer is the first kube-apiserver release that reads no Endpoints, so the first where
// switching the Endpoints controller off breaks nothing in the apiserver itself (KEP-4974's skew rule:
// every apiserver of the cluster must be at least this). Read in the source:
//   - services/proxy (port-forward to a Service): k8s.io/kubernetes@v1.36.5
//     pkg/registry/core/service/storage/storage.go ResourceLocation does r.endpoints.Get(ctx, svcName, …)
//     and picks an address of the api.Endpoints; @v1.37.2 the same function reads
//     r.endpointSlices.GetEndpointSlices(namespace, svcName) and no Endpoints storage is left there.
//   - aggregated APIs (routing and APIService availability): k8s.io/kube-aggregator@v0.31.0
//     pkg/apiserver/resolvers.go and pkg/controllers/status/remote/remote_available_controller.go use
//     an EndpointsLister; @v0.36.5 and @v0.37.2 both use proxy.EndpointSliceGetter (the move the issue
//     dates to 1.34).
//
// So 1.36 still reads Endpoints (services/proxy) and 1.37 is the minimum.
var EndpointsFreeAPIServer = controllers.Version{Major: 1, Minor: 37, Known: true}

// APIServer is one kube-apiserver and the version it runs, as found on the node or in the cluster.
type APIServer struct {
	Name    string
	Version controllers.Version // unknown when nothing said
	From    string              // where Version was read, for messages
}

// APIServerVersions is what was found about the cluster's kube-apiservers.
type APIServerVersions struct {
	Servers []APIServer
	// Complete says Servers is every kube-apiserver of the cluster; Why says what is missing otherwise.
	Complete bool
	Why      string
	// How says how to find the missing versions, for the refusal.
	How string
	// Caveat is what the check could not cover although it passed (a version read from this node
	// only: the other control-plane nodes were not checked), printed as a warning.
	Caveat string
}

// APIServerManifest is kube-apiserver's static pod manifest on a node of the distribution, "" where
// it is not a static pod mirrorctl knows: its image tag is the node's own apiserver version.
func APIServerManifest(a Adapter) string {
	switch a.Name() {
	case "kubeadm":
		return "/etc/kubernetes/manifests/kube-apiserver.yaml"
	case "rke2":
		return "/var/lib/rancher/rke2/agent/pod-manifests/kube-apiserver.yaml"
	}
	return ""
}

// clusterVersioned is an adapter whose file configures the whole cluster (kind's cluster config,
// kops's cluster spec): the version it names is every kube-apiserver's.
type clusterVersioned interface {
	clusterVersion(o Options) (v controllers.Version, from string, err error)
}

// NodeAPIServers reads what the node's files say about the kube-apiserver versions, without the
// API: the node's own apiserver static pod (kubeadm, RKE2), or the version a cluster-wide file names
// (kind, kops). Elsewhere nothing on the node says, and Why tells how to find out.
func NodeAPIServers(a Adapter, o Options) (*APIServerVersions, error) {
	out := &APIServerVersions{How: "pass --kubeconfig to read every kube-apiserver's version from the cluster"}
	if cv, ok := a.(clusterVersioned); ok {
		v, from, err := cv.clusterVersion(o)
		if err != nil {
			return nil, err
		}
		out.Servers = []APIServer{{Name: "every kube-apiserver of the cluster", Version: v, From: from}}
		out.Complete = v.Known
		return out, nil
	}
	path := APIServerManifest(a)
	if path == "" {
		out.Why = fmt.Sprintf("nothing on a %s node names the kube-apiserver version", a.Name())
		return out, nil
	}
	f, err := o.reads().File(path, true)
	if err != nil {
		return nil, err
	}
	if !f.Exists {
		out.Why = path + " does not exist (not a control-plane node?)"
		return out, nil
	}
	image, err := manifests.ContainerImage(f.Data, "kube-apiserver")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out.Servers = []APIServer{{Name: "this node's kube-apiserver", Version: controllers.ImageVersion(image), From: path + " image " + image}}
	out.Complete = out.Servers[0].Version.Known
	out.Caveat = fmt.Sprintf("kube-apiserver version read on this node only (%s): other control-plane nodes were not checked; each must run %s or newer before the Endpoints controller is off (--kubeconfig checks them all)",
		out.Servers[0].From, EndpointsFreeAPIServer)
	return out, nil
}

// SkipAPIServerCheckFlag is the override of CheckEndpointsController, named in its refusals.
const SkipAPIServerCheckFlag = "--skip-apiserver-version-check"

// CheckEndpointsController is the guard before the Endpoints controller is switched off: every
// kube-apiserver must be known and at least EndpointsFreeAPIServer. It returns the warnings to print
// when it passes (versions from this node only: the others were not checked), and a one-line
// refusal otherwise.
func CheckEndpointsController(found *APIServerVersions) (warnings []string, err error) {
	const refuse = "refusing to switch the Endpoints controller off"
	min := EndpointsFreeAPIServer.String()
	for _, s := range found.Servers {
		switch {
		case !s.Version.Known:
			return nil, fmt.Errorf("%s: the version of %s is unknown (%s); every kube-apiserver must be %s or newer, or it reads Endpoints (%s overrides)", refuse, s.Name, s.From, min, SkipAPIServerCheckFlag)
		case !s.Version.AtLeast(EndpointsFreeAPIServer.Major, EndpointsFreeAPIServer.Minor):
			return nil, fmt.Errorf("%s: %s runs Kubernetes %s (%s), which still reads Endpoints (services/proxy until 1.37); every kube-apiserver must be %s or newer (%s overrides)", refuse, s.Name, s.Version, s.From, min, SkipAPIServerCheckFlag)
		}
	}
	if !found.Complete {
		return nil, fmt.Errorf("%s: %s; every kube-apiserver must be %s or newer (%s, or %s to override)", refuse, found.Why, min, found.How, SkipAPIServerCheckFlag)
	}
	if found.Caveat != "" {
		warnings = append(warnings, found.Caveat)
	}
	return warnings, nil
}
