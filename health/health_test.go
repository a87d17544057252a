package health

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Controller check names a kubeadm kcm leader lists, as in k8s.io/kubernetes
// cmd/kube-controller-manager/names/controller_names.go (1.29) and controllermanager.go (1.27).
var (
	controllers129 = []string{"serviceaccount-token-controller", "endpoints-controller", "endpointslice-controller",
		"endpointslice-mirroring-controller", "replicationcontroller-controller", "pod-garbage-collector-controller",
		"resourcequota-controller", "namespace-controller", "serviceaccount-controller", "garbage-collector-controller",
		"daemonset-controller", "job-controller", "deployment-controller", "replicaset-controller",
		"horizontal-pod-autoscaler-controller", "disruption-controller", "statefulset-controller", "cronjob-controller",
		"certificatesigningrequest-signing-controller", "certificatesigningrequest-approving-controller",
		"certificatesigningrequest-cleaner-controller", "ttl-controller", "bootstrap-signer-controller",
		"token-cleaner-controller", "node-ipam-controller", "node-lifecycle-controller", "taint-eviction-controller",
		"persistentvolume-binder-controller", "persistentvolume-attach-detach-controller",
		"persistentvolume-expander-controller", "clusterrole-aggregation-controller",
		"persistentvolumeclaim-protection-controller", "persistentvolume-protection-controller",
		"ttl-after-finished-controller", "root-ca-certificate-publisher-controller", "ephemeral-volume-controller",
		"legacy-serviceaccount-token-cleaner-controller", "validatingadmissionpolicy-status-controller"}
	controllers127 = []string{"serviceaccount-token", "endpoint", "endpointslice", "endpointslicemirroring",
		"replicationcontroller", "podgc", "resourcequota", "namespace", "serviceaccount", "garbagecollector",
		"daemonset", "job", "deployment", "replicaset", "horizontalpodautoscaling", "disruption", "statefulset",
		"cronjob", "csrsigning", "csrapproving", "csrcleaner", "ttl", "bootstrapsigner", "tokencleaner", "nodeipam",
		"nodelifecycle", "persistentvolume-binder", "attachdetach", "persistentvolume-expander",
		"clusterrole-aggregation", "pvc-protection", "pv-protection", "ttl-after-finished", "root-ca-cert-publisher",
		"ephemeral-volume"}
)

func without(list []string, drop ...string) []string {
	var out []string
	for _, n := range list {
		keep := true
		for _, d := range drop {
			keep = keep && n != d
		}
		if keep {
			out = append(out, n)
		}
	}
	return out
}

// kcmHealthz renders a /healthz?verbose answer exactly as k8s.io/apiserver/pkg/server/healthz
// handleRootHealth does: "[+]name ok" per passing check, "[-]name failed: reason withheld" per failing
// one, then "healthz check passed" (200) or, through http.Error, "healthz check failed" (500).
// kcm's checks are leaderElection first, then (on the leader) one per started controller, then
// informer-sync.
func kcmHealthz(leading bool, controllers []string, failing ...string) (int, string) {
	checks := []string{"leaderElection"}
	if leading {
		checks = append(checks, controllers...)
		checks = append(checks, "informer-sync")
	}
	var b strings.Builder
	failed := false
	for _, c := range checks {
		bad := false
		for _, f := range failing {
			bad = bad || f == c
		}
		if bad {
			fmt.Fprintf(&b, "[-]%s failed: reason withheld\n", c)
			failed = true
		} else {
			fmt.Fprintf(&b, "[+]%s ok\n", c)
		}
	}
	if failed {
		return http.StatusInternalServerError, b.String() + "healthz check failed\n" // http.Error adds the newline
	}
	return http.StatusOK, b.String() + "healthz check passed\n"
}

func TestParse(t *testing.T) {
	cases := []struct {
		name                      string
		status                    int
		body                      string
		healthy, leading, mirrors bool
	}{
		{"1.29 leader, mirroring on", 200, body(kcmHealthz(true, controllers129)), true, true, true},
		{"1.29 leader, mirroring off", 200, body(kcmHealthz(true, without(controllers129, "endpointslice-mirroring-controller"))), true, true, false},
		{"1.27 leader, mirroring on (old name)", 200, body(kcmHealthz(true, controllers127)), true, true, true},
		{"1.27 leader, mirroring off", 200, body(kcmHealthz(true, without(controllers127, "endpointslicemirroring"))), true, true, false},
		{"standby", 200, body(kcmHealthz(false, nil)), true, false, false},
		{"leader, informers not synced", 500, body(kcmHealthz(true, controllers129, "informer-sync")), false, true, true},
		{"excluded check still counts as listed", 200, "[+]leaderElection ok\n[+]endpointslice-mirroring-controller excluded: ok\n[+]job-controller ok\nhealthz check passed\n", true, true, true},
		{"plain ok (no ?verbose)", 200, "ok", true, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := Parse(c.status, c.body)
			if o.Healthy() != c.healthy || o.Leading() != c.leading || o.Mirroring() != c.mirrors {
				t.Errorf("healthy/leading/mirroring = %v/%v/%v, want %v/%v/%v", o.Healthy(), o.Leading(), o.Mirroring(), c.healthy, c.leading, c.mirrors)
			}
		})
	}
}

func body(_ int, b string) string { return b }

func TestDone(t *testing.T) {
	on := Parse(kcmHealthz(true, controllers129))
	off := Parse(kcmHealthz(true, without(controllers129, "endpointslice-mirroring-controller")))
	standby := Parse(kcmHealthz(false, nil))
	sick := Parse(kcmHealthz(true, without(controllers129, "endpointslice-mirroring-controller"), "informer-sync"))
	refused := Observation{Err: errors.New("connection refused")}
	for _, c := range []struct {
		name          string
		o             Observation
		want, standby bool
		done          bool
	}{
		{"disable: old kcm still runs mirroring", on, false, false, false},
		{"disable: new kcm without mirroring", off, false, false, true},
		{"enable: new kcm with mirroring", on, true, false, true},
		{"enable: old kcm without mirroring", off, true, false, false},
		{"unhealthy never done", sick, false, false, false},
		{"refused never done", refused, false, true, false},
		{"standby waits by default", standby, false, false, false},
		{"standby accepted when asked", standby, true, true, true},
	} {
		if got := c.o.Done(c.want, c.standby); got != c.done {
			t.Errorf("%s: Done = %v, want %v", c.name, got, c.done)
		}
	}
}

// fakeKCM is an HTTPS server that plays a kcm restart: a sequence of phases, each served for a number
// of requests; "down" phases drop the connection like a kcm that is not listening yet.
type fakeKCM struct {
	mu     sync.Mutex
	phases []phase
	hits   atomic.Int64
	srv    *httptest.Server
}

type phase struct {
	n      int  // requests served in this phase; the last phase lasts forever
	down   bool // connection dropped
	status int
	body   string
	cert   int // which serving certificate: a restarted kubeadm kcm serves a new one
}

func newFakeKCM(t *testing.T, phases ...phase) *fakeKCM {
	f := &fakeKCM{phases: phases}
	certs := []tls.Certificate{selfSigned(t), selfSigned(t)}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		if r.URL.Path != "/healthz" || !r.URL.Query().Has("verbose") {
			http.NotFound(w, r)
			return
		}
		f.mu.Lock()
		p := f.phases[0]
		if len(f.phases) > 1 {
			f.phases[0].n--
			if f.phases[0].n <= 0 {
				f.phases = f.phases[1:]
			}
		}
		f.mu.Unlock()
		if p.down {
			hj, ok := w.(http.Hijacker)
			if !ok {
				t.Error("cannot hijack")
				return
			}
			c, _, _ := hj.Hijack()
			c.Close()
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(p.status)
		fmt.Fprint(w, p.body)
	}))
	// Each poll is a new connection (the client keeps none alive): the handshake shows the certificate
	// of the phase that then answers.
	f.srv.TLS = &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		return &tls.Config{Certificates: []tls.Certificate{certs[f.phases[0].cert]}}, nil
	}}
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "localhost@kcm"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func (f *fakeKCM) url() string { return f.srv.URL + "/healthz?verbose" }

func ph(n int, status int, body string) phase { return phase{n: n, status: status, body: body} }

func TestWaitDisableThroughRestart(t *testing.T) {
	onS, onB := kcmHealthz(true, controllers129)
	offS, offB := kcmHealthz(true, without(controllers129, "endpointslice-mirroring-controller"))
	sbS, sbB := kcmHealthz(false, nil)
	syncS, syncB := kcmHealthz(true, without(controllers129, "endpointslice-mirroring-controller"), "informer-sync")
	f := newFakeKCM(t,
		ph(2, onS, onB),         // old kcm, before the kubelet notices the manifest
		phase{n: 2, down: true}, // restarting
		ph(2, sbS, sbB),         // new kcm, waiting for the lease
		ph(1, syncS, syncB),     // leading, informers not synced
		ph(1, offS, offB),       // done
	)
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	err := Wait(ctx, Options{URL: f.url(), Want: false, Interval: 20 * time.Millisecond, Progress: &out})
	if err != nil {
		t.Fatalf("Wait: %v\n%s", err, out.String())
	}
	if got := f.hits.Load(); got != 8 {
		t.Errorf("polled %d times, want 8 (stop at the first good answer)", got)
	}
	if el := time.Since(start); el > 15*time.Second {
		t.Errorf("took %s", el)
	}
	log := out.String()
	for _, want := range []string{"mirroring controller running", "EOF", "not leading", "failing: informer-sync", "is healthy, mirroring controller not running"} {
		if !strings.Contains(log, want) {
			t.Errorf("progress lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "\r") {
		t.Errorf("plain progress must not use \\r:\n%q", log)
	}
}

// disable --endpoints-controller where mirroring was off already: the old kcm (mirroring off, the
// Endpoints controller on) must not pass; the new one without the endpoints-controller check does.
func TestWaitEndpointsController(t *testing.T) {
	oldS, oldB := kcmHealthz(true, without(controllers129, "endpointslice-mirroring-controller"))
	newS, newB := kcmHealthz(true, without(controllers129, "endpointslice-mirroring-controller", "endpoints-controller"))
	f := newFakeKCM(t, ph(3, oldS, oldB), ph(1, newS, newB))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	off := false
	if err := Wait(ctx, Options{URL: f.url(), Want: false, Endpoints: &off, Interval: 10 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if got := f.hits.Load(); got != 4 {
		t.Errorf("polled %d times, want 4 (the old kcm three times, then the new one)", got)
	}
	// 1.27 names the check "endpoint".
	o := Parse(kcmHealthz(true, controllers127))
	if !o.EndpointsRunning() || Parse(kcmHealthz(true, without(controllers127, "endpoint"))).EndpointsRunning() {
		t.Error("EndpointsRunning does not follow the 1.27 check name")
	}
}

func TestWaitEnable127(t *testing.T) {
	offS, offB := kcmHealthz(true, without(controllers127, "endpointslicemirroring"))
	onS, onB := kcmHealthz(true, controllers127)
	f := newFakeKCM(t, ph(3, offS, offB), ph(1, onS, onB))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := Wait(ctx, Options{URL: f.url(), Want: true, Interval: 10 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
}

func TestWaitTimeout(t *testing.T) {
	// kcm never comes back healthy: e.g. an unknown controller name in --controllers.
	f := newFakeKCM(t, phase{n: 1, down: true})
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := Wait(ctx, Options{URL: f.url(), Want: false, Interval: 50 * time.Millisecond, Progress: &out, TTY: true})
	var te *TimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want *TimeoutError", err)
	}
	if te.Healthy || te.Polls < 2 {
		t.Errorf("timeout error %+v", te)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("Wait overran its deadline: %s", el)
	}
	msg := err.Error()
	if !strings.Contains(msg, "did not become healthy without the mirroring controller") || strings.Contains(msg, "\n") {
		t.Errorf("error %q", msg)
	}
	log := out.String()
	if !strings.Contains(log, "\r\x1b[K[wait] ") || !strings.HasSuffix(log, "\n") {
		t.Errorf("tty progress %q", log)
	}
}

func TestWaitAddsAtMostOneInterval(t *testing.T) {
	// The wanted state appears at a known instant; Wait must return within one interval of it.
	offS, offB := kcmHealthz(true, without(controllers129, "endpointslice-mirroring-controller"))
	onS, onB := kcmHealthz(true, controllers129)
	var ready atomic.Int64 // unix nanos when the wanted state appears
	ready.Store(time.Now().Add(400 * time.Millisecond).UnixNano())
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, b := onS, onB
		if time.Now().UnixNano() >= ready.Load() {
			s, b = offS, offB
		}
		w.WriteHeader(s)
		fmt.Fprint(w, b)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	interval := 200 * time.Millisecond
	if err := Wait(ctx, Options{URL: srv.URL + "/healthz?verbose", Interval: interval}); err != nil {
		t.Fatal(err)
	}
	late := time.Since(time.Unix(0, ready.Load()))
	// Slack for a loaded CI machine: the bound that matters is "one interval", not the scheduler.
	if late > interval+500*time.Millisecond {
		t.Errorf("returned %s after kcm was ready; the gate may add at most one interval (%s)", late, interval)
	}
}

func TestWaitCancel(t *testing.T) {
	f := newFakeKCM(t, phase{n: 1, down: true})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	if err := Wait(ctx, Options{URL: f.url(), Interval: 20 * time.Millisecond}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestWaitRefused(t *testing.T) {
	// Nothing listens: a port held by a socket that is bound but never listens, so connections are
	// refused and no other test's server can take the port meanwhile.
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	// Long enough for one probe to be refused on a loaded machine (2 s was not, at a load of 27 on two
	// cores); the assertion is what is reported.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = Wait(ctx, Options{URL: "https://" + addr + "/healthz?verbose", Interval: 50 * time.Millisecond})
	var te *TimeoutError
	if !errors.As(err, &te) || !strings.Contains(te.Last.String(), "refused") {
		t.Fatalf("err = %v", err)
	}
}

func TestLoopbackOnlySkipsVerification(t *testing.T) {
	for _, c := range []struct {
		url  string
		skip bool
	}{
		{"https://127.0.0.1:10257/healthz?verbose", true},
		{"https://127.1.2.3:10257/healthz", true},
		{"https://[::1]:10257/healthz", true},
		{"https://localhost:10257/healthz", true},
		{"https://LOCALHOST:10257/healthz", true},
		{"https://10.0.0.5:10257/healthz", false},
		{"https://cp-1.example:10257/healthz", false},
		{"https://127.0.0.1.nip.io:10257/healthz", false},
	} {
		c2, err := NewClient(c.url, "")
		if err != nil {
			t.Fatal(err)
		}
		skip := c2.Transport.(*http.Transport).TLSClientConfig.InsecureSkipVerify
		if skip != c.skip {
			t.Errorf("%s: InsecureSkipVerify = %v, want %v", c.url, skip, c.skip)
		}
	}
	if _, err := NewClient("ftp://127.0.0.1/", ""); err == nil {
		t.Error("ftp URL accepted")
	}
}

func TestNonLoopbackVerifies(t *testing.T) {
	// The test server's self-signed cert is not trusted; reached under a non-loopback name, the default
	// client must refuse it. The transport dials 127.0.0.1 whatever the name says.
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "https://"))
	u := "https://kcm.example:" + port + "/healthz?verbose"
	c, err := NewClient(u, "")
	if err != nil {
		t.Fatal(err)
	}
	c.Transport.(*http.Transport).DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, "127.0.0.1:"+port)
	}
	o := Check(context.Background(), c, u, 2*time.Second)
	if o.Err == nil || !strings.Contains(o.Err.Error(), "certificate") {
		t.Errorf("non-loopback self-signed cert accepted: %+v", o)
	}
}

func TestWaitStandbyGrace(t *testing.T) {
	sbS, sbB := kcmHealthz(false, nil)
	f := newFakeKCM(t, phase{n: 1, down: true}, ph(1, sbS, sbB))
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	err := Wait(ctx, Options{URL: f.url(), Interval: 20 * time.Millisecond, Progress: &out, StandbyGrace: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 200*time.Millisecond || el > 3*time.Second {
		t.Errorf("returned after %s, want just after the 200ms grace", el)
	}
	if !strings.Contains(out.String(), "taking it for a standby") {
		t.Errorf("progress:\n%s", out.String())
	}
	// A standby streak broken by an unhealthy answer starts again; negative grace never accepts.
	f2 := newFakeKCM(t, ph(1, sbS, sbB))
	ctx2, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	var te *TimeoutError
	if err := Wait(ctx2, Options{URL: f2.url(), Interval: 20 * time.Millisecond, StandbyGrace: -1}); !errors.As(err, &te) {
		t.Errorf("negative grace: err = %v", err)
	}
	// The default grace is capped at half the time left, so a standby is accepted before the deadline.
	f3 := newFakeKCM(t, ph(1, sbS, sbB))
	ctx3, cancel3 := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel3()
	if err := Wait(ctx3, Options{URL: f3.url(), Interval: 20 * time.Millisecond}); err != nil {
		t.Errorf("default grace with a short deadline: %v", err)
	}
}

func TestJudgeLease(t *testing.T) {
	now := time.Now()
	fresh := &Lease{Holder: "cp-2_3f9c", Renewed: now.Add(-3 * time.Second), Duration: 15 * time.Second}
	mine := &Lease{Holder: "cp-1_aa01", Renewed: now.Add(-3 * time.Second), Duration: 15 * time.Second}
	stale := &Lease{Holder: "cp-2_3f9c", Renewed: now.Add(-40 * time.Second), Duration: 15 * time.Second}
	unreachable := fmt.Errorf("get lease: dial tcp 10.0.0.1:6443: connect: connection refused: %w", ErrAPIUnreachable)
	for _, c := range []struct {
		name           string
		l              *Lease
		err            error
		host           string
		notLeading     time.Duration
		standby, stuck bool
		msg            string
	}{
		{"another node leads", fresh, nil, "cp-1", 0, true, false, "held by cp-2"},
		{"this node's previous kcm", mine, nil, "cp-1", 20 * time.Second, false, false, "previous kcm"},
		// Without this node's name the holder may be this node's own new kcm, which lists its
		// controllers a moment after it takes the lease: never a standby, however long kcm has not led
		// (the real kubelet showed a sole kcm taken for a standby of itself after a lease duration).
		{"unknown hostname, early", fresh, nil, "", 5 * time.Second, false, false, "may be this node's own kcm: not taken for a standby"},
		{"unknown hostname, after a lease duration", fresh, nil, "", 20 * time.Second, false, false, "may be this node's own kcm: not taken for a standby"},
		{"this node's name in another case", mine, nil, "CP-1", 0, false, false, "previous kcm"},
		{"nobody renews", stale, nil, "cp-1", 0, false, true, "stopped renewing"},
		{"no lease", nil, nil, "cp-1", 0, false, true, "no kube-controller-manager holds"},
		{"empty holder", &Lease{Renewed: now, Duration: 15 * time.Second}, nil, "cp-1", 0, false, true, "no kube-controller-manager holds"},
		{"API server unreachable", nil, unreachable, "cp-1", 0, false, true, "unreachable with its kubeconfig"},
		{"forbidden", nil, errors.New("leases.coordination.k8s.io is forbidden"), "cp-1", 0, false, false, "not readable"},
	} {
		_ = c.notLeading // how long kcm has not led changes nothing: see the unknown hostname cases
		v := judgeLease(c.l, c.err, c.host)
		if v.standby != c.standby || v.stuck != c.stuck || !strings.Contains(v.msg, c.msg) {
			t.Errorf("%s: %+v, want standby=%v stuck=%v msg ~ %q", c.name, v, c.standby, c.stuck, c.msg)
		}
	}
}

// TestWaitLease: the lease turns a healthy, not-leading kcm into a standby at once when another node
// leads, and keeps a kcm whose API server is unreachable from passing for one when the grace is over.
func TestWaitLease(t *testing.T) {
	sbS, sbB := kcmHealthz(false, nil)
	other := func(context.Context) (*Lease, error) {
		return &Lease{Holder: "cp-2_x", Renewed: time.Now(), Duration: 15 * time.Second}, nil
	}
	// The kubelet restarts kcm (down), the new kcm is a standby: the lease confirms it at once.
	f := newFakeKCM(t, phase{n: 3, down: true}, ph(1, sbS, sbB))
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := Wait(ctx, Options{URL: f.url(), Interval: 20 * time.Millisecond, Progress: &out, Lease: other, Hostname: "cp-1"}); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("a standby the lease confirms took %s; want it at once, not after the grace", el)
	}
	if !strings.Contains(out.String(), "a standby: the leader lease is held by cp-2") {
		t.Errorf("progress:\n%s", out.String())
	}
	// Restarted between two polls, never seen down: the new serving certificate tells.
	fc := newFakeKCM(t, phase{n: 2, status: sbS, body: sbB}, phase{n: 1, status: sbS, body: sbB, cert: 1})
	out.Reset()
	start = time.Now()
	if err := Wait(ctx, Options{URL: fc.url(), Interval: 20 * time.Millisecond, Progress: &out, StandbyGrace: 5 * time.Second, Lease: other, Hostname: "cp-1"}); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 2*time.Second || !strings.Contains(out.String(), "a standby: the leader lease") {
		t.Errorf("a restart seen by its new certificate: returned after %s:\n%s", el, out.String())
	}
	// Never seen down, same certificate: it may still be the old kcm, so the lease alone does not end
	// the wait; the grace does.
	f0 := newFakeKCM(t, ph(1, sbS, sbB))
	out.Reset()
	start = time.Now()
	if err := Wait(ctx, Options{URL: f0.url(), Interval: 20 * time.Millisecond, Progress: &out, StandbyGrace: 400 * time.Millisecond, Lease: other, Hostname: "cp-1"}); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 400*time.Millisecond || !strings.Contains(out.String(), "taking it for a standby") || !strings.Contains(out.String(), "waiting to see kube-controller-manager restart") {
		t.Errorf("a standby never seen restarting was accepted after %s:\n%s", el, out.String())
	}

	down := func(context.Context) (*Lease, error) {
		return nil, fmt.Errorf("dial tcp 127.0.0.1:1: connect: connection refused: %w", ErrAPIUnreachable)
	}
	f2 := newFakeKCM(t, ph(1, sbS, sbB))
	out.Reset()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 800*time.Millisecond)
	defer cancel2()
	var te *TimeoutError
	err := Wait(ctx2, Options{URL: f2.url(), Interval: 20 * time.Millisecond, Progress: &out, StandbyGrace: 100 * time.Millisecond, Lease: down, Hostname: "cp-1"})
	if !errors.As(err, &te) {
		t.Fatalf("unreachable API server: err = %v, want a timeout (no standby)", err)
	}
	if !strings.Contains(err.Error(), "unreachable with its kubeconfig") || !strings.Contains(out.String(), "never leads") {
		t.Errorf("the timeout does not say why: %v\n%s", err, out.String())
	}

	// A lease that cannot be read (no permission) leaves the grace as it was.
	forbidden := func(context.Context) (*Lease, error) { return nil, errors.New("forbidden") }
	f3 := newFakeKCM(t, ph(1, sbS, sbB))
	ctx3, cancel3 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel3()
	if err := Wait(ctx3, Options{URL: f3.url(), Interval: 20 * time.Millisecond, StandbyGrace: 100 * time.Millisecond, Lease: forbidden}); err != nil {
		t.Errorf("unreadable lease: %v, want the grace to accept the standby", err)
	}
}

// TestWaitOwnLeaseWithoutControllers: after a restart, this node's lease renewed again means the new kcm
// leads; a kcm 1.23+ leader lists its controllers, so one that lists none is not taken for a standby by
// the grace (the deadline decides, and says why). A kcm that lists none by nature (before 1.23) is.
func TestWaitOwnLeaseWithoutControllers(t *testing.T) {
	sbS, sbB := kcmHealthz(false, nil)
	start := time.Now()
	renewing := func(context.Context) (*Lease, error) { // this node's new kcm renews it
		return &Lease{Holder: "cp-1_new", Renewed: time.Now(), Duration: 15 * time.Second}, nil
	}
	oldOne := func(context.Context) (*Lease, error) { // the previous kcm's last renewal, still valid
		return &Lease{Holder: "cp-1_old", Renewed: start, Duration: 15 * time.Second}, nil
	}
	for _, c := range []struct {
		name             string
		lease            func(context.Context) (*Lease, error)
		listsControllers bool
		wantTimeout      bool
	}{
		{"1.23+: leads without controllers", renewing, true, true},
		{"before 1.23: lists none by nature", renewing, false, false},
		{"1.23+: the previous kcm's lease, not renewed since", oldOne, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeKCM(t, phase{n: 2, down: true}, ph(1, sbS, sbB))
			var out bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
			defer cancel()
			err := Wait(ctx, Options{URL: f.url(), Interval: 20 * time.Millisecond, Progress: &out, StandbyGrace: 200 * time.Millisecond,
				Lease: c.lease, Hostname: "cp-1", ListsControllers: c.listsControllers})
			var te *TimeoutError
			if got := errors.As(err, &te); got != c.wantTimeout {
				t.Fatalf("err = %v, want timeout %v\n%s", err, c.wantTimeout, out.String())
			}
			if c.wantTimeout && (!strings.Contains(err.Error(), "restarted kube-controller-manager holds the leader lease") || !strings.Contains(err.Error(), "but lists no controllers")) {
				t.Errorf("the timeout does not say why: %v", err)
			}
			if !c.wantTimeout && !strings.Contains(out.String(), "taking it for a standby") {
				t.Errorf("progress:\n%s", out.String())
			}
		})
	}
}

// leaseSeq is a lease reader that answers holders in turn, the last one from then on.
func leaseSeq(holders ...string) (func(context.Context) (*Lease, error), *atomic.Int64) {
	var calls atomic.Int64
	return func(context.Context) (*Lease, error) {
		i := int(calls.Add(1)) - 1
		return &Lease{Holder: holders[min(i, len(holders)-1)], Renewed: time.Now(), Duration: 15 * time.Second}, nil
	}, &calls
}

// TestWaitUnknownNameNoStandby is the real kubelet's case: no /etc/hostname under --root, one control
// plane node; the new kcm takes the lease (its own: "vm_…") and lists its controllers a moment later.
// With this node's name unknown that holder may be this kcm, so neither the lease nor the grace takes
// it for a standby: the gate waits for this kcm to lead in the new state (kcm 1.23+ lists its
// controllers then), and says why.
func TestWaitUnknownNameNoStandby(t *testing.T) {
	sbS, sbB := kcmHealthz(false, nil)
	onS, onB := kcmHealthz(true, controllers129)
	f := newFakeKCM(t,
		phase{n: 2, down: true}, // the kubelet restarting kcm
		ph(40, sbS, sbB),        // the new kcm, healthy, holding the lease before it lists controllers
		ph(1, onS, onB),         // leading with the mirroring controller
	)
	lease, _ := leaseSeq("vm_8d0c")
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := Wait(ctx, Options{URL: f.url(), Want: true, Interval: 20 * time.Millisecond, Progress: &out, StandbyGrace: 100 * time.Millisecond,
		Lease: lease, ListsControllers: true})
	if err != nil {
		t.Fatalf("Wait: %v\n%s", err, out.String())
	}
	log := out.String()
	if strings.Contains(log, "standby") && !strings.Contains(log, "not taken for a standby") {
		t.Errorf("this node's own kcm was taken for a standby:\n%s", log)
	}
	for _, want := range []string{"held by vm", "this node's name is unknown", "is healthy, mirroring controller running after"} {
		if !strings.Contains(log, want) {
			t.Errorf("progress lacks %q:\n%s", want, log)
		}
	}
	// Before 1.23 kcm lists no controllers even as the leader: there the grace still accepts it (health
	// confirmed, flags not), never the lease.
	f2 := newFakeKCM(t, phase{n: 2, down: true}, ph(1, sbS, sbB))
	out.Reset()
	if err := Wait(ctx, Options{URL: f2.url(), Interval: 20 * time.Millisecond, Progress: &out, StandbyGrace: 100 * time.Millisecond, Lease: lease}); err != nil {
		t.Fatalf("before 1.23: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "taking it for a standby") || strings.Contains(out.String(), "a standby: the leader lease") {
		t.Errorf("before 1.23:\n%s", out.String())
	}
}

// TestWaitLearnsNameWhileLeading: with this node's name unknown, the lease read while this kcm leads
// names it; after the restart a lease held by that name is this node's, one held by another name is a
// standby's leader.
func TestWaitLearnsNameWhileLeading(t *testing.T) {
	sbS, sbB := kcmHealthz(false, nil)
	onS, onB := kcmHealthz(true, controllers129)
	for _, c := range []struct {
		name    string
		after   string // the holder after the restart
		standby bool
	}{
		{"another node took the lease", "cp-2_77aa", true},
		{"this node's new kcm holds it", "vm_9e1f", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeKCM(t,
				ph(2, onS, onB),         // the old kcm leads (mirroring on; disable wants it off)
				phase{n: 2, down: true}, // restarting
				ph(1, sbS, sbB),         // the new kcm, not leading
			)
			lease, calls := leaseSeq("vm_0a1b", c.after)
			var out bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			err := Wait(ctx, Options{URL: f.url(), Want: false, Interval: 20 * time.Millisecond, Progress: &out, StandbyGrace: 100 * time.Millisecond,
				Lease: lease, ListsControllers: true})
			if calls.Load() < 2 {
				t.Fatalf("lease read %d times", calls.Load())
			}
			if !strings.Contains(out.String(), "leads as vm") {
				t.Errorf("the name was not learned:\n%s", out.String())
			}
			var te *TimeoutError
			if c.standby {
				if err != nil || !strings.Contains(out.String(), "a standby: the leader lease is held by cp-2") {
					t.Errorf("err = %v\n%s", err, out.String())
				}
				return
			}
			if !errors.As(err, &te) || strings.Contains(out.String(), "standby") {
				t.Errorf("this node's own kcm: err = %v, want a timeout and no standby\n%s", err, out.String())
			}
		})
	}
}

// LeaderName: the lease names this node only while the kcm watched leads (lists controllers).
func TestLeaderName(t *testing.T) {
	onS, onB := kcmHealthz(true, controllers129)
	sbS, sbB := kcmHealthz(false, nil)
	fresh, _ := leaseSeq("vm_0c4f")
	stale := func(context.Context) (*Lease, error) {
		return &Lease{Holder: "vm_0c4f", Renewed: time.Now().Add(-time.Minute), Duration: 15 * time.Second}, nil
	}
	for _, c := range []struct {
		name  string
		ph    phase
		lease func(context.Context) (*Lease, error)
		want  string
	}{
		{"leading", ph(1, onS, onB), fresh, "vm"},
		{"a standby: the lease is another's", ph(1, sbS, sbB), fresh, ""},
		{"down", phase{n: 1, down: true}, fresh, ""},
		{"nobody renews the lease", ph(1, onS, onB), stale, ""},
		{"no lease reader", ph(1, onS, onB), nil, ""},
	} {
		f := newFakeKCM(t, c.ph)
		if got := LeaderName(context.Background(), Options{URL: f.url(), Lease: c.lease}); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
