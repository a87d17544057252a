package engine

import (
	"context"
	"fmt"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/distros"
)

// APIServerCheck configures the guard of disable --endpoints-controller: KEP-4974 makes a cluster
// without the Endpoints controller conforming only when no kube-apiserver reads Endpoints any more
// (distros.EndpointsFreeAPIServer).
type APIServerCheck struct {
	Skip bool // --skip-apiserver-version-check: do not check, say so
	// Cluster, with --kubeconfig, reads every kube-apiserver's version from the API; nil reads this
	// node's files, which show this node's apiserver only.
	Cluster *Cluster
}

// EndpointsGuard is the Job.Guard for a disable or enable of adapter a with options o: nil unless o
// switches the Endpoints controller off. It asks once per run (the replan under the lock reuses the
// answer) and runs whether or not the files change: a run that finds them done already must not tell
// an operator of an old cluster that all is well.
func EndpointsGuard(env *Env, a distros.Adapter, o distros.Options, check APIServerCheck) func(context.Context, *change.Plan) ([]string, error) {
	if o.Op != controllers.Disable || !o.EndpointsController {
		return nil
	}
	var asked bool
	var warnings []string
	return func(ctx context.Context, _ *change.Plan) ([]string, error) {
		if check.Skip {
			return []string{fmt.Sprintf("%s: the kube-apiserver versions were not checked; one older than %s reads Endpoints (services/proxy), which nothing updates once the Endpoints controller is off", distros.SkipAPIServerCheckFlag, distros.EndpointsFreeAPIServer)}, nil
		}
		if asked {
			return warnings, nil
		}
		var found *distros.APIServerVersions
		var err error
		if check.Cluster != nil {
			found, err = clusterAPIServers(ctx, check.Cluster)
		} else {
			found, err = distros.NodeAPIServers(a, o)
		}
		if err != nil {
			return nil, err
		}
		for _, s := range found.Servers {
			env.logf("plan", "%s: Kubernetes %s (%s)", s.Name, s.Version, s.From)
		}
		if warnings, err = distros.CheckEndpointsController(found); err != nil {
			return nil, err
		}
		asked = true
		return warnings, nil
	}
}

// clusterAPIServers reads the kube-apiservers' versions through the API (cluster.APIServers).
func clusterAPIServers(ctx context.Context, c *Cluster) (*distros.APIServerVersions, error) {
	CatchInterrupts(ctx)
	cctx, cancel := c.ctx(ctx)
	defer cancel()
	found, err := c.Client.APIServers(cctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.Client.Source, err)
	}
	out := &distros.APIServerVersions{Complete: found.Complete, Why: found.Why,
		How: "run mirrorctl with --kubeconfig where each kube-apiserver shows as a mirror pod (label component=kube-apiserver in kube-system), or check every control-plane node yourself"}
	for _, s := range found.Servers {
		name := s.Name
		if s.Node != "" {
			name += " on " + s.Node
		}
		out.Servers = append(out.Servers, distros.APIServer{Name: name, Version: s.Version, From: s.From})
	}
	return out, nil
}
