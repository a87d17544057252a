package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/nodefs"
	"github.com/mirrorctl/mirrorctl/snapshot"
)

// KindEndpoints is the FileChange kind of a whole Endpoints object (prune-endpoints and its restore).
const KindEndpoints = "endpoints"

// DeletedRecord is one object mirrorctl deleted, kept whole so it can be created again.
type DeletedRecord struct {
	Kind      string          `json:"kind"` // Endpoints
	Namespace string          `json:"namespace"`
	Name      string          `json:"name"`
	UID       string          `json:"uid"`
	Object    json.RawMessage `json:"object"` // the object as read before the deletion (JSON)
}

// PruneOptions selects the Endpoints prune-endpoints deletes.
type PruneOptions struct {
	Namespace string // "" for every namespace
	// Force deletes even when the Endpoints controller may still run (it then writes them again).
	Force bool
}

// EndpointsChange is one Endpoints prune-endpoints deletes (Create false) or its restore creates.
type EndpointsChange struct {
	Namespace, Name string
	Create          bool
	// Object is the Endpoints as read (deletion) or as recorded (creation).
	Object *corev1.Endpoints
	// Done is false for a restore whose object exists already (nothing to do).
	Skip bool
	Note string
}

// FileChange renders the object as YAML (without managedFields), so a dry run shows what goes or comes.
func (e EndpointsChange) FileChange() change.FileChange {
	p := "endpoints:" + e.Namespace + "/" + e.Name
	data := endpointsYAML(e.Object)
	fc := change.FileChange{Path: p, Kind: KindEndpoints, Before: &nodefs.File{Path: p, Data: data, Exists: true}, After: data}
	switch {
	case e.Skip:
	case e.Create:
		fc.Before = &nodefs.File{Path: p}
	default:
		fc.After = nil
	}
	return fc
}

// Record is the deletion's record entry.
func (e EndpointsChange) Record() (DeletedRecord, error) {
	o := e.Object.DeepCopy()
	o.APIVersion, o.Kind = "v1", "Endpoints"
	raw, err := json.Marshal(o)
	return DeletedRecord{Kind: "Endpoints", Namespace: e.Namespace, Name: e.Name, UID: string(o.UID), Object: raw}, err
}

func endpointsYAML(e *corev1.Endpoints) []byte {
	o := e.DeepCopy()
	o.ManagedFields = nil
	o.APIVersion, o.Kind = "v1", "Endpoints"
	b, err := yaml.Marshal(o)
	if err != nil {
		return []byte(err.Error())
	}
	return b
}

// PlanPrune lists the Endpoints the Endpoints controller wrote (its managed-by label, 1.33+) whose
// Service still exists and still has a selector: those the controller would keep current if it ran.
// Endpoints whose Service is gone, or lost its selector (someone may write them by hand now, and the
// mirroring controller copies them), are left alone and counted in a warning. When the Endpoints
// controller may still run on a control-plane node (or that cannot be seen) it would re-create them at
// once: an error unless o.Force (a warning then, and always for a dry run: allowDryRun).
func (c *Client) PlanPrune(ctx context.Context, o PruneOptions, dryRun bool) ([]EndpointsChange, []string, error) {
	var requests int
	pg := paging{DefaultPageSize, &requests}
	selector := map[ObjectRef]bool{} // Service → has a selector
	err := list(ctx, pg, c.Kube.ListServices, o.Namespace, "", func(l *corev1.ServiceList) {
		for i := range l.Items {
			s := &l.Items[i]
			selector[ObjectRef{s.Namespace, s.Name}] = s.Spec.Selector != nil
		}
	})
	if err != nil {
		return nil, nil, fmt.Errorf("list services: %s", oneLine(err.Error()))
	}
	var out []EndpointsChange
	var warnings []string
	gone, noSelector := 0, 0
	err = list(ctx, pg, c.Kube.ListEndpoints, o.Namespace, LabelEndpointsManagedBy+"="+EndpointsController, func(l *corev1.EndpointsList) {
		for i := range l.Items {
			e := &l.Items[i]
			has, ok := selector[ObjectRef{e.Namespace, e.Name}]
			switch {
			case !ok:
				gone++
			case !has:
				noSelector++
			default:
				out = append(out, EndpointsChange{Namespace: e.Namespace, Name: e.Name, Object: e.DeepCopy()})
			}
		}
	})
	if err != nil {
		return nil, nil, fmt.Errorf("list endpoints: %s", oneLine(err.Error()))
	}
	if gone > 0 {
		warnings = append(warnings, fmt.Sprintf("left %d Endpoints labelled %s=%s whose Service is gone: not a Service's current Endpoints; delete them yourself once checked", gone, LabelEndpointsManagedBy, EndpointsController))
	}
	if noSelector > 0 {
		warnings = append(warnings, fmt.Sprintf("left %d Endpoints labelled %s=%s whose Service has no selector now: someone may maintain them by hand, and the mirroring controller copies them", noSelector, LabelEndpointsManagedBy, EndpointsController))
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Namespace+"/"+out[i].Name < out[j].Namespace+"/"+out[j].Name
	})
	if len(out) > 0 {
		running, err := c.endpointsControllerRuns(ctx)
		if err != nil {
			return nil, nil, err
		}
		if running != "" {
			msg := "the Endpoints controller " + running + ": it writes these Endpoints again at once; disable it first (mirrorctl disable --endpoints-controller on every control-plane node)"
			if !o.Force && !dryRun {
				return nil, nil, errors.New(msg + ", or pass --force")
			}
			warnings = append(warnings, msg)
		}
	}
	return out, warnings, nil
}

// endpointsControllerRuns says where the Endpoints controller may run ("" when every kcm mirror pod has
// it off), from the kcm mirror pods' flags like the audit.
func (c *Client) endpointsControllerRuns(ctx context.Context) (string, error) {
	var requests int
	var on, unknown, off []string
	err := list(ctx, paging{DefaultPageSize, &requests}, c.Kube.ListPods, "kube-system", kcmSelector, func(l *corev1.PodList) {
		for i := range l.Items {
			switch k := kcmPod(&l.Items[i], ""); k.EndpointsController {
			case "enabled":
				on = append(on, k.Node)
			case "disabled":
				off = append(off, k.Node)
			default:
				unknown = append(unknown, k.Node)
			}
		}
	})
	switch {
	case apierrors.IsForbidden(err):
		return "may run (kube-system pods not readable: " + oneLine(err.Error()) + ")", nil
	case err != nil:
		return "", fmt.Errorf("list kube-system pods: %s", oneLine(err.Error()))
	case len(on) > 0:
		return "runs on " + strings.Join(on, ", "), nil
	case len(unknown) > 0:
		return "may run on " + strings.Join(unknown, ", ") + " (flags unreadable)", nil
	case len(off) == 0:
		return "may run (no kube-controller-manager mirror pods in kube-system to check)", nil
	}
	return "", nil
}

// DeleteEndpoints deletes each planned Endpoints on the condition that it is the object read, unchanged
// (UID and resourceVersion preconditions: one the controller rewrote meanwhile is live, not stale). It
// returns how many are done, so the caller records exactly those.
func (c *Client) DeleteEndpoints(ctx context.Context, plan []EndpointsChange) (int, error) {
	for i, e := range plan {
		uid, rv := e.Object.UID, e.Object.ResourceVersion
		err := c.Kube.DeleteEndpoints(ctx, e.Namespace, e.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv}})
		if apierrors.IsNotFound(err) {
			continue // gone already: nothing lost
		}
		if err != nil {
			if apierrors.IsConflict(err) {
				return i, fmt.Errorf("endpoints %s/%s changed since it was read (a writer keeps it current?): not deleted", e.Namespace, e.Name)
			}
			return i, fmt.Errorf("delete endpoints %s/%s: %s", e.Namespace, e.Name, oneLine(err.Error()))
		}
	}
	return len(plan), nil
}

// PlanRestore reads what a prune record deleted: each object is created again unless one of that
// name exists now. One the Endpoints controller wrote again (its label) needs nothing; any other is
// drift, an error wrapping snapshot.ErrDrift unless force (then left as it is).
func (c *Client) PlanRestore(ctx context.Context, recs []DeletedRecord, force bool) ([]EndpointsChange, error) {
	var out []EndpointsChange
	var drifted []string
	for _, r := range recs {
		var o corev1.Endpoints
		if err := json.Unmarshal(r.Object, &o); err != nil {
			return nil, fmt.Errorf("record of endpoints %s/%s: %w", r.Namespace, r.Name, err)
		}
		ch := EndpointsChange{Namespace: r.Namespace, Name: r.Name, Create: true, Object: &o}
		cur, err := c.Kube.GetEndpoints(ctx, r.Namespace, r.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return nil, fmt.Errorf("endpoints %s/%s: %s", r.Namespace, r.Name, oneLine(err.Error()))
		case cur.Labels[LabelEndpointsManagedBy] == EndpointsController:
			ch.Skip, ch.Object, ch.Note = true, cur, "written again by the Endpoints controller"
		case force:
			ch.Skip, ch.Object, ch.Note = true, cur, "exists (another writer's): left as it is"
		default:
			drifted = append(drifted, r.Namespace+"/"+r.Name)
		}
		out = append(out, ch)
	}
	if len(drifted) > 0 {
		return nil, fmt.Errorf("endpoints %s exist again, written by someone else (no %s=%s label): %w; restoring would replace them: check them, then use --force to leave them and restore the rest",
			strings.Join(drifted, ", "), LabelEndpointsManagedBy, EndpointsController, snapshot.ErrDrift)
	}
	return out, nil
}

// CreateEndpoints creates each planned object again (fresh UID; the recorded labels, annotations and
// subsets), skipping those that exist. It returns how many are done.
func (c *Client) CreateEndpoints(ctx context.Context, plan []EndpointsChange) (int, error) {
	for i, e := range plan {
		if e.Skip {
			continue
		}
		o := &corev1.Endpoints{
			ObjectMeta: metav1.ObjectMeta{Namespace: e.Namespace, Name: e.Name, Labels: e.Object.Labels, Annotations: e.Object.Annotations,
				OwnerReferences: e.Object.OwnerReferences},
			Subsets: e.Object.Subsets,
		}
		_, err := c.Kube.CreateEndpoints(ctx, o, metav1.CreateOptions{FieldManager: "mirrorctl"})
		if apierrors.IsAlreadyExists(err) {
			return i, fmt.Errorf("endpoints %s/%s: created meanwhile by someone else: %w", e.Namespace, e.Name, snapshot.ErrDrift)
		}
		if err != nil {
			return i, fmt.Errorf("create endpoints %s/%s: %s", e.Namespace, e.Name, oneLine(err.Error()))
		}
	}
	return len(plan), nil
}
