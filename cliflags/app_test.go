package cliflags

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

func TestShellQuote(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"/mnt/node": "/mnt/node",
		"":          "''",
		"a b":       "'a b'",
		"it's":      `'it'\''s'`,
		"$HOME":     "'$HOME'",
	} {
		if got := ShellQuote(in); got != want {
			t.Errorf("ShellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}

// testApp is a two-command app wired by Setup, writing to buffers.
func testApp(action func(*cli.Context) error) (*cli.App, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	globals := func() []cli.Flag {
		return []cli.Flag{&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text"}, &cli.StringFlag{Name: "color", Value: "never"}}
	}
	app := &cli.App{Name: "tool", Writer: &out, ErrWriter: &errb, Flags: globals(), Commands: []*cli.Command{
		{Name: "status", Flags: []cli.Flag{&cli.StringFlag{Name: "kubeconfig"}}, Action: action},
		HelpCommand("tool"),
	}}
	Setup(app, globals, func(c *cli.Command) {
		if c.Name == "status" {
			c.Flags = append(c.Flags, &cli.StringFlag{Name: "context"})
		}
	})
	return app, &out, &errb
}

func TestRunReportsOnce(t *testing.T) {
	t.Parallel()
	fail := func(c *cli.Context) error {
		if _, _, err := Output(c, c.App.Writer); err != nil {
			return err
		}
		return &detailed{errors.New("refused:\n  see below")}
	}
	app, out, errb := testApp(fail)
	if code := Run(context.Background(), app, []string{"tool", "status", "-o", "json"}, "managed"); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if got := errb.String(); got != "[managed] do this\ntool: refused: see below\n" {
		t.Errorf("stderr %q", got)
	}
	if got := out.String(); !strings.Contains(got, `"error": "refused: see below"`) || !strings.Contains(got, `"exit_code": 1`) {
		t.Errorf("stdout %q lacks the JSON error", got)
	}

	app, out, errb = testApp(fail)
	if code := Run(context.Background(), app, []string{"tool", "-o", "json", "stauts"}, "managed"); code != ExitUsage {
		t.Fatalf("unknown command: exit %d, want %d", code, ExitUsage)
	}
	if !strings.Contains(errb.String(), `unknown command "stauts" (did you mean "status"?) (see tool --help)`) || !strings.Contains(out.String(), `"exit_code": 2`) {
		t.Errorf("unknown command: stderr %q stdout %q", errb.String(), out.String())
	}

	app, _, errb = testApp(fail)
	if code := Run(context.Background(), app, []string{"tool", "status", "--color", "red"}, "managed"); code != ExitUsage || !strings.Contains(errb.String(), `--color "red"`) {
		t.Errorf("bad --color: exit %d, stderr %q", code, errb.String())
	}
}

func TestSetupWiresEveryCommand(t *testing.T) {
	t.Parallel()
	app, _, _ := testApp(nil)
	var status *cli.Command
	for _, c := range app.Commands {
		if c.Name == "status" {
			status = c
		}
	}
	env := map[string]string{}
	for _, f := range status.Flags {
		if s, ok := f.(*cli.StringFlag); ok && len(s.EnvVars) > 0 {
			env[s.Name] = s.EnvVars[0]
		}
	}
	for flag, want := range map[string]string{"kubeconfig": "TOOL_KUBECONFIG", "context": "TOOL_CONTEXT", "output": "TOOL_OUTPUT"} {
		if env[flag] != want {
			t.Errorf("--%s: environment variable %q, want %q", flag, env[flag], want)
		}
	}
	if _, err := (Completion{}).Script(app, "tcsh"); err == nil {
		t.Error("Script accepted tcsh")
	}
	if s, _ := (Completion{}).Script(app, "bash"); !strings.Contains(s, "complete -o bashdefault -o default -F _tool_complete tool") {
		t.Errorf("bash script not for the app:\n%s", s)
	}
}

type detailed struct{ error }

func (d *detailed) Details() []string { return []string{"do this"} }
