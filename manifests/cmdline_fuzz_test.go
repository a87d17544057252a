package manifests

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/kubernetes/third_party/forked/golang/expansion"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/controllers/controllerstest"
)

// kcmParse parses a kcm command line with kcm's own flag library and flag type (pflag, --controllers
// a StringSlice defaulting to "*"; repeated flags append), and returns the merged list. Other flags are
// registered as strings, so "--v=2" parses as in kcm. ok is false when pflag refuses the line or kcm
// would refuse its positional arguments.
func kcmParse(argv []string) (list []string, ok bool) {
	fs := pflag.NewFlagSet("kube-controller-manager", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	got := fs.StringSlice(controllers.FlagName, []string{"*"}, "")
	fs.String("v", "", "")
	fs.String("leader-elect", "", "")
	if len(argv) == 0 || fs.Parse(argv[1:]) != nil || slices.ContainsFunc(fs.Args(), func(a string) bool { return a != "" }) {
		return nil, false
	}
	return *got, true
}

// fuzzArgv turns the fuzzer's text into a kcm command line: "|" separates arguments, and each capital
// letter stands for a controller name of release r (the letters' index into its sorted names, canonical
// names and aliases), so that mutations reach real names. Controller names have no capitals.
func fuzzArgv(text string, r controllers.Release) []string {
	names := make([]string, 0, len(r.Canonical))
	for n := range r.Canonical {
		names = append(names, n)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, c := range text {
		if c >= 'A' && c <= 'Z' {
			b.WriteString(names[int(c-'A')*len(names)/26])
			continue
		}
		b.WriteRune(c)
	}
	return append([]string{"kube-controller-manager"}, strings.Split(b.String(), "|")...)
}

// fuzzManifest writes argv as the kcm container's command, one JSON-quoted (valid YAML) item a line.
func fuzzManifest(argv []string, r controllers.Release) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-controller-manager\n  namespace: kube-system\nspec:\n  containers:\n  - name: kube-controller-manager\n    image: registry.k8s.io/kube-controller-manager:v%s.0\n    command:\n", r.Minor)
	for _, a := range argv {
		q, _ := json.Marshal(a)
		fmt.Fprintf(&b, "    - %s\n", q)
	}
	return []byte(b.String())
}

// The forms a kcm command line takes in the fuzzed manifest.
const (
	formPlain = iota // argv as the container's command
	formShell        // ["/bin/sh", "-c", "exec kube-controller-manager WORDS"]
	formEnv          // the last --controllers=VALUE written as --controllers=$(CTRL), env CTRL=VALUE
	forms
)

// fuzzForm writes the manifest of argv in the given form; ok is false when the form cannot carry argv
// (a word the shell form cannot quote, no --controllers=VALUE item to move into env).
func fuzzForm(argv []string, r controllers.Release, form uint8) (data []byte, ok bool) {
	switch form {
	case formShell:
		words := make([]string, 0, len(argv))
		for _, a := range argv {
			w, ok := shellQuote(a)
			if !ok {
				return nil, false
			}
			words = append(words, w)
		}
		return fuzzManifest([]string{"/bin/sh", "-c", "exec " + strings.Join(words, " ")}, r), true
	case formEnv:
		i := -1
		for j, a := range slices.Backward(argv) {
			if strings.HasPrefix(a, controllers.Flag+"=") {
				i = j
				break
			}
		}
		if i < 0 {
			return nil, false
		}
		value := strings.TrimPrefix(argv[i], controllers.Flag+"=")
		moved := slices.Clone(argv)
		moved[i] = controllers.Flag + "=$(CTRL)"
		q, _ := json.Marshal(value)
		return append(fuzzManifest(moved, r), fmt.Sprintf("    env:\n    - name: CTRL\n      value: %s\n", q)...), true
	}
	return fuzzManifest(argv, r), true
}

// shellQuote writes a as one POSIX shell word: bare when every byte is plainly safe, else in single
// quotes, else (a "'" inside) in double quotes when nothing in it is special there.
func shellQuote(a string) (string, bool) {
	switch {
	case strings.ContainsRune(a, 0):
		return "", false // no argument holds a NUL
	case a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:=,+@%") == "":
		return a, true
	case !strings.Contains(a, "'"):
		return "'" + a + "'", true
	case !strings.ContainsAny(a, "\"$`\\"):
		return `"` + a + `"`, true
	}
	return "", false
}

// kubeletArgv returns the argv kube-controller-manager gets from the manifest data: the container
// decoded with the Kubernetes API types, $(VAR) in command and args expanded by the kubelet's own
// expansion package from the literal env (each value expanded from the entries before it, as
// makeEnvironmentVariables does), and, when that starts a shell's -c script, the words a real
// /bin/sh passes to the exec'd kube-controller-manager (found on a PATH that holds only a stand-in
// printing its arguments). ok is false when the script is not plainly "exec" and quoted words, which
// this check does not hand to a shell. err is the kubelet's decoder refusing the file (sigs.k8s.io/yaml, as
// the kubelet's static pod source reads it): then the kubelet runs no kcm at all.
func kubeletArgv(t *testing.T, bin string, data []byte) (argv []string, ok bool, err error) {
	t.Helper()
	var pod corev1.Pod
	if err := sigsyaml.Unmarshal(data, &pod); err != nil {
		return nil, false, err
	}
	i := slices.IndexFunc(pod.Spec.Containers, func(c corev1.Container) bool { return c.Name == ContainerName })
	if i < 0 {
		t.Fatalf("no container %s in\n%s", ContainerName, data)
	}
	c := pod.Spec.Containers[i]
	env := map[string]string{}
	for _, e := range c.Env {
		v := e.Value
		if v != "" {
			v = expansion.Expand(v, expansion.MappingFuncFor(env))
		}
		env[e.Name] = v
	}
	for _, a := range slices.Concat(c.Command, c.Args) {
		argv = append(argv, expansion.Expand(a, expansion.MappingFuncFor(env)))
	}
	if len(argv) == 0 || !shells[path.Base(argv[0])] {
		return argv, true, nil
	}
	if len(argv) != 3 || argv[1] != "-c" || !plainScript(argv[2]) {
		return nil, false, nil
	}
	cmd := exec.Command("/bin/sh", "-c", argv[2])
	cmd.Dir, cmd.Env = bin, []string{"PATH=" + bin}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("/bin/sh -c %q: %v", argv[2], err)
	}
	words := strings.Split(string(out), "\x00")
	return append([]string{"kube-controller-manager"}, words[:len(words)-1]...), true, nil
}

// plainScript reports a script of "exec kube-controller-manager" and words that are only safe bytes,
// '…' and "…" without $ ` \ — nothing a shell would expand, redirect or run besides the exec.
func plainScript(s string) bool {
	rest, ok := strings.CutPrefix(s, "exec kube-controller-manager")
	if !ok {
		return false
	}
	for i := 0; i < len(rest); i++ {
		switch c := rest[i]; {
		case c == '\'' || c == '"':
			end := strings.IndexByte(rest[i+1:], c)
			if end < 0 || c == '"' && strings.ContainsAny(rest[i+1:i+1+end], "$`\\") {
				return false
			}
			i += end + 1
		case c == ' ' || c == '\t' || strings.IndexByte(shellSafe, c) >= 0:
		default:
			return false
		}
	}
	return true
}

// standInKCM writes an executable kube-controller-manager that prints its arguments, NUL-terminated,
// and returns its directory.
func standInKCM(f *testing.F) string {
	if _, err := os.Stat("/bin/sh"); err != nil {
		f.Skip("no /bin/sh to run the shell form")
	}
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "kube-controller-manager"), []byte("#!/bin/sh\nprintf '%s\\0' \"$@\"\n"), 0o755); err != nil {
		f.Fatal(err)
	}
	return dir
}

// FuzzCommandLine is the differential check of issue 14: for kcm command lines with repeated,
// empty and CSV-quoted --controllers flags, written as the container's command, wrapped in
// sh -c "exec kube-controller-manager …", or with the --controllers value in an env var referenced as
// $(CTRL), the state mirrorctl reports must be the state kcm gets: the command line the kubelet and the
// shell pass (kubeletArgv), parsed by kcm's own flag library (pflag) and evaluated by IsControllerEnabled
// (with its alias resolution, controllerstest.KCMEnabled) on that release's controller table; and
// disable/enable output, read the same way, must switch the mirroring controller and no other controller
// of that release. mirrorctl may refuse any form (the input is skipped) but never report another state.
// Lines kcm would not start with are out of scope here (lint reports them); an internal error is never
// acceptable.
//
// Run: go test ./manifests -run '^$' -fuzz FuzzCommandLine -fuzztime 60s
func FuzzCommandLine(f *testing.F) {
	// Seeds in literal names (endpointslicemirroring, bootstrapsigner and tokencleaner are known to
	// every release: aliases from 1.28).
	for _, s := range []string{
		"--controllers=*,bootstrapsigner,tokencleaner", "--controllers=endpointslicemirroring",
		"--controllers=*,endpointslicemirroring|--controllers=bootstrapsigner,tokencleaner",
		"--controllers=|--controllers=*", "--controllers=|--controllers=*,-endpointslicemirroring",
		`--controllers="tokencleaner",*`, `--controllers="*","-endpointslicemirroring"`,
		"--controllers|*,-endpointslicemirroring", "--controllers=-endpointslicemirroring|--controllers=*",
		"--v=2|--controllers=*|--controllers=", "--controllers=", "", "--controllers=*,,tokencleaner", `--controllers="a,b"`,
		"--controllers=endpointslicemirroring,-endpointslicemirroring,*", "--leader-elect=true|--controllers",
		"--controllers=-endpointslicemirroring,endpointslicemirroring|--controllers=*", "--controllers=*,B,T|--controllers=E",
	} {
		for r := range uint8(5) {
			f.Add(s, r, false, uint8(formPlain))
			f.Add(s, r, true, uint8(formPlain))
		}
	}
	// Seeds per form: the shell's quoting (bare, '…', "…" around a "'", empty words), and env values
	// that are empty, CSV-quoted, built from $$ or from another reference, and referenced twice.
	for _, s := range []struct {
		text string
		form uint8
	}{
		{"--controllers=*,-endpointslicemirroring", formShell}, {"--controllers=*|--v=2", formShell},
		{"--controllers=|--controllers=*,tokencleaner", formShell}, {`--controllers="*","-endpointslicemirroring"`, formShell},
		{"--controllers|*,-endpointslicemirroring", formShell}, {"--controllers=*,a b", formShell},
		{"--controllers=*|", formShell}, {"--controllers=*,it's", formShell}, {"--controllers=*,B,T|--controllers=E", formShell},
		{"--controllers=*,-endpointslicemirroring", formEnv}, {"--controllers=", formEnv},
		{"--controllers=*|--controllers=-endpointslicemirroring", formEnv}, {`--controllers="*",tokencleaner`, formEnv},
		{"--controllers=*,$$", formEnv}, {"--controllers=*|--v=$(CTRL)", formEnv}, {"--controllers=$(X)", formEnv},
		{"--controllers=-endpointslicemirroring|--controllers=*", formEnv}, {"--controllers=*,B,T|--controllers=E", formEnv},
	} {
		for r := range uint8(5) {
			f.Add(s.text, r, false, s.form)
			f.Add(s.text, r, true, s.form)
		}
	}
	rs := controllers.Releases()
	bin := standInKCM(f)
	f.Fuzz(func(t *testing.T, text string, ri uint8, enable bool, form uint8) {
		r := rs[int(ri)%len(rs)]
		data, ok := fuzzForm(fuzzArgv(text, r), r, form%forms)
		if !ok {
			return // this form cannot carry the line
		}
		argv, ok, err := kubeletArgv(t, bin, data)
		if err != nil {
			return // the kubelet refuses the file (a control character JSON leaves unescaped): no kcm runs
		}
		if !ok {
			t.Fatalf("the test's own shell script is not plain:\n%s", data)
		}
		// The shell passes the words the test quoted (the kubelet's expansion aside, and JSON's
		// replacement of invalid UTF-8 when the manifest is written).
		if form%forms == formShell && !strings.Contains(text, "$") && utf8.ValidString(text) && !slices.Equal(argv, fuzzArgv(text, r)) {
			t.Fatalf("/bin/sh passes %q, the test built %q", argv, fuzzArgv(text, r))
		}
		// Another flag in its two-token form ("--v --controllers=x": pflag takes the second token as
		// --v's value) is outside what controllers.Scan promises (it knows no other flag).
		if slices.ContainsFunc(argv, func(a string) bool {
			return strings.HasPrefix(a, "--") && a != "--" && a != controllers.Flag && !strings.Contains(a, "=")
		}) {
			return
		}
		list, parsed := kcmParse(argv)
		known := parsed && !slices.ContainsFunc(list, func(e string) bool {
			n := strings.TrimPrefix(e, "-")
			_, ok := r.Canonical[n]
			return e != "*" && !ok // kcm's Validate: an unknown controller is fatal
		})
		m, err := Parse(data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
			t.Skipf("refused: %v", err)
		}
		mirroring := r.MirroringName()
		reported, err := m.Mirroring()
		if err != nil {
			t.Skipf("refused: %v", err) // allowed for any line (mirrorctl is conservative)
		}
		if !known {
			return // kcm would not start (flags it cannot parse, arguments, unknown controllers); lint says so
		}
		if want := controllerstest.KCMEnabled(r, mirroring, list); reported != want {
			t.Fatalf("%s %q:\n%s\nreported enabled=%v, kcm runs it: %v (pflag list %q)", r.Minor, argv, data, reported, want, list)
		}
		op := controllers.Disable
		if enable {
			op = controllers.Enable
		}
		name, err := controllers.NameFor(controllers.ParseVersion(r.Minor), "")
		if err != nil {
			t.Fatal(err)
		}
		out, changed, err := m.Edit(op, name)
		if err != nil {
			if strings.Contains(err.Error(), "internal error") {
				t.Fatalf("%s %q: %s: %v", r.Minor, argv, op, err)
			}
			t.Skipf("%s refused: %v", op, err)
		}
		if changed == (reported == enable) {
			t.Fatalf("%s %q: %s changed=%v with mirroring enabled=%v", r.Minor, argv, op, changed, reported)
		}
		if _, err := Parse(out); err != nil {
			t.Fatalf("%s %q: edited manifest does not parse: %v", r.Minor, argv, err)
		}
		newArgv, ok, err := kubeletArgv(t, bin, out)
		if err != nil {
			t.Fatalf("%s %q: %s wrote a manifest the kubelet cannot decode: %v\n%s", r.Minor, argv, op, err, out)
		}
		if !ok {
			t.Fatalf("%s %q: %s wrote a script that is not plain words:\n%s", r.Minor, argv, op, out)
		}
		newList, ok := kcmParse(newArgv)
		if !ok {
			t.Fatalf("%s %q: %s wrote %q, which kcm's pflag refuses:\n%s", r.Minor, argv, op, newArgv, out)
		}
		if got := controllerstest.KCMEnabled(r, mirroring, newList); got != enable {
			t.Fatalf("%s %q: after %s %q kcm runs mirroring: %v\n%s", r.Minor, argv, op, newArgv, got, out)
		}
		for _, c := range r.Controllers() {
			if c != mirroring && controllerstest.KCMEnabled(r, c, list) != controllerstest.KCMEnabled(r, c, newList) {
				t.Fatalf("%s %q: %s %q switches controller %q from %v\n%s", r.Minor, argv, op, newArgv, c, controllerstest.KCMEnabled(r, c, list), out)
			}
		}
	})
}
