package distros

// MicroK8s runs kube-controller-manager inside kubelite, which reads its flags from an args file
// (canonical/microk8s microk8s-resources/default-args/kube-controller-manager; kubelite's
// options.ReadArgsFromFile): each line trimmed, lines starting with "#" skipped, every ' and " removed,
// then split on spaces into arguments. MicroK8s sets no --controllers, so kcm's own default "*" applies.

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mirrorctl/mirrorctl/change"
	"github.com/mirrorctl/mirrorctl/controllers"
	"github.com/mirrorctl/mirrorctl/nodefs"
)

// Paths on a MicroK8s node.
const (
	MicroK8sArgs     = "/var/snap/microk8s/current/args/kube-controller-manager"
	microk8sSnapDir  = "/var/snap/microk8s"
	microk8sSnapMeta = "/snap/microk8s/current/meta/snap.yaml"
	microk8sKind     = "microk8s-args"
)

type microk8s struct{}

var _ = register(microk8s{})

func (microk8s) Name() string { return "microk8s" }

func (microk8s) Inputs() []Input { return nil }

// Activation: kubelite reads the args file when it starts.
func (microk8s) Activation() Activation {
	return Activation{Kind: ByServiceRestart, Command: []string{"snap", "restart", "microk8s.daemon-kubelite"}}
}

// Layout: kubelite runs kcm in process, with the kubeconfig its default args file names.
func (microk8s) Layout() Layout {
	return Layout{KCMKubeconfig: "/var/snap/microk8s/current/credentials/controller.config"}
}

func (microk8s) Detect(r nodefs.Root) []string {
	if r.Exists(microk8sSnapDir) {
		return []string{microk8sSnapDir}
	}
	return nil
}

func (microk8s) Targets(Options) ([]Target, error) {
	return []Target{{Path: MicroK8sArgs, Kind: microk8sKind}}, nil
}

// mk8sFlag is one --controllers occurrence in the args file.
type mk8sFlag struct {
	line   int    // index in lines
	prefix string // everything before the value ("--controllers=" or "--controllers ")
	quote  string // `"`, `'` or ""
	value  string
	suffix string // after the value (a carriage return)
}

// mk8sArgv is the command line kubelite builds from the args file (options.ReadArgsFromFile), without
// its $VAR expansion, and the index in lines of each argument.
func mk8sArgv(lines []string) (argv []string, lineOf []int) {
	unquote := strings.NewReplacer(`"`, "", `'`, "")
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		for _, a := range strings.Split(unquote.Replace(t), " ") {
			argv, lineOf = append(argv, a), append(lineOf, i)
		}
	}
	return argv, lineOf
}

// mk8sParse splits the args file into lines and finds the --controllers flags (controllers.Scan over
// kubelite's command line). Each must be alone on its line, value included, so that it can be edited
// as a line.
func mk8sParse(data []byte) (lines []string, flags []mk8sFlag, err error) {
	lines = strings.Split(string(data), "\n")
	argv, lineOf := mk8sArgv(lines)
	occ, scanErr := controllers.Scan(argv, controllers.FlagName)
	perLine := map[int]int{}
	for _, l := range lineOf {
		perLine[l]++
	}
	for _, o := range occ {
		i := lineOf[o.Flag]
		if lineOf[o.Value] != i {
			return nil, nil, fmt.Errorf("line %d: --controllers without a value", i+1)
		}
		if perLine[i] != o.Value-o.Flag+1 {
			return nil, nil, fmt.Errorf("line %d: more than one argument on the --controllers line (kubelite splits lines on spaces); put it on a line of its own", i+1)
		}
		l := lines[i]
		body := strings.TrimRight(l, "\r")
		cr := l[len(body):]
		t := strings.TrimSpace(body)
		lead := body[:len(body)-len(strings.TrimLeft(body, " \t"))]
		var prefix, rest string
		switch {
		case strings.HasPrefix(t, controllers.Flag+"="):
			prefix, rest = controllers.Flag+"=", strings.TrimPrefix(t, controllers.Flag+"=")
		case strings.HasPrefix(t, controllers.Flag+" "):
			rest = strings.TrimPrefix(t, controllers.Flag+" ")
			prefix = t[:len(t)-len(rest)]
		default:
			// Quotes around the flag itself, which kubelite removes.
			return nil, nil, fmt.Errorf("line %d: quoted --controllers flag; write it as --controllers=\"V\"", i+1)
		}
		trailing := body[len(lead)+len(t):]
		f := mk8sFlag{line: i, prefix: lead + prefix, value: rest, suffix: trailing + cr}
		if n := len(rest); n >= 2 && (rest[0] == '"' || rest[0] == '\'') && rest[n-1] == rest[0] {
			f.quote, f.value = rest[:1], rest[1:n-1]
		}
		if _, err := controllers.Split(f.value); err != nil {
			return nil, nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		if f.value == "" {
			return nil, nil, fmt.Errorf("line %d: --controllers with an empty value", i+1)
		}
		flags = append(flags, f)
	}
	var missing *controllers.MissingValueError
	if errors.As(scanErr, &missing) {
		return nil, nil, fmt.Errorf("line %d: --controllers without a value", lineOf[missing.Flag]+1)
	}
	return lines, flags, nil
}

func mk8sOccurrences(flags []mk8sFlag) [][]string {
	var occ [][]string
	for _, f := range flags {
		e, _ := controllers.Split(f.value)
		occ = append(occ, e)
	}
	return occ
}

func mk8sVersion(r nodefs.Root) controllers.Version {
	f, err := r.ReadFile(microk8sSnapMeta, true)
	if err != nil || !f.Exists {
		return controllers.Version{}
	}
	for _, l := range strings.Split(string(f.Data), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "version:"); ok {
			return controllers.ParseVersion(strings.Trim(strings.TrimSpace(v), `"'`))
		}
	}
	return controllers.Version{}
}

// mk8sEdit computes the args file after op.
func mk8sEdit(data []byte, op controllers.Op, sw controllers.Switch) ([]byte, bool, error) {
	lines, flags, err := mk8sParse(data)
	if err != nil {
		return nil, false, err
	}
	occ := mk8sOccurrences(flags)
	out, changed := sw.Edit(op, occ)
	if !changed {
		return data, false, nil
	}
	if len(flags) == 0 {
		eol := "\n"
		if strings.Contains(string(data), "\r\n") {
			eol = "\r\n"
		}
		text := string(data)
		if text != "" && !strings.HasSuffix(text, "\n") {
			text += eol
		}
		return []byte(text + controllers.Arg(controllers.Join(out[0])) + eol), true, nil
	}
	drop := map[int]bool{}
	for i, f := range flags {
		if len(out[i]) == 0 {
			drop[f.line] = true
			continue
		}
		prefix, v := f.prefix, controllers.Join(out[i])
		if f.quote == "" && strings.HasPrefix(v, "-") && !strings.HasSuffix(prefix, "=") {
			// "--controllers -x" would read as two flags to some parsers: use the "=" form.
			prefix = strings.TrimRight(prefix, " \t") + "="
		}
		lines[f.line] = prefix + f.quote + v + f.quote + f.suffix
	}
	var kept []string
	for i, l := range lines {
		if !drop[i] {
			kept = append(kept, l)
		}
	}
	return []byte(strings.Join(kept, "\n")), true, nil
}

func (microk8s) Plan(o Options) (*change.Plan, error) {
	f, err := o.Root.ReadFile(MicroK8sArgs, false)
	if err != nil {
		return nil, err
	}
	v := mk8sVersion(o.Root)
	sw, err := o.Switch(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", MicroK8sArgs, err)
	}
	out, _, err := mk8sEdit(f.Data, o.Op, sw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", MicroK8sArgs, err)
	}
	_, flags, err := mk8sParse(out)
	if err != nil {
		return nil, fmt.Errorf("%s: internal error: %w", MicroK8sArgs, err)
	}
	eff := []string{"*"} // no --controllers: kcm's default
	if len(flags) > 0 {
		eff = controllers.Flatten(mk8sOccurrences(flags))
	}
	p := &change.Plan{Distro: "microk8s", Op: o.Op, Mirroring: change.StateOf(controllers.MirroringEnabled(eff)),
		Endpoints: endpointsAfter(o, eff), Version: v,
		Files: []change.FileChange{{Path: MicroK8sArgs, Kind: microk8sKind, Before: f, After: out}}}
	if !v.Known {
		p.Warnings = append(p.Warnings, fmt.Sprintf("MicroK8s version unknown (%s not readable): using %s, which every version from 1.19 accepts", microk8sSnapMeta, sw.Describe()))
	}
	p.Notes = append(p.Notes,
		"takes effect after `snap restart microk8s.daemon-kubelite`",
		"in a MicroK8s HA cluster kube-controller-manager uses leader election: make the same change on every control-plane node")
	return p, nil
}

func (microk8s) Status(o Options) (*change.Status, error) {
	f, err := o.Root.ReadFile(MicroK8sArgs, false)
	if err != nil {
		return nil, err
	}
	_, flags, err := mk8sParse(f.Data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", MicroK8sArgs, err)
	}
	fs := change.FileStatus{Path: MicroK8sArgs, Kind: microk8sKind, Version: mk8sVersion(o.Root).String()}
	if len(flags) == 0 {
		fs.Mirroring, fs.Controllers, fs.Note = change.Enabled, "*", "no --controllers: kube-controller-manager's default"
	} else {
		eff := controllers.Flatten(mk8sOccurrences(flags))
		fs.Mirroring, fs.Controllers = change.StateOf(controllers.MirroringEnabled(eff)), controllers.Join(eff)
	}
	s := &change.Status{Distro: "microk8s", Files: []change.FileStatus{fs}}
	s.Summarize()
	return s, nil
}
