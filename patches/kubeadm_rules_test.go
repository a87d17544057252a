package patches

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/distribution/reference"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
	kubeadmapi "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm"
	kubeadmscheme "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/scheme"
	kubeadmvalidation "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/validation"
	"k8s.io/kubernetes/cmd/kubeadm/app/features"
)

// kubeadmVerdict is the oracle: kubeadm's own validation package, which only the test binary links.
// The calls are ValidateClusterConfiguration's, minus component configs and the certificate validity
// warning (see kubeadm_rules.go).
func kubeadmVerdict(c *kubeadmapi.ClusterConfiguration) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, kubeadmvalidation.ValidateDNS(&c.DNS, field.NewPath("dns"))...)
	errs = append(errs, kubeadmvalidation.ValidateNetworking(c, field.NewPath("networking"))...)
	errs = append(errs, kubeadmvalidation.ValidateAPIServer(&c.APIServer, field.NewPath("apiServer"))...)
	errs = append(errs, kubeadmvalidation.ValidateControllerManager(&c.ControllerManager, field.NewPath("controllerManager"))...)
	errs = append(errs, kubeadmvalidation.ValidateScheduler(&c.Scheduler, field.NewPath("scheduler"))...)
	errs = append(errs, kubeadmvalidation.ValidateAbsolutePath(c.CertificatesDir, field.NewPath("certificatesDir"))...)
	errs = append(errs, kubeadmvalidation.ValidateFeatureGates(c.FeatureGates, field.NewPath("featureGates"))...)
	errs = append(errs, kubeadmvalidation.ValidateHostPort(c.ControlPlaneEndpoint, field.NewPath("controlPlaneEndpoint"))...)
	errs = append(errs, kubeadmvalidation.ValidateImageRepository(c.ImageRepository, field.NewPath("imageRepository"))...)
	errs = append(errs, kubeadmvalidation.ValidateEtcd(&c.Etcd, field.NewPath("etcd"))...)
	errs = append(errs, kubeadmvalidation.ValidateEncryptionAlgorithm(c.EncryptionAlgorithm, field.NewPath("encryptionAlgorithm"))...)
	return errs
}

// sameVerdict compares the error lists as kubeadm prints them. Order is normalised only because
// feature gates are a map; everything else is compared exactly, value and message included.
func sameVerdict(t *testing.T, what string, c *kubeadmapi.ClusterConfiguration) {
	t.Helper()
	want, got := kubeadmVerdict(c), checkClusterConfiguration(c)
	ws, gs := errStrings(want), errStrings(got)
	if !slices.Equal(ws, gs) {
		t.Errorf("%s: kubeadm and mirrorctl disagree\nkubeadm:   %q\nmirrorctl: %q", what, ws, gs)
		return
	}
	sortErrs(want)
	sortErrs(got)
	for i := range want {
		if want[i].Type != got[i].Type || want[i].Field != got[i].Field || !reflect.DeepEqual(want[i].BadValue, got[i].BadValue) {
			t.Errorf("%s: error %d differs: kubeadm %#v, mirrorctl %#v", what, i, *want[i], *got[i])
		}
	}
}

func errStrings(l field.ErrorList) []string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	sort.Strings(s)
	return s
}

func sortErrs(l field.ErrorList) {
	sort.SliceStable(l, func(i, j int) bool { return l[i].Error() < l[j].Error() })
}

// decodeLikeKubeadm is validateKubeadm's decode step, for building oracle inputs from documents.
func decodeLikeKubeadm(t *testing.T, doc []byte) (*kubeadmapi.ClusterConfiguration, bool) {
	t.Helper()
	c := &kubeadmapi.ClusterConfiguration{}
	if err := runtime.DecodeInto(kubeadmscheme.Codecs.UniversalDecoder(), doc, c); err != nil {
		return nil, false
	}
	return c, true
}

var clusterConfigDoc = regexp.MustCompile(`(?m)^kind: ClusterConfiguration\s*$`)

// TestKubeadmRulesAgreeOnTestdata: every v1beta4/v1 ClusterConfiguration in the repository's testdata
// (plain files and the documents inside exported ConfigMaps) gets the same verdict from both.
func TestKubeadmRulesAgreeOnTestdata(t *testing.T) {
	n := 0
	for _, doc := range corpusDocs(t) {
		if c, ok := decodeLikeKubeadm(t, doc); ok {
			n++
			sameVerdict(t, string(doc), c)
		}
	}
	if n < 20 {
		t.Fatalf("only %d ClusterConfiguration documents found in testdata; the walk is broken", n)
	}
	t.Logf("%d documents", n)
}

// corpusDocs is every ClusterConfiguration document in the repository's testdata and e2e fixtures.
func corpusDocs(t *testing.T) [][]byte {
	t.Helper()
	var docs [][]byte
	for _, dir := range []string{"testdata", "../testdata", "../e2e"} {
		err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil || !bytes.Contains(b, []byte("ClusterConfiguration")) {
				return nil
			}
			docs = append(docs, clusterConfigurationDocs(b)...)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return docs
}

// clusterConfigurationDocs finds ClusterConfiguration documents in a file, including the ones in an
// exported kubeadm-config ConfigMap (the literal block under data.ClusterConfiguration).
func clusterConfigurationDocs(b []byte) [][]byte {
	var out [][]byte
	for _, doc := range regexp.MustCompile(`(?m)^---.*$`).Split(string(b), -1) {
		if clusterConfigDoc.MatchString(doc) {
			out = append(out, []byte(doc))
		}
	}
	if inner := regexp.MustCompile(`(?s)ClusterConfiguration: \|[-+]?\n(.*)`).FindStringSubmatch(string(b)); inner != nil {
		var lines []string
		for _, l := range strings.Split(inner[1], "\n") {
			if l != "" && !strings.HasPrefix(l, "    ") {
				break
			}
			lines = append(lines, strings.TrimPrefix(l, "    "))
		}
		out = append(out, []byte(strings.Join(lines, "\n")))
	}
	return out
}

// base is a valid v1beta4 ClusterConfiguration; each case below breaks one rule (or sits on its edge).
const rulesBase = `apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: v1.37.2
`

// rulesV1 starts a case in kubeadm.k8s.io/v1, the first version with extraArgs merge methods.
const rulesV1 = `apiVersion: kubeadm.k8s.io/v1
kind: ClusterConfiguration
kubernetesVersion: v1.37.2
`

func TestKubeadmRulesAgreeOnBrokenConfigs(t *testing.T) {
	cases := map[string]string{
		"valid":                      ``,
		"dns domain":                 "networking:\n  dnsDomain: Cluster_Local\n",
		"dns domain empty":           "networking:\n  dnsDomain: \"\"\n",
		"service subnet unparsable":  "networking:\n  serviceSubnet: 10.96.0.0/33\n",
		"service subnet too small":   "networking:\n  serviceSubnet: 10.96.0.0/30\n",
		"service subnet too large":   "networking:\n  serviceSubnet: 10.0.0.0/8\n",
		"service subnet v6 large":    "networking:\n  serviceSubnet: fd00::/64\n",
		"service subnet three":       "networking:\n  serviceSubnet: 10.96.0.0/16,fd00::/112,10.97.0.0/16\n",
		"service subnet two v4":      "networking:\n  serviceSubnet: 10.96.0.0/16,10.97.0.0/16\n",
		"service subnet dual":        "networking:\n  serviceSubnet: 10.96.0.0/16,fd00::/112\n",
		"service subnet site-local":  "networking:\n  serviceSubnet: fec0::/112\n",
		"pod subnet small":           "networking:\n  podSubnet: 10.244.0.0/29\n",
		"pod subnet vs node mask":    "networking:\n  podSubnet: 10.244.0.0/25\n",
		"pod subnet too wide":        "networking:\n  podSubnet: 10.0.0.0/4\n",
		"pod subnet v6":              "networking:\n  podSubnet: fd01::/48\n",
		"pod subnet v6 too narrow":   "networking:\n  podSubnet: fd01::/80\n",
		"pod subnet no allocate":     "networking:\n  podSubnet: 10.244.0.0/25\ncontrollerManager:\n  extraArgs:\n  - name: allocate-node-cidrs\n    value: \"false\"\n",
		"node mask arg":              "networking:\n  podSubnet: 10.244.0.0/16\ncontrollerManager:\n  extraArgs:\n  - name: node-cidr-mask-size-ipv4\n    value: \"12\"\n",
		"node mask arg not int":      "networking:\n  podSubnet: 10.244.0.0/16\ncontrollerManager:\n  extraArgs:\n  - name: node-cidr-mask-size-ipv4\n    value: twenty\n",
		"node mask arg last wins":    "networking:\n  podSubnet: 10.244.0.0/16\ncontrollerManager:\n  extraArgs:\n  - name: node-cidr-mask-size-ipv4\n    value: x\n  - name: node-cidr-mask-size-ipv4\n    value: \"24\"\n",
		"node mask v6 arg":           "networking:\n  podSubnet: fd01::/48\ncontrollerManager:\n  extraArgs:\n  - name: node-cidr-mask-size-ipv6\n    value: \"56\"\n",
		"pod subnet unparsable":      "networking:\n  podSubnet: pods\n",
		"cert SANs":                  "apiServer:\n  certSANs: [ok.example.com, \"*.wild.example.com\", 10.0.0.1, \"bad_name\", \"-x\"]\n",
		"apiserver arg no name":      "apiServer:\n  extraArgs:\n  - name: \"\"\n    value: x\n",
		"kcm arg merge method":       rulesV1 + "controllerManager:\n  extraArgs:\n  - name: controllers\n    value: x\n    mergeMethod: replace\n",
		"kcm arg merge ok":           rulesV1 + "controllerManager:\n  extraArgs:\n  - name: controllers\n    value: x\n    mergeMethod: append\n  - name: leader-elect\n    value: x\n    mergeMethod: prepend\n",
		"scheduler arg no name":      "scheduler:\n  extraArgs:\n  - value: x\n",
		"certificates dir":           "certificatesDir: pki\n",
		"feature gates":              "featureGates:\n  RootlessControlPlane: true\n  NoSuchGate: true\n  AnotherOne: false\n",
		"endpoint bad host":          "controlPlaneEndpoint: \"bad_host:6443\"\n",
		"endpoint bad port":          "controlPlaneEndpoint: \"cp.example.com:70000\"\n",
		"endpoint port zero":         "controlPlaneEndpoint: \"cp.example.com:0\"\n",
		"endpoint ipv6":              "controlPlaneEndpoint: \"[fd00::1]:6443\"\n",
		"endpoint bare ipv6":         "controlPlaneEndpoint: \"fd00::1\"\n",
		"endpoint no port":           "controlPlaneEndpoint: cp.example.com\n",
		"endpoint port text":         "controlPlaneEndpoint: \"cp.example.com:https\"\n",
		"image repository":           "imageRepository: \"Registry.Example.com/Bad\"\n",
		"image repository port":      "imageRepository: \"registry.example.com:5000/k8s\"\n",
		"dns image repository":       "dns:\n  imageRepository: \"repo/UPPER\"\n",
		"etcd local paths":           "etcd:\n  local:\n    dataDir: var/lib/etcd\n    serverCertSANs: [\"bad_san\"]\n    peerCertSANs: [\"ok\"]\n    imageRepository: \"BAD\"\n    extraArgs:\n    - value: x\n",
		"etcd both":                  "etcd:\n  local:\n    dataDir: /var/lib/etcd\n  external:\n    endpoints: [https://e:2379]\n",
		"etcd external http":         "etcd:\n  external:\n    endpoints: [http://e:2379]\n",
		"etcd external tls http":     "etcd:\n  external:\n    endpoints: [http://e:2379, \"e2:2379\", \"://x\"]\n    caFile: ca.crt\n    certFile: /c.crt\n    keyFile: \"\"\n    httpEndpoints: [\"noscheme\"]\n",
		"etcd external cert no ca":   "etcd:\n  external:\n    endpoints: [https://e:2379]\n    certFile: /c.crt\n    keyFile: k.key\n",
		"etcd external no endpoints": "etcd:\n  external:\n    endpoints: []\n",
		"encryption algorithm":       "encryptionAlgorithm: RSA-1024\n",
	}
	// The edges kubeadm accepts; every other case must be one kubeadm rejects, or it tests nothing.
	accepted := map[string]bool{"valid": true, "kcm arg merge ok": true, "endpoint ipv6": true, "endpoint no port": true,
		"service subnet dual": true, "service subnet site-local": true, "pod subnet v6": true, "pod subnet no allocate": true,
		"node mask arg last wins": true, "image repository port": true, "endpoint bare ipv6": true, "node mask v6 arg": true,
		"etcd external http": true, "dns domain empty": true}
	for name, extra := range cases {
		doc := rulesBase + extra
		if strings.HasPrefix(extra, "apiVersion:") {
			doc = extra
		}
		c, ok := decodeLikeKubeadm(t, []byte(doc))
		if !ok {
			t.Errorf("%s: kubeadm cannot decode the case; fix the case:\n%s", name, doc)
			continue
		}
		sameVerdict(t, name, c)
		if rejected := len(kubeadmVerdict(c)) > 0; rejected != !accepted[name] {
			t.Errorf("%s: kubeadm rejected=%v, the case expects %v; fix the case", name, rejected, !accepted[name])
		}
	}
	// Defaulting fills in a valid etcd; "neither local nor external" only arises on a hand-built value.
	sameVerdict(t, "no etcd", &kubeadmapi.ClusterConfiguration{CertificatesDir: "/etc/kubernetes/pki"})
}

// TestKubeadmFeatureGatesList: the re-stated list of kubeadm feature gates is kubeadm's.
func TestKubeadmFeatureGatesList(t *testing.T) {
	var want []string
	for k := range features.InitFeatureGates {
		want = append(want, k)
	}
	sort.Strings(want)
	got := slices.Sorted(slices.Values(kubeadmFeatureGates))
	if !slices.Equal(got, want) {
		t.Fatalf("kubeadmFeatureGates = %q, kubeadm's InitFeatureGates = %q: update kubeadm_rules.go", got, want)
	}
}

// FuzzKubeadmRules builds ClusterConfigurations from fuzzed field values (the structure is fixed so the
// fuzzer spends its time on the values the rules read) and requires the same verdict as kubeadm.
func FuzzKubeadmRules(f *testing.F) {
	f.Add("cluster.local", "10.96.0.0/12", "10.244.0.0/16", "cp:6443", "registry.k8s.io", "*.example.com", "/etc/kubernetes/pki", "24", "true", "https://e:2379", "/ca.crt", "append", "RSA-2048", "RootlessControlPlane")
	f.Add("a..b", "fd00::/108,10.96.0.0/16", "fd01::/56,10.0.0.0/8", "[::1]:0", "UP/x", "1.2.3.4", "rel", "x", "false", "e:2379", "", "bogus", "", "X")
	f.Fuzz(func(t *testing.T, dnsDomain, svc, pod, endpoint, repo, san, certDir, nodeMask, allocate, etcdURL, caFile, merge, algo, gate string) {
		c := &kubeadmapi.ClusterConfiguration{
			Networking:           kubeadmapi.Networking{DNSDomain: dnsDomain, ServiceSubnet: svc, PodSubnet: pod},
			ControlPlaneEndpoint: endpoint,
			ImageRepository:      repo,
			CertificatesDir:      certDir,
			EncryptionAlgorithm:  kubeadmapi.EncryptionAlgorithmType(algo),
			FeatureGates:         map[string]bool{gate: true},
			DNS:                  kubeadmapi.DNS{ImageMeta: kubeadmapi.ImageMeta{ImageRepository: repo}},
		}
		c.APIServer.CertSANs = []string{san}
		c.ControllerManager.ExtraArgs = []kubeadmapi.Arg{
			{Name: "allocate-node-cidrs", Value: allocate},
			{Name: "node-cidr-mask-size-ipv4", Value: nodeMask},
			{Name: "node-cidr-mask-size-ipv6", Value: nodeMask},
			{Name: "controllers", Value: "*", MergeMethod: kubeadmapi.ArgMergeMethod(merge)},
		}
		if len(etcdURL)%2 == 0 {
			c.Etcd.External = &kubeadmapi.ExternalEtcd{Endpoints: []string{etcdURL}, HTTPEndpoints: []string{etcdURL}, CAFile: caFile, CertFile: caFile, KeyFile: certDir}
		} else {
			c.Etcd.Local = &kubeadmapi.LocalEtcd{DataDir: certDir, ServerCertSANs: []string{san}, PeerCertSANs: []string{etcdURL}, ImageMeta: kubeadmapi.ImageMeta{ImageRepository: repo}}
		}
		want, got := errStrings(kubeadmVerdict(c)), errStrings(checkClusterConfiguration(c))
		if !slices.Equal(want, got) {
			t.Fatalf("kubeadm and mirrorctl disagree on %s\nkubeadm:   %q\nmirrorctl: %q", fmt.Sprintf("%+v", *c), want, got)
		}
	})
}

var imageRepoSamples = []string{
	"registry.k8s.io", "registry.k8s.io/sig-storage", "localhost:5000", "localhost:5000/k8s", "[fd00::1]:5000/k8s",
	"10.0.0.1:5000", "Registry.Example.com", "repo/UPPER", "UPPER", "a__b", "a___b", "a--b", "a-", "-a", "a..b", "a.b",
	"", "/", "a//b", "a/", "a:b", "a:5000:1", "a@sha256:" + strings.Repeat("a", 64), "café", "a b", "a\nb", "[::1]",
	"[::1", "host_name/x", "ex-ample.com:65536/x", "ex-ample.com:/x",
}

// TestImageRefRE: the re-stated image reference grammar decides every sample as distribution/reference does.
func TestImageRefRE(t *testing.T) {
	for _, repo := range imageRepoSamples {
		s := repo + "/name:tag"
		if want, got := reference.ReferenceRegexp.MatchString(s), imageRefRE().MatchString(s); want != got {
			t.Errorf("%q: distribution/reference %v, mirrorctl %v", s, want, got)
		}
	}
}

func FuzzImageRefRE(f *testing.F) {
	for _, s := range imageRepoSamples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, repo string) {
		s := repo + "/name:tag"
		if want, got := reference.ReferenceRegexp.MatchString(s), imageRefRE().MatchString(s); want != got {
			t.Fatalf("%q: distribution/reference %v, mirrorctl %v", s, want, got)
		}
	})
}

// TestKubeadmSchemeIsKubeadms: the scheme built on first use decodes every ClusterConfiguration in
// testdata exactly as kubeadm's scheme package does (same defaults, same conversion, same errors,
// strict errors included), and knows the same kinds.
func TestKubeadmSchemeIsKubeadms(t *testing.T) {
	ours, codecs := kubeadmScheme()
	if got, want := fmt.Sprint(sortedKinds(ours)), fmt.Sprint(sortedKinds(kubeadmscheme.Scheme)); got != want {
		t.Errorf("kinds differ:\nours:    %s\nkubeadm: %s", got, want)
	}
	n := 0
	docs := append(corpusDocs(t), []byte(rulesBase+"bogusField: 1\n"), []byte(rulesBase+"kubernetesVersion: v1.2\n"),
		[]byte("apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\n"), []byte("apiVersion: kubeadm.k8s.io/v1beta4\nkind: Nope\n"))
	for _, doc := range docs {
		a, b := &kubeadmapi.ClusterConfiguration{}, &kubeadmapi.ClusterConfiguration{}
		errA := runtime.DecodeInto(codecs.UniversalDecoder(), doc, a)
		errB := runtime.DecodeInto(kubeadmscheme.Codecs.UniversalDecoder(), doc, b)
		if fmt.Sprint(errA) != fmt.Sprint(errB) || !reflect.DeepEqual(a, b) {
			t.Errorf("decode differs on\n%s\nours: %v %+v\nkubeadm: %v %+v", doc, errA, a, errB, b)
		}
		if errA == nil {
			n++
		}
		strictB := kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, kubeadmscheme.Scheme, kubeadmscheme.Scheme,
			kjson.SerializerOptions{Yaml: true, Strict: true})
		_, _, sErrB := strictB.Decode(doc, nil, nil)
		if sErrA := decodeStrict(doc); fmt.Sprint(sErrA) != fmt.Sprint(sErrB) {
			t.Errorf("strict decode differs on\n%s\nours: %v\nkubeadm: %v", doc, sErrA, sErrB)
		}
	}
	if n < 20 {
		t.Fatalf("only %d documents decoded", n)
	}
}

func sortedKinds(s *runtime.Scheme) []string {
	var out []string
	for gvk := range s.AllKnownTypes() {
		out = append(out, gvk.String())
	}
	sort.Strings(out)
	return out
}
