package cliflags

import (
	"errors"
	"reflect"
	"testing"

	"github.com/urfave/cli/v2"
)

func TestNearest(t *testing.T) {
	names := []string{"dry-run", "distro", "root", "state-dir", "output", "o"}
	for typed, want := range map[string]string{
		"dryrun":   "dry-run",
		"dyr-run":  "dry-run",
		"rot":      "root",
		"outptu":   "output",
		"state":    "state-dir",
		"kubectl":  "",
		"x":        "",
		"distro":   "distro",
		"distrox":  "distro",
		"verbose":  "",
		"dry-runs": "dry-run",
	} {
		if got := Nearest(names, typed); got != want {
			t.Errorf("Nearest(%q) = %q, want %q", typed, got, want)
		}
	}
}

func TestNormalize(t *testing.T) {
	app := &cli.App{Flags: []cli.Flag{
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}},
		&cli.IntFlag{Name: "v"},
		&cli.BoolFlag{Name: "q"},
		&cli.StringFlag{Name: "ox"},
	}}
	for in, want := range map[string][]string{
		"-ojson":   {"mirrorctl", "-o", "json"},
		"-o=json":  {"mirrorctl", "-o=json"},
		"-output":  {"mirrorctl", "-output"},
		"-v5":      {"mirrorctl", "-v", "5"},
		"-qq":      {"mirrorctl", "-qq"},
		"-ox":      {"mirrorctl", "-ox"},
		"--ojson":  {"mirrorctl", "--ojson"},
		"positive": {"mirrorctl", "positive"},
	} {
		if got := Normalize(app, []string{"mirrorctl", in}); !reflect.DeepEqual(got, want) {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Normalize(app, []string{"mirrorctl", "--", "-ojson"}); !reflect.DeepEqual(got, []string{"mirrorctl", "--", "-ojson"}) {
		t.Errorf("after --: %q", got)
	}
}

func TestUsageError(t *testing.T) {
	flags := []cli.Flag{&cli.DurationFlag{Name: "wait"}, &cli.BoolFlag{Name: "dry-run"}, &cli.IntFlag{Name: "keep"}}
	for in, want := range map[string]string{
		"flag provided but not defined: -dryrun":              "unknown flag --dryrun (did you mean --dry-run?)",
		"flag provided but not defined: -zzz":                 "unknown flag --zzz",
		`invalid value "3" for flag -wait: parse error`:       `--wait "3": missing unit (e.g. 3m or 3s)`,
		`invalid value "3x" for flag -wait: parse error`:      `--wait "3x": unknown unit "x" in duration "3x"`,
		`invalid value "many" for flag -keep: parse error`:    `--keep "many": parse error`,
		"flag needs an argument: -wait":                       "--wait needs a value",
		"Cannot use two forms of the same flag: -wait --wait": "Cannot use two forms of the same flag: --wait --wait",
	} {
		if got := UsageError(flags, errors.New(in)).Error(); got != want {
			t.Errorf("UsageError(%q) = %q, want %q", in, got, want)
		}
	}
}
