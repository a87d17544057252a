// Package controllers is kube-controller-manager's --controllers algebra: Kubernetes versions, the
// mirroring controller's names, entries, and the edit that switches mirroring off or on while leaving
// every other controller as it was. Nothing here touches the file system.
package controllers

import (
	"encoding/csv"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode"
)

// Op is the change a command asks for.
type Op string

const (
	Disable Op = "disable"
	Enable  Op = "enable"
)

// The mirroring controller's names. The alias is the only name before 1.28 and an alias after;
// the canonical name is an unknown (fatal) controller before 1.28.
const (
	NameAlias     = "endpointslicemirroring"
	NameCanonical = "endpointslice-mirroring-controller"
)

// Version is a Kubernetes minor version. Known is false when it could not be read
// (an image pinned by digest only, a missing kubernetesVersion).
type Version struct {
	Major, Minor int
	Known        bool
}

func (v Version) String() string {
	if !v.Known {
		return "unknown"
	}
	return fmt.Sprintf("%d.%d", v.Major, v.Minor)
}

// AtLeast reports whether v is known and >= major.minor.
func (v Version) AtLeast(major, minor int) bool {
	return v.Known && (v.Major > major || v.Major == major && v.Minor >= minor)
}

var versionRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+][0-9A-Za-z.+-]*)?$`) })

// ParseVersion reads "v1.29.0", "1.29", "v1.30.0-rc.1" and the like.
func ParseVersion(s string) Version {
	m := versionRe().FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return Version{}
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	return Version{Major: major, Minor: minor, Known: true}
}

// ImageVersion reads the version from an image reference's tag
// ("registry.k8s.io/kube-controller-manager:v1.29.0", with or without "@sha256:…").
func ImageVersion(image string) Version {
	ref := image
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	// A colon after the last slash separates the tag; one before it is a registry port.
	slash := strings.LastIndex(ref, "/")
	colon := strings.LastIndex(ref, ":")
	if colon <= slash {
		return Version{}
	}
	return ParseVersion(ref[colon+1:])
}

// ErrTooOld is returned for versions before the mirroring controller existed.
type ErrTooOld struct{ Version Version }

func (e ErrTooOld) Error() string {
	return fmt.Sprintf("Kubernetes %s has no EndpointSlice mirroring controller (it exists from 1.19); nothing to change", e.Version)
}

// NameFor picks the controller name to write for a version. From 1.28 the canonical name, which
// kube-controller-manager itself logs and reports in /healthz; below 1.28 and for unknown versions the
// alias, which every release from 1.19 accepts. override, when set, wins, but is still checked
// against the version (the canonical name before 1.28 is fatal at kcm startup).
func NameFor(v Version, override string) (string, error) {
	if v.Known && !v.AtLeast(1, 19) {
		return "", ErrTooOld{v}
	}
	switch override {
	case "":
	case NameAlias:
		return NameAlias, nil
	case NameCanonical:
		if v.Known && !v.AtLeast(1, 28) {
			return "", fmt.Errorf("controller name %q is unknown to Kubernetes %s (kube-controller-manager would not start); use %q", NameCanonical, v, NameAlias)
		}
		return NameCanonical, nil
	default:
		return "", fmt.Errorf("controller name %q is not a name of the EndpointSlice mirroring controller (want %q or %q)", override, NameAlias, NameCanonical)
	}
	if v.AtLeast(1, 28) {
		return NameCanonical, nil
	}
	return NameAlias, nil
}

// IsMirroringName reports whether a bare controller name (no sign) names the mirroring controller.
func IsMirroringName(name string) bool {
	return name == NameAlias || name == NameCanonical
}

// BrokenEntryError reports a --controllers entry kube-controller-manager would reject or misread.
// Entry is empty and Why the whole reason when the value itself does not read as one CSV record.
type BrokenEntryError struct {
	Value, Entry, Why string
	Unreadable        bool // the value is not one CSV record: kcm's flag parsing fails on it
}

func (e *BrokenEntryError) Error() string {
	v := e.Value
	// A value with a newline or other control character would break the one-line error: quote it then.
	if strings.ContainsFunc(v, func(r rune) bool { return !unicode.IsPrint(r) }) {
		v = strconv.Quote(v)
	}
	if e.Unreadable {
		return fmt.Sprintf("--controllers=%s: %s", v, e.Why)
	}
	return fmt.Sprintf("--controllers=%s: entry %q %s", v, e.Entry, e.Why)
}

// ReadCSV reads one --controllers value into entries exactly as pflag's StringSlice does
// (github.com/spf13/pflag@v1.0.10 string_slice.go readAsCSV: encoding/csv, default settings, the first
// record only): double-quoted fields are unquoted ("tokencleaner",* is tokencleaner and *), nothing is
// trimmed. An empty value is an empty list. The error is what pflag reports for a value it cannot read.
// Callers want Split, which also refuses entries kcm would fail on.
func ReadCSV(value string) ([]string, error) {
	if value == "" {
		return nil, nil
	}
	return csv.NewReader(strings.NewReader(value)).Read()
}

// Split reads one --controllers value the way pflag's StringSlice does (ReadCSV: CSV with quotes, no
// trimming) and rejects values and entries that would make kcm fail or behave surprisingly: a line
// break (pflag reads only the first line), a value CSV cannot read, empty entries, entries with
// whitespace, quotes or commas left after unquoting, "-" alone, "-*". An empty value is an empty list.
func Split(value string) ([]string, error) {
	if value == "" {
		return nil, nil
	}
	if i := strings.IndexAny(value, "\r\n"); i >= 0 {
		// pflag would read only up to the line break; say which entry holds it, as for other whitespace.
		entries := strings.Split(value, ",")
		for _, e := range entries {
			if strings.ContainsAny(e, "\r\n") {
				return nil, &BrokenEntryError{Value: value, Entry: e, Why: "contains whitespace or quotes (kube-controller-manager does not trim entries)"}
			}
		}
	}
	entries, err := ReadCSV(value)
	if err != nil {
		return nil, &BrokenEntryError{Value: value, Unreadable: true,
			Why: "is not a comma-separated list kube-controller-manager can read (" + csvReason(err) + ")"}
	}
	for _, e := range entries {
		switch CheckEntry(e) {
		case EntryEmpty:
			return nil, &BrokenEntryError{Value: value, Entry: e, Why: "is empty"}
		case EntryUntrimmed:
			if strings.Contains(e, ",") {
				return nil, &BrokenEntryError{Value: value, Entry: e, Why: "holds a comma inside quotes (kube-controller-manager reads it as one controller name)"}
			}
			return nil, &BrokenEntryError{Value: value, Entry: e, Why: "contains whitespace or quotes (kube-controller-manager does not trim entries)"}
		case EntryNotAName:
			return nil, &BrokenEntryError{Value: value, Entry: e, Why: "is not a controller name"}
		}
	}
	return entries, nil
}

// csvReason is encoding/csv's complaint without its line and column prefix.
func csvReason(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// EntryProblem is what is wrong with one entry of a --controllers value.
type EntryProblem int

const (
	EntryOK        EntryProblem = iota
	EntryEmpty                  // "a,,b": kcm looks for a controller named ""
	EntryUntrimmed              // whitespace, quotes or a comma left after unquoting: kcm does not trim entries
	EntryNotAName               // "-", "-*" or "--x"
)

// CheckEntry applies Split's rules to one entry as ReadCSV returns it, for callers that report every
// broken entry rather than the first.
func CheckEntry(e string) EntryProblem {
	switch {
	case e == "":
		return EntryEmpty
	case strings.ContainsAny(e, " \t\r\n\"',"):
		return EntryUntrimmed
	case e == "-" || e == "-*" || strings.HasPrefix(e, "--"):
		return EntryNotAName
	}
	return EntryOK
}

// Join is the inverse of Split.
func Join(entries []string) string { return strings.Join(entries, ",") }

// MirroringEnabled evaluates kube-controller-manager's IsControllerEnabled for the mirroring controller
// over the concatenated list: the first entry naming it (under either name) decides; otherwise it runs
// only when "*" is present (it is on by default).
func MirroringEnabled(entries []string) bool { return enabled(entries, IsMirroringName) }

// enabled is IsControllerEnabled for an on-by-default controller whose names is tells.
func enabled(entries []string, is func(string) bool) bool {
	star := false
	for _, e := range entries {
		switch {
		case is(e):
			return true
		case strings.HasPrefix(e, "-") && is(e[1:]):
			return false
		case e == "*":
			star = true
		}
	}
	return star
}

// Flatten concatenates occurrences, as repeated --controllers flags are.
func Flatten(occ [][]string) []string {
	var all []string
	for _, o := range occ {
		all = append(all, o...)
	}
	return all
}

// Edit computes the --controllers occurrences after op. occ holds every occurrence of the flag in order
// (an empty occ means no flag at all; callers that have a distro default pass it as the only occurrence).
// It keeps every other entry in place and removes the mentions that contradict the wanted state under
// either name. When the remaining list does not already give the wanted state it adds one entry named name
// at the end of the occurrence that held the first mention it removed (so turning "x" into "-x" changes
// that one occurrence, never two), or at the end of the last occurrence when it removed none. When
// disabling would leave no entry at all it adds "-name" too: dropping the flag would let kcm run its
// default "*", switching on every controller the list had left off.
//
// An occurrence that ends up empty is returned empty: the caller drops that flag (another occurrence
// always keeps an entry). An occurrence that was empty already ("--controllers=") comes back empty too;
// callers compare with the input and leave it alone. changed is false when the mirroring
// controller is already in the wanted state; out is then occ.
//
// name may also be a name of the Endpoints controller: the edit is then the same for that controller.
func Edit(op Op, occ [][]string, name string) (out [][]string, changed bool) {
	is := IsMirroringName
	if IsEndpointsName(name) {
		is = IsEndpointsName
	}
	isEnabled := func(entries []string) bool { return enabled(entries, is) }
	want := op == Enable
	all := Flatten(occ)
	if len(occ) > 0 && isEnabled(all) == want {
		return occ, false
	}
	if len(occ) == 0 {
		if want {
			return occ, false // no flag: the default "*" runs it
		}
		return [][]string{{"*", "-" + name}}, true
	}
	out = make([][]string, len(occ))
	at := -1 // the occurrence of the first contradicting mention
	for i, o := range occ {
		kept := []string{}
		for _, e := range o {
			positive := is(e)
			negative := strings.HasPrefix(e, "-") && is(e[1:])
			if (want && negative) || (!want && positive) {
				if at < 0 {
					at = i
				}
				continue
			}
			kept = append(kept, e)
		}
		out[i] = kept
	}
	rest := Flatten(out)
	if isEnabled(rest) != want || len(rest) == 0 {
		entry := name
		if !want {
			entry = "-" + name
		}
		if at < 0 {
			at = len(out) - 1
		}
		out[at] = append(out[at], entry)
	}
	return out, true
}
