package e2e

import (
	"archive/tar"
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// The real kubelet (issue 17): kubelet v1.37.2 of the 1.37 set on containerd from Debian, registered to
// the harness's apiserver as node kubeletNode with a client certificate kubeadm makes (system:node:…,
// checked by the Node authorizer), running kcm as a static pod from images built here. See e2e/README.md.

const (
	kubeletNode = "e2e-node" // nodeRegistration.name in newCluster's kubeadm config
	// kubeadm 1.37's pause (cmd/kubeadm/app/constants: PauseVersion) and kcm image names, so kubeadm's
	// manifests run unchanged (imagePullPolicy IfNotPresent: nothing is pulled).
	pauseImage = "registry.k8s.io/pause:3.10.2"
	kcmImage   = "registry.k8s.io/kube-controller-manager:"
	// kcm listens where kubeadm's manifest says (hostNetwork, default --secure-port).
	kubeletKCMPort = 10257
	kcmMirrorPod   = "kube-controller-manager-" + kubeletNode
	// The kubelet's lock: one kubelet per machine, whoever runs the suite.
	kubeletLock = "/tmp/mirrorctl-e2e-kubelet.lock"
)

// realKubelet is containerd and the kubelet, each started by the test with its own config, state and
// socket under a temp dir (no systemd: it is not PID 1 here).
type realKubelet struct {
	t        testing.TB
	c        *cluster
	base     string // short temp dir: containerd's socket path must fit a sockaddr_un
	sock     string
	ctrd     *proc
	kubelet  *proc
	podDir   string // the static pod folder: <node root>/etc/kubernetes/manifests
	rootDir  string // the kubelet's --root-dir
	kcmImage map[string]string
	created  []string // host folders outside base that did not exist before (removed at teardown)
}

// kubeletPrereqs skips the test where containerd cannot run: not root, or containerd, runc or ctr
// missing (.ci/run installs them from Debian).
func kubeletPrereqs(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the real kubelet needs root (containerd, mounts, cgroups); run the suite as root")
	}
	for _, b := range []string{"containerd", "runc", "ctr"} {
		if _, err := exec.LookPath(b); err != nil {
			t.Skipf("%s is not installed: the real-kubelet scenarios need containerd and runc (`apt-get install containerd runc`, as .ci/run does)", b)
		}
	}
}

// startRealKubelet starts containerd, imports the pause and kcm images (kcm binaries of the given sets,
// tagged with their versions) and starts the kubelet with an empty static pod folder under c.root. The
// teardown (registered here, so it runs before the cluster's) deletes the manifests, waits for the pods
// to go, stops the kubelet, removes the containers, stops containerd and unmounts what is left.
func startRealKubelet(t *testing.T, c *cluster, kcmSets ...string) *realKubelet {
	t.Helper()
	kubeletPrereqs(t)
	kubeletBin := bin(t, set137, "kubelet")
	kubeadm := bin(t, set137, "kubeadm")

	lock, err := os.OpenFile(kubeletLock, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d > time.Second {
		t.Logf("waited %s for %s (another kubelet run)", d.Round(time.Second), kubeletLock)
	}
	cleanStale(t)
	base, err := os.MkdirTemp("", "mk8s-")
	if err != nil {
		t.Fatal(err)
	}
	k := &realKubelet{t: t, c: c, base: base, sock: filepath.Join(base, "containerd.sock"),
		podDir: filepath.Join(c.root, "etc/kubernetes/manifests"), rootDir: filepath.Join(base, "kubelet"),
		kcmImage: map[string]string{}}
	// The kubelet writes a few places it has no flag for; note which ones this run creates.
	for _, d := range []string{"/var/lib/kubelet", "/var/log/containers", "/run/containerd"} {
		if _, err := os.Stat(d); os.IsNotExist(err) {
			k.created = append(k.created, d)
		}
	}
	// Recorded so that a run which never reached its teardown is cleaned up by the next (cleanStale).
	writeFile(t, filepath.Join(base, "created"), []byte(strings.Join(k.created, "\n")), 0o600)
	t.Cleanup(func() {
		k.teardown()
		lock.Close()
	})
	for _, d := range []string{"logs", "root", "state", "opt", "cni/net.d", "cni/bin", "kubelet", "pods", "volume-plugins", "images"} {
		if err := os.MkdirAll(filepath.Join(base, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(k.podDir, 0o755); err != nil {
		t.Fatal(err)
	}

	// containerd. restrict_oom_score_adj: this VM lacks CAP_SYS_RESOURCE and every sandbox fails without
	// it (E2E-NOTES). No CNI config: the pods run on the host network.
	conf := filepath.Join(base, "containerd.toml")
	writeFile(t, conf, fmt.Appendf(nil, `version = 2
root = %[1]q
state = %[2]q
[grpc]
  address = %[3]q
[plugins."io.containerd.internal.v1.opt"]
  path = %[4]q
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %[5]q
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %[6]q
    conf_dir = %[7]q
`, filepath.Join(base, "root"), filepath.Join(base, "state"), k.sock, filepath.Join(base, "opt"), pauseImage,
		filepath.Join(base, "cni/bin"), filepath.Join(base, "cni/net.d")), 0o600)
	t0 = time.Now()
	k.ctrd = startProc(t, "containerd", filepath.Join(base, "logs/containerd.log"), "containerd", "--config", conf)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := k.ctr("version"); err == nil {
			break
		}
		if k.ctrd.exited() {
			t.Skipf("containerd cannot run here: %s", k.ctrd.describeExit())
		}
		if time.Now().After(deadline) {
			t.Fatalf("containerd did not answer on %s within 30 s:\n%s", k.sock, k.ctrd.tail(20))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("containerd %s ready: %s", strings.TrimSpace(run(t, nil, "containerd", "--version")), time.Since(t0).Round(time.Millisecond))

	t0 = time.Now()
	k.importImages(kcmSets)
	t.Logf("images built and imported: %s", time.Since(t0).Round(time.Millisecond))

	// The node's identity: kubeadm's own kubelet.conf (client certificate for system:node:e2e-node in
	// group system:nodes, signed by the cluster CA), pointed at loopback like the other kubeconfigs.
	kcDir := filepath.Join(base, "kubeconfig")
	run(t, nil, kubeadm, "init", "phase", "kubeconfig", "kubelet", "--config", filepath.Join(c.dir, "kubeadm-certs.yaml"), "--kubeconfig-dir", kcDir)
	kubeconfig := filepath.Join(kcDir, "kubelet.conf")
	s := readFile(t, kubeconfig)
	from := fmt.Sprintf("https://%s:%d", advertiseAddress, c.apiPort)
	if !strings.Contains(s, from) || !strings.Contains(s, "system:node:"+kubeletNode) {
		t.Fatalf("%s: no server %s or no system:node:%s user", kubeconfig, from, kubeletNode)
	}
	writeFile(t, kubeconfig, []byte(strings.ReplaceAll(s, from, fmt.Sprintf("https://127.0.0.1:%d", c.apiPort))), 0o600)

	ports := freePorts(t, 2)
	cfg := filepath.Join(base, "kubelet.yaml")
	writeFile(t, cfg, fmt.Appendf(nil, `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
staticPodPath: %[1]s
containerRuntimeEndpoint: unix://%[2]s
imageServiceEndpoint: unix://%[2]s
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
address: 127.0.0.1
port: %[3]d
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: %[4]d
volumePluginDir: %[5]s
podLogsDir: %[6]s
authentication:
  anonymous:
    enabled: true
  webhook:
    enabled: false
authorization:
  mode: AlwaysAllow
evictionHard:
  memory.available: "1Mi"
  nodefs.available: "1%%"
  nodefs.inodesFree: "1%%"
  imagefs.available: "1%%"
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
`, k.podDir, k.sock, ports[0], ports[1], filepath.Join(base, "volume-plugins"), filepath.Join(base, "pods")), 0o600)
	t0 = time.Now()
	k.kubelet = startProc(t, "kubelet", filepath.Join(base, "logs/kubelet.log"), kubeletBin,
		"--config="+cfg,
		"--kubeconfig="+kubeconfig,
		"--root-dir="+k.rootDir,
		"--cert-dir="+filepath.Join(base, "kubelet-pki"),
		"--hostname-override="+kubeletNode,
		"--v=2",
	)
	waitFor(t, "node "+kubeletNode+" registered by the kubelet", startTimeout, k.procs(), func() (bool, error) {
		_, err := c.client.CoreV1().Nodes().Get(c.ctx(), kubeletNode, metav1.GetOptions{})
		return err == nil, err
	})
	t.Logf("kubelet %s registered node %s: %s", k8sVersion(t, set137), kubeletNode, time.Since(t0).Round(time.Millisecond))
	return k
}

func (k *realKubelet) procs() []*proc {
	return append(k.c.procs(), k.ctrd, k.kubelet)
}

// ctr runs containerd's own client against this containerd, in the CRI's namespace.
func (k *realKubelet) ctr(args ...string) (string, error) {
	return runErr(nil, "ctr", append([]string{"--address", k.sock, "--namespace", "k8s.io"}, args...)...)
}

// importImages builds the pause image and one kcm image per set with go-containerregistry (no registry,
// no docker): one layer holding the binary and, as ldd names them, the C library it links against (the
// e2e binaries are built with cgo), written as a docker archive and imported with `ctr images import`.
func (k *realKubelet) importImages(kcmSets []string) {
	t := k.t
	pause := filepath.Join(k.base, "images/pause")
	out, err := runErr([]string{"CGO_ENABLED=0"}, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", pause, "./pause")
	if err != nil {
		t.Fatalf("build pause: %v\n%s", err, out)
	}
	refs := map[name.Reference]v1.Image{}
	add := func(ref string, img v1.Image) {
		tag, err := name.NewTag(ref)
		if err != nil {
			t.Fatal(err)
		}
		refs[tag] = img
	}
	add(pauseImage, k.image(map[string]string{"/pause": pause}, []string{"/pause"}))
	for _, set := range kcmSets {
		b := bin(t, set, "kube-controller-manager")
		files := map[string]string{"/usr/local/bin/kube-controller-manager": b}
		for _, lib := range sharedLibs(t, b) {
			files[lib] = lib
		}
		ref := kcmImage + k8sVersion(t, set)
		add(ref, k.image(files, nil))
		k.kcmImage[set] = ref
	}
	archive := filepath.Join(k.base, "images/images.tar")
	if err := tarball.MultiRefWriteToFile(archive, refs); err != nil {
		t.Fatalf("write %s: %v", archive, err)
	}
	if out, err := k.ctr("images", "import", archive); err != nil {
		t.Fatalf("ctr images import: %v\n%s", err, out)
	}
	os.Remove(archive)
	list, _ := k.ctr("images", "ls", "-q")
	t.Logf("containerd images (k8s.io): %s", strings.Join(strings.Fields(list), " "))
}

// imageDigest is the manifest digest containerd holds for an image name.
func (k *realKubelet) imageDigest(ref string) string {
	k.t.Helper()
	out, err := k.ctr("images", "ls", "name=="+ref)
	if err != nil {
		k.t.Fatalf("ctr images ls: %v\n%s", err, out)
	}
	for l := range strings.SplitSeq(out, "\n") {
		f := strings.Fields(l)
		if len(f) > 2 && f[0] == ref && strings.HasPrefix(f[2], "sha256:") {
			return f[2]
		}
	}
	k.t.Fatalf("ctr images ls: no digest for %s:\n%s", ref, out)
	return ""
}

// image is a linux/amd64 image of one layer holding files (image path → host path).
func (k *realKubelet) image(files map[string]string, entrypoint []string) v1.Image {
	t := k.t
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		var parents []string
		for d := filepath.Dir(p); d != "/"; d = filepath.Dir(d) {
			parents = append([]string{d}, parents...)
		}
		for _, d := range parents {
			if !dirs[d] {
				dirs[d] = true
				tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimPrefix(d, "/") + "/", Mode: 0o755})
			}
		}
		b, err := os.ReadFile(files[p]) // follows links: ld.so is one
		if err != nil {
			t.Fatal(err)
		}
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: strings.TrimPrefix(p, "/"), Mode: 0o755, Size: int64(len(b))})
		tw.Write(b)
	}
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "tmp/", Mode: 0o1777})
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin"}
	cf.Config.Entrypoint = entrypoint
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// sharedLibs lists the absolute paths ldd resolves for a binary (none for a static one).
func sharedLibs(t testing.TB, binary string) []string {
	t.Helper()
	out, err := runErr(nil, "ldd", binary)
	if err != nil {
		if strings.Contains(out, "not a dynamic executable") {
			return nil
		}
		t.Fatalf("ldd %s: %v\n%s", binary, err, out)
	}
	var libs []string
	for _, m := range regexp.MustCompile(`(?m)(/\S+) \(0x`).FindAllStringSubmatch(out, -1) {
		libs = append(libs, m[1])
	}
	return libs
}

// kcmManifest writes a kubeadm kcm manifest into the static pod folder with its hostPath volumes moved
// under the node root (the pod then reads the harness's kubeconfig and pki, and nothing of the host's
// /etc is mounted). The command, which is what mirrorctl edits, is kubeadm's.
func (k *realKubelet) kcmManifest(manifest string) string {
	k.t.Helper()
	var out []string
	prev := ""
	for l := range strings.SplitSeq(manifest, "\n") {
		if strings.HasSuffix(strings.TrimSpace(prev), "hostPath:") {
			if i := strings.Index(l, "path: /"); i >= 0 {
				l = l[:i] + "path: " + filepath.Join(k.c.root, l[i+len("path: "):])
			}
		}
		out = append(out, l)
		prev = l
	}
	s := strings.Join(out, "\n")
	// Nothing of the host may be mounted (a FileOrCreate volume would even create the file there).
	var pod corev1.Pod
	if err := yaml.UnmarshalStrict([]byte(s), &pod); err != nil {
		k.t.Fatalf("kcm manifest: %v", err)
	}
	for _, v := range pod.Spec.Volumes {
		if v.HostPath != nil && !strings.HasPrefix(v.HostPath.Path, k.c.root+"/") {
			k.t.Fatalf("kcm manifest: volume %s still mounts the host's %s", v.Name, v.HostPath.Path)
		}
	}
	return s
}

// mirrorPod reads the kcm pod the kubelet mirrors into the API (nil while there is none).
func (k *realKubelet) mirrorPod() (*corev1.Pod, error) {
	p, err := k.c.client.CoreV1().Pods("kube-system").Get(k.c.ctx(), kcmMirrorPod, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return p, err
}

// kcmContainer is the kcm container's status in the mirror pod.
type kcmContainer struct {
	id       string // containerd's id, from status.containerStatuses
	restarts int32
	ready    bool
	waiting  string // e.g. CrashLoopBackOff
	hash     string // kubernetes.io/config.hash: which file version the pod is
	command  []string
}

func (c kcmContainer) String() string {
	return fmt.Sprintf("container %s restarts=%d ready=%t waiting=%q pod-hash=%s", shortID(c.id), c.restarts, c.ready, c.waiting, c.hash)
}

func shortID(id string) string {
	_, id, _ = strings.Cut(id, "://")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

func (k *realKubelet) kcmStatus() (kcmContainer, error) {
	p, err := k.mirrorPod()
	if err != nil || p == nil {
		return kcmContainer{}, fmt.Errorf("no mirror pod %s (%v)", kcmMirrorPod, err)
	}
	s := kcmContainer{hash: p.Annotations["kubernetes.io/config.hash"]}
	for _, c := range p.Spec.Containers {
		if c.Name == "kube-controller-manager" {
			s.command = append(slices.Clone(c.Command), c.Args...)
		}
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == "kube-controller-manager" {
			s.id, s.restarts, s.ready = cs.ContainerID, cs.RestartCount, cs.Ready
			if cs.State.Waiting != nil {
				s.waiting = cs.State.Waiting.Reason
			}
		}
	}
	return s, nil
}

// kcmLog reads the log the kubelet keeps of a kcm container: podLogsDir/<namespace>_<pod>_<uid>/
// <container>/<restart count>.log, where a static pod's uid is its config hash.
func (k *realKubelet) kcmLog(s kcmContainer) string {
	k.t.Helper()
	p := filepath.Join(k.base, "pods", "kube-system_"+kcmMirrorPod+"_"+s.hash, "kube-controller-manager", fmt.Sprintf("%d.log", s.restarts))
	b, err := os.ReadFile(p)
	if err != nil {
		k.t.Fatalf("kcm container log: %v", err)
	}
	return string(b)
}

func (k *realKubelet) teardown() {
	t := k.t
	t0 := time.Now()
	// 1. Delete the manifests: the kubelet stops the pods (E2E-NOTES: ~1.6 s).
	if k.kubelet != nil && !k.kubelet.exited() {
		entries, _ := os.ReadDir(k.podDir)
		for _, e := range entries {
			os.Remove(filepath.Join(k.podDir, e.Name()))
		}
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			out, err := k.ctr("tasks", "ls", "-q")
			if err == nil && strings.TrimSpace(out) == "" {
				break
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	// 2. The kubelet, then what containerd still holds (stopped containers and sandboxes the kubelet
	// would garbage-collect later), then containerd.
	k.kubelet.stop()
	if k.ctrd != nil && !k.ctrd.exited() {
		ids, _ := k.ctr("containers", "ls", "-q")
		for _, id := range strings.Fields(ids) {
			k.ctr("tasks", "rm", "-f", id)
			k.ctr("containers", "rm", id)
		}
	}
	k.ctrd.stop()
	// 3. Shims outlive containerd by design; ours name our socket on their command line.
	for _, pid := range processesMentioning(k.base) {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Logf("teardown: killed leftover process %d (%s)", pid, cmdline(pid))
	}
	// 4. Mounts under the temp dir (the kubelet's root is a shared bind mount of itself, overlay rootfs).
	for _, m := range mountsUnder(k.base) {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil {
			t.Errorf("teardown: umount %s: %v", m, err)
		}
	}
	if left := mountsUnder(k.base); len(left) > 0 {
		t.Errorf("teardown: mounts left under %s: %v", k.base, left)
	}
	for _, d := range k.created {
		os.RemoveAll(d)
	}
	// The kubelet's cgroups (cgroupfs driver): this machine had no kubelet before (no /var/lib/kubelet),
	// so they are this run's; empty cgroups go with rmdir, deepest first.
	if slices.Contains(k.created, "/var/lib/kubelet") {
		if left := removeCgroups("kubepods"); len(left) > 0 {
			t.Logf("teardown: cgroups not removed (still in use?): %v", left)
		}
	}
	if t.Failed() {
		for _, p := range []*proc{k.kubelet, k.ctrd} {
			if p != nil {
				t.Logf("--- %s log tail (%s):\n%s", p.name, p.logPath, p.tail(30))
			}
		}
		t.Logf("kubelet files kept for inspection: %s", k.base)
	} else {
		os.RemoveAll(k.base)
	}
	t.Logf("kubelet teardown: %s", time.Since(t0).Round(time.Millisecond))
}

// cleanStale removes what an earlier run left when it could not tear down (a `go test -timeout` panic
// skips cleanups; Pdeathsig ends the kubelet and containerd, not the shims): under the kubelet lock no
// other run is live, so every /tmp/mk8s-* is stale.
func cleanStale(t testing.TB) {
	t.Helper()
	stale, _ := filepath.Glob(filepath.Join(os.TempDir(), "mk8s-*"))
	for _, dir := range stale {
		for _, pid := range processesMentioning(dir) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		for _, m := range mountsUnder(dir) {
			syscall.Unmount(m, syscall.MNT_DETACH)
		}
		if b, err := os.ReadFile(filepath.Join(dir, "created")); err == nil {
			for _, d := range strings.Fields(string(b)) {
				os.RemoveAll(d)
			}
			if slices.Contains(strings.Fields(string(b)), "/var/lib/kubelet") {
				removeCgroups("kubepods")
			}
		}
		if len(mountsUnder(dir)) == 0 {
			os.RemoveAll(dir)
		}
		t.Logf("removed %s, left by an earlier run", dir)
	}
}

// removeCgroups removes the cgroup folders named name* (and their children) under every hierarchy of
// /sys/fs/cgroup, returning those that would not go.
func removeCgroups(name string) []string {
	tops, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", name+"*"))
	more, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", name+"*")) // cgroup v2
	var dirs []string
	for _, top := range append(tops, more...) {
		filepath.WalkDir(top, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
	}
	slices.SortFunc(dirs, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	var left []string
	for _, d := range dirs {
		if err := syscall.Rmdir(d); err != nil {
			left = append(left, d)
		}
	}
	return left
}

// mountsUnder lists the mount points under dir, deepest first.
func mountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var ms []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 {
			mp := strings.ReplaceAll(fields[4], `\040`, " ")
			if mp == dir || strings.HasPrefix(mp, dir+"/") {
				ms = append(ms, mp)
			}
		}
	}
	slices.SortFunc(ms, func(a, b string) int { return len(b) - len(a) })
	return slices.Compact(ms)
}

// processesMentioning lists the processes whose command line contains s.
func processesMentioning(s string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil || pid == os.Getpid() {
			continue
		}
		if strings.Contains(cmdline(pid), s) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func cmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}
