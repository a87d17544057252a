package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/nodefs"
	"github.com/mirrorctl/mirrorctl/snapshot"
)

// KindLabels is the FileChange kind of an Endpoints' labels in plans and output.
const KindLabels = "endpoints-labels"

// SkipOptions selects Endpoints in one namespace: by label selector, by names, or all of them.
type SkipOptions struct {
	Namespace string
	Selector  string
	Names     []string
	All       bool
	Undo      bool // remove the label instead of setting it
}

// LabelChange is one Endpoints' skip-mirror label before and after (nil: absent).
type LabelChange struct {
	Namespace, Name string
	UID             string
	ResourceVersion string
	Labels          map[string]string // all labels as read
	Before, After   *string
}

// Changed reports whether the label changes.
func (l LabelChange) Changed() bool { return !equalPtr(l.Before, l.After) }

func equalPtr(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// FileChange renders the labels as YAML, so a dry run shows the one line that changes.
func (l LabelChange) FileChange() change.FileChange {
	p := "endpoints:" + l.Namespace + "/" + l.Name
	after := map[string]string{}
	for k, v := range l.Labels {
		after[k] = v
	}
	delete(after, LabelSkipMirror)
	if l.After != nil {
		after[LabelSkipMirror] = *l.After
	}
	return change.FileChange{
		Path:   p,
		Kind:   KindLabels,
		Before: &nodefs.File{Path: p, Data: labelsYAML(l.Labels), Exists: true},
		After:  labelsYAML(after),
	}
}

// Record is the change's record entry.
func (l LabelChange) Record() LabelRecord {
	return LabelRecord{Kind: "Endpoints", Namespace: l.Namespace, Name: l.Name, UID: l.UID, Label: LabelSkipMirror, Before: l.Before, After: l.After}
}

func labelsYAML(m map[string]string) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("metadata:\n  labels:")
	if len(keys) == 0 {
		b.WriteString(" {}")
	}
	b.WriteString("\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "    %s: %s\n", k, strconv.Quote(m[k]))
	}
	return []byte(b.String())
}

// ErrProtected names the one Endpoints mirrorctl never labels: default/kubernetes belongs to the API
// server's endpoint reconciler (which keeps its own skip-mirror label; on k0s HA it relies on mirroring).
var ErrProtected = errors.New("is managed by the API server; mirrorctl never labels it")

func protected(ns, name string) bool { return ns == "default" && name == "kubernetes" }

var trueValue = "true"

// PlanSkip lists the selected Endpoints (paginated, filtered by the server when a selector is given)
// and returns one change per object, changed or not, sorted by name. Named objects that do not exist are
// an error, so a typo changes nothing. default/kubernetes is refused by name and left out of selections
// (with a warning).
func (c *Client) PlanSkip(ctx context.Context, o SkipOptions) ([]LabelChange, []string, error) {
	if o.Namespace == "" {
		return nil, nil, errors.New("a namespace is required")
	}
	n := 0
	if o.Selector != "" {
		n++
		if _, err := labels.Parse(o.Selector); err != nil {
			return nil, nil, fmt.Errorf("--selector %q: %s", o.Selector, oneLine(err.Error()))
		}
	}
	if len(o.Names) > 0 {
		n++
	}
	if o.All {
		n++
	}
	if n != 1 {
		return nil, nil, errors.New("select Endpoints with exactly one of: --selector, names, --all")
	}
	want := map[string]bool{}  // the names asked for
	found := map[string]bool{} // those seen
	for _, name := range o.Names {
		if protected(o.Namespace, name) {
			return nil, nil, fmt.Errorf("endpoints %s/%s %w", o.Namespace, name, ErrProtected)
		}
		want[name] = true
	}
	var warnings []string
	var out []LabelChange
	var requests int
	err := list(ctx, paging{DefaultPageSize, &requests}, c.Kube.ListEndpoints, o.Namespace, o.Selector, func(l *corev1.EndpointsList) {
		for i := range l.Items {
			e := &l.Items[i]
			if len(want) > 0 && !want[e.Name] {
				continue
			}
			if protected(e.Namespace, e.Name) {
				warnings = append(warnings, "left out default/kubernetes: the API server manages it")
				continue
			}
			found[e.Name] = true
			out = append(out, planLabel(e, o.Undo))
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
	if len(out) == 0 {
		warnings = append(warnings, "no Endpoints selected in namespace "+o.Namespace)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, warnings, nil
}

func planLabel(e *corev1.Endpoints, undo bool) LabelChange {
	l := LabelChange{Namespace: e.Namespace, Name: e.Name, UID: string(e.UID), ResourceVersion: e.ResourceVersion, Labels: e.Labels}
	if v, ok := e.Labels[LabelSkipMirror]; ok {
		l.Before = &v
	}
	if !undo {
		l.After = &trueValue
	}
	return l
}

// ApplyLabels writes every changed label with a merge patch conditional on the resourceVersion read.
// On a conflict it re-reads that object and patches again only if the label still needs it (a
// concurrent writer's other changes are kept); the change's Before is updated to what was replaced.
// Each object is one request: the API has no bulk label call. It returns how many changes (from the
// start) are done, so a caller can undo them when a later one fails.
func (c *Client) ApplyLabels(ctx context.Context, changes []LabelChange) (done int, err error) {
	for i := range changes {
		ch := &changes[i]
		for attempt := 1; ch.Changed(); attempt++ {
			err := c.patchLabel(ctx, ch)
			if err == nil {
				break
			}
			if !apierrors.IsConflict(err) || attempt > MaxConflictRetries {
				return i, fmt.Errorf("endpoints %s/%s: %s", ch.Namespace, ch.Name, oneLine(err.Error()))
			}
			e, err := c.Kube.GetEndpoints(ctx, ch.Namespace, ch.Name, metav1.GetOptions{})
			if err != nil {
				return i, fmt.Errorf("endpoints %s/%s: %s", ch.Namespace, ch.Name, oneLine(err.Error()))
			}
			after := ch.After
			*ch = planLabel(e, after == nil)
			ch.After = after
		}
	}
	return len(changes), nil
}

// RevertLabels puts back the labels of changes already applied (a run that failed midway), refusing
// objects someone changed since, like a rollback.
func (c *Client) RevertLabels(ctx context.Context, applied []LabelChange) error {
	var recs []LabelRecord
	for _, ch := range applied {
		if ch.Changed() {
			recs = append(recs, ch.Record())
		}
	}
	back, err := c.PlanLabelRollback(ctx, recs, false)
	if err != nil {
		return err
	}
	_, err = c.ApplyLabels(ctx, back)
	return err
}

func (c *Client) patchLabel(ctx context.Context, ch *LabelChange) error {
	var v any // JSON null removes the label
	if ch.After != nil {
		v = *ch.After
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"resourceVersion": ch.ResourceVersion, // makes the merge patch conditional: 409 if it moved
		"uid":             ch.UID,             // and never lands on a re-created object of that name
		"labels":          map[string]any{LabelSkipMirror: v},
	}})
	if err != nil {
		return err
	}
	_, err = c.Kube.PatchEndpoints(ctx, ch.Namespace, ch.Name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "mirrorctl"})
	return err
}

// PlanLabelRollback compares each recorded object's label now with the record: as mirrorctl left it →
// put the old value back; already the old value → nothing; anything else (or the object re-created, or
// gone) is drift: an error wrapping snapshot.ErrDrift naming every such object, unless force (a gone
// object is then skipped). It reads each recorded object once.
func (c *Client) PlanLabelRollback(ctx context.Context, recs []LabelRecord, force bool) ([]LabelChange, error) {
	var out []LabelChange
	var drifted []string
	for _, r := range recs {
		e, err := c.Kube.GetEndpoints(ctx, r.Namespace, r.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			if !force {
				drifted = append(drifted, r.Namespace+"/"+r.Name+" (gone)")
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("endpoints %s/%s: %s", r.Namespace, r.Name, oneLine(err.Error()))
		}
		ch := planLabel(e, true)
		ch.After = r.Before
		switch {
		case equalPtr(ch.Before, r.Before):
			ch.After = ch.Before
		case string(e.UID) != r.UID && !force:
			drifted = append(drifted, r.Namespace+"/"+r.Name+" (re-created)")
		case !equalPtr(ch.Before, r.After) && !force:
			drifted = append(drifted, r.Namespace+"/"+r.Name)
		}
		out = append(out, ch)
	}
	if len(drifted) > 0 {
		return nil, fmt.Errorf("endpoints %s: label %s %w; rolling back would discard that change: check it, then use --force", strings.Join(drifted, ", "), LabelSkipMirror, snapshot.ErrDrift)
	}
	return out, nil
}

// CheckSelection says what is wrong with a selection of Endpoints (skip's and adopt's): the
// namespace is required, and exactly one of a label selector, names, or all of them.
func CheckSelection(namespace, selector string, names []string, all bool) error {
	if namespace == "" {
		return errors.New("--namespace is required")
	}
	n := 0
	for _, set := range []bool{selector != "", len(names) > 0, all} {
		if set {
			n++
		}
	}
	if n != 1 {
		return errors.New("select Endpoints with exactly one of --selector, NAME..., --all")
	}
	return nil
}
