package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/mirrorctl/mirrorctl/controllers"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
)

const (
	protobuf     = "application/vnd.kubernetes.protobuf"
	acceptTyped  = "application/vnd.kubernetes.protobuf,application/json" // what the generated clients sent
	mergePatch   = "application/merge-patch+json"
	jsonMedia    = "application/json"
	kcmLeaseName = "kube-controller-manager"
)

// fakeServer is just enough of kube-apiserver to check the REST wiring: it logs every request, pages
// lists the way the server does (limit, opaque continue, label selector applied first), answers in
// protobuf when asked unless told to answer JSON, and encodes with client-go's full scheme, not the
// package's small one, so a kind missing from that one shows up here.
type fakeServer struct {
	t  *testing.T
	mu sync.Mutex
	// log holds "METHOD path?sorted-query accept=… content-type=…" per request.
	log      []string
	cm       *corev1.ConfigMap
	eps      []runtime.Object
	services []runtime.Object
	slices   []runtime.Object
	pods     []runtime.Object
	// jsonOnly paths answer application/json whatever the Accept header, like servers for some types.
	jsonOnly map[string]bool
	// conflicts maps "METHOD path" to how many 409s to answer first; interfere runs with each.
	conflicts map[string]int
	interfere func()
	patched   []string
	agent     string
	// answer, keyed by "METHOD path", replaces the normal answer.
	answer map[string]func(w http.ResponseWriter, r *http.Request)
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := r.URL.Query()
	line := r.Method + " " + r.URL.Path
	if len(q) > 0 {
		line += "?" + q.Encode()
	}
	line += " accept=" + r.Header.Get("Accept")
	if ct := r.Header.Get("Content-Type"); ct != "" {
		line += " content-type=" + ct
	}
	f.log = append(f.log, line)
	f.agent = r.UserAgent()
	body, _ := io.ReadAll(r.Body)
	if a := f.answer[r.Method+" "+r.URL.Path]; a != nil {
		a(w, r)
		return
	}

	if n := f.conflicts[r.Method+" "+r.URL.Path]; n > 0 {
		f.conflicts[r.Method+" "+r.URL.Path] = n - 1
		if f.interfere != nil {
			f.interfere()
		}
		f.status(w, r, apierrors.NewConflict(schema.GroupResource{Resource: "x"}, "x", errors.New("the object has been modified")))
		return
	}
	switch p := r.URL.Path; {
	case p == "/version":
		w.Header().Set("Content-Type", jsonMedia)
		fmt.Fprint(w, `{"major":"1","minor":"37","gitVersion":"v1.37.2"}`)
	case p == "/api/v1/namespaces/kube-system/configmaps/kubeadm-config" && r.Method == http.MethodGet:
		f.write(w, r, f.cm)
	case p == "/api/v1/namespaces/kube-system/configmaps/kubeadm-config" && r.Method == http.MethodPut:
		obj, err := runtime.Decode(scheme.Codecs.UniversalDeserializer(), body)
		if err != nil {
			f.t.Errorf("PUT body: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		cm := obj.(*corev1.ConfigMap)
		if cm.ResourceVersion != f.cm.ResourceVersion {
			f.t.Errorf("PUT on resourceVersion %s, stored %s", cm.ResourceVersion, f.cm.ResourceVersion)
		}
		rv, _ := strconv.Atoi(cm.ResourceVersion)
		cm.ResourceVersion = strconv.Itoa(rv + 1)
		f.cm = cm
		f.write(w, r, cm)
	case p == "/api/v1/services":
		f.list(w, r, f.services, &corev1.ServiceList{}, "")
	case p == "/api/v1/endpoints":
		f.list(w, r, f.eps, &corev1.EndpointsList{}, "")
	case strings.HasPrefix(p, "/api/v1/namespaces/default/endpoints"):
		name := strings.TrimPrefix(strings.TrimPrefix(p, "/api/v1/namespaces/default/endpoints"), "/")
		if name == "" {
			f.list(w, r, f.eps, &corev1.EndpointsList{}, "default")
			return
		}
		for _, o := range f.eps {
			if e := o.(*corev1.Endpoints); e.Namespace == "default" && e.Name == name {
				if r.Method == http.MethodPatch {
					f.patched = append(f.patched, string(body))
					e.Labels = map[string]string{LabelSkipMirror: "true"}
				}
				f.write(w, r, e)
				return
			}
		}
		f.status(w, r, apierrors.NewNotFound(schema.GroupResource{Resource: "endpoints"}, name))
	case p == "/apis/discovery.k8s.io/v1/endpointslices":
		f.list(w, r, f.slices, &discoveryv1.EndpointSliceList{}, "")
	case p == "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/"+kcmLeaseName:
		f.status(w, r, apierrors.NewNotFound(schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}, kcmLeaseName))
	case p == "/api/v1/namespaces/kube-system/pods":
		f.list(w, r, f.pods, &corev1.PodList{}, "kube-system")
	case p == "/apis/apiregistration.k8s.io/v1/apiservices":
		// One item a page whatever the limit: a server may send fewer, and the audit must follow continue.
		items := []string{
			`{"metadata":{"name":"v1.apps"},"spec":{}}`,
			`{"metadata":{"name":"v1beta1.metrics.k8s.io"},"spec":{"service":{"namespace":"a","name":"ext"}}}`,
		}
		i, _ := strconv.Atoi(q.Get("continue"))
		cont := ""
		if i+1 < len(items) {
			cont = strconv.Itoa(i + 1)
		}
		w.Header().Set("Content-Type", jsonMedia)
		fmt.Fprintf(w, `{"kind":"APIServiceList","apiVersion":"apiregistration.k8s.io/v1","metadata":{"continue":%q},"items":[%s]}`, cont, items[i])
	default:
		f.t.Errorf("unexpected request %s", line)
		f.status(w, r, apierrors.NewNotFound(schema.GroupResource{}, p))
	}
}

func (f *fakeServer) list(w http.ResponseWriter, r *http.Request, all []runtime.Object, into runtime.Object, ns string) {
	sel, err := labels.Parse(r.URL.Query().Get("labelSelector"))
	if err != nil {
		f.t.Errorf("labelSelector: %v", err)
	}
	var kept []runtime.Object
	for _, o := range all {
		m, _ := meta.Accessor(o)
		if (ns == "" || m.GetNamespace() == ns) && sel.Matches(labels.Set(m.GetLabels())) {
			kept = append(kept, o)
		}
	}
	start, _ := strconv.Atoi(r.URL.Query().Get("continue"))
	end := len(kept)
	if l, _ := strconv.Atoi(r.URL.Query().Get("limit")); l > 0 && start+l < end {
		end = start + l
	}
	if err := meta.SetList(into, kept[start:end]); err != nil {
		f.t.Fatal(err)
	}
	lm, _ := meta.ListAccessor(into)
	lm.SetResourceVersion("100")
	if end < len(kept) {
		lm.SetContinue(strconv.Itoa(end))
	}
	f.write(w, r, into)
}

func (f *fakeServer) status(w http.ResponseWriter, r *http.Request, err *apierrors.StatusError) {
	st := err.Status()
	f.encode(w, r, &st, int(st.Code), schema.GroupVersion{Version: "v1"})
}

func (f *fakeServer) write(w http.ResponseWriter, r *http.Request, obj runtime.Object) {
	gvks, _, err := scheme.Scheme.ObjectKinds(obj)
	if err != nil {
		f.t.Fatal(err)
	}
	f.encode(w, r, obj, http.StatusOK, gvks[0].GroupVersion())
}

// encode answers in the first media type of Accept the server knows (as the API server does), or in
// JSON for the jsonOnly paths.
func (f *fakeServer) encode(w http.ResponseWriter, r *http.Request, obj runtime.Object, code int, gv schema.GroupVersion) {
	mt := jsonMedia
	if !f.jsonOnly[r.URL.Path] {
		for _, a := range strings.Split(r.Header.Get("Accept"), ",") {
			if m, _, err := mime.ParseMediaType(strings.TrimSpace(a)); err == nil && (m == protobuf || m == jsonMedia) {
				mt = m
				break
			}
		}
	}
	info, ok := runtime.SerializerInfoForMediaType(scheme.Codecs.SupportedMediaTypes(), mt)
	if !ok {
		f.t.Fatalf("no serializer for %s", mt)
	}
	b, err := runtime.Encode(scheme.Codecs.EncoderForVersion(info.Serializer, gv), obj)
	if err != nil {
		f.t.Fatal(err)
	}
	w.Header().Set("Content-Type", mt)
	w.WriteHeader(code)
	w.Write(b)
}

// impls are the API implementations the REST tests run on: this package's, and the client-go
// clientset it replaced, configured as before. Both must send the same requests and read the same
// answers and errors.
var impls = []string{"rest", "clientset"}

func newFakeServer(t *testing.T, impl string) (*fakeServer, *Client) {
	f := &fakeServer{t: t, cm: kubeadmCM(liveCC), jsonOnly: map[string]bool{}, conflicts: map[string]int{},
		answer: map[string]func(http.ResponseWriter, *http.Request){}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg := &rest.Config{Host: srv.URL}
	if impl == "clientset" {
		cs, err := kubernetes.NewForConfig(tuned(cfg))
		if err != nil {
			t.Fatal(err)
		}
		return f, &Client{Kube: legacyAPI{clientsetAPI{cs}}, Source: cfg.Host, Host: cfg.Host}
	}
	c, err := NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Kube.(*restAPI); !ok {
		t.Fatalf("NewForConfig built a %T, want the REST implementation", c.Kube)
	}
	return f, c
}

// legacyAPI is the real clientset as cluster used it before API: APIServices through the discovery
// client's REST client.
type legacyAPI struct{ clientsetAPI }

func (l legacyAPI) GetJSON(ctx context.Context, absPath string, params url.Values) ([]byte, error) {
	req := l.cs.Discovery().RESTClient().Get().AbsPath(absPath).SetHeader("Accept", "application/json")
	for k, vs := range params {
		for _, v := range vs {
			req = req.Param(k, v)
		}
	}
	return req.DoRaw(ctx)
}

func (f *fakeServer) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.log
	f.log = nil
	return out
}

func sameLog(t *testing.T, got, want []string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("requests:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// The kubeadm-config path: a GET, a conditional protobuf PUT that loses a race (409), a fresh GET
// and a PUT that lands on top of the other writer's change.
func TestRESTKubeadmConfigGetUpdate(t *testing.T) {
	for _, impl := range impls {
		t.Run(impl, func(t *testing.T) {
			f, c := newFakeServer(t, impl)
			const cmPath = "/api/v1/namespaces/kube-system/configmaps/kubeadm-config"
			f.conflicts["PUT "+cmPath] = 1
			f.interfere = func() {
				n := f.cm.DeepCopy()
				n.Data["ClusterConfiguration"] = strings.Replace(n.Data["ClusterConfiguration"], "clusterName: kubernetes", "clusterName: other-writer", 1)
				n.ResourceVersion = "11"
				f.cm = n
			}
			ctx := context.Background()
			l, err := c.ApplyKubeadmConfig(ctx, editor(controllers.Disable), nil)
			if err != nil {
				t.Fatal(err)
			}
			if l.Attempts != 2 || l.ResourceVersion != "11" {
				t.Errorf("attempts %d on resourceVersion %s, want 2 on 11", l.Attempts, l.ResourceVersion)
			}
			got := f.cm.Data["ClusterConfiguration"]
			if !strings.Contains(got, "clusterName: other-writer") || !strings.Contains(got, "-endpointslice-mirroring-controller") || f.cm.ResourceVersion != "12" {
				t.Errorf("stored ConfigMap (resourceVersion %s) lost a write:\n%s", f.cm.ResourceVersion, got)
			}
			get := "GET " + cmPath + " accept=" + acceptTyped
			put := "PUT " + cmPath + "?fieldManager=mirrorctl accept=" + acceptTyped + " content-type=" + protobuf
			sameLog(t, f.requests(), []string{get, put, get, put})
			if f.agent != "mirrorctl" {
				t.Errorf("User-Agent %q", f.agent)
			}

			// A JSON answer decodes as well, and errors keep the server's message.
			f.jsonOnly[cmPath] = true
			if l, err := c.PlanKubeadmConfig(ctx, editor(controllers.Disable)); err != nil || l.ResourceVersion != "12" || l.Changed() {
				t.Errorf("plan over JSON: %+v %v", l, err)
			}
			f.requests()
			f.conflicts["GET "+cmPath] = 1
			f.interfere = nil
			if _, err := c.PlanKubeadmConfig(ctx, editor(controllers.Disable)); err == nil || err.Error() != LivePath+": Operation cannot be fulfilled on x \"x\": the object has been modified" {
				t.Errorf("error %v", err)
			}
		})
	}
}

// The audit pages every list with limit and continue (the selector going with each page), asks for
// protobuf on typed calls and JSON for APIServices, and reads the answers whichever way they come.
func TestRESTAuditPaginates(t *testing.T) {
	for _, impl := range impls {
		t.Run(impl, func(t *testing.T) {
			f, c := newFakeServer(t, impl)
			f.services = []runtime.Object{
				&corev1.Service{ObjectMeta: objMeta("a", "ext", nil)},
				&corev1.Service{ObjectMeta: objMeta("a", "web", nil), Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}}},
				&corev1.Service{ObjectMeta: objMeta("default", "kubernetes", nil)},
			}
			f.eps = []runtime.Object{
				eps("a", "ext", nil), eps("a", "web", nil), eps("default", "kubernetes", map[string]string{LabelSkipMirror: "true"}),
			}
			f.slices = []runtime.Object{
				&discoveryv1.EndpointSlice{ObjectMeta: objMeta("a", "ext-1", map[string]string{LabelManagedBy: MirroringController, LabelServiceName: "ext"}),
					Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"192.0.2.1"}}, {Addresses: []string{"192.0.2.2"}}}},
				&discoveryv1.EndpointSlice{ObjectMeta: objMeta("a", "web-1", map[string]string{LabelManagedBy: "endpointslice-controller.k8s.io", LabelServiceName: "web"})},
			}
			f.pods = []runtime.Object{kcm("cp-1", "--controllers=*,bootstrapsigner,tokencleaner"),
				&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "etcd-cp-1", Labels: map[string]string{"component": "etcd"}}}}
			f.jsonOnly["/api/v1/services"] = true

			a, err := c.RunAudit(context.Background(), AuditOptions{PageSize: 2})
			if err != nil {
				t.Fatal(err)
			}
			typed := " accept=" + acceptTyped
			slices := "labelSelector=" + strings.ReplaceAll(LabelManagedBy, "/", "%2F") + "%3D" + MirroringController
			sameLog(t, f.requests(), []string{
				"GET /version" + typed,
				"GET /api/v1/services?limit=2" + typed,
				"GET /api/v1/services?continue=2&limit=2" + typed,
				"GET /api/v1/endpoints?limit=2" + typed,
				"GET /api/v1/endpoints?continue=2&limit=2" + typed,
				"GET /apis/discovery.k8s.io/v1/endpointslices?" + slices + "&limit=2" + typed,
				"GET /apis/apiregistration.k8s.io/v1/apiservices?limit=500 accept=application/json",
				"GET /apis/apiregistration.k8s.io/v1/apiservices?continue=1&limit=500 accept=application/json",
				"GET /apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager" + typed,
				"GET /api/v1/namespaces/kube-system/pods?labelSelector=component%3Dkube-controller-manager&limit=2" + typed,
			})
			if a.ServerVersion != "v1.37.2" || a.Counts.Requests != 10 || a.Counts.Services != 3 || a.Counts.SelectorlessServices != 2 ||
				a.Counts.Endpoints != 3 || a.Counts.MirroredSlices != 1 || a.Counts.APIServices != 2 {
				t.Errorf("version %s counts %+v", a.ServerVersion, a.Counts)
			}
			if want := []ObjectRef{{"a", "ext"}}; !reflect.DeepEqual(refsOf(a.WouldMirror), want) {
				t.Errorf("would_mirror %v", a.WouldMirror)
			}
			if want := []MirroredService{{Namespace: "a", Service: "ext", Slices: []string{"ext-1"}, Endpoints: 2}}; !reflect.DeepEqual(withoutWriters(a.MirroredSlices), want) {
				t.Errorf("mirrored_slices %+v", a.MirroredSlices)
			}
			if want := []APIServiceDepend{{Name: "v1beta1.metrics.k8s.io", Service: ObjectRef{"a", "ext"}, MirroredSlices: 1}}; !reflect.DeepEqual(a.APIServices, want) {
				t.Errorf("apiservices %+v", a.APIServices)
			}
			if len(a.ControlPlane) != 1 || a.ControlPlane[0].Node != "cp-1" || a.ControlPlane[0].Mirroring != "enabled" || a.ControlPlane[0].Leader {
				t.Errorf("control_plane %+v", a.ControlPlane)
			}
			if len(a.Warnings) != 0 {
				t.Errorf("warnings %q", a.Warnings)
			}
		})
	}
}

// skip: a namespaced list, a conditional merge patch that conflicts, a GET and the patch again.
func TestRESTSkipListPatch(t *testing.T) {
	for _, impl := range impls {
		t.Run(impl, func(t *testing.T) {
			f, c := newFakeServer(t, impl)
			f.eps = []runtime.Object{eps("default", "ext-a", nil), eps("default", "ext-b", map[string]string{"team": "x"}), eps("other", "ext-b", nil)}
			ctx := context.Background()
			plan, _, err := c.PlanSkip(ctx, SkipOptions{Namespace: "default", Selector: "team=x"})
			if err != nil || len(plan) != 1 || plan[0].Name != "ext-b" || plan[0].UID != "uid-default-ext-b" {
				t.Fatalf("plan %+v %v", plan, err)
			}
			const p = "/api/v1/namespaces/default/endpoints/ext-b"
			f.conflicts["PATCH "+p] = 1
			if _, err := c.ApplyLabels(ctx, plan); err != nil {
				t.Fatal(err)
			}
			typed := " accept=" + acceptTyped
			patch := "PATCH " + p + "?fieldManager=mirrorctl" + typed + " content-type=" + mergePatch
			sameLog(t, f.requests(), []string{
				"GET /api/v1/namespaces/default/endpoints?labelSelector=team%3Dx&limit=500" + typed,
				patch,
				"GET " + p + typed,
				patch,
			})
			var body map[string]any
			if len(f.patched) != 1 || json.Unmarshal([]byte(f.patched[0]), &body) != nil ||
				!reflect.DeepEqual(body, map[string]any{"metadata": map[string]any{"resourceVersion": "1", "uid": "uid-default-ext-b", "labels": map[string]any{LabelSkipMirror: "true"}}}) {
				t.Errorf("patches %q", f.patched)
			}
			if _, err := c.PlanLabelRollback(ctx, []LabelRecord{{Namespace: "default", Name: "gone", UID: "u"}}, false); err == nil || !IsDrift(err) || !strings.Contains(err.Error(), "default/gone (gone)") {
				t.Errorf("a 404 is not seen as gone: %v", err)
			}
		})
	}
}

// What the user sees of a failing API server (error text, warnings) is what the clientset gave.
func TestRESTErrorsMatchTheClientset(t *testing.T) {
	text := func(code int, ct, body string) func(http.ResponseWriter, *http.Request) {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", ct)
			w.WriteHeader(code)
			fmt.Fprint(w, body)
		}
	}
	audit := func(c *Client) string {
		a, err := c.RunAudit(context.Background(), AuditOptions{})
		if err != nil {
			return "error: " + err.Error()
		}
		return "warnings: " + strings.Join(a.Warnings, "; ")
	}
	plan := func(c *Client) string {
		_, err := c.PlanKubeadmConfig(context.Background(), editor(controllers.Disable))
		return fmt.Sprint(err)
	}
	apply := func(c *Client) string {
		_, err := c.ApplyKubeadmConfig(context.Background(), editor(controllers.Disable), nil)
		return fmt.Sprint(err)
	}
	const cmPath = "/api/v1/namespaces/kube-system/configmaps/kubeadm-config"
	for _, tc := range []struct {
		name   string
		key    string
		status *apierrors.StatusError // answered in the negotiated type
		raw    func(http.ResponseWriter, *http.Request)
		run    func(*Client) string
	}{
		{name: "version forbidden", key: "GET /version", status: apierrors.NewForbidden(schema.GroupResource{}, "", errors.New("no")), run: audit},
		{name: "version not JSON", key: "GET /version", raw: text(200, "application/json", "<html>"), run: audit},
		{name: "list plain-text 500", key: "GET /api/v1/services", raw: text(500, "text/plain", "boom\nsecond line"), run: audit},
		{name: "list unavailable", key: "GET /api/v1/endpoints", status: apierrors.NewServiceUnavailable("etcd is away"), run: audit},
		{name: "no apiregistration", key: "GET /apis/apiregistration.k8s.io/v1/apiservices", status: apierrors.NewNotFound(schema.GroupResource{}, ""), run: audit},
		{name: "apiservices forbidden", key: "GET /apis/apiregistration.k8s.io/v1/apiservices", status: apierrors.NewForbidden(schema.GroupResource{Group: "apiregistration.k8s.io", Resource: "apiservices"}, "", errors.New("RBAC")), run: audit},
		{name: "apiservices html 404", key: "GET /apis/apiregistration.k8s.io/v1/apiservices", raw: text(404, "text/html", "<h1>nope</h1>"), run: audit},
		{name: "pods forbidden", key: "GET /api/v1/namespaces/kube-system/pods", status: apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", errors.New("RBAC")), run: audit},
		{name: "configmap missing", key: "GET " + cmPath, status: apierrors.NewNotFound(schema.GroupResource{Resource: "configmaps"}, "kubeadm-config"), run: plan},
		{name: "configmap garbage", key: "GET " + cmPath, raw: text(200, protobuf, "k8s\x00garbage"), run: plan},
		{name: "update invalid", key: "PUT " + cmPath, status: apierrors.NewBadRequest("data too long"), run: apply},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := map[string]string{}
			for _, impl := range impls {
				f, c := newFakeServer(t, impl)
				f.pods = []runtime.Object{kcm("cp-1")}
				if tc.status != nil {
					st := tc.status
					f.answer[tc.key] = func(w http.ResponseWriter, r *http.Request) { f.status(w, r, st) }
				} else {
					f.answer[tc.key] = tc.raw
				}
				got[impl] = strings.ReplaceAll(tc.run(c), c.Host, "<server>") // each run has its own server
			}
			if got["rest"] != got["clientset"] {
				t.Errorf("rest:      %s\nclientset: %s", got["rest"], got["clientset"])
			}
			t.Log(got["rest"])
		})
	}
}
