package cluster

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Writer kinds. A static object can be copied once into EndpointSlices (`mirrorctl adopt`); a live one
// has a writer that must itself be changed to write EndpointSlices, or the copy goes stale.
const (
	WriterStatic  = "static"
	WriterLive    = "live"
	WriterUnknown = "unknown" // no managedFields entry to judge by
)

// DefaultStaticAfter is how long an object must have gone unwritten before the audit calls it static
// although a controller wrote it last: a week covers the restart, rollout and resync cycles of the
// controllers seen writing Endpoints, while a hand-maintained object typically sits for months.
const DefaultStaticAfter = 7 * 24 * time.Hour

// Writer is who maintains an object, read from its managedFields.
type Writer struct {
	Manager   string     `json:"manager"`   // the field manager of the last write that counts
	Operation string     `json:"operation"` // Update or Apply
	Updated   *time.Time `json:"updated"`   // when it wrote (second precision); null when not recorded
	Kind      string     `json:"kind"`      // static, live or unknown
	Reason    string     `json:"reason"`
}

// IsKubectlManager reports whether a field manager is kubectl's. kubectl sets its own per command
// (k8s.io/kubectl v0.37.2: "kubectl-client-side-apply", "kubectl-create", "kubectl-edit",
// "kubectl-patch", "kubectl-label", "kubectl-annotate", "kubectl-replace", "kubectl-set", ...) and
// "kubectl" for server-side apply; a client that sets none gets its user agent's first word from the
// API server (apiserver handlers.prefixFromUserAgent), which for kubectl is "kubectl" too.
func IsKubectlManager(m string) bool { return m == "kubectl" || strings.HasPrefix(m, "kubectl-") }

// ClassifyWriter judges who maintains an object from its managedFields: the newest entry that touches
// more than metadata.labels and metadata.annotations decides (label-only writes, such as mirrorctl's own
// skip-mirror label or `kubectl label`, say nothing about who keeps the content current). Static: that
// write was kubectl's (a person), or is older than staticAfter (DefaultStaticAfter when 0). Live: a
// controller or other program wrote it within staticAfter. Unknown: no entry to judge by. On a tie of
// times a non-kubectl writer wins: calling a live object static is the costly mistake.
func ClassifyWriter(fields []metav1.ManagedFieldsEntry, now time.Time, staticAfter time.Duration) Writer {
	if staticAfter <= 0 {
		staticAfter = DefaultStaticAfter
	}
	var last *metav1.ManagedFieldsEntry
	for i := range fields {
		f := &fields[i]
		if metadataOnly(f) {
			continue
		}
		if last == nil || newer(f, last) {
			last = f
		}
	}
	if last == nil {
		if len(fields) == 0 {
			return Writer{Kind: WriterUnknown, Reason: "no managedFields (the object was written before the API server tracked them, or they were cleared)"}
		}
		return Writer{Kind: WriterUnknown, Reason: "every managedFields entry touches only labels or annotations"}
	}
	w := Writer{Manager: last.Manager, Operation: string(last.Operation)}
	if last.Time != nil {
		t := last.Time.UTC()
		w.Updated = &t
	}
	switch {
	case IsKubectlManager(last.Manager):
		w.Kind, w.Reason = WriterStatic, "last written with kubectl ("+last.Manager+")"
	case w.Updated != nil && now.Sub(*w.Updated) >= staticAfter:
		w.Kind, w.Reason = WriterStatic, fmt.Sprintf("%s has not written it for %s (≥ %s)", last.Manager, age(now.Sub(*w.Updated)), age(staticAfter))
	case w.Updated == nil:
		w.Kind, w.Reason = WriterLive, last.Manager+" wrote it last (time not recorded)"
	default:
		w.Kind, w.Reason = WriterLive, fmt.Sprintf("%s wrote it %s ago", last.Manager, age(now.Sub(*w.Updated)))
	}
	return w
}

func newer(a, b *metav1.ManagedFieldsEntry) bool {
	switch {
	case a.Time == nil:
		return false
	case b.Time == nil:
		return true
	case a.Time.Equal(b.Time):
		return IsKubectlManager(b.Manager) && !IsKubectlManager(a.Manager)
	}
	return a.Time.After(b.Time.Time)
}

// metadataOnly reports whether an entry owns nothing but labels and annotations. An entry whose fields
// cannot be read counts as a real write.
func metadataOnly(f *metav1.ManagedFieldsEntry) bool {
	if f.FieldsV1 == nil || len(f.FieldsV1.Raw) == 0 {
		return false
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(f.FieldsV1.Raw, &top) != nil {
		return false
	}
	for k, v := range top {
		if k != "f:metadata" {
			return false
		}
		var md map[string]json.RawMessage
		if json.Unmarshal(v, &md) != nil {
			return false
		}
		for mk := range md {
			if mk != "f:labels" && mk != "f:annotations" && mk != "." {
				return false
			}
		}
	}
	return true
}

// age rounds a duration for people: days past two days, else hours, minutes or seconds.
func age(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	case d >= 2*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	case d >= 2*time.Minute:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 0:
		return "0s"
	}
	return fmt.Sprintf("%ds", int(d/time.Second))
}
