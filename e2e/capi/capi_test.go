// Package capi holds oracle tests: Cluster API's own API types (sigs.k8s.io/cluster-api v1.11.0, which
// serves v1beta1 and v1beta2) decode, strictly, every KubeadmControlPlane and KubeadmControlPlaneTemplate
// the real mirrorctl binary writes with -f, and say the same as the input about everything but
// controllerManager's controllers argument. Rendering the result through kubeadm is the next step.
package capi

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	bootstrapv1beta2 "sigs.k8s.io/cluster-api/api/bootstrap/kubeadm/v1beta2"
	cpv1beta1 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta1"
	cpv1beta2 "sigs.k8s.io/cluster-api/api/controlplane/kubeadm/v1beta2"
	"sigs.k8s.io/yaml"
)

const cases = "../../testdata/distros/files"

// object is what one KubeadmControlPlane(Template) document says: its controllerManager extraArgs as
// name → value, and the rest of the object with them left out.
type object struct {
	args map[string]string
	rest any
}

// decode reads every KubeadmControlPlane(Template) document of a file with Cluster API's types,
// refusing unknown fields.
func decode(t *testing.T, data []byte) []object {
	t.Helper()
	var out []object
	for _, doc := range strings.Split("\n"+string(data), "\n---") {
		var meta struct{ APIVersion, Kind string }
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil || !strings.HasPrefix(meta.APIVersion, "controlplane.cluster.x-k8s.io/") {
			continue
		}
		// Template variables of the providers' cluster templates, where a number is due.
		doc = strings.ReplaceAll(doc, "${CONTROL_PLANE_MACHINE_COUNT}", "3")
		var o object
		switch meta.APIVersion + " " + meta.Kind {
		case "controlplane.cluster.x-k8s.io/v1beta1 KubeadmControlPlane":
			var k cpv1beta1.KubeadmControlPlane
			strict(t, doc, &k)
			cc := k.Spec.KubeadmConfigSpec.ClusterConfiguration
			if cc != nil {
				o.args, cc.ControllerManager.ExtraArgs = cc.ControllerManager.ExtraArgs, nil
			}
			o.rest = k
		case "controlplane.cluster.x-k8s.io/v1beta1 KubeadmControlPlaneTemplate":
			var k cpv1beta1.KubeadmControlPlaneTemplate
			strict(t, doc, &k)
			cc := k.Spec.Template.Spec.KubeadmConfigSpec.ClusterConfiguration
			if cc != nil {
				o.args, cc.ControllerManager.ExtraArgs = cc.ControllerManager.ExtraArgs, nil
			}
			o.rest = k
		case "controlplane.cluster.x-k8s.io/v1beta2 KubeadmControlPlane":
			var k cpv1beta2.KubeadmControlPlane
			strict(t, doc, &k)
			cm := &k.Spec.KubeadmConfigSpec.ClusterConfiguration.ControllerManager
			o.args, cm.ExtraArgs = listArgs(t, cm.ExtraArgs), nil
			o.rest = k
		case "controlplane.cluster.x-k8s.io/v1beta2 KubeadmControlPlaneTemplate":
			var k cpv1beta2.KubeadmControlPlaneTemplate
			strict(t, doc, &k)
			cm := &k.Spec.Template.Spec.KubeadmConfigSpec.ClusterConfiguration.ControllerManager
			o.args, cm.ExtraArgs = listArgs(t, cm.ExtraArgs), nil
			o.rest = k
		default:
			continue
		}
		out = append(out, o)
	}
	return out
}

func strict(t *testing.T, doc string, v any) {
	t.Helper()
	if err := yaml.UnmarshalStrict([]byte(doc), v); err != nil {
		t.Fatalf("Cluster API's types refuse the document: %v\n%s", err, doc)
	}
}

// listArgs is a v1beta2 list as a map; Cluster API requires unique names (a CEL rule the API server
// runs), so a repeated name fails here.
func listArgs(t *testing.T, args []bootstrapv1beta2.Arg) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, a := range args {
		if _, dup := m[a.Name]; dup {
			t.Fatalf("extraArgs: %s twice (Cluster API requires unique names)", a.Name)
		}
		if a.Value == nil {
			t.Fatalf("extraArgs: %s has no value", a.Name)
		}
		m[a.Name] = *a.Value
	}
	return m
}

// mirroringOff is kcm's IsControllerEnabled for the mirroring controller on one --controllers value.
func mirroringOff(value string) bool {
	star := false
	for _, e := range strings.Split(value, ",") {
		switch e {
		case "endpointslicemirroring", "endpointslice-mirroring-controller":
			return false
		case "-endpointslicemirroring", "-endpointslice-mirroring-controller":
			return true
		case "*":
			star = true
		}
	}
	return !star
}

func TestClusterAPIDecodesWhatMirrorctlWrites(t *testing.T) {
	bin := os.Getenv("MIRRORCTL_BIN")
	if bin == "" {
		t.Skip("MIRRORCTL_BIN not set (e2e/run.sh sets it)")
	}
	dirs, _ := filepath.Glob(filepath.Join(cases, "capi-kcp*"))
	if len(dirs) < 5 {
		t.Fatalf("only %d Cluster API cases under %s", len(dirs), cases)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join(dir, "input.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			edited, err := disableDryRun(t, bin, in)
			if err != nil {
				if strings.Contains(dir, "topology") || strings.Contains(dir, "v1alpha4") {
					return // refused by design (result-disable.txt says why)
				}
				t.Fatalf("mirrorctl: %v", err)
			}
			before, after := decode(t, in), decode(t, edited)
			if len(before) == 0 || len(before) != len(after) {
				t.Fatalf("%d objects before, %d after", len(before), len(after))
			}
			for i := range after {
				if !reflect.DeepEqual(before[i].rest, after[i].rest) {
					t.Errorf("object %d: the edit changes more than controllerManager.extraArgs", i)
				}
				for k, v := range before[i].args {
					if k != "controllers" && after[i].args[k] != v {
						t.Errorf("object %d: extraArgs %s changed from %q to %q", i, k, v, after[i].args[k])
					}
				}
				if len(after[i].args) != len(before[i].args)+map[bool]int{true: 0, false: 1}[before[i].args["controllers"] != ""] {
					t.Errorf("object %d: extraArgs %v from %v: one controllers entry at most may be added", i, after[i].args, before[i].args)
				}
				if c := after[i].args["controllers"]; !mirroringOff(c) {
					t.Errorf("object %d: controllers %q leaves mirroring on", i, c)
				}
			}
		})
	}
}

// disableDryRun is what `mirrorctl -o json disable --dry-run -f` makes of one file: its new bytes, or
// the error of a refusal.
func disableDryRun(t *testing.T, bin string, in []byte) ([]byte, error) {
	t.Helper()
	work := t.TempDir()
	if err := os.WriteFile(filepath.Join(work, "in.yaml"), in, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-o", "json", "disable", "--dry-run", "-f", "in.yaml")
	cmd.Dir = work
	out, err := cmd.Output()
	if err != nil {
		return nil, err
	}
	var res struct {
		Diff []struct{ After string } `json:"diff"`
	}
	if err := yaml.Unmarshal(out, &res); err != nil || len(res.Diff) != 1 {
		t.Fatalf("result: %v\n%s", err, out)
	}
	return []byte(res.Diff[0].After), nil
}
