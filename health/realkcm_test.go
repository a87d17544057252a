package health

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// kcmBinary finds a real kube-controller-manager: $MIRRORCTL_KCM, or one the e2e suite built.
func kcmBinary() string {
	if p := os.Getenv("MIRRORCTL_KCM"); p != "" {
		return p
	}
	home, _ := os.UserHomeDir()
	found, _ := filepath.Glob(filepath.Join(home, ".cache/mirrorctl-e2e/v*/kube-controller-manager"))
	if len(found) == 0 {
		return ""
	}
	return found[len(found)-1]
}

// TestRealKCMStandby starts a real kube-controller-manager that cannot reach any apiserver: it serves
// /healthz over HTTPS with the self-signed certificate it generates, healthy and not leading (it never
// gets the lease). The e2e suite covers a leading kcm with a real control plane.
func TestRealKCMStandby(t *testing.T) {
	if testing.Short() {
		t.Skip("starts kube-controller-manager")
	}
	bin := kcmBinary()
	if bin == "" {
		t.Skip("no kube-controller-manager binary (set MIRRORCTL_KCM or build the e2e binaries)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--master=https://127.0.0.1:1", "--bind-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(port), "--cert-dir="+t.TempDir(), "--leader-elect=true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	url := "https://127.0.0.1:" + strconv.Itoa(port) + "/healthz?verbose"

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := Wait(ctx, Options{URL: url, AcceptStandby: true, Interval: 200 * time.Millisecond}); err != nil {
		t.Fatalf("real kcm never served healthz: %v", err)
	}
	c, _ := NewClient(url, "")
	o := Check(ctx, c, url, 2*time.Second)
	if !o.Healthy() || o.Leading() || o.Mirroring() || !o.Checks["leaderElection"] {
		t.Fatalf("real kcm answer parsed as %+v", o)
	}
	// Without AcceptStandby, Wait takes it for a standby after the grace period.
	start := time.Now()
	if err := Wait(ctx, Options{URL: url, StandbyGrace: time.Second, Interval: 200 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < time.Second {
		t.Errorf("accepted a standby after %s, before the grace period", el)
	}
}
