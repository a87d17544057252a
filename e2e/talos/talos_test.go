// Package talos holds oracle tests: Talos's own machine-config library (siderolabs/talos/pkg/machinery)
// loads, validates and patches what mirrorctl writes for Talos, on a machine config that same library
// generates the way `talosctl gen config` does.
package talos

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/siderolabs/talos/pkg/machinery/config"
	"github.com/siderolabs/talos/pkg/machinery/config/configloader"
	"github.com/siderolabs/talos/pkg/machinery/config/configpatcher"
	"github.com/siderolabs/talos/pkg/machinery/config/encoder"
	"github.com/siderolabs/talos/pkg/machinery/config/generate"
	"github.com/siderolabs/talos/pkg/machinery/config/machine"
	"github.com/siderolabs/talos/pkg/machinery/constants"
)

const (
	cpConfig = "/home/op/controlplane.yaml"
	patchOut = "/home/op/mirroring-patch.yaml"
)

// metal is the runtime mode of a Talos node installed on a machine (what `talosctl validate --mode
// metal` checks).
type metal struct{}

func (metal) String() string        { return "metal" }
func (metal) RequiresInstall() bool { return true }
func (metal) InContainer() bool     { return false }

func mirrorctlBin(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("MIRRORCTL_BIN")
	if bin == "" {
		t.Skip("MIRRORCTL_BIN is not set: run `make e2e` (it builds mirrorctl and runs this oracle)")
	}
	return bin
}

// mirrorctl runs mirrorctl -o json on root and returns its result object.
func mirrorctl(t *testing.T, root string, args ...string) map[string]any {
	t.Helper()
	cmd := exec.Command(mirrorctlBin(t), append([]string{"--root", root, "-o", "json"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("mirrorctl %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	var r map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("mirrorctl %s: stdout is not JSON: %v\n%s", strings.Join(args, " "), err, stdout.String())
	}
	return r
}

// load has Talos load and validate a machine config, as `talosctl validate --mode metal` does.
func load(t *testing.T, what string, data []byte) config.Provider {
	t.Helper()
	cfg, err := configloader.NewFromBytes(data)
	if err != nil {
		t.Fatalf("%s: Talos does not load it: %v\n%s", what, err, data)
	}
	if _, err := cfg.Validate(metal{}); err != nil {
		t.Fatalf("%s: Talos does not validate it: %v", what, err)
	}
	return cfg
}

func controllers(cfg config.Provider) []string {
	return cfg.Cluster().ControllerManager().ExtraArgs()["controllers"]
}

// withoutControllers is the config's text (without comments) with the controllers argument dropped, to
// compare the rest.
func withoutControllers(t *testing.T, cfg config.Provider) string {
	t.Helper()
	if len(controllers(cfg)) > 0 {
		patch, err := configpatcher.LoadPatch([]byte("cluster:\n  controllerManager:\n    extraArgs:\n      controllers:\n        $patch: delete\n"))
		if err != nil {
			t.Fatal(err)
		}
		out, err := configpatcher.Apply(configpatcher.WithConfig(cfg), []configpatcher.Patch{patch})
		if err != nil {
			t.Fatal(err)
		}
		if cfg, err = out.Config(); err != nil {
			t.Fatal(err)
		}
	}
	b, err := cfg.EncodeBytes(encoder.WithComments(encoder.CommentsDisabled))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestTalosAcceptsWhatMirrorctlWrites(t *testing.T) {
	mirrorctlBin(t)
	// talosctl gen config defaults: install disk /dev/sda.
	in, err := generate.NewInput("mirrorctl", "https://192.0.2.10:6443", constants.DefaultKubernetesVersion, generate.WithInstallDisk("/dev/sda"))
	if err != nil {
		t.Fatal(err)
	}
	gen, err := in.Config(machine.TypeControlPlane)
	if err != nil {
		t.Fatal(err)
	}
	orig, err := gen.EncodeBytes() // with the documentation comments, as talosctl gen config writes it
	if err != nil {
		t.Fatal(err)
	}
	origCfg := load(t, "the generated config", orig)
	if c := controllers(origCfg); len(c) != 0 {
		t.Fatalf("generated config already sets controllers: %q", c)
	}
	want := "*,tokencleaner,-endpointslice-mirroring-controller" // Talos's defaults, kcm 1.28+ name
	root := t.TempDir()
	host := filepath.Join(root, cpConfig)
	if err := os.MkdirAll(filepath.Dir(host), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func() {
		if err := os.WriteFile(host, orig, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("patch", func(t *testing.T) {
		write()
		r := mirrorctl(t, root, "disable", "--distro", "talos", "--talos-config", cpConfig, "--talos-patch-out", patchOut)
		if r["mirroring"] != "disabled" {
			t.Fatalf("result: %v", r)
		}
		patchText, err := os.ReadFile(filepath.Join(root, patchOut))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s:\n%s", patchOut, patchText)
		patch, err := configpatcher.LoadPatch(patchText)
		if err != nil {
			t.Fatalf("Talos does not load the patch: %v\n%s", err, patchText)
		}
		out, err := configpatcher.Apply(configpatcher.WithBytes(orig), []configpatcher.Patch{patch})
		if err != nil {
			t.Fatalf("Talos does not apply the patch: %v\n%s", err, patchText)
		}
		patchedBytes, err := out.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		patched := load(t, "the patched config", patchedBytes)
		if got := controllers(patched); !slices.Equal(got, []string{want}) {
			t.Errorf("patched config: controllers %q, want %q", got, want)
		}
		if a, b := withoutControllers(t, origCfg), withoutControllers(t, patched); a != b {
			t.Errorf("the patch changes more than the controllers argument")
		}
	})

	t.Run("rewrite, then enable", func(t *testing.T) {
		write()
		if r := mirrorctl(t, root, "disable", "--distro", "talos", "--talos-config", cpConfig); r["mirroring"] != "disabled" || r["changed"] != true {
			t.Fatalf("result: %v", r)
		}
		edited, err := os.ReadFile(host)
		if err != nil {
			t.Fatal(err)
		}
		cfg := load(t, "the rewritten config", edited)
		if got := controllers(cfg); !slices.Equal(got, []string{want}) {
			t.Errorf("rewritten config: controllers %q, want %q", got, want)
		}
		if a, b := withoutControllers(t, origCfg), withoutControllers(t, cfg); a != b {
			t.Errorf("the rewrite changes more than the controllers argument")
		}
		// Comments and layout survive: only the lines of the controllers argument differ.
		if added := len(strings.Split(string(edited), "\n")) - len(strings.Split(string(orig), "\n")); added < 0 || added > 2 {
			t.Errorf("rewrite changed the line count by %d", added)
		}

		if r := mirrorctl(t, root, "enable", "--distro", "talos", "--talos-config", cpConfig); r["mirroring"] != "enabled" {
			t.Fatalf("result: %v", r)
		}
		enabledBytes, err := os.ReadFile(host)
		if err != nil {
			t.Fatal(err)
		}
		enabled := load(t, "the config after enable", enabledBytes)
		t.Logf("after disable: controllers %q; after enable: %q", controllers(cfg), controllers(enabled))
		for _, c := range controllers(enabled) {
			for _, e := range strings.Split(c, ",") {
				if strings.HasPrefix(e, "-endpointslice") {
					t.Errorf("after enable, controllers still %q", c)
				}
			}
		}
		if a, b := withoutControllers(t, origCfg), withoutControllers(t, enabled); a != b {
			t.Errorf("enable changes more than the controllers argument")
		}
	})
}
