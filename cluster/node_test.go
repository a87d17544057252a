package cluster

import (
	"context"
	"net/http"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The Node read is the generated client's GET, in protobuf, on both implementations; a missing Node
// has no annotations, any other error is returned.
func TestRESTNodeAnnotations(t *testing.T) {
	want := map[string]string{"cluster.x-k8s.io/cluster-name": "capi-quickstart", "cluster.x-k8s.io/owner-kind": "KubeadmControlPlane"}
	for _, impl := range impls {
		t.Run(impl, func(t *testing.T) {
			f, c := newFakeServer(t, impl)
			f.answer["GET /api/v1/nodes/cp-0"] = func(w http.ResponseWriter, r *http.Request) {
				f.write(w, r, &corev1.Node{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Node"}, ObjectMeta: metav1.ObjectMeta{Name: "cp-0", Annotations: want}})
			}
			f.answer["GET /api/v1/nodes/gone"] = func(w http.ResponseWriter, r *http.Request) {
				f.status(w, r, apierrors.NewNotFound(schema.GroupResource{Resource: "nodes"}, "gone"))
			}
			f.answer["GET /api/v1/nodes/secret"] = func(w http.ResponseWriter, r *http.Request) {
				f.status(w, r, apierrors.NewForbidden(schema.GroupResource{Resource: "nodes"}, "secret", nil))
			}
			got, err := c.NodeAnnotations(context.Background(), "cp-0")
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("cp-0: %v, %v", got, err)
			}
			if got, err := c.NodeAnnotations(context.Background(), "gone"); got != nil || err != nil {
				t.Errorf("missing Node: %v, %v", got, err)
			}
			if _, err := c.NodeAnnotations(context.Background(), "secret"); !apierrors.IsForbidden(err) {
				t.Errorf("forbidden: %v", err)
			}
			sameLog(t, f.requests(), []string{
				"GET /api/v1/nodes/cp-0 accept=" + acceptTyped,
				"GET /api/v1/nodes/gone accept=" + acceptTyped,
				"GET /api/v1/nodes/secret accept=" + acceptTyped,
			})
		})
	}
}
