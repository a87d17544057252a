// Package cluster is mirrorctl's view of a running cluster through the Kubernetes API: the live
// kubeadm ClusterConfiguration (kube-system/kubeadm-config), the "is it safe to switch mirroring off?"
// audit, and the per-object skip-mirror labels. It never talks to a node's files except to read the
// kubeconfig and to keep its records in the state dir.
package cluster

import (
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/util/homedir"

	"github.com/mirrorctl/mirrorctl/nodefs"
)

// DefaultKubeconfig is what kubeadm writes on every control-plane node.
const DefaultKubeconfig = "/etc/kubernetes/admin.conf"

// Client is an API client and where its credentials came from.
type Client struct {
	Kube    API
	Source  string // path(s) of the kubeconfig used, for messages
	Host    string // API server URL
	Context string // --context, when given
}

// New wraps an API (tests hand in one over the fake clientset; Load builds the real one).
func New(kube API) *Client { return &Client{Kube: kube, Source: "(in-process)"} }

// Client-side rate limits. client-go's default (5 QPS, burst 10) would make a paginated audit of a big
// cluster wait on itself for seconds; the API server's priority and fairness protects it anyway.
const (
	qps   = 100
	burst = 200
)

// Load builds a Client from the kubeconfig at path, or else from $KUBECONFIG (a colon-separated list,
// merged the way kubectl merges it: the first file to set a key wins), or else /etc/kubernetes/admin.conf.
// Every path, and every certificate or token file a kubeconfig names, is a node path resolved under
// root, like every other path mirrorctl reads.
func Load(root nodefs.Root, path string) (*Client, error) {
	var paths []string
	switch {
	case path != "":
		paths = []string{path}
	case os.Getenv("KUBECONFIG") != "":
		for _, p := range filepath.SplitList(os.Getenv("KUBECONFIG")) {
			if p != "" {
				paths = append(paths, p)
			}
		}
	default:
		paths = []string{DefaultKubeconfig}
	}
	return loadNode(root, paths, &clientcmd.ConfigOverrides{}, nil)
}

// loadNode reads kubeconfigs that are node files, under root, merged in order.
func loadNode(root nodefs.Root, paths []string, overrides *clientcmd.ConfigOverrides, trace Trace) (*Client, error) {
	merged := clientcmdapi.NewConfig()
	for _, p := range paths {
		cfg, err := readKubeconfig(root, p)
		if err != nil {
			return nil, err
		}
		mergeInto(merged, cfg)
	}
	source := strings.Join(cleanAll(paths), ":")
	rc, err := clientcmd.NewDefaultClientConfig(*merged, overrides).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	return newFromREST(rc, source, overrides.CurrentContext, trace)
}

// Trace receives one line per API request (-v 2).
type Trace func(format string, a ...any)

// Kubeconfig says where the cluster commands find their credentials: as kubectl does.
type Kubeconfig struct {
	Root nodefs.Root
	// --kubeconfig, at most one of: HostPath, a file where the operator is (read as kubectl reads
	// it), or NodePath, a node file under Root (read like every node file).
	HostPath, NodePath string
	Context            string // --context: "" is the kubeconfig's current-context
	Trace              Trace
}

// Given sets the kubeconfig the operator named (--kubeconfig, resolved by nodefs.Root.Named): a
// node file when it was taken under Root, else a file where the operator is.
func (k *Kubeconfig) Given(n nodefs.Named) {
	if n.UnderRoot {
		k.NodePath = n.Node
	} else {
		k.HostPath = n.Host
	}
}

// Describe says which kubeconfig, context and server the client uses.
func (c *Client) Describe() string {
	ctx := c.Context
	if ctx == "" {
		ctx = "(current-context)"
	}
	return fmt.Sprintf("%s context %s server %s", c.Source, ctx, c.Host)
}

// LoadKubectl loads the client the way kubectl does, with client-go's own loading rules: --kubeconfig,
// else the $KUBECONFIG list merged (the first file to set a key wins), else ~/.kube/config; with
// --context. Only when none of these gives a configuration does it fall back to the node's
// /etc/kubernetes/admin.conf under Root, as kubeadm leaves it on a control-plane node.
func LoadKubectl(k Kubeconfig) (*Client, error) {
	overrides := &clientcmd.ConfigOverrides{CurrentContext: k.Context}
	if k.NodePath != "" {
		return loadNode(k.Root, []string{k.NodePath}, overrides, k.Trace)
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if os.Getenv(clientcmd.RecommendedConfigPathEnvVar) == "" {
		// clientcmd reads $HOME once, when the program starts; the home of now is the same in a run of
		// mirrorctl and right in a test that sets HOME.
		rules.Precedence = []string{filepath.Join(homedir.HomeDir(), clientcmd.RecommendedHomeDir, clientcmd.RecommendedFileName)}
	}
	rules.ExplicitPath = k.HostPath
	source := k.HostPath
	if source == "" {
		var found []string
		for _, p := range rules.GetLoadingPrecedence() {
			if _, err := os.Stat(p); err == nil {
				found = append(found, p)
			}
		}
		source = strings.Join(found, ":")
	}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if err == nil {
		return newFromREST(rc, source, k.Context, k.Trace)
	}
	if k.HostPath != "" || !clientcmd.IsEmptyConfig(err) {
		if source == "" {
			source = strings.Join(rules.GetLoadingPrecedence(), ":")
		}
		return nil, fmt.Errorf("kubeconfig %s: %s", source, oneLine(err.Error()))
	}
	c, nerr := loadNode(k.Root, []string{DefaultKubeconfig}, overrides, k.Trace)
	if nerr != nil {
		return nil, fmt.Errorf("no kubeconfig: no --kubeconfig, none in $KUBECONFIG or %s, and %w", strings.Join(rules.Precedence, ":"), nerr)
	}
	return c, nil
}

func newFromREST(rc *rest.Config, source, context string, trace Trace) (*Client, error) {
	rc = tuned(rc)
	if trace != nil {
		rc.Wrap(func(rt http.RoundTripper) http.RoundTripper { return tracer{rt, trace} })
	}
	kube, err := newRESTAPI(rc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	return &Client{Kube: kube, Source: source, Host: rc.Host, Context: context}, nil
}

// tracer logs each request after it returns: method, URL, status (or error), time.
type tracer struct {
	next  http.RoundTripper
	trace Trace
}

func (t tracer) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		t.trace("%s %s: %v (%s)", r.Method, r.URL, err, time.Since(start).Round(time.Millisecond))
		return resp, err
	}
	t.trace("%s %s %s (%s)", r.Method, r.URL, resp.Status, time.Since(start).Round(time.Millisecond))
	return resp, err
}

// tuned is a copy of rc with mirrorctl's client settings.
func tuned(rc *rest.Config) *rest.Config {
	rc = rest.CopyConfig(rc)
	rc.QPS, rc.Burst = qps, burst
	// Protobuf halves decode time and memory on big lists; every built-in type mirrorctl reads has it.
	rc.ContentType = "application/vnd.kubernetes.protobuf"
	rc.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	rc.UserAgent = "mirrorctl"
	// v1 Endpoints is deprecated from 1.33: every call answers with a warning. mirrorctl must read and
	// label Endpoints (that is its job), so the audit reports the deprecation once instead.
	rc.WarningHandler = rest.NoWarnings{}
	return rc
}

// NewForConfig builds a Client from a rest.Config (the e2e tests use the harness's).
func NewForConfig(rc *rest.Config) (*Client, error) { return newFromREST(rc, rc.Host, "", nil) }

func cleanAll(ps []string) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = nodefs.Clean(p)
	}
	return out
}

// readKubeconfig reads one kubeconfig under root and rewrites the files it names to host paths, so
// client-go opens the node's certificates, not the host's.
func readKubeconfig(root nodefs.Root, p string) (*clientcmdapi.Config, error) {
	f, err := root.ReadFile(p, false)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %w", err)
	}
	cfg, err := clientcmd.Load(f.Data)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %s", f.Path, oneLine(err.Error()))
	}
	dir := path.Dir(f.Path)
	var rerr error
	fix := func(s *string) {
		if *s == "" || rerr != nil {
			return
		}
		np := *s
		if !path.IsAbs(filepath.ToSlash(np)) {
			np = path.Join(dir, np) // kubectl resolves relative paths against the kubeconfig's folder
		}
		host, err := root.Resolve(np)
		if err != nil {
			rerr = fmt.Errorf("kubeconfig %s: %w", f.Path, err)
			return
		}
		*s = host
	}
	for _, c := range cfg.Clusters {
		fix(&c.CertificateAuthority)
		c.LocationOfOrigin = f.Path
	}
	for _, a := range cfg.AuthInfos {
		fix(&a.ClientCertificate)
		fix(&a.ClientKey)
		fix(&a.TokenFile)
		a.LocationOfOrigin = f.Path
	}
	return cfg, rerr
}

// mergeInto adds what dst does not have yet: kubectl's rule for $KUBECONFIG lists.
func mergeInto(dst, src *clientcmdapi.Config) {
	if dst.CurrentContext == "" {
		dst.CurrentContext = src.CurrentContext
	}
	for k, v := range src.Clusters {
		if _, ok := dst.Clusters[k]; !ok {
			dst.Clusters[k] = v
		}
	}
	for k, v := range src.AuthInfos {
		if _, ok := dst.AuthInfos[k]; !ok {
			dst.AuthInfos[k] = v
		}
	}
	for k, v := range src.Contexts {
		if _, ok := dst.Contexts[k]; !ok {
			dst.Contexts[k] = v
		}
	}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
