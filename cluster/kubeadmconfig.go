package cluster

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/nodefs"
	"github.com/mirrorctl/mirrorctl/snapshot"
)

// The live kubeadm ClusterConfiguration: `kubeadm upgrade` and `kubeadm join --control-plane`
// regenerate the kcm manifest from it, so a node-only change is undone by the next upgrade.
const (
	KubeadmConfigNamespace = "kube-system"
	KubeadmConfigName      = "kubeadm-config"
	KubeadmConfigKey       = "ClusterConfiguration"

	// KindLive is the FileChange kind of the live ConfigMap in plans and output.
	KindLive = "kubeadm-config-live"
)

// LivePath is how the live ConfigMap appears among the files of a plan ("path" in JSON, diff headers).
var LivePath = "configmap:" + KubeadmConfigNamespace + "/" + KubeadmConfigName

// MaxConflictRetries bounds how often an update that lost a race (409 Conflict) is re-planned from a
// fresh read. Each retry re-reads, so a concurrent writer's change is kept, never overwritten.
var MaxConflictRetries = 5

// Editor turns a ClusterConfiguration document into the edited one; changed false means nothing to do.
// It is patches.EditKubeadmConfig with the operation bound.
type Editor func(clusterConfiguration []byte) (out []byte, changed bool, err error)

// LiveChange is the live ClusterConfiguration as read and what the edit makes of it.
type LiveChange struct {
	Namespace, Name string
	UID             string
	ResourceVersion string            // the read the change is planned on
	Data            map[string]string // the whole data as read
	Before, After   string            // data[ClusterConfiguration] before and after
	Attempts        int               // updates tried (conflicts + 1), after Apply
}

// Changed reports whether the plan would write. A nil LiveChange (no --kubeconfig) changes nothing.
func (l *LiveChange) Changed() bool { return l != nil && l.Before != l.After }

// FileChange renders the change like a file's, so dry-run diffs, JSON "files" and "diff" show it.
func (l *LiveChange) FileChange() change.FileChange {
	p := "configmap:" + l.Namespace + "/" + l.Name
	return change.FileChange{
		Path:   p,
		Kind:   KindLive,
		Before: &nodefs.File{Path: p, Data: []byte(l.Before), Exists: true},
		After:  []byte(l.After),
	}
}

func (c *Client) getKubeadmConfig(ctx context.Context) (*corev1.ConfigMap, string, error) {
	cm, err := c.Kube.GetConfigMap(ctx, KubeadmConfigNamespace, KubeadmConfigName, metav1.GetOptions{})
	if err != nil {
		return nil, "", fmt.Errorf("%s: %s", LivePath, oneLine(err.Error()))
	}
	cc, ok := cm.Data[KubeadmConfigKey]
	if !ok {
		return nil, "", fmt.Errorf("%s: no data.%s key (not a kubeadm cluster?)", LivePath, KubeadmConfigKey)
	}
	return cm, cc, nil
}

func (c *Client) planOn(cm *corev1.ConfigMap, cc string, edit Editor) (*LiveChange, error) {
	out, changed, err := edit([]byte(cc))
	if err != nil {
		return nil, fmt.Errorf("%s data.%s: %s", LivePath, KubeadmConfigKey, oneLine(err.Error()))
	}
	l := &LiveChange{Namespace: cm.Namespace, Name: cm.Name, UID: string(cm.UID), ResourceVersion: cm.ResourceVersion,
		Data: cm.Data, Before: cc, After: cc}
	if changed {
		l.After = string(out)
	}
	return l, nil
}

// PlanKubeadmConfig reads kube-system/kubeadm-config and applies edit to its ClusterConfiguration.
// It writes nothing.
func (c *Client) PlanKubeadmConfig(ctx context.Context, edit Editor) (*LiveChange, error) {
	cm, cc, err := c.getKubeadmConfig(ctx)
	if err != nil {
		return nil, err
	}
	return c.planOn(cm, cc, edit)
}

// ApplyKubeadmConfig re-reads the ConfigMap, re-plans, calls save with the plan (to record the old data
// before anything is written; save may be nil), then updates with the read's resourceVersion. On a
// conflict it starts over from a fresh read, at most MaxConflictRetries times, so a concurrent change
// to the ConfigMap is kept and the edit is applied on top of it. It returns the change written (Changed
// false when there was nothing to do).
func (c *Client) ApplyKubeadmConfig(ctx context.Context, edit Editor, save func(*LiveChange) error) (*LiveChange, error) {
	return c.updateRetrying(ctx, LivePath, KubeadmConfigKey, save, func() (*LiveChange, *corev1.ConfigMap, error) {
		cm, cc, err := c.getKubeadmConfig(ctx)
		if err != nil {
			return nil, nil, err
		}
		l, err := c.planOn(cm, cc, edit)
		return l, cm, err
	})
}

// updateRetrying is the write of a ConfigMap key: plan reads the ConfigMap and plans the change, save
// (may be nil) records it, then the key is updated conditional on the resourceVersion read. A conflict
// starts over from plan, at most MaxConflictRetries times. where names the ConfigMap in errors.
func (c *Client) updateRetrying(ctx context.Context, where, key string, save func(*LiveChange) error,
	plan func() (*LiveChange, *corev1.ConfigMap, error)) (*LiveChange, error) {
	for attempt := 1; ; attempt++ {
		l, cm, err := plan()
		if err != nil {
			return nil, err
		}
		l.Attempts = attempt
		if !l.Changed() {
			return l, nil
		}
		if save != nil {
			if err := save(l); err != nil {
				return nil, err
			}
		}
		n := cm.DeepCopy()
		if n.Data == nil {
			n.Data = map[string]string{}
		}
		n.Data[key] = l.After
		_, err = c.Kube.UpdateConfigMap(ctx, n, metav1.UpdateOptions{FieldManager: "mirrorctl"})
		if err == nil {
			return l, nil
		}
		if !apierrors.IsConflict(err) || attempt > MaxConflictRetries {
			return nil, fmt.Errorf("%s: update: %s", where, oneLine(err.Error()))
		}
	}
}

// RecordOf is the record of a planned live change, saved before it is written.
func (l *LiveChange) RecordOf() ConfigMapRecord {
	return ConfigMapRecord{Namespace: l.Namespace, Name: l.Name, UID: l.UID, ResourceVersion: l.ResourceVersion,
		Key: KubeadmConfigKey, DataBefore: l.Data, SHA256Before: shaOf(l.Before), SHA256After: shaOf(l.After)}
}

// PlanConfigMapRollback compares the ConfigMap now with what rec says mirrorctl wrote: already as before
// → no change; as mirrorctl wrote it → restore the old value; anything else was changed by someone
// since, and restoring would discard that: an error wrapping snapshot.ErrDrift unless force.
func (c *Client) PlanConfigMapRollback(ctx context.Context, rec ConfigMapRecord, force bool) (*LiveChange, *corev1.ConfigMap, error) {
	where := "configmap:" + rec.Namespace + "/" + rec.Name
	cm, err := c.Kube.GetConfigMap(ctx, rec.Namespace, rec.Name, metav1.GetOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %s", where, oneLine(err.Error()))
	}
	old, ok := rec.DataBefore[rec.Key]
	if !ok {
		return nil, nil, fmt.Errorf("%s: the record holds no data.%s", where, rec.Key)
	}
	cur := cm.Data[rec.Key]
	l := &LiveChange{Namespace: cm.Namespace, Name: cm.Name, UID: string(cm.UID), ResourceVersion: cm.ResourceVersion,
		Data: cm.Data, Before: cur, After: cur}
	switch sum := shaOf(cur); {
	case sum == rec.SHA256Before:
		// already restored
	case sum == rec.SHA256After || force:
		l.After = old
	default:
		return nil, nil, fmt.Errorf("%s data.%s: %w; rolling back would discard that change: check it, then use --force", where, rec.Key, snapshot.ErrDrift)
	}
	return l, cm, nil
}

// RollbackConfigMap restores rec's old value, re-checking for drift on every conflict retry. save (may
// be nil) is called with the plan before the write, to record the state it replaces.
func (c *Client) RollbackConfigMap(ctx context.Context, rec ConfigMapRecord, force bool, save func(*LiveChange) error) (*LiveChange, error) {
	return c.updateRetrying(ctx, "configmap:"+rec.Namespace+"/"+rec.Name, rec.Key, save, func() (*LiveChange, *corev1.ConfigMap, error) {
		return c.PlanConfigMapRollback(ctx, rec, force)
	})
}

// IsDrift reports whether err is a refusal to overwrite someone else's change.
func IsDrift(err error) bool { return errors.Is(err, snapshot.ErrDrift) }
