package engine

import (
	"fmt"
	"strings"

	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/distros"
	"github.com/mirrorctl/mirrorctl/nodefs"
	"github.com/mirrorctl/mirrorctl/patches"
)

// UsageError is an error in what the command line asks for, not in the node: the command layer
// reports it as a usage error.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

func usagef(format string, a ...any) error { return &UsageError{Err: fmt.Errorf(format, a...)} }

// PickAdapter picks the distribution adapter: the one named (--distro, unless "auto" or empty), else
// the one the input flags given name (distros.Implied), else the one detected under root. log says
// which and why (verbosity 1).
func PickAdapter(named string, given []string, root nodefs.Root, log func(format string, a ...any)) (distros.Adapter, error) {
	if named != "auto" && named != "" {
		a, err := distros.Get(named)
		if err != nil {
			return nil, usagef("--distro: %v", err)
		}
		return a, nil
	}
	a, err := distros.Implied(given)
	if err != nil {
		return nil, usagef("%v", err)
	} else if a != nil {
		log("%s: named by its input flags", a.Name())
		return a, nil
	}
	if a, err = distros.Detect(root); err != nil {
		return nil, err
	}
	log("%s: detected (%s)", a.Name(), strings.Join(a.Detect(root), ", "))
	return a, nil
}

// CheckWait refuses a health gate that could only time out and roll back a good change: it watches
// this node's kcm, which restarts by itself only where the kubelet runs it from the edited manifest;
// a service restart needs --restart, and a change applied elsewhere never reaches this node's kcm.
func CheckWait(distro string, restart bool) error {
	a, err := distros.Get(distro)
	if err != nil {
		return err
	}
	switch act := a.Activation(); act.Kind {
	case distros.Elsewhere:
		return usagef("--wait watches this node's kube-controller-manager; a %s change takes effect elsewhere", distro)
	case distros.ByServiceRestart:
		if !restart {
			return usagef("--wait needs --restart on %s: the change takes effect only when %s runs", distro, strings.Join(act.Command, " "))
		}
	}
	return nil
}

// LiveKubeadmConfig is the live step of disable and enable with --kubeconfig: the same switch in the
// ClusterConfiguration of ConfigMap kube-system/kubeadm-config. It sets o.Node from the cluster.
func LiveKubeadmConfig(env *Env, cl *Cluster, op controllers.Op, o *distros.Options) *KubeadmConfig {
	o.Node = NodeInfo(cl, o.Root)
	sel := o.Selection()
	return &KubeadmConfig{Cluster: *cl, Env: env, Op: string(op), Edit: func(data []byte) ([]byte, bool, error) {
		out, _, changed, err := patches.EditKubeadmConfigSelection(data, op, sel)
		return out, changed, err
	}}
}
