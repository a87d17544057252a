package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestKubelet runs mirrorctl's claims about what happens between "the manifest changed" and "kcm runs
// the new flags" against the real kubelet v1.37.2 on containerd (issue 17): kubeadm's kcm manifest is a
// static pod in the node's folder, the kubelet restarts it after every change, and the mirror pod it
// posts to the apiserver is what the test (and `audit`) read. One control plane, one containerd and one
// kubelet serve every subtest, in order: each leaves kcm running healthy with mirroring on.
//
//   - lifecycle: mirroring on; `disable --wait` (the kubelet's restart: container id changes, mirroring
//     off: log line, health line and metrics gone, a new Service unmirrored); `audit` reads the state
//     from the mirror pod; `rollback` → on; `apply-plan --wait` of a saved disable plan → off;
//     `enable --wait` → on. The apply-plan runs beside a second control-plane node (a kcm process under
//     another host name) that takes the lease while the kubelet restarts this node's kcm: the gate
//     accepts the standby from the lease.
//   - auto_rollback: a kcm 1.27 pod (digest-only image) and a change it cannot start with: the real
//     CrashLoopBackOff, the gate times out, restores the manifest, kcm healthy again.
//   - bak_file: a same-named kube-controller-manager.yaml.bak becomes the pod within a 20 s re-read,
//     a dot file in the folder is never run, `lint` reports the .bak, moving it out as lint says brings
//     the intended pod back.
func TestKubelet(t *testing.T) {
	kubeletPrereqs(t)
	kubeadm := bin(t, set137, "kubeadm")
	bin(t, set137, "kubelet")
	mirrorctlBin(t)
	c := newCluster(t)
	k := startRealKubelet(t, c, set137, set127)
	c.kcmPort = kubeletKCMPort
	root := c.root
	sub := func(name string, f func(t *testing.T)) bool { return c.run2(t, name, f) }

	// kubeadm's node files, made in a scratch root so the kubelet never sees the manifest before its host
	// paths point under the node root.
	scratch := t.TempDir()
	m, cfg := kubeadmNode(t, scratch, kubeadm, v1beta4Defaults, k8sVersion(t, set137))
	copyFile(t, cfg, filepath.Join(root, nodeConfig))
	// The node's name as kcm sees it (host network: the host's UTS name), which kcm puts in its lease
	// identity and mirrorctl reads from /etc/hostname to tell its own lease from another node's.
	hostname, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "etc/hostname"), []byte(hostname+"\n"), 0o644)
	origManifest := k.kcmManifest(readFile(t, m))
	manifest := filepath.Join(root, nodeManifest)
	k.place(manifest, origManifest)
	t0 := time.Now()
	s0 := k.waitKCM(t, true, "", startTimeout)
	t.Logf("kubelet started kcm (%s) healthy, leading, mirroring on after %s", s0, time.Since(t0).Round(time.Millisecond))

	ok := sub("lifecycle", func(t *testing.T) {
		a := runAudit(t, root, 0)
		expectAuditPod(t, a, "enabled", "*,bootstrapsigner,tokencleaner")
		c.probeControllers("kprobe-1")
		c.createUserEndpoints("kuser-1", "192.0.2.1")
		latency := c.waitMirrored("kuser-1", "192.0.2.1")
		t.Logf("mirroring on: slice for kuser-1 after %s", latency.Round(time.Millisecond))
		expectMetrics(t, c, true)
		expectHealthz(t, c, true)

		// disable --wait: the kubelet restarts kcm from the edited manifest; the gate opens on it.
		s1 := k.gated(t, s0, false, "disable", "--wait", "90s")
		if !strings.Contains(k.kcmLog(s1), disabledLog) {
			t.Errorf("the log of kcm container %s lacks %s", shortID(s1.id), disabledLog)
		}
		expectMetrics(t, c, false)
		expectHealthz(t, c, false)
		c.probeControllers("kprobe-2")
		c.createUserEndpoints("kuser-2", "192.0.2.2")
		window := max(10*time.Second, 5*latency)
		c.holdsFor("mirroring off", window, func() (bool, string) {
			ips, err := c.mirroredIPs("kuser-2")
			if err != nil || len(ips) != 0 {
				return false, fmt.Sprintf("kuser-2 got a mirrored slice %v (%v)", ips, err)
			}
			return true, ""
		})
		t.Logf("mirroring off: no slice for kuser-2 for %s", window)
		a = runAudit(t, root, exitFindings)
		expectAuditPod(t, a, "disabled", "*,bootstrapsigner,tokencleaner,-endpointslice-mirroring-controller")

		// rollback (no --wait there): the kubelet restarts kcm from the restored bytes.
		mirrorctl(t, root, "rollback")
		if readFile(t, manifest) != origManifest {
			t.Fatal("rollback did not restore the manifest byte for byte")
		}
		t1 := time.Now()
		s2 := k.waitKCM(t, true, s1.id, startTimeout)
		t.Logf("rollback: kubelet restarted kcm %s -> %s, healthy with mirroring after %s", shortID(s1.id), shortID(s2.id), time.Since(t1).Round(time.Millisecond))
		c.waitMirrored("kuser-2", "192.0.2.2")

		// apply-plan --wait: a reviewed disable plan applied, gated on the real restart.
		plan := filepath.Join(t.TempDir(), "disable.plan")
		if r := runMirrorctl(t, root, "disable", "--dry-run", "--save-plan", plan); r.code != 0 {
			t.Fatalf("disable --dry-run --save-plan: exit %d\n%s", r.code, r.stderr)
		}
		// Another control-plane node, not yet changed, whose kcm (a process named cp-2 by its own UTS
		// namespace, leader election on as in kubeadm's manifest) stands by while this node's kcm leads.
		// When the kubelet restarts this node's kcm, cp-2 takes the lease; the gate must accept this
		// node's kcm as a standby from the lease, not wait for controllers it cannot see.
		other := k.otherNodeKCM(t, "cp-2", manifest)
		r := runMirrorctl(t, root, "apply-plan", "--wait", "90s", plan)
		t.Logf("apply-plan --wait with cp-2 beside: exit %d after %s; stderr:\n%s", r.code, r.exitAt.Sub(r.startAt).Round(time.Millisecond), r.stderr)
		if r.code != 0 {
			t.Fatalf("apply-plan --wait: exit %d, want 0", r.code)
		}
		if want := "a standby: the leader lease is held by cp-2"; !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q", want)
		}
		var s3 kcmContainer
		waitFor(t, "the mirror pod to show the restarted kcm", 30*time.Second, k.procs(), func() (bool, error) {
			var err error
			s3, err = k.kcmStatus()
			return err == nil && s3.id != s2.id && s3.ready, fmt.Errorf("%s (%v)", s3, err)
		})
		if !slices.Contains(flagValues(s3.command, "controllers"), "*,bootstrapsigner,tokencleaner,-endpointslice-mirroring-controller") {
			t.Fatalf("after apply-plan --wait the kubelet runs %s with --controllers=%q, not the plan's", s3, flagValues(s3.command, "controllers"))
		}
		t.Logf("apply-plan --wait: kubelet restarted kcm %s -> %s, a standby behind cp-2", shortID(s2.id), shortID(s3.id))
		if h := probeHealth(healthClient(), other.url); h.err != nil || !h.leading || !h.mirroring {
			t.Errorf("cp-2 (unchanged) should lead with mirroring on: %v", h)
		}
		// cp-2 goes away: this node's kcm takes the lease (after it runs out: kcm does not release it on
		// SIGTERM) and runs the plan's flags.
		other.p.stop()
		t0 := time.Now()
		s3 = k.waitKCM(t, false, "", startTimeout)
		t.Logf("cp-2 stopped: this node's kcm %s leads with mirroring off after %s", shortID(s3.id), time.Since(t0).Round(time.Millisecond))

		// enable --wait: back on, a new Service mirrored. Without /etc/hostname under --root: the gate
		// cannot tell this node's lease from another node's by the files, so before the write it asks
		// the lease while this node's kcm leads (the old kcm is gone within a second of the write), and
		// waits for the new kcm to lead: it once took this node's own new kcm, holding the lease 0.4 s
		// before it listed its controllers, for a standby.
		hostnameFile := filepath.Join(root, "etc/hostname")
		if err := os.Remove(hostnameFile); err != nil {
			t.Fatal(err)
		}
		k.gatedLines(t, s3, true, []string{"[gate] this node's name is unknown", "kube-controller-manager leads now as " + hostname + " (its leader lease)"},
			[]string{"is healthy and a standby", "taking it for a standby"}, "enable", "--wait", "90s")
		writeFile(t, hostnameFile, []byte(hostname+"\n"), 0o644)
		c.createUserEndpoints("kuser-3", "192.0.2.3")
		c.waitMirrored("kuser-3", "192.0.2.3")
		expectMetrics(t, c, true)
		a = runAudit(t, root, exitFindings)
		expectAuditPod(t, a, "enabled", "*,bootstrapsigner,tokencleaner")
	})
	if !ok {
		return
	}

	ok = sub("bak_file", func(t *testing.T) {
		before, err := k.kcmStatus()
		if err != nil {
			t.Fatal(err)
		}
		intended := readFile(t, manifest)
		const on = "--controllers=*,bootstrapsigner,tokencleaner"
		if !strings.Contains(intended, on+"\n") {
			t.Fatalf("the manifest has no %s line", on)
		}
		// A dot file, as an editor or a careless script leaves one: the same pod with a controller list
		// kcm would refuse. The kubelet must never run it.
		dot := filepath.Join(k.podDir, ".kube-controller-manager.yaml.swp")
		writeFile(t, dot, []byte(strings.Replace(intended, on, "--controllers=*,dot-file-was-run", 1)), 0o600)
		// A backup beside the manifest holding another variant (mirroring off): same pod name.
		bak := filepath.Join(k.podDir, "kube-controller-manager.yaml.bak")
		writeFile(t, bak, []byte(strings.Replace(intended, on, on+",-endpointslice-mirroring-controller", 1)), 0o600)
		t0 := time.Now()
		s := k.waitKCM(t, false, before.id, startTimeout)
		t.Logf(".bak: the kubelet replaced kcm %s by the .bak's pod %s (mirroring off, %q) %s after the .bak appeared; kube-controller-manager.yaml still says mirroring on",
			shortID(before.id), shortID(s.id), flagValues(s.command, "controllers"), time.Since(t0).Round(time.Millisecond))
		// It stays so across the 20 s re-read (the file that sorts last wins), and the dot file is
		// never the pod.
		c.holdsFor("the .bak's pod runs, never the dot file's", 22*time.Second, func() (bool, string) {
			s2, err := k.kcmStatus()
			if err != nil {
				return false, err.Error()
			}
			if slices.Contains(flagValues(s2.command, "controllers"), "*,dot-file-was-run") {
				return false, "the kubelet runs the dot file"
			}
			if s2.id != s.id {
				return false, fmt.Sprintf("kcm changed again: %s", s2)
			}
			return true, ""
		})
		st := mirrorctl(t, root, "status")
		t.Logf("status (from the files) says mirroring=%s while the kubelet runs the .bak with mirroring off", st.Mirroring)

		out, errOut, code := mirrorctlExit(t, root, "lint")
		t.Logf("lint: exit %d\n%s%s", code, out, errOut)
		if code != exitFindings || !strings.Contains(out, "/etc/kubernetes/manifests/kube-controller-manager.yaml.bak") || !strings.Contains(out, "stray-file") {
			t.Fatalf("lint: exit %d, want %d and a stray-file finding for the .bak", code, exitFindings)
		}
		if strings.Contains(out, ".kube-controller-manager.yaml.swp") {
			t.Errorf("lint reports the dot file, which the kubelet ignores")
		}
		out, errOut, code = mirrorctlExit(t, root, "lint", "--fix", "--dry-run")
		t.Logf("lint --fix --dry-run: exit %d\n%s%s", code, out, errOut)
		// What lint offers for a stray file is its advice (the fix edits feature gates only): move it out
		// of the folder. Done as it says, the kubelet drops the .bak's pod and, at its next re-read, runs
		// the intended manifest again.
		tmpDir := filepath.Join(root, "etc/kubernetes/tmp")
		if err := os.MkdirAll(tmpDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(bak, filepath.Join(tmpDir, filepath.Base(bak))); err != nil {
			t.Fatal(err)
		}
		os.Remove(dot)
		t0 = time.Now()
		s3 := k.waitKCM(t, true, s.id, startTimeout)
		t.Logf(".bak moved out: the kubelet runs the intended pod again (container %s -> %s) after %s", shortID(s.id), shortID(s3.id), time.Since(t0).Round(time.Millisecond))
		if out, _, code := mirrorctlExit(t, root, "lint"); code != 0 {
			t.Errorf("lint after the move: exit %d\n%s", code, out)
		}
	})
	if !ok {
		return
	}

	sub("auto_rollback", func(t *testing.T) {
		before, err := k.kcmStatus()
		if err != nil {
			t.Fatal(err)
		}
		// kcm 1.27 from a digest-only image (the test hook of TestWait: mirrorctl cannot tell the version,
		// so --controller-name is taken as given). containerd finds the image by that name.
		digest := k.imageDigest(k.kcmImage[set127])
		ref := "registry.k8s.io/kube-controller-manager@" + digest
		if out, err := k.ctr("images", "tag", k.kcmImage[set127], ref); err != nil {
			t.Fatalf("ctr images tag: %v\n%s", err, out)
		}
		const tagged = "registry.k8s.io/kube-controller-manager:v1.27.16"
		orig := readFile(t, repoFile("testdata/kubeadm/v1.27/kube-controller-manager.yaml"))
		if !strings.Contains(orig, tagged) {
			t.Fatalf("1.27 fixture: no image %s", tagged)
		}
		orig = k.kcmManifest(strings.Replace(orig, tagged, ref, 1))
		k.place(manifest, orig)
		s0 := k.waitKCM(t, true, before.id, startTimeout)
		t.Logf("kcm 1.27 (%s) runs from %s", shortID(s0.id), ref)

		// Watch the mirror pod for the kubelet's CrashLoopBackOff while mirrorctl waits, and keep the
		// containers' logs (the kubelet deletes a pod's log folder with the pod).
		stop := make(chan struct{})
		seen := make(chan []string, 1)
		logs := map[string]string{}
		go func() {
			var states []string
			for {
				if s, err := k.kcmStatus(); err == nil {
					st := fmt.Sprintf("%s waiting=%s restarts=%d", shortID(s.id), s.waiting, s.restarts)
					if len(states) == 0 || states[len(states)-1] != st {
						states = append(states, st)
					}
				}
				files, _ := filepath.Glob(filepath.Join(k.base, "pods", "kube-system_"+kcmMirrorPod+"_*", "kube-controller-manager", "*.log"))
				for _, f := range files {
					if b, err := os.ReadFile(f); err == nil && len(b) > 0 {
						logs[f] = string(b)
					}
				}
				select {
				case <-stop:
					seen <- states
					return
				case <-time.After(300 * time.Millisecond):
				}
			}
		}()
		// The restored kcm needs 31–34 s to lead again (the kubelet's back-off, then the old lease): the
		// gate gives it one restart's time (45 s with kubeadm's flags) even after a shorter --wait, which
		// once left it 1–4 s of a --wait 35s.
		const wait = 30 * time.Second
		r := runMirrorctl(t, root, "disable", "--controller-name", "endpointslice-mirroring-controller", "--wait", wait.String())
		close(stop)
		states := <-seen
		t.Logf("mirrorctl exited %d after %s; stderr:\n%s", r.code, r.exitAt.Sub(r.startAt).Round(time.Millisecond), r.stderr)
		t.Logf("the mirror pod's kcm container meanwhile:\n%s", strings.Join(states, "\n"))
		if r.code != 1 {
			t.Fatalf("disable of a change kcm cannot run: exit %d, want 1", r.code)
		}
		if !slices.ContainsFunc(states, func(s string) bool { return strings.Contains(s, "waiting=CrashLoopBackOff") }) {
			t.Errorf("the kubelet never reported CrashLoopBackOff for the failing kcm")
		}
		for _, want := range []string{"[gate] --wait 30s is shorter than one kube-controller-manager restart can take here (45s", "[rollback] waiting up to 45s for the restored kube-controller-manager"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("mirrorctl did not say %q", want)
			}
		}
		lastLine := lastNonEmptyLine(r.stderr)
		for _, want := range []string{"did not become healthy without the mirroring controller", "automatically", "healthy again with mirroring enabled"} {
			if !strings.Contains(lastLine, want) {
				t.Errorf("mirrorctl's error line lacks %q: %s", want, lastLine)
			}
		}
		if got := readFile(t, manifest); got != orig {
			t.Fatalf("after the automatic rollback the manifest differs from the original:\n%s", got)
		}
		const fatal = `"endpointslice-mirroring-controller" is not in the list of known controllers`
		crashed := 0
		for _, l := range logs {
			if strings.Contains(strings.ReplaceAll(l, `\"`, `"`), fatal) {
				crashed++
			}
		}
		if crashed == 0 {
			t.Fatalf("no kcm container log has %s: the gate rolled back something that was not failing", fatal)
		}
		t.Logf("%d kcm 1.27 container log(s) end with %s", crashed, fatal)
		s1 := k.waitKCM(t, true, "", startTimeout)
		lines := c.healthzLines()
		if !slices.Contains(lines, "[+]endpointslicemirroring ok") {
			t.Fatalf("kcm 1.27 /healthz?verbose after the rollback lacks the mirroring controller:\n%s", strings.Join(lines, "\n"))
		}
		t.Logf("after the automatic rollback the kubelet runs kcm 1.27 again: container %s, healthy with mirroring on", shortID(s1.id))
		list := runMirrorctl(t, root, "-o", "json", "snapshots", "list")
		var snaps []struct {
			ID         string `json:"id"`
			Op         string `json:"op"`
			RollbackOf string `json:"rollback_of"`
		}
		if err := json.Unmarshal([]byte(list.stdout), &snaps); err != nil || len(snaps) < 2 {
			t.Fatalf("snapshots list: %v\n%s", err, list.stdout)
		}
		if snaps[0].Op != "auto-rollback" || snaps[1].Op != "disable" || snaps[0].RollbackOf != snaps[1].ID {
			t.Fatalf("snapshots list: newest %+v, want the auto-rollback of the disable before it", snaps[:2])
		}
	})
}

// run2 is cluster.run reporting whether the subtest passed.
func (c *cluster) run2(t *testing.T, name string, f func(t *testing.T)) bool {
	ok := true
	c.run(t, name, func(t *testing.T) {
		defer func() { ok = !t.Failed() }()
		f(t)
	})
	return ok
}

// place writes a manifest into the static pod folder in one rename, as mirrorctl does, so the kubelet
// never reads half a file.
func (k *realKubelet) place(path, content string) {
	k.t.Helper()
	tmp := filepath.Join(k.base, "place.tmp")
	writeFile(k.t, tmp, []byte(content), 0o600)
	if err := os.Rename(tmp, path); err != nil {
		k.t.Fatal(err)
	}
}

// waitKCM waits until the mirror pod's kcm container is not notID, ready, and kcm answers healthy and
// leading with the given mirroring state on kubeadm's port.
func (k *realKubelet) waitKCM(t *testing.T, mirroring bool, notID string, timeout time.Duration) kcmContainer {
	t.Helper()
	client := healthClient()
	var s kcmContainer
	waitFor(t, fmt.Sprintf("kubelet-run kcm ready with mirroring=%t (container other than %s)", mirroring, shortID(notID)), timeout, k.procs(), func() (bool, error) {
		var err error
		s, err = k.kcmStatus()
		if err != nil {
			return false, err
		}
		if s.id == "" || s.id == notID || !s.ready {
			return false, fmt.Errorf("%s", s)
		}
		h := probeHealth(client, fmt.Sprintf("https://127.0.0.1:%d/healthz?verbose", kubeletKCMPort))
		return h.err == nil && h.leading && h.mirroring == mirroring, h
	})
	return s
}

// gated runs a changing mirrorctl command with --wait (kubeadm's default URL: kcm's own port) while an
// observer polls kcm every 50 ms, and checks the gate: exit 0, the kubelet replaced the kcm container,
// and mirrorctl returned within a poll interval of the new kcm being healthy in the wanted state.
func (k *realKubelet) gated(t *testing.T, before kcmContainer, mirroring bool, args ...string) kcmContainer {
	t.Helper()
	return k.gatedLines(t, before, mirroring, nil, nil, args...)
}

// gatedLines is gated whose stderr must also say each of say and none of never.
func (k *realKubelet) gatedLines(t *testing.T, before kcmContainer, mirroring bool, say, never []string, args ...string) kcmContainer {
	t.Helper()
	obs := k.observeHealth(mirroring)
	r := runMirrorctl(t, k.c.root, args...)
	if r.code != 0 {
		t.Fatalf("mirrorctl %s: exit %d, want 0\nstderr:\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	for _, s := range say {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("mirrorctl %s did not say %q:\n%s", args[0], s, r.stderr)
		}
	}
	for _, s := range never {
		if strings.Contains(r.stderr, s) {
			t.Errorf("mirrorctl %s said %q:\n%s", args[0], s, r.stderr)
		}
	}
	want := "[wait] kube-controller-manager is healthy, mirroring controller not running after"
	if mirroring {
		want = "[wait] kube-controller-manager is healthy, mirroring controller running after"
	}
	expectWaitLines(t, r.stderr, want)
	var seen time.Time
	select {
	case seen = <-obs:
	case <-time.After(10 * time.Second):
		t.Fatalf("mirrorctl %s exited 0, but the observer never saw kcm healthy with mirroring=%t", args[0], mirroring)
	}
	after := k.waitKCM(t, mirroring, before.id, startTimeout)
	gap := r.exitAt.Sub(seen)
	t.Logf("%s --wait: kubelet restarted kcm: container %s -> %s (pod %s -> %s); mirrorctl ran %s, kcm healthy in the new state %s after mirrorctl started, gate latency %s",
		args[0], shortID(before.id), shortID(after.id), before.hash, after.hash, r.exitAt.Sub(r.startAt).Round(time.Millisecond),
		seen.Sub(r.startAt).Round(time.Millisecond), gap.Round(time.Millisecond))
	if gap < -time.Second {
		t.Errorf("mirrorctl exited %s before kcm was healthy in the wanted state: the gate opened early", (-gap).Round(time.Millisecond))
	}
	if gap > 3*time.Second {
		t.Errorf("mirrorctl exited %s after kcm was healthy in the wanted state, want <= 3 s (one poll interval is 1 s)", gap.Round(time.Millisecond))
	}
	return after
}

// observeHealth delivers the first instant kcm answers healthy, leading, with the given mirroring state,
// on kubeadm's port. Started before a change that flips the state, that is the new kcm.
func (k *realKubelet) observeHealth(mirroring bool) <-chan time.Time {
	ch := make(chan time.Time, 1)
	go func() {
		client := healthClient()
		deadline := time.Now().Add(startTimeout + time.Minute)
		for time.Now().Before(deadline) {
			s := probeHealth(client, fmt.Sprintf("https://127.0.0.1:%d/healthz?verbose", kubeletKCMPort))
			if s.err == nil && s.leading && s.mirroring == mirroring {
				ch <- s.at
				return
			}
			time.Sleep(observePoll)
		}
	}()
	return ch
}

type processKCM struct {
	p   *proc
	url string
}

// otherNodeKCM starts kcm as a process from a manifest's command (paths mapped onto the node root, a free
// --secure-port, its own cert dir; leader election as the manifest says) under another host name, set in
// a UTS namespace of its own, so its lease identity names another node. It waits until it is healthy and
// standing by (this node's kcm leads).
func (k *realKubelet) otherNodeKCM(t *testing.T, hostname, manifest string) processKCM {
	t.Helper()
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare (util-linux) is not installed: no second node")
	}
	port := freePorts(t, 1)[0]
	cmd := hostCommand(t, podCommand(t, manifest, "kube-controller-manager"), bin(t, set137, "kube-controller-manager"), k.c.root)
	cmd = append(cmd, fmt.Sprintf("--secure-port=%d", port), "--cert-dir="+filepath.Join(t.TempDir(), "certs"))
	args := append([]string{"--uts", "sh", "-c", `hostname "$0" && exec "$@"`, hostname}, cmd...)
	p := startProc(t, "kube-controller-manager "+hostname, filepath.Join(k.base, "logs", "kcm-"+hostname+".log"), "unshare", args...)
	t.Cleanup(p.stop)
	o := processKCM{p: p, url: fmt.Sprintf("https://127.0.0.1:%d/healthz?verbose", port)}
	client := healthClient()
	waitFor(t, "kcm "+hostname+" healthy and standing by", startTimeout, append(k.procs(), p), func() (bool, error) {
		h := probeHealth(client, o.url)
		return h.err == nil && !h.leading, h
	})
	return o
}

// expectAuditPod checks audit's control-plane row, which it reads from the kubelet's mirror pod.
func expectAuditPod(t *testing.T, a audit, mirroring, controllers string) {
	t.Helper()
	if len(a.ControlPlane) != 1 {
		t.Fatalf("audit: control_plane %+v, want the one kubelet-mirrored kcm pod", a.ControlPlane)
	}
	cp := a.ControlPlane[0]
	b, _ := json.Marshal(cp)
	t.Logf("audit control_plane: %s", b)
	if cp.Node != kubeletNode || cp.Pod != kcmMirrorPod || cp.Mirroring != mirroring || cp.Controllers != controllers {
		t.Fatalf("audit control_plane %s, want node %s pod %s mirroring %s controllers %s", b, kubeletNode, kcmMirrorPod, mirroring, controllers)
	}
}
