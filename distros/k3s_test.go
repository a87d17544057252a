package distros

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/nodefs"
	"github.com/mirrorctl/mirrorctl/snapshot"
)

func TestK3sGolden(t *testing.T)  { kitRunGolden(t, mustGet(t, "k3s")) }
func TestRKE2Golden(t *testing.T) { kitRunGolden(t, mustGet(t, "rke2")) }

func mustGet(t testing.TB, name string) Adapter {
	t.Helper()
	a, err := Get(name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// The k3s docs' "Multiple Config Files" example: config.yaml plus two drop-ins, and the merged result
// the docs state (k3s-io/docs docs/installation/configuration.md).
func TestRancherMergeDocsExample(t *testing.T) {
	dir := filepath.Join("..", "testdata", "distros", "k3s", "docs-multi-config")
	r := kitRoot(t, filepath.Join(dir, "root"))
	k := mustGet(t, "k3s").(k3s)
	paths, err := k.listFiles(r)
	if err != nil {
		t.Fatal(err)
	}
	wantOrder := []string{"/etc/rancher/k3s/config.yaml", "/etc/rancher/k3s/config.yaml.d/test1.yaml", "/etc/rancher/k3s/config.yaml.d/test2.yaml"}
	if !reflect.DeepEqual(paths, wantOrder) {
		t.Fatalf("load order %v, want %v", paths, wantOrder)
	}
	var files []*rancherFile
	for _, p := range paths {
		f, err := r.ReadFile(p, false)
		if err != nil {
			t.Fatal(err)
		}
		rf, err := parseRancherFile(f)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, rf)
	}
	got, err := mergeRancher(files)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "expected-merged.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	exp, err := parseRancherFile(&nodefs.File{Path: "expected-merged.yaml", Data: data, Exists: true})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := mergeRancher([]*rancherFile{exp})
	if !reflect.DeepEqual(got.all, want.all) {
		t.Errorf("merged\n%v\nwant\n%v", got.all, want.all)
	}
}

// GetArgs semantics (k3s pkg/util/args.go), checked value by value.
func TestRancherControllers(t *testing.T) {
	const def = rancherDefaultControllersCloud
	cases := []struct {
		name string
		args []string
		want []string // one string per --controllers flag
	}{
		{"none", nil, []string{def}},
		{"other flags only", []string{"v=2", "bind-address=0.0.0.0"}, []string{def}},
		{"replace drops the default", []string{"controllers=*,-nodeipam"}, []string{"*,-nodeipam"}},
		{"append keeps the default", []string{"controllers+=-nodeipam"}, []string{def, "-nodeipam"}},
		{"prepend goes first", []string{"controllers-=-foo"}, []string{"-foo", def}},
		{"two replaces both stay", []string{"controllers=a", "controllers=b"}, []string{"a", "b"}},
		{"append after replace: default gone", []string{"controllers=a", "controllers+=b"}, []string{"a", "b"}},
		{"prepend after append", []string{"controllers+=a", "controllers-=b"}, []string{"b", def, "a"}},
		{"leading dashes", []string{"--controllers=x"}, []string{"x"}},
		{"no value", []string{"controllers"}, []string{"true"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, o := range rancherControllers(def, c.args) {
				got = append(got, strings.Join(o, ","))
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestRancherDefaultFollowsCloudController(t *testing.T) {
	for _, c := range []struct {
		distro, config, want string
	}{
		{"k3s", "", rancherDefaultControllersCloud},
		{"k3s", "disable-cloud-controller: true\n", rancherDefaultControllers},
		{"k3s", "disable-cloud-controller: false\n", rancherDefaultControllersCloud},
		{"k3s", "cloud-provider-name: aws\n", rancherDefaultControllersCloud},
		{"rke2", "cloud-provider-name: aws\n", rancherDefaultControllers},
		{"rke2", "", rancherDefaultControllersCloud},
	} {
		a := mustGet(t, c.distro)
		r := kitRoot(t, "")
		kitWrite(t, r, "/etc/rancher/"+c.distro+"/config.yaml", c.config)
		s, err := a.Status(Options{Root: r})
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Files[0].Controllers; got != c.want {
			t.Errorf("%s %q: controllers %q, want %q", c.distro, c.config, got, c.want)
		}
	}
}

func TestRancherDetect(t *testing.T) {
	for _, c := range []struct {
		name  string
		paths []string
		want  map[string]bool
	}{
		{"empty", nil, map[string]bool{}},
		{"k3s config", []string{"/etc/rancher/k3s/config.yaml"}, map[string]bool{"k3s": true}},
		{"k3s data only", []string{"/var/lib/rancher/k3s/server/token"}, map[string]bool{"k3s": true}},
		{"rke2", []string{"/etc/rancher/rke2/config.yaml", RKE2PodManifest}, map[string]bool{"rke2": true}},
		{"both", []string{"/etc/rancher/rke2/config.yaml", "/etc/rancher/k3s/config.yaml"}, map[string]bool{"k3s": true, "rke2": true}},
	} {
		r := kitRoot(t, "")
		for _, p := range c.paths {
			kitWrite(t, r, p, "")
		}
		for _, n := range []string{"k3s", "rke2"} {
			if got := len(mustGet(t, n).Detect(r)) > 0; got != c.want[n] {
				t.Errorf("%s: %s detected=%v", c.name, n, got)
			}
		}
	}
}

// A drop-in written by enable (no entry) is kept as is by a later enable and replaced by disable.
func TestRancherEnableDisableCycle(t *testing.T) {
	a := mustGet(t, "k3s")
	r := kitRoot(t, filepath.Join("..", "testdata", "distros", "k3s", "user-disabled", "root"))
	o := Options{Root: r, Op: controllers.Enable}
	orig := kitState(t, a, o)
	for i, op := range []controllers.Op{controllers.Enable, controllers.Disable, controllers.Enable, controllers.Disable} {
		o.Op = op
		p, err := a.Plan(o)
		if err != nil {
			t.Fatalf("step %d %s: %v", i, op, err)
		}
		kitApply(t, r, p)
		if s := kitState(t, a, o); !strings.HasPrefix(s, change.StateOf(op == controllers.Enable)) {
			t.Fatalf("step %d %s: %s", i, op, s)
		}
	}
	if got := kitState(t, a, o); got != orig {
		t.Errorf("after the cycle %s, before %s", got, orig)
	}
}

func FuzzRancherConfig(f *testing.F) {
	for _, s := range []string{
		"kube-controller-manager-arg:\n  - controllers=*,-foo\n",
		"kube-controller-manager-arg+: controllers+=-nodeipam\n",
		"disable-cloud-controller: true\n",
		"",
		"a: [\n",
	} {
		f.Add(s)
	}
	a := mustGet(f, "k3s")
	f.Fuzz(func(t *testing.T, cfg string) {
		r := kitRoot(t, "")
		kitWrite(t, r, "/etc/rancher/k3s/config.yaml", cfg)
		for _, op := range []controllers.Op{controllers.Disable, controllers.Enable} {
			p, err := a.Plan(Options{Root: r, Op: op})
			if err != nil {
				continue
			}
			kitApply(t, r, p)
			again, err := a.Plan(Options{Root: r, Op: op})
			if err != nil {
				t.Fatalf("%s: re-plan fails: %v", op, err)
			}
			if again.Changed() {
				t.Fatalf("%s: re-plan changes again", op)
			}
		}
	})
}

// When the other files change between runs, the drop-in's entry flips and the file is rewritten.
func TestRancherDropInFlips(t *testing.T) {
	a := mustGet(t, "k3s")
	r := kitRoot(t, "")
	kitWrite(t, r, "/etc/rancher/k3s/config.yaml", "token: x\n")
	p, err := a.Plan(Options{Root: r, Op: controllers.Disable})
	if err != nil {
		t.Fatal(err)
	}
	kitApply(t, r, p)
	// The operator now disables mirroring in config.yaml too, then asks for enable.
	kitWrite(t, r, "/etc/rancher/k3s/config.yaml", "kube-controller-manager-arg: [controllers=*,-endpointslicemirroring]\n")
	p, err = a.Plan(Options{Root: r, Op: controllers.Enable})
	if err != nil {
		t.Fatal(err)
	}
	if p.Mirroring != change.Enabled || !p.Changed() {
		t.Fatalf("enable: mirroring %s, changed %v", p.Mirroring, p.Changed())
	}
	kitApply(t, r, p)
	if s := kitState(t, a, Options{Root: r}); !strings.HasPrefix(s, change.Enabled) {
		t.Errorf("after enable: %s", s)
	}
}

// k3s disable creates config.yaml.d/ for its drop-in; rollback removes the drop-in and the folder, so
// the node is as before, folder for folder.
func TestK3sRollbackRemovesCreatedDropInFolder(t *testing.T) {
	a := mustGet(t, "k3s")
	r := kitRoot(t, filepath.Join("..", "testdata", "distros", "k3s", "cis-sample", "root"))
	dropins := r.Host("/etc/rancher/k3s/config.yaml.d")
	if _, err := os.Lstat(dropins); !os.IsNotExist(err) {
		t.Fatalf("the sample already has %s (%v)", dropins, err)
	}
	p, err := a.Plan(Options{Root: r, Op: controllers.Disable})
	if err != nil {
		t.Fatal(err)
	}
	s := snapshot.Open(r, "/var/lib/mirrorctl")
	unlock, err := s.Lock(0)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	id, err := s.Commit(p.Files, snapshot.Info{Op: "disable", Distro: "k3s"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dropins); err != nil {
		t.Fatalf("disable wrote no drop-in folder: %v", err)
	}
	if _, _, _, err := s.Rollback(id, false, snapshot.Info{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(dropins); !os.IsNotExist(err) {
		t.Errorf("rollback left %s (%v)", dropins, err)
	}
}

// A broken kube-controller-manager-arg entry that a later file's plain key replaces never reaches kcm
// (k3s's readConfigFile drops the list so far), so it is no error; one that survives still is, named
// by the file that holds it.
func TestRancherReplacedBrokenEntryIsNoError(t *testing.T) {
	a := mustGet(t, "k3s")
	const broken = "kube-controller-manager-arg:\n  - controllers=*, foo\n"
	for _, tc := range []struct {
		name, dropIn string
		wantErr      string
	}{
		{"replaced by a drop-in", "kube-controller-manager-arg:\n  - controllers=*,-foo\n", ""},
		{"appended to by a drop-in", "kube-controller-manager-arg+:\n  - controllers=*,-foo\n", "/etc/rancher/k3s/config.yaml: kube-controller-manager-arg: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := kitRoot(t, "")
			kitWrite(t, r, "/etc/rancher/k3s/config.yaml", broken)
			kitWrite(t, r, "/etc/rancher/k3s/config.yaml.d/50-user.yaml", tc.dropIn)
			for _, op := range []controllers.Op{controllers.Disable, controllers.Enable} {
				p, err := a.Plan(Options{Root: r, Op: op})
				if tc.wantErr != "" {
					if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
						t.Fatalf("%s: err %v, want it to start with %q", op, err, tc.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatalf("%s: %v", op, err)
				}
				kitApply(t, r, p)
				if s := kitState(t, a, Options{Root: r}); !strings.HasPrefix(s, change.StateOf(op == controllers.Enable)) {
					t.Fatalf("after %s: %s", op, s)
				}
			}
		})
	}
}
