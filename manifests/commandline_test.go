package manifests

import (
	"strings"
	"testing"

	"k8s.io/kubernetes/third_party/forked/golang/expansion"

	"github.com/mirrorctl/mirrorctl/controllers"
)

// expand must be the kubelet's expansion itself: checked against the kubelet's own package on its
// tricky inputs ($$ escapes, unterminated and empty references, "$" at the end, runes after "$").
func TestExpandIsTheKubelets(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"CTRL": "a,b", "EMPTY": "", "DOLLAR": "$$", "NESTED": "$(CTRL)"}
	for _, in := range expandInputs {
		checkExpand(t, vars, in)
	}
}

var expandInputs = []string{
	"", "$", "$$", "$$$", "$(CTRL)", "$$(CTRL)", "$$$(CTRL)", "--controllers=$(CTRL)", "$(CTRL", "$()",
	"$(MISSING)", "x$(EMPTY)y", "$(DOLLAR)", "$(NESTED)", "$é", "$(CTRL)$(CTRL)", "a$", "$(", "$)", "$(a)(b)",
	"$(CTRL)$", "$\xff", "$(C$(CTRL))",
}

func checkExpand(t *testing.T, vars map[string]string, in string) {
	t.Helper()
	want := expansion.Expand(in, expansion.MappingFuncFor(vars))
	got, unknown := expand(in, func(n string) (string, bool) { v, ok := vars[n]; return v, ok }, nil)
	if got != want {
		t.Errorf("expand(%q) = %q, the kubelet gives %q", in, got, want)
	}
	for _, u := range unknown {
		if _, ok := vars[u]; ok {
			t.Errorf("expand(%q): %q reported unknown", in, u)
		}
	}
}

func FuzzExpandIsTheKubelets(f *testing.F) {
	for _, in := range expandInputs {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkExpand(t, map[string]string{"CTRL": "a,b", "EMPTY": "", "DOLLAR": "$$"}, in)
	})
}

const envPod = `apiVersion: v1
kind: Pod
spec:
  containers:
  - name: kube-controller-manager
    image: registry.k8s.io/kube-controller-manager:v1.29.0
    command:
    - kube-controller-manager
    - --kubeconfig=/etc/kubernetes/controller-manager.conf
%s
    env:
%s
`

func envManifest(flags, env string) []byte {
	return []byte(strings.Replace(strings.Replace(envPod, "%s", flags, 1), "%s", env, 1))
}

// Issue 14 §8: kcm gets --controllers after the kubelet expands $(VAR); reading it literally said
// "disabled" (and lint "will not start") for a kcm that runs the mirroring controller.
func TestControllersFromEnv(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, flags, env string
		mirroring        bool
		refuse           string // Mirroring fails naming this
		disabled         string // the file after disable contains this; "" when disable refuses
		editRefuse       string
	}{
		{name: "literal", flags: "    - --controllers=$(CTRL)", env: "    - name: CTRL\n      value: endpointslice-mirroring-controller,*",
			mirroring: true, disabled: "      value: \"*,-endpointslice-mirroring-controller\"\n"},
		{name: "two tokens", flags: "    - --controllers\n    - $(CTRL)", env: "    - name: CTRL\n      value: '*'",
			mirroring: true, disabled: "      value: '*,-endpointslice-mirroring-controller'\n"},
		{name: "built from an earlier var", flags: "    - --controllers=$(CTRL)", env: "    - name: BASE\n      value: endpointslice-mirroring-controller\n    - name: CTRL\n      value: '$(BASE),*'",
			mirroring: true, editRefuse: "is built with"},
		{name: "a later var is not seen", flags: "    - --controllers=$(CTRL)", env: "    - name: CTRL\n      value: '$(BASE),*'\n    - name: BASE\n      value: x",
			refuse: "BASE is not set"},
		{name: "escaped", flags: "    - --controllers=$$(CTRL)", env: "    - name: CTRL\n      value: '*'",
			refuse: ""},
		{name: "last definition wins", flags: "    - --controllers=$(CTRL)", env: "    - name: CTRL\n      value: '-endpointslice-mirroring-controller,*'\n    - name: CTRL\n      value: '*'",
			mirroring: true, editRefuse: "sets CTRL 2 times"},
		{name: "part of the value", flags: "    - --controllers=*,$(MORE)", env: "    - name: MORE\n      value: endpointslice-mirroring-controller",
			mirroring: true, editRefuse: "exactly $(VAR)"},
		{name: "used twice", flags: "    - --controllers=$(CTRL)\n    - --other=$(CTRL)", env: "    - name: CTRL\n      value: '*'",
			mirroring: true, editRefuse: "used 2 times"},
		{name: "already disabled", flags: "    - --controllers=$(CTRL)", env: "    - name: CTRL\n      value: '*,-endpointslice-mirroring-controller'",
			mirroring: false, disabled: "value: '*,-endpointslice-mirroring-controller'"},
		{name: "configmap", flags: "    - --controllers=$(CTRL)", env: "    - name: CTRL\n      valueFrom:\n        configMapKeyRef: {name: kcm, key: controllers}",
			refuse: "ConfigMap"},
		{name: "secret", flags: "    - --controllers=$(CTRL)", env: "    - name: CTRL\n      valueFrom:\n        secretKeyRef: {name: kcm, key: controllers}",
			refuse: "Secret"},
		{name: "fieldRef", flags: "    - --controllers=$(CTRL)", env: "    - name: CTRL\n      valueFrom:\n        fieldRef: {fieldPath: metadata.name}",
			refuse: "downward API"},
		{name: "not set", flags: "    - --controllers=$(CTRL)", env: "    - name: OTHER\n      value: x",
			refuse: "CTRL is not set"},
		{name: "whole flag from a ConfigMap", flags: "    - $(FLAG)", env: "    - name: FLAG\n      valueFrom:\n        configMapKeyRef: {name: kcm, key: flag}",
			refuse: "ConfigMap"},
		{name: "whole flag from a literal", flags: "    - $(FLAG)", env: "    - name: FLAG\n      value: --controllers=*",
			mirroring: true, editRefuse: "only when the kubelet expands it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := envManifest(tc.flags, tc.env)
			m, err := Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			on, err := m.Mirroring()
			if tc.refuse != "" {
				if err == nil || !strings.Contains(err.Error(), tc.refuse) {
					t.Fatalf("Mirroring = %v, %v; want a refusal naming %q", on, err, tc.refuse)
				}
				if _, _, err := m.Edit(controllers.Disable, controllers.NameCanonical); err == nil {
					t.Error("disable edited a manifest whose state is not known")
				}
				return
			}
			if tc.name == "escaped" {
				// "$$(CTRL)" is the literal "$(CTRL)", which kcm gets as written (and refuses as an
				// unknown controller, lint's finding).
				if e, err := m.Effective(); err != nil || len(e) != 1 || e[0] != "$(CTRL)" {
					t.Fatalf("Effective = %q, %v; want the literal $(CTRL)", e, err)
				}
				return
			}
			if err != nil || on != tc.mirroring {
				t.Fatalf("Mirroring = %v, %v; want %v", on, err, tc.mirroring)
			}
			out, _, err := m.Edit(controllers.Disable, controllers.NameCanonical)
			if tc.editRefuse != "" {
				if err == nil || !strings.Contains(err.Error(), tc.editRefuse) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("disable: %v; want one line naming %q", err, tc.editRefuse)
				}
				return
			}
			if err != nil || !strings.Contains(string(out), tc.disabled) {
				t.Fatalf("disable: %v\n%s", err, out)
			}
			after, err := Parse(out)
			if err != nil {
				t.Fatal(err)
			}
			if on, err := after.Mirroring(); err != nil || on {
				t.Errorf("after disable: mirroring %v, %v", on, err)
			}
			if !strings.Contains(string(out), tc.flags) {
				t.Errorf("the flag item changed:\n%s", out)
			}
		})
	}
}

const shellPod = `apiVersion: v1
kind: Pod
spec:
  containers:
  - name: kube-controller-manager
    image: registry.k8s.io/kube-controller-manager:v1.29.0
%s
`

// Issue 14 §7: a shell-wrapped kcm got --controllers appended as an argument of sh, which the script
// ignores, and disable reported success.
func TestShellWrapped(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, cmd string
		mirroring bool
		disabled  string // text of the disabled file's command; "" when refused
		refuse    string
	}{
		{name: "flow, quoted flag", cmd: `    command: ["/bin/sh", "-c", "exec kube-controller-manager --v=2 '--controllers=*,bootstrapsigner' --leader-elect=true"]`,
			mirroring: true, disabled: `command: ["/bin/sh", "-c", "exec kube-controller-manager --v=2 '--controllers=*,bootstrapsigner,-endpointslice-mirroring-controller' --leader-elect=true"]`},
		{name: "no flag: appended", cmd: "    command:\n    - sh\n    - -c\n    - exec /usr/local/bin/kube-controller-manager --v=2",
			mirroring: true, disabled: "    - exec /usr/local/bin/kube-controller-manager --v=2 '--controllers=*,-endpointslice-mirroring-controller'\n"},
		{name: "script in args", cmd: "    command: [bash, -c]\n    args:\n    - \"  exec kube-controller-manager --controllers \\\"endpointslice-mirroring-controller\\\",bootstrapsigner\\n\"",
			mirroring: true, disabled: `exec kube-controller-manager --controllers bootstrapsigner\n"`},
		{name: "already disabled", cmd: `    command: ["/bin/sh", "-c", "exec kube-controller-manager --controllers=-endpointslice-mirroring-controller,tokencleaner"]`,
			mirroring: false, disabled: "--controllers=-endpointslice-mirroring-controller,tokencleaner\"]"},
		{name: "two commands", cmd: `    command: ["/bin/sh", "-c", "sleep 1; exec kube-controller-manager"]`, refuse: `uses ';' outside quotes`},
		{name: "semicolon", cmd: `    command: ["/bin/sh", "-c", "exec kube-controller-manager '--controllers=*'; true"]`, refuse: `uses ';' outside quotes`},
		{name: "and", cmd: `    command: ["/bin/sh", "-c", "exec kube-controller-manager --v=2 && x"]`, refuse: `uses '&' outside quotes`},
		{name: "pipe", cmd: `    command: ["/bin/sh", "-c", "exec kube-controller-manager --v=2 | tee x"]`, refuse: `uses '|' outside quotes`},
		{name: "variable", cmd: `    command: ["/bin/sh", "-c", "exec kube-controller-manager --controllers=$CTRL"]`, refuse: `"$"`},
		{name: "kubelet var", cmd: `    command: ["/bin/sh", "-c", "exec kube-controller-manager --controllers=$(CTRL)"]`, refuse: `"$"`},
		{name: "glob", cmd: `    command: ["/bin/sh", "-c", "exec kube-controller-manager --controllers=*"]`, refuse: `uses '*' outside quotes`},
		{name: "escape", cmd: `    command: ["/bin/sh", "-c", "exec kube-controller-manager --controllers=\\*"]`, refuse: `uses '\\'`},
		{name: "no exec", cmd: `    command: ["/bin/sh", "-c", "kube-controller-manager --v=2"]`, refuse: "does not start with exec"},
		{name: "two lines", cmd: "    command:\n    - sh\n    - -c\n    - |\n      exec kube-controller-manager --v=2\n      --controllers=x", refuse: "more than one line"},
		{name: "shell options", cmd: `    command: ["/bin/bash", "-ec", "exec kube-controller-manager"]`, refuse: `"-ec", not -c`},
		{name: "exec options", cmd: `    command: ["/bin/sh", "-c", "exec -a kcm kube-controller-manager"]`, refuse: "gives exec options"},
		{name: "no script", cmd: `    command: ["/bin/sh"]`, refuse: "no -c script"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(strings.Replace(shellPod, "%s", tc.cmd, 1))
			m, err := Parse(data)
			if tc.refuse != "" {
				if err == nil || !strings.Contains(err.Error(), tc.refuse) || !strings.Contains(err.Error(), "runs a shell") {
					t.Fatalf("Parse: %v; want a refusal naming %q", err, tc.refuse)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if on, err := m.Mirroring(); err != nil || on != tc.mirroring {
				t.Fatalf("Mirroring = %v, %v; want %v", on, err, tc.mirroring)
			}
			out, _, err := m.Edit(controllers.Disable, controllers.NameCanonical)
			if err != nil || !strings.Contains(string(out), tc.disabled) {
				t.Fatalf("disable: %v\n%s", err, out)
			}
			if on, err := mustParse(t, out).Mirroring(); err != nil || on {
				t.Errorf("after disable: %v %v", on, err)
			}
			back, _, err := mustParse(t, out).Edit(controllers.Enable, controllers.NameCanonical)
			if err != nil {
				t.Fatal(err)
			}
			if on, err := mustParse(t, back).Mirroring(); err != nil || !on {
				t.Errorf("after enable: %v %v\n%s", on, err, back)
			}
		})
	}
}

func mustParse(t *testing.T, data []byte) *Manifest {
	t.Helper()
	m, err := Parse(data)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	return m
}
