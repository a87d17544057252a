package e2e

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// TestWait proves mirrorctl's health gate (`--wait`, issue 5 §1) against real kube-controller-manager
// processes run by a mini-kubelet that, like the kubelet's static pod source, watches the manifest and
// restarts kcm from its new command whenever the file's bytes change (and restarts a kcm that exits,
// like a crash loop). kcm listens on one fixed port across restarts, the URL mirrorctl is given.
//
//   - disable_1.37: `disable --wait` returns 0 once the kcm started from the edited manifest is healthy
//     without the mirroring controller, within a poll interval of that moment.
//   - enable_1.37: `enable --wait` on that disabled node returns 0 once the controller is back.
//   - rollback_1.27: a change kcm cannot start with (the canonical name on kcm 1.27, forced with
//     --controller-name on a manifest whose image names no version) is rolled back automatically:
//     exit 1, the manifest byte for byte as before, kcm healthy again with mirroring on, and the
//     change and the rollback in `snapshots list`.
func TestWait(t *testing.T) {
	kcm137 := bin(t, set137, "kube-controller-manager")
	kcm127 := bin(t, set127, "kube-controller-manager")
	mirrorctlBin(t)
	c := newCluster(t)
	sub := func(name string, f func(t *testing.T)) { c.run(t, name, f) }

	root := c.root
	manifest := filepath.Join(root, nodeManifest)
	copyFile(t, repoFile("testdata/kubeadm/v1.37/kube-controller-manager.yaml"), manifest)
	k := startMiniKubelet(t, c, kcm137, manifest)
	t.Cleanup(func() { k.logEvents(t) })
	k.waitState(t, true, startTimeout)

	sub("disable_1.37", func(t *testing.T) {
		k.use(c)
		before := readFile(t, manifest)
		obs := k.observe(false, changedFrom(before))
		r := runMirrorctl(t, root, "-o", "json", "disable", "--wait", "90s", "--wait-url", k.url())
		if r.code != 0 {
			t.Fatalf("disable --wait: exit %d, want 0\nstderr:\n%s", r.code, r.stderr)
		}
		var res result
		if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
			t.Fatalf("disable --wait: stdout is not JSON: %v\n%s", err, r.stdout)
		}
		expectResult(t, res, true, "disabled")
		if readFile(t, manifest) == before {
			t.Fatal("disable --wait: the manifest is unchanged")
		}
		expectWaitLines(t, r.stderr, "[wait] kube-controller-manager is healthy, mirroring controller not running after")
		k.expectGateTiming(t, r, obs)
		expectHealthz(t, c, false)
	})

	sub("enable_1.37", func(t *testing.T) {
		k.use(c)
		if !strings.HasPrefix(controllerState(podCommand(t, manifest, "kube-controller-manager")), "mirroring=false ") {
			t.Skip("the node is not disabled: disable_1.37 failed")
		}
		obs := k.observe(true, changedFrom(readFile(t, manifest)))
		r := runMirrorctl(t, root, "-o", "json", "enable", "--wait", "90s", "--wait-url", k.url())
		if r.code != 0 {
			t.Fatalf("enable --wait: exit %d, want 0\nstderr:\n%s", r.code, r.stderr)
		}
		var res result
		if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
			t.Fatalf("enable --wait: stdout is not JSON: %v\n%s", err, r.stdout)
		}
		expectResult(t, res, true, "enabled")
		expectWaitLines(t, r.stderr, "[wait] kube-controller-manager is healthy, mirroring controller running after")
		k.expectGateTiming(t, r, obs)
		expectHealthz(t, c, true)
	})
	k.stop()

	sub("rollback_1.27", func(t *testing.T) {
		// A second node root sharing the cluster's credentials, so the snapshot list is this story only.
		root := t.TempDir()
		for _, f := range []string{"etc/kubernetes/controller-manager.conf"} {
			copyFile(t, filepath.Join(c.root, f), filepath.Join(root, f))
		}
		copyTree(t, filepath.Join(c.root, "etc/kubernetes/pki"), filepath.Join(root, "etc/kubernetes/pki"))
		manifest := filepath.Join(root, nodeManifest)
		// A digest-only image: mirrorctl cannot tell the version, so --controller-name is accepted as
		// given (with the version known it refuses the canonical name on 1.27 itself).
		const tagged = "registry.k8s.io/kube-controller-manager:v1.27.16"
		orig := readFile(t, repoFile("testdata/kubeadm/v1.27/kube-controller-manager.yaml"))
		if !strings.Contains(orig, tagged) {
			t.Fatalf("1.27 fixture: no image %s", tagged)
		}
		orig = strings.Replace(orig, tagged, "registry.k8s.io/kube-controller-manager@sha256:"+strings.Repeat("ab", 32), 1)
		writeFile(t, manifest, []byte(orig), 0o600)

		k := startMiniKubelet(t, c, kcm127, manifest)
		defer k.logEvents(t)
		defer k.stop()
		k.use(c)
		k.waitState(t, true, startTimeout)

		const wait = 30 * time.Second
		// After the rollback: a kcm started from the original bytes again, after one from the change.
		obs := k.observe(true, func(starts []kcmStart) bool {
			last := starts[len(starts)-1]
			return string(last.manifest) == orig && slices.ContainsFunc(starts, func(s kcmStart) bool { return string(s.manifest) != orig })
		})
		t0 := time.Now()
		r := runMirrorctl(t, root, "disable", "--controller-name", "endpointslice-mirroring-controller",
			"--wait", wait.String(), "--wait-url", k.url())
		t.Logf("mirrorctl exited %d after %s; stderr:\n%s", r.code, r.exitAt.Sub(t0).Round(time.Millisecond), r.stderr)
		if r.code != 1 {
			t.Fatalf("disable of a change kcm cannot run: exit %d, want 1", r.code)
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
		// kcm really failed on the change: it exited (more than once: the crash loop) with kcm 1.27's
		// own words for an unknown controller name.
		const fatal = `"endpointslice-mirroring-controller" is not in the list of known controllers`
		crashes := k.exitsWith(fatal)
		if crashes == 0 {
			t.Fatalf("no kcm exited with %s: the gate rolled back something that was not failing", fatal)
		}
		t.Logf("kcm 1.27 exited %d time(s) with %s during the wait", crashes, fatal)
		k.expectGateTiming(t, r, obs)
		lines := c.healthzLines()
		if !slices.Contains(lines, "[+]endpointslicemirroring ok") {
			t.Fatalf("kcm 1.27 /healthz?verbose after the rollback lacks the mirroring controller:\n%s", strings.Join(lines, "\n"))
		}

		list := runMirrorctl(t, root, "-o", "json", "snapshots", "list")
		if list.code != 0 {
			t.Fatalf("snapshots list: exit %d\n%s", list.code, list.stderr)
		}
		var snaps []struct {
			ID         string `json:"id"`
			Op         string `json:"op"`
			RollbackOf string `json:"rollback_of"`
		}
		if err := json.Unmarshal([]byte(list.stdout), &snaps); err != nil {
			t.Fatalf("snapshots list: not JSON: %v\n%s", err, list.stdout)
		}
		if len(snaps) != 2 || snaps[0].Op != "auto-rollback" || snaps[1].Op != "disable" || snaps[0].RollbackOf != snaps[1].ID {
			t.Fatalf("snapshots list: %+v, want [auto-rollback of the disable, disable] (newest first)", snaps)
		}
		if !strings.Contains(lastLine, snaps[1].ID) || !strings.Contains(lastLine, snaps[0].ID) {
			t.Errorf("mirrorctl's error line names neither snapshot %s (rolled back) nor %s (failed state): %s", snaps[1].ID, snaps[0].ID, lastLine)
		}
	})
}

// miniKubelet runs kube-controller-manager from a static pod manifest the way the kubelet does, as far
// as the health gate can tell: it re-reads the file every 500 ms and, when the bytes change, stops the
// running kcm (SIGTERM) and starts one from the new command; a kcm that exits is started again after a
// second (a crash loop without the growing back-off). Host paths are remapped onto the cluster's node
// root and a fixed --secure-port, a fresh cert dir and --leader-elect=false are appended, as in
// cluster.launchKCM. It never calls into testing.T: events are recorded and logged by the test.
type miniKubelet struct {
	c        *cluster
	bin      string
	manifest string
	root     string // the node root the manifest's host paths map onto
	port     int
	// leaderElect leaves kcm's leader election on: a kcm then leads only once it holds the lease.
	leaderElect bool
	certDir     string
	logDir      string
	stopCh      chan struct{}
	done        chan struct{}

	mu     sync.Mutex
	cur    *proc
	starts []kcmStart
	events []string
}

type kcmStart struct {
	n        int // 1-based
	at       time.Time
	manifest []byte
	p        *proc
}

// run runs f as a subtest of t; the harness reports through c.t, so for the subtest it points there.
func (c *cluster) run(t *testing.T, name string, f func(t *testing.T)) {
	t.Run(name, func(t *testing.T) {
		parent := c.t
		c.t = t
		defer func() { c.t = parent }()
		f(t)
	})
}

// changedFrom accepts a kcm started from manifest bytes other than before.
func changedFrom(before string) func([]kcmStart) bool {
	return func(starts []kcmStart) bool { return string(starts[len(starts)-1].manifest) != before }
}

const (
	kubeletPoll    = 500 * time.Millisecond
	crashLoopDelay = time.Second
	observePoll    = 50 * time.Millisecond
)

func startMiniKubelet(t *testing.T, c *cluster, kcmBin, manifest string) *miniKubelet {
	t.Helper()
	return startMiniKubeletWith(t, c, kcmBin, manifest, false)
}

// startMiniKubeletWith is startMiniKubelet; leaderElect keeps kcm's leader election (the manifest's
// --leader-elect=true) instead of turning it off.
func startMiniKubeletWith(t *testing.T, c *cluster, kcmBin, manifest string, leaderElect bool) *miniKubelet {
	t.Helper()
	dir := t.TempDir()
	k := &miniKubelet{
		c: c, bin: kcmBin, manifest: manifest, leaderElect: leaderElect,
		root:    strings.TrimSuffix(manifest, string(filepath.Separator)+filepath.FromSlash(nodeManifest)),
		port:    freePorts(t, 1)[0],
		certDir: filepath.Join(dir, "certs"),
		logDir:  dir,
		stopCh:  make(chan struct{}),
		done:    make(chan struct{}),
	}
	go k.run()
	t.Cleanup(k.stop)
	return k
}

// use points the harness's kcm helpers (healthzLines, kcmGet, expectHealthz) at this kubelet's kcm.
func (k *miniKubelet) use(c *cluster) { c.kcmPort = k.port }

func (k *miniKubelet) url() string {
	return fmt.Sprintf("https://127.0.0.1:%d/healthz?verbose", k.port)
}

func (k *miniKubelet) eventf(format string, args ...any) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.events = append(k.events, time.Now().Format("15:04:05.000")+" "+fmt.Sprintf(format, args...))
}

func (k *miniKubelet) logEvents(t *testing.T) {
	k.mu.Lock()
	defer k.mu.Unlock()
	t.Logf("mini-kubelet (%s, port %d):\n%s", filepath.Base(filepath.Dir(k.bin)), k.port, strings.Join(k.events, "\n"))
}

func (k *miniKubelet) run() {
	defer close(k.done)
	var running []byte // the manifest bytes the current kcm was started from
	var exitSeen time.Time
	for {
		b, err := os.ReadFile(k.manifest)
		k.mu.Lock()
		cur := k.cur
		k.mu.Unlock()
		switch {
		case err != nil:
			k.eventf("read manifest: %v", err)
		case !bytes.Equal(b, running):
			if cur != nil {
				k.eventf("manifest changed: stopping kcm #%d", k.count())
				cur.stop()
			}
			running = b
			exitSeen = time.Time{}
			k.start(b)
		case cur != nil && cur.exited():
			if exitSeen.IsZero() {
				exitSeen = time.Now()
				k.eventf("kcm #%d exited: %v: %s", k.count(), cur.err, lastNonEmptyLine(cur.log()))
			}
			if time.Since(exitSeen) >= crashLoopDelay {
				exitSeen = time.Time{}
				k.start(b)
			}
		}
		select {
		case <-k.stopCh:
			k.mu.Lock()
			cur := k.cur
			k.mu.Unlock()
			cur.stop()
			return
		case <-time.After(kubeletPoll):
		}
	}
}

// start launches kcm from manifest bytes; a manifest kcm cannot be built from is an event, and the
// kubelet waits for the next change (as the real one would keep the old pod spec it could not parse).
func (k *miniKubelet) start(manifest []byte) {
	cmd, err := kcmHostCommand(manifest, k.bin, k.root)
	if err != nil {
		k.eventf("manifest: %v", err)
		k.mu.Lock()
		k.cur = nil
		k.mu.Unlock()
		return
	}
	n := k.count() + 1
	// A cert dir per start: kcm then makes itself a new serving certificate each time, as kubeadm's kcm
	// (no --cert-dir, certificates in memory) does at every restart.
	cmd = append(cmd,
		fmt.Sprintf("--secure-port=%d", k.port),
		"--cert-dir="+filepath.Join(k.certDir, strconv.Itoa(n)),
	)
	if !k.leaderElect {
		cmd = append(cmd, "--leader-elect=false")
	}
	logPath := filepath.Join(k.logDir, fmt.Sprintf("kcm-%d.log", n))
	p, err := launch("kube-controller-manager", logPath, cmd)
	if err != nil {
		k.eventf("start kcm #%d: %v", n, err)
		return
	}
	k.mu.Lock()
	k.cur = p
	k.starts = append(k.starts, kcmStart{n: n, at: time.Now(), manifest: manifest, p: p})
	k.mu.Unlock()
	k.eventf("started kcm #%d: --controllers=%q", n, flagValues(cmd, "controllers"))
}

func (k *miniKubelet) stop() {
	select {
	case <-k.stopCh:
	default:
		close(k.stopCh)
	}
	<-k.done
}

// exitsWith counts the kcm processes that exited with msg in their log.
func (k *miniKubelet) exitsWith(msg string) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	n := 0
	for _, s := range k.starts {
		// klog quotes the error: quotes inside arrive as \".
		if s.p.exited() && s.p.exitCode() != 0 && strings.Contains(strings.ReplaceAll(s.p.log(), `\"`, `"`), msg) {
			n++
		}
	}
	return n
}

func (k *miniKubelet) count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.starts)
}

// current returns the starts so far if the last one is still running.
func (k *miniKubelet) current() ([]kcmStart, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.starts) == 0 || k.starts[len(k.starts)-1].p.exited() {
		return nil, false
	}
	return slices.Clone(k.starts), true
}

// waitState waits until kcm is healthy, leading and in the given mirroring state.
func (k *miniKubelet) waitState(t *testing.T, mirroring bool, timeout time.Duration) {
	t.Helper()
	client := healthClient()
	waitFor(t, fmt.Sprintf("kcm healthy with mirroring=%t", mirroring), timeout, []*proc{k.c.etcd, k.c.api}, func() (bool, error) {
		s := probeHealth(client, k.url())
		return s.err == nil && s.leading && s.mirroring == mirroring, s
	})
}

// sighting is the first instant the observer saw kcm in the wanted state, and which kcm that was.
type sighting struct {
	at    time.Time
	start kcmStart
}

// observe polls kcm every 50 ms and delivers the first instant a kcm accepted by which (given all starts
// so far, the running one last) is healthy, leading and in the given mirroring state: the moment the
// gate should open, measured independently of mirrorctl. The same kcm must be running before and after
// the probe, so an answer from its predecessor cannot count. It gives up after startTimeout plus a
// minute (the channel then stays empty).
func (k *miniKubelet) observe(mirroring bool, which func([]kcmStart) bool) <-chan sighting {
	ch := make(chan sighting, 1)
	go func() {
		client := healthClient()
		deadline := time.Now().Add(startTimeout + time.Minute)
		for time.Now().Before(deadline) {
			before, ok := k.current()
			if ok && which(before) {
				s := probeHealth(client, k.url())
				after, ok := k.current()
				if ok && len(after) == len(before) && s.err == nil && s.leading && s.mirroring == mirroring {
					last := after[len(after)-1]
					k.eventf("observer: kcm #%d healthy, leading, mirroring=%t", last.n, mirroring)
					ch <- sighting{at: s.at, start: last}
					return
				}
			}
			select {
			case <-k.done:
				return
			case <-time.After(observePoll):
			}
		}
	}()
	return ch
}

// expectGateTiming checks that mirrorctl returned after the kcm it waited for was started and within a
// poll interval (plus slack for a loaded 2-core machine) of that kcm becoming healthy.
func (k *miniKubelet) expectGateTiming(t *testing.T, r mirrorctlRun, obs <-chan sighting) {
	t.Helper()
	var s sighting
	select {
	case s = <-obs:
	case <-time.After(startTimeout):
		t.Fatalf("mirrorctl exited %d at %s, but the observer never saw kcm in the wanted state", r.code, r.exitAt.Format("15:04:05.000"))
	}
	// s.at is when the good probe was sent; the answer arrived at most one probe later.
	gap := r.exitAt.Sub(s.at)
	t.Logf("timeline: mirrorctl started %s, kcm #%d started %s, healthy in the wanted state %s, mirrorctl exited %s: gate latency %s (observer polls every %s, mirrorctl every 1 s)",
		r.startAt.Format("15:04:05.000"), s.start.n, s.start.at.Format("15:04:05.000"), s.at.Format("15:04:05.000"),
		r.exitAt.Format("15:04:05.000"), gap.Round(time.Millisecond), observePoll)
	if r.exitAt.Before(s.start.at) {
		t.Errorf("mirrorctl exited (%s) before the kubelet started the kcm it should have waited for (%s)", r.exitAt.Format("15:04:05.000"), s.start.at.Format("15:04:05.000"))
	}
	// mirrorctl can see the good answer up to one observer poll (plus scheduling) before the observer
	// does; a whole second earlier means it opened on something else (a standby guess, the old kcm).
	if gap < -time.Second {
		t.Errorf("mirrorctl exited %s before kcm was healthy in the wanted state: the gate opened early", (-gap).Round(time.Millisecond))
	}
	// The bound is one poll interval (1 s); 3 s leaves room for process start and exit on a
	// machine whose two cores other builds share. A gate that did not wait at all would pass this,
	// which is what the check above is for.
	if gap > 3*time.Second {
		t.Errorf("mirrorctl exited %s after kcm was healthy in the wanted state, want <= 3 s (one poll interval is 1 s)", gap.Round(time.Millisecond))
	}
}

type healthState struct {
	at        time.Time
	err       error
	leading   bool // a controller every kcm runs (deployment) is listed: controllers have started
	mirroring bool // the mirroring controller is listed, under either name
}

func (s healthState) Error() string {
	if s.err != nil {
		return s.err.Error()
	}
	return fmt.Sprintf("healthy, leading=%t, mirroring=%t", s.leading, s.mirroring)
}

func healthClient() *http.Client {
	return &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // kcm's self-signed loopback cert
		// Each poll must reach the kcm listening now, not a pooled connection to the one before.
		DisableKeepAlives: true,
	}}
}

// probeHealth reads /healthz?verbose once. The names are 1.28+ canonical ones or the 1.27 ones.
func probeHealth(client *http.Client, url string) healthState {
	s := healthState{at: time.Now()}
	resp, err := client.Get(url)
	if err != nil {
		s.err = err
		return s
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		s.err = fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(b)))
		return s
	}
	for l := range strings.SplitSeq(string(b), "\n") {
		switch strings.TrimSpace(l) {
		case "[+]deployment-controller ok", "[+]deployment ok":
			s.leading = true
		case "[+]endpointslice-mirroring-controller ok", "[+]endpointslicemirroring ok":
			s.mirroring = true
		}
	}
	return s
}

// kcmHostCommand is podCommand+hostCommand without testing.T, for the kubelet goroutine.
func kcmHostCommand(manifest []byte, binPath, root string) ([]string, error) {
	var pod corev1.Pod
	if err := yaml.UnmarshalStrict(manifest, &pod); err != nil {
		return nil, fmt.Errorf("not a pod manifest: %v", err)
	}
	var cmd []string
	for _, c := range pod.Spec.Containers {
		if c.Name == "kube-controller-manager" {
			cmd = append(slices.Clone(c.Command), c.Args...)
		}
	}
	if len(cmd) == 0 {
		return nil, errors.New("no kube-controller-manager container with a command")
	}
	out := []string{binPath}
	for _, a := range cmd[1:] {
		name, val, ok := strings.Cut(a, "=")
		if ok && strings.HasPrefix(val, "/") {
			if !strings.HasPrefix(val, "/etc/kubernetes/") {
				return nil, fmt.Errorf("flag %s: host path %s is outside /etc/kubernetes", name, val)
			}
			a = name + "=" + filepath.Join(root, val)
		}
		out = append(out, a)
	}
	return out, nil
}

// launch is startProc returning its error instead of failing a test (the kubelet goroutine may not).
func launch(name, logPath string, cmd []string) (*proc, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	c := exec.Command(cmd[0], cmd[1:]...)
	c.Stdout, c.Stderr = logf, logf
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := c.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	p := &proc{name: name, logPath: logPath, cmd: c, done: make(chan struct{})}
	go func() {
		p.err = c.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

type mirrorctlRun struct {
	code            int
	stdout, stderr  string
	startAt, exitAt time.Time
}

// runMirrorctl runs the binary under test and returns its exit code and output; a failure to run it
// at all fails the test.
func runMirrorctl(t *testing.T, root string, args ...string) mirrorctlRun {
	t.Helper()
	full := append([]string{"--root", root}, args...)
	cmd := exec.Command(mirrorctlBin(t), full...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	r := mirrorctlRun{startAt: time.Now()}
	err := cmd.Run()
	r.exitAt = time.Now()
	r.stdout, r.stderr = stdout.String(), stderr.String()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		r.code = ee.ExitCode()
	default:
		t.Fatalf("mirrorctl %s: %v\nstderr: %s", strings.Join(full, " "), err, r.stderr)
	}
	t.Logf("mirrorctl %s: exit %d in %s", strings.Join(args, " "), r.code, r.exitAt.Sub(r.startAt).Round(time.Millisecond))
	return r
}

// expectWaitLines checks that mirrorctl said what it waited for (plain lines: stderr is not a TTY)
// and what it saw at the end.
func expectWaitLines(t *testing.T, stderr, done string) {
	t.Helper()
	if !strings.Contains(stderr, "[wait] ") || !strings.Contains(stderr, done) {
		t.Errorf("stderr lacks the wait progress (%q):\n%s", done, stderr)
	}
	if strings.Contains(stderr, "\r") {
		t.Errorf("stderr is not a terminal, but the progress rewrites lines in place:\n%q", stderr)
	}
}

func lastNonEmptyLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		copyFile(t, p, filepath.Join(dst, rel))
		return nil
	})
	if err != nil {
		t.Fatalf("copy %s: %v", src, err)
	}
}
