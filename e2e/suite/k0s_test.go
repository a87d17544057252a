package e2e

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// The k0s oracle. Neither github.com/k0sproject/k0s nor github.com/k0sproject/k0sctl is served by the
// module proxy here (403 for every version, and for every other k0sproject module), so k0s's own code
// cannot decode what mirrorctl writes, as Cluster API's and Talos's do in their oracles. What k0sctl and
// k0s do with the controller manager's part of the config is a few lines each, read in their source and
// reproduced below with the line they come from; the controllers semantics are the suite's
// controllerEnabled (k8s.io/controller-manager's), and the real kube-controller-manager parses the
// rendered command line and validates its controller names.

// k0sKCMDefaults is k0s's cmDefaultArgs (k0sproject/k0s @06ee58ca
// pkg/component/controller/controllermanager.go): applied after extraArgs, only where the value is
// still empty, so an extraArgs controllers entry replaces "*,bootstrapsigner,tokencleaner" whole.
var k0sKCMDefaults = map[string]string{
	"allocate-node-cidrs":             "true",
	"bind-address":                    "127.0.0.1",
	"cluster-name":                    "k0s",
	"controllers":                     "*,bootstrapsigner,tokencleaner",
	"leader-elect":                    "true",
	"use-service-account-credentials": "true",
}

// k0sControllerManagerSpec has the fields of k0s's v1beta1 ControllerManagerSpec (k0sproject/k0s
// @06ee58ca pkg/apis/k0s/v1beta1/clusterconfig_types.go); k0s decodes its config strictly (ConfigFromBytes
// → MergedWithYAML → strictyaml, and UnmarshalJSON with DisallowUnknownFields), so a value that is not a
// string, or an unknown key, is refused here as k0s refuses it.
type k0sControllerManagerSpec struct {
	ExtraArgs map[string]string `json:"extraArgs,omitempty"`
	RawArgs   []string          `json:"rawArgs,omitempty"`
}

// k0sctlK0sConfig is the k0s.yaml k0sctl writes on a controller from a k0sctl Cluster (k0sproject/k0sctl
// @f4005b6b phase/configure_k0s.go Prepare and configFor): spec.k0s.config as given, with
// spec.api.sans extended by the controllers' addresses, apiVersion and kind defaulted; spec.api.address
// (only with onlyBindToAddress or IPv6 node-local load balancing) and spec.storage.etcd.peerAddress (only
// with a private address or an explicit peerAddress) are node addresses none of these examples trigger.
// None of it touches spec.controllerManager: the oracle checks that k0sctl carries the edit across whole.
// (With dynamicConfig, k0sctl writes this full config only on the leader's first install; mirrorctl warns
// about that, and it is the only path by which a k0sctl.yaml reaches kcm there.)
func k0sctlK0sConfig(t *testing.T, k0sctlYAML string) map[string]any {
	t.Helper()
	var doc map[string]any
	var k0sDocs []map[string]any
	for _, text := range strings.Split(k0sctlYAML, "\n---\n") {
		var d map[string]any
		if err := yaml.Unmarshal([]byte(text), &d); err != nil {
			t.Fatalf("k0sctl.yaml: %v", err)
		}
		switch {
		case d["apiVersion"] == "k0sctl.k0sproject.io/v1beta1" && strings.EqualFold(fmt.Sprint(d["kind"]), "cluster"):
			doc = d
		case d["apiVersion"] == "k0s.k0sproject.io/v1beta1" && d["kind"] == "ClusterConfig":
			k0sDocs = append(k0sDocs, d)
		}
	}
	if doc == nil {
		t.Fatalf("k0sctl.yaml: no k0sctl Cluster document")
	}
	spec, _ := doc["spec"].(map[string]any)
	k0s, _ := spec["k0s"].(map[string]any)
	cfg, _ := k0s["config"].(map[string]any)
	if cfg == nil && len(k0sDocs) > 0 {
		cfg = map[string]any{}
	}
	// A ClusterConfig document beside the Cluster is merged into spec.k0s.config (k0sctl @f4005b6b
	// cmd/flags.go, `cfg.Spec.K0s.Config.Merge(k0s)`): k0sproject/dig v0.4.0 Mapping.Merge without
	// options, a deep merge that keeps the values already there.
	for _, d := range k0sDocs {
		mergeKeep(cfg, d)
	}
	if cfg == nil {
		t.Fatalf("k0sctl.yaml has no spec.k0s.config (k0sctl would start from `k0s config create`, not run here)")
	}
	api := digMap(cfg, "spec", "api")
	var sans []any
	if old, ok := api["sans"].([]any); ok {
		sans = old
	}
	hosts, _ := spec["hosts"].([]any)
	for _, h := range hosts {
		h, _ := h.(map[string]any)
		if role := fmt.Sprint(h["role"]); role != "controller" && role != "controller+worker" && role != "single" {
			continue
		}
		for _, conn := range []string{"ssh", "winRM", "localhost", "openSSH"} {
			if c, ok := h[conn].(map[string]any); ok && c["address"] != nil && !slices.Contains(sans, c["address"]) {
				sans = append(sans, c["address"])
			}
		}
		if p, ok := h["privateAddress"]; ok && !slices.Contains(sans, p) {
			sans = append(sans, p)
		}
	}
	api["sans"] = sans
	if _, ok := cfg["apiVersion"]; !ok {
		cfg["apiVersion"] = "k0s.k0sproject.io/v1beta1"
	}
	if _, ok := cfg["kind"]; !ok {
		cfg["kind"] = "ClusterConfig"
	}
	return cfg
}

// mergeKeep deep-merges src into dst, keeping dst's values (dig.Mapping.Merge with no options).
func mergeKeep(dst, src map[string]any) {
	for k, v := range src {
		sm, isMap := v.(map[string]any)
		dm, dstMap := dst[k].(map[string]any)
		_, has := dst[k]
		switch {
		case isMap && dstMap:
			mergeKeep(dm, sm)
		case !has && v != nil:
			dst[k] = v
		}
	}
}

// digMap returns the map at path, creating the missing levels (dig.Mapping.DigMapping's behaviour).
func digMap(m map[string]any, path ...string) map[string]any {
	for _, k := range path {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	return m
}

// k0sKCMCommand is kube-controller-manager's command line as k0s's controller-manager component builds
// it (k0sproject/k0s @06ee58ca pkg/component/controller/controllermanager.go, Manager.Reconcile): k0s's
// own arguments (paths under certDir), node-cidr-mask-size by address family, then every
// spec.controllerManager.extraArgs entry overriding, then cmDefaultArgs where a value is still empty,
// all as --name=value, then rawArgs appended as written. The feature-gates step
// (Spec.FeatureGates.BuildArgs) only adds --feature-gates and is left out: no example sets featureGates.
func k0sKCMCommand(t *testing.T, cfg map[string]any, certDir string) []string {
	t.Helper()
	spec, _ := cfg["spec"].(map[string]any)
	var cm k0sControllerManagerSpec
	if raw, ok := spec["controllerManager"]; ok {
		b, err := json.Marshal(raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.UnmarshalStrict(b, &cm); err != nil {
			t.Fatalf("spec.controllerManager: k0s's ControllerManagerSpec does not decode it: %v\n%s", err, b)
		}
	}
	network, _ := spec["network"].(map[string]any)
	str := func(m map[string]any, k, def string) string {
		if v, ok := m[k].(string); ok && v != "" {
			return v
		}
		return def
	}
	// k0s's network defaults and CIDR arguments (k0sproject/k0s @06cd5066 pkg/apis/k0s/v1beta1/network.go
	// DefaultNetwork, BuildPodCIDR: IPv6 first; BuildServiceCIDR: the API address's family first, IPv4 here).
	podCIDR, svcCIDR := str(network, "podCIDR", "10.244.0.0/16"), str(network, "serviceCIDR", "10.96.0.0/12")
	dual, _ := network["dualStack"].(map[string]any)
	dualStack := dual["enabled"] == true
	if dualStack {
		podCIDR = str(dual, "IPv6podCIDR", "") + "," + podCIDR
		svcCIDR += "," + str(dual, "IPv6serviceCIDR", "")
	}
	ccm := filepath.Join(certDir, "ccm.conf")
	args := map[string]string{
		"authentication-kubeconfig":        ccm,
		"authorization-kubeconfig":         ccm,
		"kubeconfig":                       ccm,
		"client-ca-file":                   filepath.Join(certDir, "ca.crt"),
		"cluster-signing-cert-file":        filepath.Join(certDir, "ca.crt"),
		"cluster-signing-key-file":         filepath.Join(certDir, "ca.key"),
		"requestheader-client-ca-file":     filepath.Join(certDir, "front-proxy-ca.crt"),
		"root-ca-file":                     filepath.Join(certDir, "ca.crt"),
		"service-account-private-key-file": filepath.Join(certDir, "sa.key"),
		"cluster-cidr":                     podCIDR,
		"service-cluster-ip-range":         svcCIDR,
		"profiling":                        "false",
		"terminated-pod-gc-threshold":      "12500",
		"v":                                "1",
	}
	if dualStack {
		args["node-cidr-mask-size-ipv6"], args["node-cidr-mask-size-ipv4"] = "117", "24"
	} else {
		args["node-cidr-mask-size"] = "24"
	}
	for name, value := range cm.ExtraArgs {
		args[name] = value
	}
	for name, value := range k0sKCMDefaults {
		if args[name] == "" {
			args[name] = value
		}
	}
	cmd := []string{"kube-controller-manager"}
	for name, value := range args {
		cmd = append(cmd, "--"+name+"="+value)
	}
	slices.Sort(cmd[1:])
	return append(cmd, cm.RawArgs...)
}

// withoutControllersArg is the config with spec.controllerManager.extraArgs.controllers dropped (and the
// maps it leaves empty), for checking that nothing else differs.
func withoutControllersArg(t *testing.T, cfg map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	spec, _ := c["spec"].(map[string]any)
	if cm, ok := spec["controllerManager"].(map[string]any); ok {
		if ea, ok := cm["extraArgs"].(map[string]any); ok {
			delete(ea, "controllers")
			if len(ea) == 0 {
				delete(cm, "extraArgs")
			}
		}
		if len(cm) == 0 {
			delete(spec, "controllerManager")
		}
	}
	return c
}

// kcmAccepts has the real kube-controller-manager parse cmd and validate its controller names: kcm does
// both before it reads its kubeconfig, so with a kubeconfig that does not exist a command it accepts
// fails on exactly that, and any other failure (an unknown flag, an unknown controller) is a refusal.
func kcmAccepts(t *testing.T, kcm string, cmd []string, certDir string) {
	t.Helper()
	out, err := exec.Command(kcm, cmd[1:]...).CombinedOutput()
	want := "stat " + filepath.Join(certDir, "ccm.conf") + ": no such file or directory"
	if err == nil || !strings.Contains(string(out), want) {
		// kcm logs every flag first (-v=1); the reason is at the end.
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		t.Fatalf("kube-controller-manager %s does not get as far as its kubeconfig (want %q): %v\n%s", filepath.Base(filepath.Dir(kcm)), want, err, strings.Join(lines[max(0, len(lines)-3):], "\n"))
	}
}

// TestK0sOracle: what `mirrorctl disable -f` writes into real public k0sctl.yaml and k0s.yaml files,
// carried by k0sctl into k0s.yaml and by k0s into kube-controller-manager's command line, turns mirroring
// off and leaves every other controller (and every other flag) as before; `enable -f` turns it back on.
// The real kcm 1.37.2, and 1.27.16 (alias only) where the file names no version, accept each command.
func TestK0sOracle(t *testing.T) {
	mb := mirrorctlBin(t)
	mirroringNames := []string{"endpointslicemirroring", "endpointslice-mirroring-controller"}
	others := []struct {
		names []string
		off   bool
	}{
		{[]string{"bootstrapsigner", "bootstrap-signer-controller"}, true},
		{[]string{"tokencleaner", "token-cleaner-controller"}, true},
		{[]string{"nodeipam", "node-ipam-controller"}, false},
		{[]string{"endpoint", "endpoints-controller"}, false},
		{[]string{"endpointslice", "endpointslice-controller"}, false},
		{[]string{"garbagecollector", "garbage-collector-controller"}, false},
		{[]string{"deployment", "deployment-controller"}, false},
	}
	// Where the file names no Kubernetes version mirrorctl writes the alias every release accepts, so the
	// oldest kcm here (1.27, alias only) must accept it too; a file naming k0s v1.30 gets the canonical
	// name, which kcm 1.31 (the nearest release built here) must accept.
	unversioned := []string{set137, set127}
	cases := []struct {
		name, input string
		k0sctl      bool
		flags       []string
		kcmSets     []string
	}{
		{"k0sctl-readme-example", "testdata/distros/files/k0sctl-readme-example/input.yaml", true, nil, unversioned},
		{"k0sctl-smoke-single-controller", "testdata/distros/files/k0sctl-smoke-single-controller/input.yaml", true, nil, unversioned},
		{"k0sctl-dynamic-config", "testdata/distros/files/k0sctl-dynamic-config/input.yaml", true, nil, unversioned},
		{"k0sctl-controller-swap-ha", "testdata/distros/files/k0sctl-controller-swap-ha/input.yaml", true, []string{"--i-understand-k0s-ha-needs-mirroring"}, unversioned},
		// Made by hand (the k0s config as its own document, k0s v1.30.2), see testdata/distros/SOURCES.md.
		{"k0sctl-separate-clusterconfig", "testdata/distros/files/k0sctl-separate-clusterconfig/input.yaml", true, nil, []string{set137, set131}},
		{"k0s-dualstack-doc", "testdata/distros/files/adapter-k0s-dualstack-doc/input.yaml", false, nil, unversioned},
		{"k0s-extraargs-rawargs", "testdata/distros/k0s/extraargs-rawargs/root/etc/k0s/k0s.yaml", false, nil, unversioned},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			file := "k0s.yaml"
			if tc.k0sctl {
				file = "k0sctl.yaml"
			}
			writeFile(t, filepath.Join(dir, file), []byte(readFile(t, repoFile(tc.input))), 0o644)
			certDir := filepath.Join(dir, "pki")
			render := func() (map[string]any, []string) {
				text := readFile(t, filepath.Join(dir, file))
				var cfg map[string]any
				if tc.k0sctl {
					cfg = k0sctlK0sConfig(t, text)
				} else if err := yaml.Unmarshal([]byte(text), &cfg); err != nil {
					t.Fatalf("%s: %v", file, err)
				}
				return cfg, k0sKCMCommand(t, cfg, certDir)
			}
			mirrorctl := func(verb string) {
				args := append([]string{"-o", "json", verb, "-f", file}, tc.flags...)
				cmd := privateStateCommand(t, mb, args...)
				cmd.Dir = dir
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("mirrorctl %s: %v\n%s", strings.Join(args, " "), err, out)
				}
			}
			origCfg, before := render()
			if !controllerEnabled(before, mirroringNames, false) {
				t.Fatalf("before the edit mirroring is already off: %q", flagValues(before, "controllers"))
			}

			mirrorctl("disable")
			offCfg, off := render()
			if controllerEnabled(off, mirroringNames, false) {
				t.Fatalf("k0s runs kcm with --controllers=%q after disable: mirroring still on", flagValues(off, "controllers"))
			}
			mirrorctl("enable")
			onCfg, on := render()
			if !controllerEnabled(on, mirroringNames, false) {
				t.Fatalf("k0s runs kcm with --controllers=%q after enable: mirroring still off", flagValues(on, "controllers"))
			}
			for _, o := range others {
				b := controllerEnabled(before, o.names, o.off)
				if a, e := controllerEnabled(off, o.names, o.off), controllerEnabled(on, o.names, o.off); a != b || e != b {
					t.Errorf("%s: enabled %v before, %v after disable, %v after enable", o.names[0], b, a, e)
				}
			}
			// Nothing but the controllers value moves, in the config k0s reads or on kcm's command line.
			for _, c := range []struct {
				what string
				cfg  map[string]any
			}{{"disable", offCfg}, {"enable", onCfg}} {
				if !reflect.DeepEqual(withoutControllersArg(t, origCfg), withoutControllersArg(t, c.cfg)) {
					t.Errorf("after %s the k0s config differs beyond extraArgs.controllers", c.what)
				}
			}
			strip := func(cmd []string) []string {
				return slices.DeleteFunc(slices.Clone(cmd), func(a string) bool { return strings.HasPrefix(a, "--controllers=") })
			}
			if !slices.Equal(strip(before), strip(off)) || !slices.Equal(strip(before), strip(on)) {
				t.Errorf("kcm flags other than --controllers changed:\nbefore  %q\ndisable %q\nenable  %q", before, off, on)
			}
			for _, set := range tc.kcmSets {
				for _, cmd := range [][]string{off, on} {
					kcmAccepts(t, bin(t, set, "kube-controller-manager"), cmd, certDir)
				}
			}
			t.Logf("k0s runs kcm with --controllers=%q after disable, %q after enable", flagValues(off, "controllers"), flagValues(on, "controllers"))
		})
	}
}
