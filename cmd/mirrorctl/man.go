package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/mirrorctl/mirrorctl/cliflags"
	"github.com/mirrorctl/mirrorctl/manpage"
)

// writeMan renders the man page from the command definitions (package manpage), with mirrorctl's exit
// codes, signals and files.
func writeMan(w io.Writer, app *cli.App) error {
	var b strings.Builder
	b.WriteString(".SH EXIT STATUS\n")
	for _, e := range [][2]string{
		{"0", "success, changed or not"},
		{"1", "error: one line on stderr naming the file and the problem (with -o json also {\"error\": ...} on stdout); nothing on disk changed; lint: also nothing to check under --root"},
		{"2", "usage error (unknown flag or command, bad flag value, a relative path outside --root for a file mirrorctl may edit)"},
		{"3", "something to act on: findings (lint), something depends on mirroring (audit), would change (disable, enable, apply-plan with --dry-run --exit-code), mirroring mixed (status --exit-code)"},
	} {
		fmt.Fprintf(&b, ".TP\n.B %s\n%s\n", e[0], roff(e[1]))
	}
	fmt.Fprintf(&b, ".SH SIGNALS\n%s\n", roff("SIGINT and SIGTERM end a run at once while it has written nothing (a plan, status, lint, waiting for the lock). Once a command holds the lock, calls the API server or runs the --wait gate, they are caught: writes finish, the call or wait is cancelled, and the command says what state it leaves and how to undo it."))
	b.WriteString(".SH FILES\n.TP\n.I /etc/kubernetes/manifests/kube\\-controller\\-manager.yaml\nkubeadm's kube-controller-manager static pod manifest\n")
	b.WriteString(".TP\n.I /etc/kubernetes/kubeadm\\-config.yaml\nkubeadm configuration, edited when present\n")
	b.WriteString(".TP\n.I /var/lib/mirrorctl\nsnapshots (--state-dir)\n")
	b.WriteString(".TP\n.I /var/lib/mirrorctl/transaction.json\nthe journal of a change in progress, whatever --state-dir says: present after a run died between two files (status reports it; rollback restores them, a re-run completes the change)\n")
	b.WriteString(".TP\n.I /run/mirrorctl/lock\nthe node's one lock, whatever --state-dir says\n")
	return manpage.Write(w, app, manpage.Page{
		Section:  8,
		Manual:   "System Administration",
		EnvIntro: "Every option can also be set from the environment; a flag on the command line wins.",
		Env: [][2]string{
			{"NO_COLOR", "when set, --color auto never colors"},
			{"KUBECONFIG", "kubeconfig files for the cluster commands when --kubeconfig is not given, merged as kubectl merges them; else ~/.kube/config, else /etc/kubernetes/admin.conf under --root"},
			{"XDG_STATE_HOME", "a user's (not root's) state folder, $XDG_STATE_HOME/mirrorctl (default ~/.local/state/mirrorctl), where a run on a machine without /var/lib/mirrorctl keeps its lock, journal and snapshots"},
		},
		Tail:           b.String(),
		SharedCategory: cliflags.Category,
		SharedNote:     "Global options go before or after the command (mirrorctl status -o json, mirrorctl -o json status); given in both places, the one after the command wins.",
	})
}

func roff(s string) string { return manpage.Roff(s) }
