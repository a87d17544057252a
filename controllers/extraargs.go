package controllers

import "strings"

// Flag is kube-controller-manager's flag as written on its command line.
const Flag = "--" + FlagName

// Arg is the one-token form of the flag, "--controllers=value".
func Arg(value string) string { return Flag + "=" + value }

// ExtraArg is one "name[+-]=value" entry of an extra-arguments list (k3s and RKE2's
// kube-controller-manager-arg) that sets --controllers.
type ExtraArg struct {
	// Merge is the run of "+" and "-" after the name, as written: how the value merges with the
	// flag's earlier values. k3s looks at its last character ("+" append, "-" prepend, none replace).
	Merge string
	// Value is what follows the first "=": "true" when there is none, as k3s passes it on.
	Value    string
	HasValue bool
}

// ParseExtraArg reads an extra-arguments entry the way k3s's GetArgs does (k3s-io/k3s
// pkg/util/args.go, read at commit 0aa32d5656f84887848522c45df9d6869d8eaec9): a leading "--" is
// dropped, the entry is split at its first "=", and the name with its trailing "-" and "+" trimmed is
// the flag; each value becomes one "--name=value" flag. ok is false for an entry of another flag.
func ParseExtraArg(entry string) (arg ExtraArg, ok bool) {
	key, value, found := strings.Cut(strings.TrimPrefix(entry, "--"), "=")
	name := strings.TrimRight(key, "-+")
	if name != FlagName {
		return ExtraArg{}, false
	}
	if !found {
		value = "true"
	}
	return ExtraArg{Merge: key[len(name):], Value: value, HasValue: found}, true
}

// FormatExtraArg writes an extra-arguments entry: "controllers" + merge + "=" + value.
func FormatExtraArg(merge, value string) string { return FlagName + merge + "=" + value }
