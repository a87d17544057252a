package patches

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	kubeadmapi "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm"
	kubeadmconstants "k8s.io/kubernetes/cmd/kubeadm/app/constants"
	netutils "k8s.io/utils/net"
)

// kubeadm's ClusterConfiguration rules, re-stated here because kubeadm's validation package cannot be
// linked into a small, fast CLI: it imports kubeadm's componentconfigs and through them the whole
// client-go clientset (about 20 MB of binary and most of the process start-up time).
//
// The rules are kubeadm 1.37's ValidateClusterConfiguration minus the parts that do not read the
// ClusterConfiguration document (component configs are separate documents; the certificate validity
// check only logs). The error list must be what kubeadm produces — same fields, values and messages —
// and kubeadm_rules_test.go holds it to that: it runs kubeadm's own validation package beside this one
// on every ClusterConfiguration in testdata and on a table of broken ones, and a fuzz target does the
// same on generated documents. A kubeadm bump that changes a rule fails those tests.

// kubeadmFeatureGates are the feature gate names kubeadm 1.37 accepts in ClusterConfiguration.featureGates
// (kubeadm's features.InitFeatureGates; kubeadm_rules_test.go checks the list against it).
var kubeadmFeatureGates = []string{"RootlessControlPlane"}

type kubeadmRules struct{ errs field.ErrorList }

func (r *kubeadmRules) invalid(p *field.Path, value any, msg string) {
	r.errs = append(r.errs, field.Invalid(p, value, msg))
}

func checkClusterConfiguration(c *kubeadmapi.ClusterConfiguration) field.ErrorList {
	r := &kubeadmRules{}
	if c.DNS.ImageRepository != "" {
		r.imageRepository(c.DNS.ImageRepository, field.NewPath("dns", "imageRepository"))
	}
	r.networking(c, field.NewPath("networking"))
	r.certSANs(c.APIServer.CertSANs, field.NewPath("apiServer", "certSANs"))
	r.extraArgs(c.APIServer.ExtraArgs, field.NewPath("apiServer", "extraArgs"))
	r.extraArgs(c.ControllerManager.ExtraArgs, field.NewPath("controllerManager", "extraArgs"))
	r.extraArgs(c.Scheduler.ExtraArgs, field.NewPath("scheduler", "extraArgs"))
	r.absolutePath(c.CertificatesDir, field.NewPath("certificatesDir"))
	r.featureGates(c.FeatureGates, field.NewPath("featureGates"))
	r.hostPort(c.ControlPlaneEndpoint, field.NewPath("controlPlaneEndpoint"))
	r.imageRepository(c.ImageRepository, field.NewPath("imageRepository"))
	r.etcd(&c.Etcd, field.NewPath("etcd"))
	r.encryptionAlgorithm(c.EncryptionAlgorithm, field.NewPath("encryptionAlgorithm"))
	return r.errs
}

func (r *kubeadmRules) networking(c *kubeadmapi.ClusterConfiguration, p *field.Path) {
	for _, msg := range validation.IsDNS1123Subdomain(c.Networking.DNSDomain) {
		r.invalid(p.Child("dnsDomain"), c.Networking.DNSDomain, msg)
	}
	if s := c.Networking.ServiceSubnet; s != "" {
		sp := p.Child("serviceSubnet")
		r.subnets(s, kubeadmconstants.MinimumAddressesInServiceSubnet, sp)
		// Big service ranges are refused because the allocator's bitmap lives in one etcd object.
		for _, n := range parsedSubnets(s) {
			ones, bits := n.Mask.Size()
			if bits-ones > kubeadmconstants.MaximumBitsForServiceSubnet {
				r.invalid(sp, n.String(), fmt.Sprintf("specified service subnet is too large; for %d-bit addresses, the mask must be >= %d", bits, bits-kubeadmconstants.MaximumBitsForServiceSubnet))
			}
		}
	}
	if s := c.Networking.PodSubnet; s != "" {
		pp := p.Child("podSubnet")
		r.subnets(s, kubeadmconstants.MinimumAddressesInPodSubnet, pp)
		// Only when kcm allocates node CIDRs does the pod subnet have to fit the per-node mask.
		if v, _ := kubeadmapi.GetArgValue(c.ControllerManager.ExtraArgs, "allocate-node-cidrs", -1); v != "false" {
			r.podSubnetNodeMask(s, c.ControllerManager.ExtraArgs, pp)
		}
	}
}

// parsedSubnets is the comma-separated list of CIDRs already checked by subnets (nil if it did not parse).
func parsedSubnets(s string) []*net.IPNet {
	n, _ := netutils.ParseCIDRs(strings.Split(s, ","))
	return n
}

const dualStackMsg = "expected one (IPv4 or IPv6) CIDR or two CIDRs from each family for dual-stack networking"

func (r *kubeadmRules) subnets(s string, minAddrs int64, p *field.Path) {
	nets, err := netutils.ParseCIDRs(strings.Split(s, ","))
	if err != nil {
		r.invalid(p, s, "couldn't parse subnet")
		return
	}
	if len(nets) > 2 {
		r.invalid(p, s, dualStackMsg)
	} else if len(nets) == 2 {
		if dual, err := netutils.IsDualStackCIDRs(nets); err != nil {
			r.invalid(p, s, err.Error())
		} else if !dual {
			r.invalid(p, s, dualStackMsg)
		}
	}
	for _, n := range nets {
		if size := netutils.RangeSize(n); size < minAddrs {
			r.invalid(p, n.String(), fmt.Sprintf("subnet with %d address(es) is too small, the minimum is %d", size, minAddrs))
		}
	}
}

func (r *kubeadmRules) podSubnetNodeMask(s string, kcmArgs []kubeadmapi.Arg, p *field.Path) {
	for _, n := range parsedSubnets(s) {
		size, _ := n.Mask.Size()
		flag, nodeMask := "node-cidr-mask-size-ipv4", 24 // kcm's defaults
		if netutils.IsIPv6(n.IP) {
			flag, nodeMask = "node-cidr-mask-size-ipv6", 64
		}
		if v, _ := kubeadmapi.GetArgValue(kcmArgs, flag, -1); v != "" {
			m, err := strconv.Atoi(v)
			if err != nil {
				r.invalid(p, n.String(), fmt.Sprintf("could not parse the value of the kube-controller-manager flag %s as an integer: %v", flag, err))
				continue
			}
			nodeMask = m
		}
		switch {
		case size > nodeMask:
			r.invalid(p, n.String(), fmt.Sprintf("the size of pod subnet with mask %d is smaller than the size of node subnet with mask %d", size, nodeMask))
		case nodeMask-size > kubeadmconstants.PodSubnetNodeMaskMaxDiff:
			r.invalid(p, n.String(), fmt.Sprintf("pod subnet mask (%d) and node-mask (%d) difference is greater than %d", size, nodeMask, kubeadmconstants.PodSubnetNodeMaskMaxDiff))
		}
	}
}

// certSANs accepts IPs, DNS names and wildcard DNS names.
func (r *kubeadmRules) certSANs(sans []string, p *field.Path) {
	for _, san := range sans {
		dnsErrs := validation.IsDNS1123Subdomain(san)
		if len(dnsErrs) == 0 {
			continue
		}
		wildErrs := validation.IsWildcardDNS1123Subdomain(san)
		if len(wildErrs) == 0 || netutils.ParseIPSloppy(san) != nil {
			continue
		}
		r.invalid(p, san, fmt.Sprintf("altname is not a valid IP address, DNS label or a DNS label with subdomain wildcards: %s; %s", strings.Join(dnsErrs, "; "), strings.Join(wildErrs, "; ")))
	}
}

func (r *kubeadmRules) extraArgs(args []kubeadmapi.Arg, p *field.Path) {
	for i, a := range args {
		if a.Name == "" {
			r.invalid(p, fmt.Sprintf("index %d", i), "argument has no name")
		}
		switch a.MergeMethod {
		case "", kubeadmapi.ArgMergeMethodAppend, kubeadmapi.ArgMergeMethodPrepend:
		default:
			r.invalid(p, fmt.Sprintf("index %d", i), "argument has an invalid merge method")
		}
	}
}

func (r *kubeadmRules) absolutePath(path string, p *field.Path) {
	if !filepath.IsAbs(path) {
		r.invalid(p, path, "path is not absolute")
	}
}

func (r *kubeadmRules) featureGates(gates map[string]bool, p *field.Path) {
	for name := range gates {
		known := false
		for _, k := range kubeadmFeatureGates {
			known = known || k == name
		}
		if !known {
			r.invalid(p, gates, name+" is not a valid feature name.")
		}
	}
}

// hostPort accepts "" and host[:port] where host is an IP or a DNS subdomain and port is 1-65535.
func (r *kubeadmRules) hostPort(endpoint string, p *field.Path) {
	if endpoint == "" {
		return
	}
	host, port, err := net.SplitHostPort(endpoint)
	if err != nil {
		host, port = endpoint, ""
	}
	ok := port == "" || validPort(port)
	ok = ok && (netutils.ParseIPSloppy(host) != nil || len(validation.IsDNS1123Subdomain(host)) == 0)
	if !ok {
		r.invalid(p, endpoint, "endpoint is not valid")
	}
}

func validPort(s string) bool {
	n, err := netutils.ParsePort(s, true)
	return err == nil && n >= 1 && n <= 65535
}

// imageRefRE is the image reference grammar of github.com/distribution/reference (what kubeadm matches
// against), narrowed to references without a digest. It is compiled on first use, not at start-up as
// that package's are: linking it would cost every mirrorctl run about a millisecond of regexp
// compilation. kubeadm_rules_test.go checks it against distribution/reference's own expression.
var imageRefRE = sync.OnceValue(func() *regexp.Regexp {
	const (
		domainComponent = `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
		host            = `(?:` + domainComponent + `(?:\.` + domainComponent + `)*|\[(?:[a-fA-F0-9:]+)\])`
		domainAndPort   = host + `(?::[0-9]+)?`
		pathComponent   = `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
		name            = `(?:` + domainAndPort + `/)?` + pathComponent + `(?:/` + pathComponent + `)*`
		tag             = `[\w][\w.-]{0,127}`
	)
	return regexp.MustCompile(`^` + name + `(?::` + tag + `)?$`)
})

// imageRepository must be a prefix that makes "<repo>/name:tag" a valid image reference.
func (r *kubeadmRules) imageRepository(repo string, p *field.Path) {
	if !imageRefRE().MatchString(repo + "/name:tag") {
		r.invalid(p, repo, "invalid image repository format")
	}
}

func (r *kubeadmRules) etcd(e *kubeadmapi.Etcd, p *field.Path) {
	switch {
	case e.Local == nil && e.External == nil:
		r.invalid(p, "", "either .Etcd.Local or .Etcd.External is required")
		return
	case e.Local != nil && e.External != nil:
		r.invalid(p, "", ".Etcd.Local and .Etcd.External are mutually exclusive")
		return
	}
	if l := e.Local; l != nil {
		lp := p.Child("local")
		r.absolutePath(l.DataDir, lp.Child("dataDir"))
		r.certSANs(l.ServerCertSANs, lp.Child("serverCertSANs"))
		r.certSANs(l.PeerCertSANs, lp.Child("peerCertSANs"))
		if l.ImageRepository != "" {
			r.imageRepository(l.ImageRepository, lp.Child("imageRepository"))
		}
		r.extraArgs(l.ExtraArgs, lp.Child("extraArgs"))
		return
	}
	x, xp := e.External, p.Child("external")
	if (x.CertFile == "") != (x.KeyFile == "") {
		r.invalid(xp, "", "either both or none of .Etcd.External.CertFile and .Etcd.External.KeyFile must be set")
	}
	if x.CertFile != "" && x.KeyFile != "" && x.CAFile == "" {
		r.invalid(xp, "", "setting .Etcd.External.CertFile and .Etcd.External.KeyFile requires .Etcd.External.CAFile")
	}
	// Plain http is allowed only for an etcd that is reached without any TLS material.
	tls := x.CAFile != "" || x.CertFile != "" || x.KeyFile != ""
	if len(x.Endpoints) == 0 {
		r.invalid(xp.Child("endpoints"), "", "at least one endpoint must be specified")
	} else {
		r.urls(x.Endpoints, tls, xp.Child("endpoints"))
	}
	r.urls(x.HTTPEndpoints, false, xp.Child("httpEndpoints"))
	for _, f := range []struct{ path, name string }{{x.CAFile, "caFile"}, {x.CertFile, "certFile"}, {x.KeyFile, "keyFile"}} {
		if f.path != "" {
			r.absolutePath(f.path, xp.Child(f.name))
		}
	}
}

func (r *kubeadmRules) urls(urls []string, requireHTTPS bool, p *field.Path) {
	for _, s := range urls {
		u, err := url.Parse(s)
		if err != nil {
			r.invalid(p, s, fmt.Sprintf("URL parse error: %v", err))
			continue
		}
		if requireHTTPS && u.Scheme != "https" {
			r.invalid(p, s, "the URL must be using the HTTPS scheme")
		}
		if u.Scheme == "" {
			r.invalid(p, s, "the URL without scheme is not allowed")
		}
	}
}

// kubeadmEncryptionAlgorithms is sorted: kubeadm lists the allowed values sorted in its message.
var kubeadmEncryptionAlgorithms = []kubeadmapi.EncryptionAlgorithmType{
	kubeadmapi.EncryptionAlgorithmECDSAP256,
	kubeadmapi.EncryptionAlgorithmECDSAP384,
	kubeadmapi.EncryptionAlgorithmRSA2048,
	kubeadmapi.EncryptionAlgorithmRSA3072,
	kubeadmapi.EncryptionAlgorithmRSA4096,
}

func (r *kubeadmRules) encryptionAlgorithm(algo kubeadmapi.EncryptionAlgorithmType, p *field.Path) {
	for _, a := range kubeadmEncryptionAlgorithms {
		if a == algo {
			return
		}
	}
	r.invalid(p, algo, fmt.Sprintf("Invalid encryption algorithm %q. Must be one of %v", algo, kubeadmEncryptionAlgorithms))
}
