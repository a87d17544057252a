package lint

import (
	"os"
	"strings"
	"testing"

	"github.com/pmezard/go-difflib/difflib"
)

// FuzzRemoveGates: for any static pod manifest with an EndpointSliceMirroring gate, the fix either
// fails with one line or yields a Pod manifest without the gate where every removed or changed line is
// a --feature-gates line (or the value line after a bare --feature-gates), and nothing is added.
//
// Run: go test ./lint -run '^$' -fuzz FuzzRemoveGates -fuzztime 60s -fuzzminimizetime 200x
func FuzzRemoveGates(f *testing.F) {
	api, err := os.ReadFile("testdata/kube-apiserver.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(api)
	s := string(api)
	gate := "    - --feature-gates=EndpointSliceMirroring=false\n"
	for _, v := range []string{
		"    - --feature-gates=A=true,EndpointSliceMirroring=false, B=false\n",
		"    - \"--feature-gates=EndpointSliceMirroring=false\" # blog\n",
		"    - --feature-gates\n    - 'EndpointSliceMirroring=false,X=true'\n",
		"    - --feature-gates\n    - EndpointSliceMirroring=false\n    - --feature-gates=EndpointSliceMirroring=true\n",
	} {
		f.Add([]byte(strings.Replace(s, gate, v, 1)))
		f.Add([]byte(strings.ReplaceAll(strings.Replace(s, gate, v, 1), "\n", "\r\n")))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64<<10 {
			return
		}
		doc, err := parsePod(data)
		if err != nil {
			return
		}
		p := &podFile{path: "/x", data: data, doc: doc}
		items := gateItems(p)
		if len(items) == 0 {
			return
		}
		out, err := removeGates(data, items)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		doc2, err := parsePod(out)
		if err != nil {
			t.Fatalf("fixed manifest does not parse: %v\ninput %q\noutput %q", err, data, out)
		}
		if left := gateItems(&podFile{path: "/x", data: out, doc: doc2}); len(left) > 0 {
			t.Fatalf("gate left: %q\ninput %q\noutput %q", left[0].item, data, out)
		}
		a := splitLines(string(data))
		b := splitLines(string(out))
		gateLine := func(lines []string, i int) bool {
			return strings.Contains(lines[i], "--feature-gates") ||
				i > 0 && strings.Contains(lines[i-1], "--feature-gates")
		}
		for _, op := range difflib.NewMatcher(a, b).GetOpCodes() {
			if op.Tag == 'e' {
				continue
			}
			for i := op.I1; i < op.I2; i++ {
				if !gateLine(a, i) {
					t.Fatalf("line %d changed and is not a --feature-gates line: %q\ninput %q\noutput %q", i+1, a[i], data, out)
				}
			}
			for j := op.J1; j < op.J2; j++ {
				if !gateLine(b, j) {
					t.Fatalf("new line %d is not a --feature-gates line: %q\ninput %q\noutput %q", j+1, b[j], data, out)
				}
			}
		}
	})
}

// splitLines splits after each newline, ending the last line with one if it lacks it, so that adding
// a line after (or removing the line before) a last line without a newline shows as that one line.
// (difflib.SplitLines appends "\n" to the last element, inventing an empty line.)
func splitLines(s string) []string {
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	lines := strings.SplitAfter(s, "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}
