package distros

import (
	"strings"
	"testing"
)

// The k0s and MicroK8s readers find --controllers with controllers.Scan/Occurrences, on the command line
// kcm gets: rawArgs end it, and kubelite builds it from the args file's lines.
func TestK0sRawArgsFlags(t *testing.T) {
	cfg := func(raw string) []byte {
		return []byte("apiVersion: k0s.k0sproject.io/v1beta1\nkind: ClusterConfig\nspec:\n  controllerManager:\n    rawArgs: [" + raw + "]\n")
	}
	for _, tt := range []struct {
		raw, want, err string
	}{
		{"--v=2", "", ""},
		{"--controllers=a, --controllers, b", "a,b", ""},
		{"--controllers-foo=x, --controllers=a", "a", ""},
		{"--controllers=a, --, --controllers=b", "a", ""}, // "--" ends kcm's flags
		{"--controllers=", "", "empty --controllers value"},
		{"--controllers=a, --controllers", "", "--controllers is the last argument and has no value"},
		{"'--controllers=*, -x', --controllers", "", `entry " -x" contains whitespace`},
	} {
		st, err := k0sRead(cfg(tt.raw))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.HasPrefix(err.Error(), "spec.controllerManager.rawArgs: ") {
				t.Errorf("rawArgs [%s]: error %v, want %q", tt.raw, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("rawArgs [%s]: %v", tt.raw, err)
			continue
		}
		if st.extraRaw != tt.want {
			t.Errorf("rawArgs [%s]: %q, want %q", tt.raw, st.extraRaw, tt.want)
		}
	}
}

func TestMicroK8sArgsFlags(t *testing.T) {
	for _, tt := range []struct {
		file, want, err string
	}{
		{"--v=2\n--controllers=*,-foo\n", "*,-foo", ""},
		{"--controllers *\n# --controllers=x\n--controllers 'a,b'\r\n", "*,a,b", ""},
		{"--controllers-foo=x\n", "", ""},
		{"--v=2 --controllers=*\n", "", "line 1: more than one argument"},
		{"--controllers=* --v=2\n", "", "line 1: more than one argument"},
		{"--controllers  *\n", "", "line 1: more than one argument"}, // kubelite splits on each space
		{"--controllers\n*\n", "", "line 1: --controllers without a value"},
		{"--v=2\n--controllers\n", "", "line 2: --controllers without a value"},
		{"\"--controllers=*\"\n", "", "line 1: quoted --controllers flag"},
		{"--controllers=*,'foo'\n", "", "line 1: --controllers=*,'foo': entry \"'foo'\" contains whitespace or quotes"},
		{"--controllers=\n", "", "line 1: --controllers with an empty value"},
	} {
		_, flags, err := mk8sParse([]byte(tt.file))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: error %v, want %q", tt.file, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.file, err)
			continue
		}
		var vals []string
		for _, o := range mk8sOccurrences(flags) {
			vals = append(vals, o...)
		}
		if got := strings.Join(vals, ","); got != tt.want {
			t.Errorf("%q: %q, want %q", tt.file, got, tt.want)
		}
	}
}
