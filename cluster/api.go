package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"
)

// API is every Kubernetes call mirrorctl makes. It exists instead of client-go's kubernetes.Interface
// because that clientset links (and registers at init) every API group: most of the binary's size
// and a good part of its start-up time, for a handful of calls. The methods mirror the generated
// typed clients' signatures so the production implementation and the tests' adapter over the fake
// clientset stay one-liners.
type API interface {
	ServerVersion(ctx context.Context) (*version.Info, error)

	GetConfigMap(ctx context.Context, namespace, name string, opts metav1.GetOptions) (*corev1.ConfigMap, error)
	UpdateConfigMap(ctx context.Context, cm *corev1.ConfigMap, opts metav1.UpdateOptions) (*corev1.ConfigMap, error)

	ListServices(ctx context.Context, namespace string, opts metav1.ListOptions) (*corev1.ServiceList, error)
	ListEndpoints(ctx context.Context, namespace string, opts metav1.ListOptions) (*corev1.EndpointsList, error)
	GetEndpoints(ctx context.Context, namespace, name string, opts metav1.GetOptions) (*corev1.Endpoints, error)
	PatchEndpoints(ctx context.Context, namespace, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions) (*corev1.Endpoints, error)
	CreateEndpoints(ctx context.Context, e *corev1.Endpoints, opts metav1.CreateOptions) (*corev1.Endpoints, error)
	DeleteEndpoints(ctx context.Context, namespace, name string, opts metav1.DeleteOptions) error
	ListPods(ctx context.Context, namespace string, opts metav1.ListOptions) (*corev1.PodList, error)

	ListEndpointSlices(ctx context.Context, namespace string, opts metav1.ListOptions) (*discoveryv1.EndpointSliceList, error)
	CreateEndpointSlice(ctx context.Context, slice *discoveryv1.EndpointSlice, opts metav1.CreateOptions) (*discoveryv1.EndpointSlice, error)
	DeleteEndpointSlice(ctx context.Context, namespace, name string, opts metav1.DeleteOptions) error
	GetLease(ctx context.Context, namespace, name string, opts metav1.GetOptions) (*coordinationv1.Lease, error)
	GetNode(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.Node, error)
	ListLeases(ctx context.Context, namespace string, opts metav1.ListOptions) (*coordinationv1.LeaseList, error)
}

// jsonGetter is the optional part of an API: a GET of a path none of the typed methods cover (the
// aggregator's APIServices, whose Go types would bring the kube-aggregator client along). The fake
// clientset has no REST client, so the tests' adapter does not implement it and the audit says so.
type jsonGetter interface {
	GetJSON(ctx context.Context, absPath string, params url.Values) ([]byte, error)
}

// The scheme holds only the kinds API sends or reads, plus what metav1.AddToGroupVersion registers
// (Status, for API errors; the options, for query parameters). Encoding a body needs its kind
// registered; reading works without, but registered kinds are checked against what the server sent,
// as the generated clients do. Every other kind would only cost start-up time and binary size.
func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, g := range []struct {
		gv   schema.GroupVersion
		objs []runtime.Object
	}{
		{corev1.SchemeGroupVersion, []runtime.Object{&corev1.ConfigMap{}, &corev1.ConfigMapList{}, &corev1.Service{}, &corev1.ServiceList{},
			&corev1.Endpoints{}, &corev1.EndpointsList{}, &corev1.Pod{}, &corev1.PodList{}, &corev1.Node{}, &corev1.NodeList{}}},
		{discoveryv1.SchemeGroupVersion, []runtime.Object{&discoveryv1.EndpointSlice{}, &discoveryv1.EndpointSliceList{}}},
		{coordinationv1.SchemeGroupVersion, []runtime.Object{&coordinationv1.Lease{}, &coordinationv1.LeaseList{}}},
	} {
		s.AddKnownTypes(g.gv, g.objs...)
		metav1.AddToGroupVersion(s, g.gv)
	}
	return s
}

// Built on first use, not at init: most mirrorctl commands never talk to an API server.
var schemeOnce = sync.OnceValue(newScheme)

// restAPI is API over client-go's REST client, one per group-version like the generated clients,
// all sharing one HTTP client and one rate limiter (as kubernetes.NewForConfig does).
type restAPI struct {
	core, discovery, coordination rest.Interface
	// raw is the discovery client's REST client: no group-version, absolute paths only.
	raw    rest.Interface
	params runtime.ParameterCodec
}

func newRESTAPI(rc *rest.Config) (*restAPI, error) {
	s := schemeOnce()
	cfg := *rc
	if cfg.UserAgent == "" {
		cfg.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	hc, err := rest.HTTPClientFor(&cfg)
	if err != nil {
		return nil, err
	}
	if cfg.RateLimiter == nil && cfg.QPS > 0 {
		if cfg.Burst <= 0 {
			return nil, fmt.Errorf("burst is required to be greater than 0 when RateLimiter is not set and QPS is set to greater than 0")
		}
		cfg.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(cfg.QPS, cfg.Burst)
	}
	codecs := serializer.NewCodecFactory(s).WithoutConversion()
	typed := func(apiPath string, gv schema.GroupVersion) (rest.Interface, error) {
		c := cfg
		c.APIPath, c.GroupVersion, c.NegotiatedSerializer = apiPath, &gv, codecs
		return rest.RESTClientForConfigAndClient(&c, hc)
	}
	a := &restAPI{params: runtime.NewParameterCodec(s)}
	if a.core, err = typed("/api", corev1.SchemeGroupVersion); err != nil {
		return nil, err
	}
	if a.discovery, err = typed("/apis", discoveryv1.SchemeGroupVersion); err != nil {
		return nil, err
	}
	if a.coordination, err = typed("/apis", coordinationv1.SchemeGroupVersion); err != nil {
		return nil, err
	}
	// Set up like client-go's discovery client, decoder included, so errors on these paths read as
	// they did. (Its 32s default timeout is left out: it never applied, requests take their timeout
	// from the shared HTTP client.)
	raw := cfg
	raw.APIPath, raw.GroupVersion = "", nil
	raw.NegotiatedSerializer = serializer.NegotiatedSerializerWrapper(runtime.SerializerInfo{
		Serializer: runtime.NoopEncoder{Decoder: serializer.NewCodecFactory(s).UniversalDecoder()}})
	if a.raw, err = rest.UnversionedRESTClientForConfigAndClient(&raw, hc); err != nil {
		return nil, err
	}
	return a, nil
}

// The request shapes below are client-go's generated typed clients' (gentype), kept identical so the
// API server sees the same requests as before the clientset was dropped.

// object is a pointer to a kind the scheme holds, for getObject and listPage to decode into.
type object[T any] interface {
	*T
	runtime.Object
}

// getObject reads one object. Like the generated clients, it returns the (empty) object with an error.
func getObject[T any, P object[T]](ctx context.Context, a *restAPI, c rest.Interface, ns, resource, name string, opts metav1.GetOptions) (P, error) {
	out := P(new(T))
	return out, c.Get().UseProtobufAsDefault().NamespaceIfScoped(ns, ns != "").Resource(resource).Name(name).
		VersionedParams(&opts, a.params).Do(ctx).Into(out)
}

// listPage reads one page of a collection (into its List kind).
func listPage[T any, P object[T]](ctx context.Context, a *restAPI, c rest.Interface, ns, resource string, opts metav1.ListOptions) (P, error) {
	var timeout time.Duration
	if opts.TimeoutSeconds != nil {
		timeout = time.Duration(*opts.TimeoutSeconds) * time.Second
	}
	out := P(new(T))
	return out, c.Get().UseProtobufAsDefault().NamespaceIfScoped(ns, ns != "").Resource(resource).
		VersionedParams(&opts, a.params).Timeout(timeout).Do(ctx).Into(out)
}

func (a *restAPI) ServerVersion(ctx context.Context) (*version.Info, error) {
	body, err := a.raw.Get().AbsPath("/version").Do(ctx).Raw()
	if err != nil {
		return nil, err
	}
	var info version.Info
	if err := json.Unmarshal(body, &info); err != nil {
		return nil, fmt.Errorf("unable to parse the server version: %v", err)
	}
	return &info, nil
}

func (a *restAPI) GetJSON(ctx context.Context, absPath string, params url.Values) ([]byte, error) {
	req := a.raw.Get().AbsPath(absPath).SetHeader("Accept", "application/json")
	for k, vs := range params {
		for _, v := range vs {
			req = req.Param(k, v)
		}
	}
	return req.DoRaw(ctx)
}

// GetText reads a non-resource path in the Prometheus text format (/metrics).
func (a *restAPI) GetText(ctx context.Context, absPath string) ([]byte, error) {
	return a.raw.Get().AbsPath(absPath).SetHeader("Accept", "text/plain;version=0.0.4").DoRaw(ctx)
}

func (a *restAPI) GetConfigMap(ctx context.Context, ns, name string, opts metav1.GetOptions) (*corev1.ConfigMap, error) {
	return getObject[corev1.ConfigMap](ctx, a, a.core, ns, "configmaps", name, opts)
}

func (a *restAPI) UpdateConfigMap(ctx context.Context, cm *corev1.ConfigMap, opts metav1.UpdateOptions) (*corev1.ConfigMap, error) {
	out := &corev1.ConfigMap{}
	err := a.core.Put().UseProtobufAsDefault().NamespaceIfScoped(cm.Namespace, cm.Namespace != "").Resource("configmaps").
		Name(cm.Name).VersionedParams(&opts, a.params).Body(cm).Do(ctx).Into(out)
	return out, err
}

func (a *restAPI) ListServices(ctx context.Context, ns string, opts metav1.ListOptions) (*corev1.ServiceList, error) {
	return listPage[corev1.ServiceList](ctx, a, a.core, ns, "services", opts)
}

func (a *restAPI) ListEndpoints(ctx context.Context, ns string, opts metav1.ListOptions) (*corev1.EndpointsList, error) {
	return listPage[corev1.EndpointsList](ctx, a, a.core, ns, "endpoints", opts)
}

func (a *restAPI) GetEndpoints(ctx context.Context, ns, name string, opts metav1.GetOptions) (*corev1.Endpoints, error) {
	return getObject[corev1.Endpoints](ctx, a, a.core, ns, "endpoints", name, opts)
}

func (a *restAPI) PatchEndpoints(ctx context.Context, ns, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions) (*corev1.Endpoints, error) {
	out := &corev1.Endpoints{}
	err := a.core.Patch(pt).UseProtobufAsDefault().NamespaceIfScoped(ns, ns != "").Resource("endpoints").Name(name).
		VersionedParams(&opts, a.params).Body(data).Do(ctx).Into(out)
	return out, err
}

func (a *restAPI) CreateEndpoints(ctx context.Context, e *corev1.Endpoints, opts metav1.CreateOptions) (*corev1.Endpoints, error) {
	out := &corev1.Endpoints{}
	err := a.core.Post().UseProtobufAsDefault().NamespaceIfScoped(e.Namespace, e.Namespace != "").Resource("endpoints").
		VersionedParams(&opts, a.params).Body(e).Do(ctx).Into(out)
	return out, err
}

func (a *restAPI) DeleteEndpoints(ctx context.Context, ns, name string, opts metav1.DeleteOptions) error {
	return a.core.Delete().UseProtobufAsDefault().NamespaceIfScoped(ns, ns != "").Resource("endpoints").Name(name).
		Body(&opts).Do(ctx).Error()
}

func (a *restAPI) ListPods(ctx context.Context, ns string, opts metav1.ListOptions) (*corev1.PodList, error) {
	return listPage[corev1.PodList](ctx, a, a.core, ns, "pods", opts)
}

func (a *restAPI) ListEndpointSlices(ctx context.Context, ns string, opts metav1.ListOptions) (*discoveryv1.EndpointSliceList, error) {
	return listPage[discoveryv1.EndpointSliceList](ctx, a, a.discovery, ns, "endpointslices", opts)
}

func (a *restAPI) CreateEndpointSlice(ctx context.Context, slice *discoveryv1.EndpointSlice, opts metav1.CreateOptions) (*discoveryv1.EndpointSlice, error) {
	out := &discoveryv1.EndpointSlice{}
	err := a.discovery.Post().UseProtobufAsDefault().NamespaceIfScoped(slice.Namespace, slice.Namespace != "").Resource("endpointslices").
		VersionedParams(&opts, a.params).Body(slice).Do(ctx).Into(out)
	return out, err
}

func (a *restAPI) DeleteEndpointSlice(ctx context.Context, ns, name string, opts metav1.DeleteOptions) error {
	return a.discovery.Delete().UseProtobufAsDefault().NamespaceIfScoped(ns, ns != "").Resource("endpointslices").Name(name).
		Body(&opts).Do(ctx).Error()
}

func (a *restAPI) GetLease(ctx context.Context, ns, name string, opts metav1.GetOptions) (*coordinationv1.Lease, error) {
	return getObject[coordinationv1.Lease](ctx, a, a.coordination, ns, "leases", name, opts)
}

func (a *restAPI) GetNode(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.Node, error) {
	return getObject[corev1.Node](ctx, a, a.core, "", "nodes", name, opts)
}

func (a *restAPI) ListLeases(ctx context.Context, ns string, opts metav1.ListOptions) (*coordinationv1.LeaseList, error) {
	return listPage[coordinationv1.LeaseList](ctx, a, a.coordination, ns, "leases", opts)
}
