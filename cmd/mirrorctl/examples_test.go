package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/mirrorctl/mirrorctl/golden"
)

// Every example in the README's Examples section and in each command's help text runs here, on a
// temp copy of the sample node (MIRRORCTL_ROOT; "/mnt/node" in an example stands for that root, "ID"
// for the newest snapshot). An example that stops working fails the build, so the docs cannot rot.

var exampleLine = regexp.MustCompile(`^\s*(?:\$ )?(mirrorctl(?:\s.*)?)$`)

// clusterCommands talk to an API server; their examples run in the e2e suite against a real
// kube-apiserver (e2e/suite/cluster_test.go), not here.
var clusterCommands = map[string]bool{"audit": true, "skip": true, "adopt": true, "prune-endpoints": true}

func helpExamples(cmds []*cli.Command) []string {
	var out []string
	for _, c := range cmds {
		if clusterCommands[c.Name] {
			continue
		}
		if i := strings.Index(c.Description, "Examples:"); i >= 0 {
			for _, l := range strings.Split(c.Description[i:], "\n")[1:] {
				if m := exampleLine.FindStringSubmatch(l); m != nil {
					out = append(out, m[1])
				}
			}
		}
		out = append(out, helpExamples(c.Subcommands)...)
	}
	return out
}

// readmeExamples returns every mirrorctl command line in the README's fenced blocks, in order.
// Synopsis lines ("snapshots list|show ID|prune") and commands that need an API server (audit, skip,
// --kubeconfig: the e2e suite runs them against a real kube-apiserver) are left out.
func readmeExamples(t *testing.T) []string {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	in := false
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "```") {
			in = !in
			continue
		}
		if !in {
			continue
		}
		if k := strings.Index(l, " #"); k >= 0 {
			l = l[:k]
		}
		l = strings.TrimSpace(l)
		m := exampleLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		args := splitArgs(m[1])
		joined := strings.Join(args, " ")
		if synopsis.MatchString(joined) || strings.Contains(joined, "--kubeconfig") || len(args) > 1 && clusterCommands[firstCommand(args[1:])] {
			continue
		}
		out = append(out, m[1])
	}
	return out
}

// synopsis matches the README's synopsis lines: alternatives ("a|b"), optional parts ("[--fix]"),
// ellipses and placeholders in capitals (FILE, NS; ID alone is replaced by a real snapshot id).
var synopsis = regexp.MustCompile(`[|\[…]|\b(FILE|NS|N|D)\b`)

// firstCommand skips global flags and returns the command name.
func firstCommand(args []string) string {
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-o" || a == "--output" || a == "--root" || a == "--state-dir" || a == "--color":
			i++
		case strings.HasPrefix(a, "-"):
		default:
			return a
		}
	}
	return ""
}

// splitArgs splits a command line on spaces, honouring single and double quotes; pipes and
// redirections end it (what follows is for the shell, not for mirrorctl).
func splitArgs(line string) []string {
	var args []string
	var cur strings.Builder
	quote := rune(0)
	have := false
	for _, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, have = r, true
		case r == ' ' || r == '\t':
			if have || cur.Len() > 0 {
				args = append(args, cur.String())
				cur.Reset()
				have = false
			}
		case r == '|' || r == '>' || r == '<':
			if cur.Len() > 0 {
				args = append(args, cur.String())
			}
			return args
		default:
			cur.WriteRune(r)
		}
	}
	if have || cur.Len() > 0 {
		args = append(args, cur.String())
	}
	return args
}

// exampleFiles writes each -f file an example names, in the current directory, from the testdata case
// of its kind.
func exampleFiles(t *testing.T, args []string) {
	t.Helper()
	for i, a := range args {
		if a != "-f" || i+1 == len(args) {
			continue
		}
		src := "capi-kcp-v1beta2-simple-cluster"
		if strings.Contains(args[i+1], "group_vars") {
			src = "kubespray-sample-k8s-cluster-kube-version"
		}
		b, err := os.ReadFile(filepath.Join(moduleRootDir, "testdata/distros/files", src, "input.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		golden.WriteFile(t, args[i+1], b)
	}
}

func runExamples(t *testing.T, lines []string) {
	root := newNode(t)
	t.Setenv("MIRRORCTL_ROOT", root)
	t.Chdir(t.TempDir()) // examples save plan files in the current directory
	for _, l := range lines {
		args := splitArgs(strings.ReplaceAll(l, "<hex>", "HEX"))
		for i, a := range args {
			switch a {
			case "HEX":
				// The sha256 the plan's save printed: the plan file's own digest.
				if b, err := os.ReadFile(args[len(args)-1]); err == nil {
					args[i] = fmt.Sprintf("%x", sha256.Sum256(b))
				}
			case "/mnt/node":
				args[i] = root
			case "ID":
				r := run(t, "--root", root, "-o", "json", "snapshots", "list")
				if m := regexp.MustCompile(`"id": "([^"]+)"`).FindStringSubmatch(r.stdout); m != nil {
					args[i] = m[1]
				}
			}
		}
		if slices.Contains(args, "-f") {
			// -f names repository files on this machine (never under --root): the example's files are
			// real ones from testdata, put where the example names them.
			exampleFiles(t, args)
			t.Setenv("MIRRORCTL_ROOT", "/")
		}
		r := run(t, args[1:]...)
		t.Setenv("MIRRORCTL_ROOT", root)
		if r.code != 0 {
			t.Errorf("example %q: exit %d: %s", l, r.code, r.stderr)
		}
	}
}

func TestHelpExamplesRun(t *testing.T) {
	ex := helpExamples(newApp(nil, nil).Commands)
	if len(ex) < 5 {
		t.Fatalf("found only %d help examples", len(ex))
	}
	runExamples(t, ex)
}

func TestReadmeExamplesRun(t *testing.T) {
	ex := readmeExamples(t)
	if len(ex) < 15 {
		t.Fatalf("found only %d README examples", len(ex))
	}
	runExamples(t, ex)
}
