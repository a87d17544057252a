package controllers

import (
	"fmt"
	"strings"
)

// Flag is kube-controller-manager's flag name, without the dashes.
const FlagName = "controllers"

// Occurrence is one --controllers flag on a command line. Flag and Value index the argv it was read
// from, so a caller that built argv from YAML items (or file lines) can map each back to what it edits.
type Occurrence struct {
	Flag    int      // index of "--controllers=V" or of a bare "--controllers"
	Value   int      // index of the token holding V: Flag in the one-token form, Flag+1 in the two-token form
	Raw     string   // V, as kcm receives it
	Entries []string // Split(Raw); nil when Raw is broken
	Err     error    // Split's *BrokenEntryError when Raw is broken, else nil
}

// OneToken reports the "--controllers=V" form.
func (o Occurrence) OneToken() bool { return o.Flag == o.Value }

// MissingValueError is a bare --name as the last argument: pflag stops with "flag needs an argument".
type MissingValueError struct {
	Name string
	Flag int // index of the bare flag
}

func (e *MissingValueError) Error() string {
	return fmt.Sprintf("--%s is the last argument and has no value", e.Name)
}

// Scan finds every occurrence of the long flag --name in argv, in order, the way pflag reads a flag that
// takes a value: "--name=V" in one token, or "--name" and the next token whatever it holds (even one
// starting with "-"); a "--" argument ends the flags. Entries are left nil. The error is a
// *MissingValueError when a bare --name is the last argument; the occurrences before it are returned.
//
// argv[0] is read like any argument: a program name never starts with "-". Scan knows no other flag,
// so a token that kcm would take as the value of another flag's two-token form ("--kubeconfig
// --controllers=x") still counts here; kcm itself would then fail on that flag's value or run without
// the --controllers the line seems to set. No real command line is written like that.
func Scan(argv []string, name string) ([]Occurrence, error) {
	flag := "--" + name
	var out []Occurrence
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		switch {
		case a == "--":
			return out, nil
		case a == flag:
			if i+1 == len(argv) {
				return out, &MissingValueError{Name: name, Flag: i}
			}
			out = append(out, Occurrence{Flag: i, Value: i + 1, Raw: argv[i+1]})
			i++
		case strings.HasPrefix(a, flag+"="):
			out = append(out, Occurrence{Flag: i, Value: i, Raw: a[len(flag)+1:]})
		}
	}
	return out, nil
}

// Occurrences finds every --controllers occurrence of argv (see Scan) and splits each value. A caller
// holding command and args separately passes command followed by args, the argv the kubelet runs.
//
// Every complete occurrence is returned even with an error, so that a caller can report or locate them
// all. The error is a *MissingValueError when a bare --controllers ends argv (kcm stops at parsing its
// flags, before it reads any entry), else the first occurrence's Err.
func Occurrences(argv []string) ([]Occurrence, error) {
	occ, missing := Scan(argv, FlagName)
	var first error
	for i := range occ {
		occ[i].Entries, occ[i].Err = Split(occ[i].Raw)
		if first == nil {
			first = occ[i].Err
		}
	}
	if missing != nil {
		return occ, missing
	}
	return occ, first
}

// FirstBroken returns the first occurrence's Err, nil when every value splits.
func FirstBroken(occ []Occurrence) error {
	for _, o := range occ {
		if o.Err != nil {
			return o.Err
		}
	}
	return nil
}

// Lists returns each occurrence's entries, the shape Edit takes.
func Lists(occ []Occurrence) [][]string {
	out := make([][]string, len(occ))
	for i, o := range occ {
		out[i] = o.Entries
	}
	return out
}

// Effective is the list kcm runs with: the occurrences' entries concatenated, as pflag's StringSlice
// appends repeated flags, or kcm's default "*" when the flag is not set at all.
func Effective(occ []Occurrence) []string {
	if len(occ) == 0 {
		return []string{"*"}
	}
	return Flatten(Lists(occ))
}

// Last returns the value kcm gets for the single-valued flag --name and whether argv sets it: the last
// occurrence wins, as in pflag. A bare --name at the end sets nothing.
func Last(argv []string, name string) (string, bool) {
	occ, _ := Scan(argv, name)
	if len(occ) == 0 {
		return "", false
	}
	return occ[len(occ)-1].Raw, true
}
