package e2e

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// fatalRecorder stands in for the test in waitFor so that the harness's own failure paths can be
// checked: Fatal ends the goroutine like the real one does, and the message is kept.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Helper() {}
func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (f *fatalRecorder) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	runtime.Goexit()
}

// recordFatal runs fn with a recorder and returns the fatal message ("" if fn returned normally).
func recordFatal(t *testing.T, fn func(testing.TB)) string {
	rec := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(rec)
	}()
	<-done
	return rec.msg
}

// The harness must fail fast when a component dies (not after the full timeout) and say why, and must
// bound every wait. Runs without Kubernetes binaries.
func TestHarnessFailsFast(t *testing.T) {
	dir := t.TempDir()
	t.Run("dead process", func(t *testing.T) {
		p := startProc(t, "crasher", filepath.Join(dir, "crasher.log"), "/bin/sh", "-c", "echo fatal: boom; exit 3")
		t0 := time.Now()
		msg := recordFatal(t, func(tb testing.TB) {
			waitFor(tb, "something that never happens", time.Minute, []*proc{p}, func() (bool, error) { return false, nil })
		})
		if time.Since(t0) > 10*time.Second {
			t.Fatalf("waitFor took %s to notice a dead process", time.Since(t0))
		}
		if !strings.Contains(msg, "crasher exited") || !strings.Contains(msg, "fatal: boom") {
			t.Fatalf("failure message lacks the exit and the log tail: %q", msg)
		}
		if p.exitCode() != 3 {
			t.Fatalf("exit code %d, want 3", p.exitCode())
		}
	})
	t.Run("deadline", func(t *testing.T) {
		msg := recordFatal(t, func(tb testing.TB) {
			waitFor(tb, "a condition", 500*time.Millisecond, nil, func() (bool, error) { return false, fmt.Errorf("not yet") })
		})
		if !strings.Contains(msg, "gave up after 500ms") || !strings.Contains(msg, "not yet") {
			t.Fatalf("failure message: %q", msg)
		}
	})
	t.Run("stop", func(t *testing.T) {
		p := startProc(t, "sleeper", filepath.Join(dir, "sleeper.log"), "/bin/sleep", "300")
		t0 := time.Now()
		p.stop()
		if !p.exited() || time.Since(t0) > 5*time.Second {
			t.Fatalf("stop: exited=%t after %s", p.exited(), time.Since(t0))
		}
		p.stop() // twice is harmless
	})
}
