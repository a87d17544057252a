package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mirrorctl/mirrorctl/golden"
	"github.com/mirrorctl/mirrorctl/nodefs"
	"github.com/mirrorctl/mirrorctl/snapshot"
)

// startUntil starts cmd and reads its stderr until a line starting with prefix; it returns everything
// read so far and a function that waits for the command and returns the rest of stderr.
func startUntil(t *testing.T, cmd *exec.Cmd, prefix string) (string, func() (string, error)) {
	t.Helper()
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	r := bufio.NewReader(pipe)
	var seen strings.Builder
	for {
		line, err := r.ReadString('\n')
		seen.WriteString(line)
		if strings.HasPrefix(line, prefix) {
			break
		}
		if err != nil {
			_ = cmd.Wait()
			t.Fatalf("child ended before a %q line:\n%s", prefix, seen.String())
		}
	}
	return seen.String(), func() (string, error) {
		rest, _ := io.ReadAll(r)
		return string(rest), cmd.Wait()
	}
}

// Waiting for another run's lock, nothing has been written yet: Ctrl-C ends the process at once, as
// for any command that writes nothing, rather than after the lock timeout.
func TestInterruptWhileWaitingForTheLockEndsAtOnce(t *testing.T) {
	root := newNode(t)
	// The lock file appears under the state dir: compare the node's /etc, as the dry-run tests do.
	before := golden.Tree(t, filepath.Join(root, "etc"))
	r, err := nodefs.New(root)
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := snapshot.Open(r, "/var/lib/mirrorctl").Lock(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()

	cmd := helperCmd(t, "--root", root, "disable", "--lock-timeout", "30s")
	_, wait := startUntil(t, cmd, "[plan]")
	time.Sleep(300 * time.Millisecond) // into the lock wait (a signal before it ends the run the same way)
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	rest, err := wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || !ee.Sys().(syscall.WaitStatus).Signaled() || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGINT {
		t.Fatalf("want the child ended by SIGINT, got %v\n%s", err, rest)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("child took %s to end after SIGINT", el)
	}
	unlock()
	golden.CompareTrees(t, before, golden.Tree(t, filepath.Join(root, "etc")))
}

// Once the change is written, Ctrl-C (or a supervisor's TERM) during --wait cancels the wait, not the
// run: the command says which signal, that the change is in place and how to undo it, and exits 1.
func TestInterruptDuringWaitSaysHowToUndo(t *testing.T) {
	for _, c := range []struct {
		sig  syscall.Signal
		says string
	}{
		{syscall.SIGINT, "interrupted (SIGINT)"},
		{syscall.SIGTERM, "terminated (SIGTERM)"},
	} {
		t.Run(c.sig.String(), func(t *testing.T) {
			root := newNode(t)
			orig := readRel(t, root, kcmPath)
			kcm := newFakeKubelet(t, root, func([]byte) bool { return true }) // kcm never comes back
			cmd := helperCmd(t, "--root", root, "disable", "--wait", "60s", "--wait-url", kcm.url())
			seen, wait := startUntil(t, cmd, "[wait]")
			start := time.Now()
			if err := cmd.Process.Signal(c.sig); err != nil {
				t.Fatal(err)
			}
			rest, err := wait()
			log := seen + rest
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != exitError {
				t.Fatalf("want exit %d after %s, got %v\n%s", exitError, c.sig, err, log)
			}
			if el := time.Since(start); el > 10*time.Second {
				t.Errorf("child took %s to end after %s", el, c.sig)
			}
			if want := "waiting for kube-controller-manager: " + c.says + "; the change is in place (undo: mirrorctl rollback "; !strings.Contains(log, want) {
				t.Errorf("log lacks %q:\n%s", want, log)
			}
			if bytes.Equal(readRel(t, root, kcmPath), orig) {
				t.Errorf("manifest unchanged: the signal must cancel the wait, not the written change\n%s", log)
			}
		})
	}
}

// An API call cut short by Ctrl-C fails saying so: the error names the signal, not only "context
// canceled", and nothing on the node changed (the live ConfigMap is read before any write).
func TestInterruptDuringAPICall(t *testing.T) {
	root := newNode(t)
	before := golden.Tree(t, filepath.Join(root, "etc"))
	reached := make(chan struct{}, 1)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case reached <- struct{}{}:
		default:
		}
		select { // an API server that never answers
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
	}))
	defer srv.Close()
	kc := "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: " + srv.URL +
		"\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n"
	if err := os.WriteFile(filepath.Join(root, "root-admin.conf"), []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := helperCmd(t, "--root", root, "disable", "--kubeconfig", "/root-admin.conf", "--timeout", "60s")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	select {
	case <-reached:
	case <-time.After(20 * time.Second):
		t.Fatalf("mirrorctl never called the API server:\n%s", stderr.String())
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitError {
		t.Fatalf("want exit %d after SIGINT, got %v\n%s", exitError, err, stderr.String())
	}
	// net/http reports the cancellation's cause (see interrupted).
	if _, line, _ := strings.Cut(stderr.String(), "mirrorctl: "); !strings.Contains(line, "interrupted (SIGINT)") {
		t.Errorf("the error does not name the signal:\n%s", stderr.String())
	}
	golden.CompareTrees(t, before, golden.Tree(t, filepath.Join(root, "etc")))
}
