package cluster

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// The fake clientset ignores Limit and Continue; a real API server pages. paginate makes the fake
// page like the server does (label selector applied before the limit, opaque continue tokens) so the
// audit's paging loop is exercised. Real paging is proven against kube-apiserver in e2e/suite.
func paginate(t *testing.T, cs *fake.Clientset, gvr schema.GroupVersionResource, gvk schema.GroupVersionKind) {
	cs.PrependReactor("list", gvr.Resource, func(a k8stesting.Action) (bool, runtime.Object, error) {
		la := a.(k8stesting.ListActionImpl)
		obj, err := cs.Tracker().List(gvr, gvk, la.GetNamespace())
		if err != nil {
			return true, nil, err
		}
		items, err := meta.ExtractList(obj)
		if err != nil {
			t.Fatal(err)
		}
		sel, err := labels.Parse(la.ListOptions.LabelSelector)
		if err != nil {
			return true, nil, err
		}
		var kept []runtime.Object
		for _, it := range items {
			m, _ := meta.Accessor(it)
			if sel.Matches(labels.Set(m.GetLabels())) {
				kept = append(kept, it)
			}
		}
		sort.Slice(kept, func(i, j int) bool {
			a, _ := meta.Accessor(kept[i])
			b, _ := meta.Accessor(kept[j])
			return a.GetNamespace()+"/"+a.GetName() < b.GetNamespace()+"/"+b.GetName()
		})
		start := 0
		if c := la.ListOptions.Continue; c != "" {
			if start, err = strconv.Atoi(c); err != nil {
				t.Fatalf("continue token %q was not one the fake handed out", c)
			}
		}
		end := len(kept)
		if l := int(la.ListOptions.Limit); l > 0 && start+l < end {
			end = start + l
		}
		if err := meta.SetList(obj, kept[start:end]); err != nil {
			t.Fatal(err)
		}
		lm, _ := meta.ListAccessor(obj)
		if end < len(kept) {
			lm.SetContinue(strconv.Itoa(end))
		} else {
			lm.SetContinue("")
		}
		return true, obj, nil
	})
}

var (
	servicesGVR  = corev1.SchemeGroupVersion.WithResource("services")
	endpointsGVR = corev1.SchemeGroupVersion.WithResource("endpoints")
	podsGVR      = corev1.SchemeGroupVersion.WithResource("pods")
	slicesGVR    = schema.GroupVersionResource{Group: "discovery.k8s.io", Version: "v1", Resource: "endpointslices"}
)

func pagedFake(t *testing.T, objs ...runtime.Object) *fake.Clientset {
	cs := fake.NewClientset(objs...)
	paginate(t, cs, servicesGVR, corev1.SchemeGroupVersion.WithKind("Service"))
	paginate(t, cs, endpointsGVR, corev1.SchemeGroupVersion.WithKind("Endpoints"))
	paginate(t, cs, podsGVR, corev1.SchemeGroupVersion.WithKind("Pod"))
	paginate(t, cs, slicesGVR, schema.GroupVersionKind{Group: "discovery.k8s.io", Version: "v1", Kind: "EndpointSlice"})
	return cs
}

func objMeta(ns, name string, lbl map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name, Labels: lbl, UID: types.UID("uid-" + ns + "-" + name), ResourceVersion: "1"}
}

func ref(ns string, i int) ObjectRef { return ObjectRef{ns, fmt.Sprintf("svc-%04d", i)} }

// clientsetAPI is API over a clientset, so the tests run on the fake one. It leaves out jsonGetter:
// the fake clientset has no REST client for raw paths.
type clientsetAPI struct{ cs kubernetes.Interface }

func fakeAPI(cs kubernetes.Interface) API { return clientsetAPI{cs} }

func (k clientsetAPI) ServerVersion(context.Context) (*version.Info, error) {
	return k.cs.Discovery().ServerVersion()
}

func (k clientsetAPI) GetConfigMap(ctx context.Context, ns, name string, o metav1.GetOptions) (*corev1.ConfigMap, error) {
	return k.cs.CoreV1().ConfigMaps(ns).Get(ctx, name, o)
}

func (k clientsetAPI) UpdateConfigMap(ctx context.Context, cm *corev1.ConfigMap, o metav1.UpdateOptions) (*corev1.ConfigMap, error) {
	return k.cs.CoreV1().ConfigMaps(cm.Namespace).Update(ctx, cm, o)
}

func (k clientsetAPI) ListServices(ctx context.Context, ns string, o metav1.ListOptions) (*corev1.ServiceList, error) {
	return k.cs.CoreV1().Services(ns).List(ctx, o)
}

func (k clientsetAPI) ListEndpoints(ctx context.Context, ns string, o metav1.ListOptions) (*corev1.EndpointsList, error) {
	return k.cs.CoreV1().Endpoints(ns).List(ctx, o)
}

func (k clientsetAPI) GetEndpoints(ctx context.Context, ns, name string, o metav1.GetOptions) (*corev1.Endpoints, error) {
	return k.cs.CoreV1().Endpoints(ns).Get(ctx, name, o)
}

func (k clientsetAPI) PatchEndpoints(ctx context.Context, ns, name string, pt types.PatchType, data []byte, o metav1.PatchOptions) (*corev1.Endpoints, error) {
	return k.cs.CoreV1().Endpoints(ns).Patch(ctx, name, pt, data, o)
}

func (k clientsetAPI) CreateEndpoints(ctx context.Context, e *corev1.Endpoints, o metav1.CreateOptions) (*corev1.Endpoints, error) {
	return k.cs.CoreV1().Endpoints(e.Namespace).Create(ctx, e, o)
}

func (k clientsetAPI) DeleteEndpoints(ctx context.Context, ns, name string, o metav1.DeleteOptions) error {
	return k.cs.CoreV1().Endpoints(ns).Delete(ctx, name, o)
}

func (k clientsetAPI) ListPods(ctx context.Context, ns string, o metav1.ListOptions) (*corev1.PodList, error) {
	return k.cs.CoreV1().Pods(ns).List(ctx, o)
}

func (k clientsetAPI) ListEndpointSlices(ctx context.Context, ns string, o metav1.ListOptions) (*discoveryv1.EndpointSliceList, error) {
	return k.cs.DiscoveryV1().EndpointSlices(ns).List(ctx, o)
}

func (k clientsetAPI) CreateEndpointSlice(ctx context.Context, s *discoveryv1.EndpointSlice, o metav1.CreateOptions) (*discoveryv1.EndpointSlice, error) {
	return k.cs.DiscoveryV1().EndpointSlices(s.Namespace).Create(ctx, s, o)
}

func (k clientsetAPI) DeleteEndpointSlice(ctx context.Context, ns, name string, o metav1.DeleteOptions) error {
	return k.cs.DiscoveryV1().EndpointSlices(ns).Delete(ctx, name, o)
}

func (k clientsetAPI) GetLease(ctx context.Context, ns, name string, o metav1.GetOptions) (*coordinationv1.Lease, error) {
	return k.cs.CoordinationV1().Leases(ns).Get(ctx, name, o)
}

func (k clientsetAPI) GetNode(ctx context.Context, name string, o metav1.GetOptions) (*corev1.Node, error) {
	return k.cs.CoreV1().Nodes().Get(ctx, name, o)
}

func (k clientsetAPI) ListLeases(ctx context.Context, ns string, o metav1.ListOptions) (*coordinationv1.LeaseList, error) {
	return k.cs.CoordinationV1().Leases(ns).List(ctx, o)
}
