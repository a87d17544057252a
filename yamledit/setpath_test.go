package yamledit

import (
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

func firstDoc(f *File) *yaml.Node {
	if len(f.Docs) == 0 {
		return nil
	}
	return f.Docs[0]
}

// setPath edits only where the change is, in every shape the value's parents can have.
func TestSetPath(t *testing.T) {
	path := []string{"spec", "cm", "extraArgs", "controllers"}
	for _, c := range []struct{ name, in, want string }{
		{"empty file", "", "spec:\n  cm:\n    extraArgs:\n      controllers: \"v\"\n"},
		{"comment only", "# c\n", "# c\nspec:\n  cm:\n    extraArgs:\n      controllers: \"v\"\n"},
		{"no trailing newline", "spec:\n  a: 1", "spec:\n  a: 1\n  cm:\n    extraArgs:\n      controllers: \"v\""},
		{"crlf", "spec:\r\n  a: 1\r\n", "spec:\r\n  a: 1\r\n  cm:\r\n    extraArgs:\r\n      controllers: \"v\"\r\n"},
		{"null parent", "spec:\n  cm:\n", "spec:\n  cm:\n    extraArgs:\n      controllers: \"v\"\n"},
		{"null with comment", "spec:\n  cm: ~ # later\n", "spec:\n  cm: # later\n    extraArgs:\n      controllers: \"v\"\n"},
		{"empty flow parent", "spec:\n  cm: {}\nnext: 1\n", "spec:\n  cm:\n    extraArgs:\n      controllers: \"v\"\nnext: 1\n"},
		{"four-space indent", "spec:\n    cm:\n        extraArgs:\n            x: y\n", "spec:\n    cm:\n        extraArgs:\n            x: y\n            controllers: \"v\"\n"},
		{"trailing comment stays below", "spec:\n  cm:\n    extraArgs:\n      x: y\n# end\n", "spec:\n  cm:\n    extraArgs:\n      x: y\n      controllers: \"v\"\n# end\n"},
		{"nested block after", "spec:\n  cm:\n    extraArgs:\n      x: |\n        text\n\n  other: 1\n", "spec:\n  cm:\n    extraArgs:\n      x: |\n        text\n      controllers: \"v\"\n\n  other: 1\n"},
		{"replace plain", "spec:\n  cm:\n    extraArgs:\n      controllers: old # why\n", "spec:\n  cm:\n    extraArgs:\n      controllers: v # why\n"},
		{"replace single-quoted", "spec:\n  cm:\n    extraArgs:\n      controllers: 'old'\n", "spec:\n  cm:\n    extraArgs:\n      controllers: 'v'\n"},
		{"empty value", "spec:\n  cm:\n    extraArgs:\n      controllers:\n", "spec:\n  cm:\n    extraArgs:\n      controllers: \"v\"\n"},
		{"unchanged", "spec:\n  cm:\n    extraArgs:\n      controllers: v\n", "spec:\n  cm:\n    extraArgs:\n      controllers: v\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := Parse([]byte(c.in), ConfigFile)
			if err != nil {
				t.Fatal(err)
			}
			edits, err := f.SetPath(firstDoc(f), "", path, "v")
			if err != nil {
				t.Fatal(err)
			}
			out, err := Apply(f.Data, edits)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != c.want {
				t.Errorf("got\n%q\nwant\n%q", out, c.want)
			}
		})
	}
	for _, bad := range []string{"spec: [a]\n", "spec:\n  cm: text\n", "spec:\n  cm: {a: b}\n"} {
		f, err := Parse([]byte(bad), ConfigFile)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.SetPath(firstDoc(f), "", path, "v"); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
