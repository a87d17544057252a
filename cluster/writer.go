package cluster

import (
	"bytes"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Writer kinds: who keeps an Endpoints' subsets up to date.
const (
	WriterStatic  = "static"  // a person (kubectl) wrote it last, or nothing has for StaleAfter
	WriterLive    = "live"    // a controller wrote it recently: a copy of it would go stale
	WriterUnknown = "unknown" // no managedFields name a writer of the subsets
)

// DefaultStaleAfter is how long an Endpoints' subsets must be left alone by every non-kubectl writer
// before it counts as static. A controller that reconciles rewrites (or at least re-asserts) its
// objects far more often than daily; a day also spans the working day of a person editing by hand.
const DefaultStaleAfter = 24 * time.Hour

// Writer is the last writer of an Endpoints' subsets, as its managedFields tell.
type Writer struct {
	Manager   string     `json:"manager"`
	Operation string     `json:"operation"`
	Updated   *time.Time `json:"updated"`
	Kind      string     `json:"kind"` // static, live, unknown
}

// kubectl's field managers (k8s.io/kubectl v0.37.2: "kubectl" for server-side apply,
// "kubectl-client-side-apply", "kubectl-create", "kubectl-edit", "kubectl-replace", "kubectl-patch", …).
func personTool(manager string) bool {
	return manager == "kubectl" || strings.HasPrefix(manager, "kubectl-")
}

// ClassifyWriter names the manager that last wrote ep's subsets (the fields mirroring copies) and says
// whether the object is static or live. Entries that touch only metadata (a label, mirrorctl's own
// skip-mirror patch) are not writers of the addresses and are passed over.
func ClassifyWriter(ep *corev1.Endpoints, now time.Time, staleAfter time.Duration) Writer {
	var last *Writer
	for _, mf := range ep.ManagedFields {
		if mf.FieldsV1 == nil || !bytes.Contains(mf.FieldsV1.Raw, []byte(`"f:subsets"`)) {
			continue
		}
		w := Writer{Manager: mf.Manager, Operation: string(mf.Operation)}
		if mf.Time != nil {
			t := mf.Time.UTC()
			w.Updated = &t
		}
		if last == nil || later(w.Updated, last.Updated) {
			last = &w
		}
	}
	if last == nil {
		return Writer{Kind: WriterUnknown}
	}
	switch {
	case personTool(last.Manager):
		last.Kind = WriterStatic
	case last.Updated != nil && now.Sub(*last.Updated) > staleAfter:
		last.Kind = WriterStatic
	default:
		last.Kind = WriterLive
	}
	return *last
}

func later(a, b *time.Time) bool {
	if a == nil {
		return false
	}
	return b == nil || a.After(*b)
}
