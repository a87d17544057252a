package e2e

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// proc is one long-running component. Its output goes to a log file so that a failing test can show
// the component's own words, and so that tests can assert on what it logged.
type proc struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}
	err     error // the Wait error, valid once done is closed
}

func startProc(t testing.TB, name, logPath, path string, args ...string) *proc {
	t.Helper()
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("%s: %v", logPath, err)
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Own process group so a stop reaches nothing else; SIGKILL if the test binary dies without
	// running its cleanups (e.g. on a -timeout panic), so no control plane outlives the run.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{name: name, logPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitCode is the process's exit status (-1 if killed by a signal); call it only after exited().
func (p *proc) exitCode() int { return p.cmd.ProcessState.ExitCode() }

// waitExit waits up to d for the process to end on its own.
func (p *proc) waitExit(d time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(d):
		return false
	}
}

// stop ends the process: SIGTERM, then SIGKILL after a grace period. Safe to call twice.
func (p *proc) stop() {
	if p == nil || p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if p.waitExit(15 * time.Second) {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

func (p *proc) log() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

// tail returns the last n lines of the log, for failure messages.
func (p *proc) tail(n int) string {
	lines := strings.Split(strings.TrimRight(p.log(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func (p *proc) describeExit() string {
	return fmt.Sprintf("%s exited (%v); last log lines (%s):\n%s", p.name, p.err, p.logPath, p.tail(25))
}

// waitFor polls cond until it holds, failing the test when the deadline passes or as soon as any of the
// watched processes dies (a dead apiserver must not cost a full timeout).
func waitFor(t testing.TB, what string, timeout time.Duration, watch []*proc, cond func() (bool, error)) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	var lastErr error
	for {
		ok, err := cond()
		if ok {
			return time.Since(start)
		}
		lastErr = err
		for _, p := range watch {
			if p != nil && p.exited() {
				t.Fatalf("waiting for %s: %s", what, p.describeExit())
			}
		}
		if time.Now().After(deadline) {
			msg := fmt.Sprintf("waiting for %s: gave up after %s", what, timeout)
			if lastErr != nil {
				msg += fmt.Sprintf(" (last error: %v)", lastErr)
			}
			for _, p := range watch {
				if p != nil {
					msg += fmt.Sprintf("\n--- %s (%s):\n%s", p.name, p.logPath, p.tail(15))
				}
			}
			t.Fatal(msg)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// freePorts reserves n distinct loopback ports. They are released before use, so another process could
// take one in between; holding all n open at once at least makes them distinct.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("free port: %v", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// run executes a short command and returns its combined output, failing the test on a non-zero exit.
func run(t testing.TB, env []string, path string, args ...string) string {
	t.Helper()
	out, err := runErr(env, path, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", path, strings.Join(args, " "), err, out)
	}
	return out
}

func runErr(env []string, path string, args ...string) (string, error) {
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return string(out), err
	}
	return string(out), err
}
