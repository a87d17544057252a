package patches

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/controllers/controllerstest"
	"github.com/mirrorctl/mirrorctl/golden"
	"github.com/mirrorctl/mirrorctl/yamledit"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Each folder under testdata/kubeadm is a case:
//
//	input.yaml     the kubeadm config or exported ConfigMap
//	op             optional: "disable" (default) or "enable", optionally followed by a --controller-name
//	expected.yaml  the edited file (== input.yaml when nothing changes), or
//	error.txt      the one-line error, for invalid inputs
//	state.json     the state after the edit (ReadKubeadmConfig of expected.yaml)
func TestKubeadmGolden(t *testing.T) {
	for _, dir := range golden.Cases(t, "testdata/kubeadm", "input.yaml") {
		in := filepath.Join(dir, "input.yaml")
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			input, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			op, override := readOp(t, dir)
			out, after, changed, err := EditKubeadmConfig(input, op, override)
			errFile := filepath.Join(dir, "error.txt")
			if err != nil {
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error is not one line: %q", err)
				}
				if strings.Contains(err.Error(), dir) || strings.Contains(err.Error(), "input.yaml") {
					t.Errorf("error names a file; the caller does that: %q", err)
				}
				golden.Check(t, errFile, []byte(err.Error()+"\n"))
				if golden.Updating() {
					os.Remove(filepath.Join(dir, "expected.yaml"))
					os.Remove(filepath.Join(dir, "state.json"))
				}
				for _, f := range []string{"expected.yaml", "state.json"} {
					if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
						t.Errorf("%s exists for an error case", f)
					}
				}
				return
			}
			if golden.Updating() {
				os.Remove(errFile)
			}
			if _, err := os.Stat(errFile); err == nil {
				t.Fatalf("EditKubeadmConfig succeeded; want the error in %s", errFile)
			}
			golden.Check(t, filepath.Join(dir, "expected.yaml"), out)
			st, _ := json.MarshalIndent(struct {
				Changed bool `json:"changed"`
				*KubeadmState
			}{changed, after}, "", "  ")
			golden.Check(t, filepath.Join(dir, "state.json"), append(st, '\n'))

			if changed != (string(out) != string(input)) {
				t.Errorf("changed = %v but output differs = %v", changed, string(out) != string(input))
			}
			if after.Mirroring != (op == controllers.Enable) {
				t.Errorf("mirroring after %s = %v", op, after.Mirroring)
			}
			checkOnlyControllerLines(t, string(input), string(out))
			// Idempotent: a second run changes nothing, under either name.
			for _, name := range []string{override, controllers.NameAlias} {
				again, _, changed2, err := EditKubeadmConfig(out, op, name)
				if err != nil || changed2 || string(again) != string(out) {
					t.Errorf("second %s (name %q): changed=%v err=%v", op, name, changed2, err)
				}
			}
			// Read agrees with the edit's report.
			st2, err := ReadKubeadmConfig(out)
			if err != nil || !slices.Equal(st2.Controllers, after.Controllers) || st2.Mirroring != after.Mirroring {
				t.Errorf("ReadKubeadmConfig(output) = %+v, %v; edit said %+v", st2, err, after)
			}
		})
	}
}

func readOp(t *testing.T, dir string) (controllers.Op, string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "op"))
	if errors.Is(err, os.ErrNotExist) {
		return controllers.Disable, ""
	}
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	op, override := controllers.Op(f[0]), ""
	if len(f) > 1 {
		override = f[1]
	}
	return op, override
}

// The lines an edit may add or remove: controllers values and entries, their new parents, and keys
// whose empty value ({}, [], null) was opened up for them. Anything else is damage.
var (
	allowedAdded   = regexp.MustCompile(`^\s*("?controllerManager"?:|extraArgs:|-\s+name: controllers|value: \S+|controllers: \S+)(\s+#.*)?$`)
	allowedRemoved = regexp.MustCompile(`^\s*(value: \S+|controllers: \S+|"?controllerManager"?:\s*(\{\s*\}|null|~)|extraArgs:\s*(\{\s*\}|\[\s*\]|null|~))(\s+#.*)?$`)
)

// checkOnlyControllerLines diffs the files line by line and checks that only controllers lines changed.
// A line that is both removed and added counts as an in-place value change when the two differ only
// inside a controllers value (flow style: `{name: controllers, value: "..."}`).
func checkOnlyControllerLines(t *testing.T, before, after string) {
	t.Helper()
	split := func(s string) []string { return strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") }
	removed, added := lineDiff(split(before), split(after))
	used := make([]bool, len(added))
	for _, r := range removed {
		if allowedRemoved.MatchString(r) {
			continue
		}
		ok := false
		for i, a := range added {
			if !used[i] && (valueChangeOnly(r, a) || flowInsertOnly(r, a)) {
				used[i], ok = true, true
				break
			}
		}
		if !ok {
			t.Errorf("edit changed an unrelated line %q", r)
		}
	}
	for i, a := range added {
		if !used[i] && !allowedAdded.MatchString(a) {
			t.Errorf("edit added an unexpected line %q", a)
		}
	}
	if len(removed) > 2 || len(added) > 6 {
		t.Errorf("edit touched too much: -%d +%d lines", len(removed), len(added))
	}
}

var controllersValueRe = regexp.MustCompile(`^[*a-z0-9,-]*$`)

// flowEntryRe is a controllers entry added inside a one-line flow map or list, and nothing else.
var flowEntryRe = regexp.MustCompile(`^(, )?(controllers: "[*a-z0-9,-]*"|\{name: controllers, value: "[*a-z0-9,-]*"\})$`)

// flowInsertOnly reports whether b is a with one controllers entry inserted, inside a flow collection.
func flowInsertOnly(a, b string) bool {
	p := 0
	for p < len(a) && p < len(b) && a[p] == b[p] {
		p++
	}
	s := 0
	for s < len(a)-p && s < len(b)-p && a[len(a)-1-s] == b[len(b)-1-s] {
		s++
	}
	return p == len(a)-s && flowEntryRe.MatchString(b[p:len(b)-s]) && strings.ContainsAny(a[p:], "}]")
}

// valueChangeOnly reports whether a and b differ only in a controllers value inside the line.
func valueChangeOnly(a, b string) bool {
	p := 0
	for p < len(a) && p < len(b) && a[p] == b[p] {
		p++
	}
	s := 0
	for s < len(a)-p && s < len(b)-p && a[len(a)-1-s] == b[len(b)-1-s] {
		s++
	}
	return strings.Contains(a[:p], "controllers") &&
		controllersValueRe.MatchString(a[p:len(a)-s]) && controllersValueRe.MatchString(b[p:len(b)-s])
}

// lineDiff returns the lines of a not in b and of b not in a, by longest common subsequence.
func lineDiff(a, b []string) (removed, added []string) {
	n, m := len(a), len(b)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case a[i] == b[j]:
			i++
			j++
		case lcs[i+1][j] >= lcs[i][j+1]:
			removed = append(removed, a[i])
			i++
		default:
			added = append(added, b[j])
			j++
		}
	}
	return append(removed, a[i:]...), append(added, b[j:]...)
}

func TestLineDiff(t *testing.T) {
	t.Parallel()
	a := []string{"a", "b", "c", "d"}
	b := []string{"a", "x", "c", "d", "e"}
	removed, added := lineDiff(a, b)
	if !slices.Equal(removed, []string{"b"}) || !slices.Equal(added, []string{"x", "e"}) {
		t.Fatalf("lineDiff = -%q +%q", removed, added)
	}
	if valueChangeOnly(`  - {name: bind-address, value: "1"}`, `  - {name: bind-address, value: "2"}`) {
		t.Error("a change outside a controllers value passed")
	}
	if !valueChangeOnly(`  extraArgs: {controllers: "*", x: y}`, `  extraArgs: {controllers: "*,-foo", x: y}`) {
		t.Error("a controllers value change failed")
	}
}

func TestEditKubeadmConfigArguments(t *testing.T) {
	t.Parallel()
	in := []byte("apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: v1.31.0\n")
	if _, _, _, err := EditKubeadmConfig(in, controllers.Op("toggle"), ""); err == nil {
		t.Error("unknown op accepted")
	}
	// Unchanged input comes back as the same bytes.
	out, after, changed, err := EditKubeadmConfig(in, controllers.Enable, "")
	if err != nil || changed || &out[0] != &in[0] || !after.Mirroring || after.Set {
		t.Errorf("enable on a default config: changed=%v err=%v state=%+v", changed, err, after)
	}
}

func TestReadKubeadmConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		dir  string
		want KubeadmState
	}{
		{"v1beta3-init-defaults", KubeadmState{APIVersion: "kubeadm.k8s.io/v1beta3", Version: controllers.Version{Major: 1, Minor: 29, Known: true},
			Controllers: KubeadmDefaultControllers, Mirroring: true}},
		{"configmap-v1beta4-enable", KubeadmState{APIVersion: "kubeadm.k8s.io/v1beta4", Version: controllers.Version{Major: 1, Minor: 33, Known: true}, Set: true,
			Controllers: []string{"*", "bootstrapsigner", "tokencleaner", "-" + controllers.NameCanonical}, ConfigMap: true}},
		{"v1beta4-duplicates", KubeadmState{APIVersion: "kubeadm.k8s.io/v1beta4", Version: controllers.Version{Major: 1, Minor: 36, Known: true}, Set: true,
			Controllers: []string{"*", "bootstrapsigner", "tokencleaner", controllers.NameAlias}, Mirroring: true}},
		{"unknown-version", KubeadmState{APIVersion: "kubeadm.k8s.io/v1beta4", Controllers: KubeadmDefaultControllers, Mirroring: true}},
		{"v1beta3-map-plain-no-star", KubeadmState{APIVersion: "kubeadm.k8s.io/v1beta3", Version: controllers.Version{Major: 1, Minor: 26, Known: true}, Set: true,
			Controllers: []string{"tokencleaner", controllers.NameAlias, "bootstrapsigner"}, Mirroring: true}},
	}
	for _, tt := range tests {
		in, err := os.ReadFile(filepath.Join("testdata/kubeadm", tt.dir, "input.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := ReadKubeadmConfig(in)
		if err != nil || got.APIVersion != tt.want.APIVersion || got.Version != tt.want.Version || got.Set != tt.want.Set ||
			!slices.Equal(got.Controllers, tt.want.Controllers) || got.Mirroring != tt.want.Mirroring || got.ConfigMap != tt.want.ConfigMap {
			t.Errorf("%s: ReadKubeadmConfig = %+v, %v; want %+v", tt.dir, got, err, tt.want)
		}
	}
	if _, err := ReadKubeadmConfig([]byte("apiVersion: v1\nkind: ConfigMap\ndata:\n  other: x\n")); !errors.Is(err, ErrNoClusterConfiguration) {
		t.Errorf("ConfigMap without ClusterConfiguration: %v", err)
	}
	// The state must not alias the package default.
	st, _ := ReadKubeadmConfig([]byte("apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n"))
	st.Controllers[0] = "mutated"
	if KubeadmDefaultControllers[0] != "*" {
		t.Fatal("ReadKubeadmConfig returned KubeadmDefaultControllers itself")
	}
}

func FuzzEditKubeadmConfig(f *testing.F) {
	inputs, _ := filepath.Glob("testdata/kubeadm/*/input.yaml")
	for _, in := range inputs {
		b, err := os.ReadFile(in)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false, false)
		f.Add(b, true, true)
	}
	f.Fuzz(func(t *testing.T, data []byte, enable, canonical bool) {
		op, override := controllers.Disable, ""
		if enable {
			op = controllers.Enable
		}
		if canonical {
			override = controllers.NameCanonical
		}
		out, after, changed, err := EditKubeadmConfig(data, op, override)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		if !changed && string(out) != string(data) {
			t.Fatalf("changed=false but the output differs")
		}
		if after.Mirroring != (op == controllers.Enable) {
			t.Fatalf("mirroring after %s = %v", op, after.Mirroring)
		}
		st, err := ReadKubeadmConfig(out)
		if err != nil {
			t.Fatalf("output does not read back: %v\n%s", err, out)
		}
		if !slices.Equal(st.Controllers, after.Controllers) {
			t.Fatalf("read back %q, edit said %q", st.Controllers, after.Controllers)
		}
		again, _, changed2, err := EditKubeadmConfig(out, op, override)
		if err != nil || changed2 || string(again) != string(out) {
			t.Fatalf("second %s: changed=%v err=%v", op, changed2, err)
		}
	})
}

// kubeadmBinary finds a real kubeadm of one minor version built by e2e/build.sh (in
// $MIRRORCTL_E2E_CACHE or ~/.cache/mirrorctl-e2e/v1.<minor>.<patch>/kubeadm) and returns it with its
// version; "" when there is none.
func kubeadmBinary(minor string) (bin, version string) {
	cache := os.Getenv("MIRRORCTL_E2E_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "mirrorctl-e2e")
	}
	m, _ := filepath.Glob(filepath.Join(cache, "v1."+minor+".*", "kubeadm"))
	if len(m) == 0 {
		return "", ""
	}
	bin = m[len(m)-1]
	return bin, filepath.Base(filepath.Dir(bin))
}

var kubernetesVersionRe = regexp.MustCompile(`(?m)^(\s*)kubernetesVersion: .*$`)

// TestKubeadmGoldenAcceptedByKubeadm runs a real `kubeadm config validate` (strict: unknown fields
// are errors) on every edited golden output: v1beta4/v1 with kubeadm 1.37, v1beta3 with the newest of
// 1.36/1.31/1.29 that is built. kubeadm checks kubernetesVersion against its own supported range, so the
// test pins it to the binary's version; everything else is the file as edited. ConfigMap outputs are
// validated through their embedded ClusterConfiguration. Cases without a matching binary are skipped.
func TestKubeadmGoldenAcceptedByKubeadm(t *testing.T) {
	candidates := map[string][]string{
		"kubeadm.k8s.io/v1beta4": {"37"},
		"kubeadm.k8s.io/v1":      {"37"},
		"kubeadm.k8s.io/v1beta3": {"36", "31", "29"},
	}
	outs, _ := filepath.Glob("testdata/kubeadm/*/expected.yaml")
	ran := 0
	for _, path := range outs {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		st, err := ReadKubeadmConfig(data)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		var bin, version string
		for _, minor := range candidates[st.APIVersion] {
			if bin, version = kubeadmBinary(minor); bin != "" {
				break
			}
		}
		if bin == "" {
			continue
		}
		doc := string(data)
		if st.ConfigMap {
			f, err := yamledit.ParseLines(data, yamledit.Kubeadm)
			if err != nil {
				t.Fatal(err)
			}
			cc, err := findClusterConfiguration(f)
			if err != nil {
				t.Fatal(err)
			}
			doc = cc.doc.Text()
		}
		doc = strings.TrimPrefix(strings.ReplaceAll(doc, "\r\n", "\n"), "\ufeff")
		doc = kubernetesVersionRe.ReplaceAllString(doc, "${1}kubernetesVersion: "+version)
		tmp := filepath.Join(t.TempDir(), "config.yaml")
		if err := os.WriteFile(tmp, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		args := []string{"config", "validate", "--config", tmp}
		if st.APIVersion == "kubeadm.k8s.io/v1" {
			args = append(args, "--allow-experimental-api")
		}
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Errorf("%s: kubeadm %s config validate: %v\n%s", path, version, err, out)
		}
		ran++
	}
	if ran == 0 {
		t.Skip("no real kubeadm binaries (run e2e/build.sh v1.37 v1.29)")
	}
	t.Logf("%d outputs validated by real kubeadm", ran)
}

// TestKubeadmEdgeCases covers YAML spellings that the golden cases do not: each input either is
// refused with a one-line error containing wantErr, or edits cleanly (checked like a golden case).
func TestKubeadmEdgeCases(t *testing.T) {
	t.Parallel()
	const head = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: v1.33.1\n"
	const head3 = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nkubernetesVersion: v1.29.1\n"
	const cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kubeadm-config\ndata:\n  ClusterConfiguration: "
	tests := []struct {
		name, in, wantErr string
		want              []string // lines that must be in the output
		unchanged         bool
	}{
		{name: "quoted keys", in: head + "\"controllerManager\": {}\n", want: []string{`"controllerManager":`, "  extraArgs:"}},
		{name: "comment after empty extraArgs", in: head + "controllerManager:\n  extraArgs: # none yet\n", want: []string{"  extraArgs: # none yet", "  - name: controllers"}},
		{name: "empty extraArgs with spaces", in: head + "controllerManager:\n  extraArgs: [ ]\n", want: []string{"  extraArgs:"}},
		{name: "v1beta3 empty map", in: head3 + "controllerManager:\n  extraArgs: {}\n", want: []string{`    controllers: "*,bootstrapsigner,tokencleaner,-endpointslice-mirroring-controller"`}},
		{name: "v1beta3 null extraArgs", in: head3 + "controllerManager:\n  extraArgs: null\n", want: []string{"  extraArgs:", `    controllers: "*,bootstrapsigner,tokencleaner,-endpointslice-mirroring-controller"`}},
		{name: "indent 4", in: head3 + "controllerManager:\n    extraVolumes: []\n", want: []string{"    extraArgs:", `        controllers: "*,bootstrapsigner,tokencleaner,-endpointslice-mirroring-controller"`}},
		{name: "value with comment", in: head + "controllerManager:\n  extraArgs:\n  - name: controllers # the list\n    value: '*' # all\n", want: []string{"    value: '*,-endpointslice-mirroring-controller' # all"}},
		// An empty --controllers= runs no controller at all: mirroring is already off.
		{name: "value empty string", in: head + "controllerManager:\n  extraArgs:\n  - name: controllers\n    value: \"\"\n", unchanged: true},
		{name: "keep chomping", in: cm + "|+\n    apiVersion: kubeadm.k8s.io/v1beta4\n    kind: ClusterConfiguration\n\n", want: []string{"    controllerManager:", "    kind: ClusterConfiguration"}},
		{name: "configmap then more documents", in: cm + "|\n    apiVersion: kubeadm.k8s.io/v1beta4\n    kind: ClusterConfiguration\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\n", want: []string{"      - name: controllers", "  name: other"}},
		{name: "configmap crlf", in: strings.ReplaceAll(cm+"|\n    apiVersion: kubeadm.k8s.io/v1beta3\n    kind: ClusterConfiguration\n", "\n", "\r\n"), want: []string{"    controllerManager:\r", "        controllers: \"*,bootstrapsigner,tokencleaner,-endpointslicemirroring\"\r"}},
		{name: "leading document marker and comment-only document", in: "# header\n---\n# nothing\n---\n" + head, want: []string{"# nothing", "controllerManager:"}},

		{name: "indentation indicator", in: cm + "|2\n    apiVersion: kubeadm.k8s.io/v1beta4\n    kind: ClusterConfiguration\n", wantErr: "block scalar header"},
		{name: "folded ConfigMap value", in: cm + ">\n    apiVersion: kubeadm.k8s.io/v1beta4\n    kind: ClusterConfiguration\n", wantErr: "not a literal block scalar"},
		{name: "anchor", in: head + "controllerManager: &cm\n  extraArgs: []\n", wantErr: "anchors and aliases"},
		{name: "alias", in: "x: &a {}\n" + head + "controllerManager: *a\n", wantErr: "anchors and aliases"},
		{name: "merge key", in: head + "controllerManager:\n  <<: {extraArgs: []}\n", wantErr: "merge keys"},
		{name: "duplicate key", in: head + "controllerManager: {}\ncontrollerManager: {}\n", wantErr: `duplicate key "controllerManager"`},
		{name: "duplicate map controllers", in: head3 + "controllerManager:\n  extraArgs:\n    controllers: '*'\n    controllers: '*'\n", wantErr: `duplicate key "controllers"`},
		{name: "multi-line value", in: head3 + "controllerManager:\n  extraArgs:\n    controllers: \"*,\n      tokencleaner\"\n", wantErr: "spans several lines"},
		{name: "block value", in: head3 + "controllerManager:\n  extraArgs:\n    controllers: |\n      *\n", wantErr: "block scalars"},
		{name: "tagged value", in: head3 + "controllerManager:\n  extraArgs:\n    controllers: !!str '*'\n", wantErr: "tagged"},
		{name: "non-string value", in: head + "controllerManager:\n  extraArgs:\n  - name: controllers\n    value: [a]\n", wantErr: "not a string"},
		{name: "entry without value", in: head + "controllerManager:\n  extraArgs:\n  - name: controllers\n", wantErr: "has no value"},
		{name: "entry not a map", in: head + "controllerManager:\n  extraArgs:\n  - controllers=*\n", wantErr: "not a {name, value} map"},
		{name: "v1beta4 map", in: head + "controllerManager:\n  extraArgs:\n    controllers: '*'\n", wantErr: "must be a list"},
		{name: "controllerManager a string", in: head + "controllerManager: yes\n", wantErr: "not a map"},
		{name: "flow extraArgs without controllers", in: head + "controllerManager:\n  extraArgs: [{name: a, value: b}]\n", want: []string{`  extraArgs: [{name: a, value: b}, {name: controllers, value: "*,bootstrapsigner,tokencleaner,-endpointslice-mirroring-controller"}]`}},
		{name: "flow extraArgs over two lines", in: head + "controllerManager:\n  extraArgs: [{name: a, value: b},\n    {name: c, value: d}]\n", wantErr: "several lines"},
		{name: "mixed line endings", in: "apiVersion: kubeadm.k8s.io/v1beta4\r\nkind: ClusterConfiguration\n", wantErr: "mixed CRLF and LF"},
		{name: "lone carriage return", in: "apiVersion: kubeadm.k8s.io/v1beta4\rkind: ClusterConfiguration\n", wantErr: "carriage return"},
		{name: "content on marker line", in: "--- {a: 1}\n" + head, wantErr: "content after the document marker"},
		{name: "not kubeadm's group", in: "apiVersion: example.com/v1\nkind: ClusterConfiguration\n", wantErr: "unknown apiVersion"},
		{name: "only comments", in: "# nothing here\n---\n# nor here\n", wantErr: "no ClusterConfiguration document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, after, changed, err := EditKubeadmConfig([]byte(tt.in), controllers.Disable, "")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("err = %v; want one line containing %q\n%s", err, tt.wantErr, out)
				}
				return
			}
			if err != nil {
				t.Fatalf("EditKubeadmConfig: %v", err)
			}
			if tt.unchanged {
				if changed || string(out) != tt.in {
					t.Fatalf("changed=%v; want no change", changed)
				}
				return
			}
			if !changed || after.Mirroring {
				t.Fatalf("changed=%v mirroring=%v", changed, after.Mirroring)
			}
			lines := strings.Split(string(out), "\n")
			for _, w := range tt.want {
				if !slices.Contains(lines, w) {
					t.Errorf("output lacks line %q:\n%s", w, out)
				}
			}
			checkOnlyControllerLines(t, tt.in, string(out))
			if again, _, changed, err := EditKubeadmConfig(out, controllers.Disable, ""); err != nil || changed || string(again) != string(out) {
				t.Errorf("second run: changed=%v err=%v", changed, err)
			}
		})
	}
}

// FuzzKubeadmControllersValue puts arbitrary controllers values into both extraArgs shapes, in each
// quoting style, and checks that every value kube-controller-manager would accept is edited, with the
// algebra's guarantees, and that the rest are refused.
func FuzzKubeadmControllersValue(f *testing.F) {
	for _, v := range []string{"*", "*,bootstrapsigner,tokencleaner", "endpointslicemirroring", "-endpointslice-mirroring-controller,*", "", "a'b", `a\b`, "*, -x", "ü,*"} {
		f.Add(v, false, uint8(0), false)
		f.Add(v, true, uint8(1), true)
		f.Add(v, true, uint8(2), false)
	}
	f.Fuzz(func(t *testing.T, value string, list bool, style uint8, enable bool) {
		if !utf8.ValidString(value) {
			return
		}
		var tok string
		switch style % 3 {
		case 0:
			tok = strconv.Quote(value)
		case 1:
			tok = "'" + strings.ReplaceAll(value, "'", "''") + "'"
		default:
			if yamledit.Render(0, value) != value {
				return // not a plain scalar
			}
			tok = value
		}
		var v string
		if err := yaml.Unmarshal([]byte(tok), &v); err != nil || v != value || strings.ContainsAny(tok, "\n\r") {
			return // not a single-line YAML spelling of value
		}
		in := "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nkubernetesVersion: v1.30.0\ncontrollerManager:\n  extraArgs:\n    controllers: " + tok + "\n"
		if list {
			in = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: v1.30.0\ncontrollerManager:\n  extraArgs:\n  - name: controllers\n    value: " + tok + "\n"
		}
		op := controllers.Disable
		if enable {
			op = controllers.Enable
		}
		entries, splitErr := controllers.Split(value)
		out, after, changed, err := EditKubeadmConfig([]byte(in), op, "")
		if splitErr != nil {
			if err == nil {
				t.Fatalf("broken value %q accepted", value)
			}
			return
		}
		if err != nil {
			t.Fatalf("valid value %q refused: %v\n%s", value, err, in)
		}
		wantOcc, wantChanged := controllers.Edit(op, [][]string{entries}, controllers.NameCanonical)
		if changed != wantChanged || !slices.Equal(after.Controllers, controllers.Flatten(wantOcc)) {
			t.Fatalf("%q: edit gave %q (changed %v), Plan gives %q (changed %v)", value, after.Controllers, changed, wantOcc, wantChanged)
		}
		controllerstest.CheckEdit(t, op, [][]string{entries}, [][]string{after.Controllers}, changed, controllers.NameCanonical)
		checkOnlyControllerLines(t, in, string(out))
	})
}

// TestKubeadmStateLine: the state says where the first controllers entry is, in the file's lines, for
// lint to point at.
func TestKubeadmStateLine(t *testing.T) {
	t.Parallel()
	const head3 = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\n"
	const head4 = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n"
	for _, c := range []struct {
		name, in string
		want     int
	}{
		{"not set", head4, 0},
		{"map", head3 + "controllerManager:\n  extraArgs:\n    node-monitor-period: 5s\n    controllers: '*'\n", 6},
		{"list", head4 + "controllerManager:\n  extraArgs:\n  - name: x\n    value: y\n  - name: controllers\n    value: '*'\n", 7},
		{"list, value first", head4 + "controllerManager:\n  extraArgs:\n  - value: '*'\n    name: controllers\n", 6},
		{"second document, crlf", strings.ReplaceAll("kind: InitConfiguration\n---\n"+head3+"controllerManager:\n  extraArgs:\n    controllers: '*'\n", "\n", "\r\n"), 7},
		{"configmap", "apiVersion: v1\nkind: ConfigMap\ndata:\n  ClusterConfiguration: |\n    " + strings.TrimSuffix(strings.ReplaceAll(head3+"controllerManager:\n  extraArgs:\n    controllers: '*'\n", "\n", "\n    "), "    "), 9},
	} {
		t.Run(c.name, func(t *testing.T) {
			st, err := ReadKubeadmConfig([]byte(c.in))
			if err != nil {
				t.Fatal(err)
			}
			if st.Line != c.want {
				t.Errorf("Line = %d; want %d", st.Line, c.want)
			}
		})
	}
}
