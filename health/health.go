// Package health watches kube-controller-manager's /healthz?verbose endpoint until kcm runs with the
// flags mirrorctl just wrote: healthy, and on the leader the mirroring controller's line gone (after
// disable) or present (after enable).
//
// Why the controller line is the proof of a restart: the kcm that ran before the change listed the line
// in the opposite state; only a kcm started from the new manifest (or, on an HA control plane, a
// different leader) lists it in the wanted state. A standby kcm lists no controllers at all (they start
// only on the leader), so on a standby Wait can confirm health but not the flags; see AcceptStandby.
//
// TLS: kcm serves /healthz over HTTPS with a self-signed certificate it generates at startup (no
// --tls-cert-file on kubeadm nodes), so there is nothing to verify against. Wait skips certificate
// verification only when the URL's host is a loopback address (127.0.0.0/8, ::1 or "localhost"): the
// connection never leaves the node, and /healthz carries no credentials either way. Any other host is
// verified against the system roots or Options.CAFile.
package health

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// DefaultURL is kcm's secure port on a kubeadm control-plane node.
const DefaultURL = "https://127.0.0.1:10257/healthz?verbose"

// DefaultStandbyGrace: see Options.StandbyGrace.
const DefaultStandbyGrace = 45 * time.Second

// MaxInterval bounds the poll interval: the gate must not add more than a second once kcm is healthy.
const MaxInterval = time.Second

// Mirroring controller check names in /healthz?verbose: the canonical name from 1.28, the only name
// (which the check is named after) before.
var mirroringChecks = []string{"endpointslice-mirroring-controller", "endpointslicemirroring"}

// endpointsChecks are the Endpoints controller's health check names: its canonical name from 1.28, the
// only one before (kcm names each check after the controller).
var endpointsChecks = []string{"endpoints-controller", "endpoint"}

// checks that are not controllers: the leader-election adaptor, the informer-sync check kcm adds once
// informers run, and the generic ones a healthz mux may carry.
var nonControllerChecks = map[string]bool{
	"leaderElection": true, "informer-sync": true, "ping": true, "log": true,
}

// Options configure Wait.
type Options struct {
	URL string // default DefaultURL
	// Want is the mirroring controller state to wait for: true after enable, false after disable.
	Want bool
	// Endpoints, when set, is the Endpoints controller's state to wait for too (a change that switches
	// it: --endpoints-controller). Without it a change that leaves mirroring as it was would pass at
	// once, before kcm restarted. nil: not watched.
	Endpoints *bool
	// Interval between polls; 0 means MaxInterval, larger values are capped at MaxInterval.
	Interval time.Duration
	// Progress receives what Wait is waiting for; nil discards it.
	Progress io.Writer
	// TTY rewrites one progress line in place ("\r"); otherwise Wait logs a line when what it sees
	// changes, and every 15 s while it does not.
	TTY bool
	// AcceptStandby treats a healthy kcm that lists no controllers (a standby on an HA control plane) as
	// done at once: the flags cannot be observed there.
	AcceptStandby bool
	// StandbyGrace is how long a kcm must stay healthy without leading before Wait takes it for a
	// standby and returns (saying so) instead of timing out, which would roll back a good change on
	// every HA standby. A restarted sole kcm takes the lease within about one lease duration (15 s), so
	// 0 means the default: 45 s, or half the time left when the context's deadline is closer. Negative
	// values never accept a standby.
	StandbyGrace time.Duration
	// Lease, when set, reads kcm's leader lease from the API server with kcm's own kubeconfig. While kcm
	// is healthy but not leading, Wait asks it (every LeasePoll at most) who leads instead of guessing
	// from the time that passed: a fresh lease held by another node makes this kcm a standby as soon as
	// kcm has been seen restarting (down, then healthy again). An API server kcm's kubeconfig cannot
	// reach (ErrAPIUnreachable), no lease, or a lease nobody renews mean kcm is not a standby but stuck,
	// and the grace no longer applies. Other errors (no permission) leave the grace as it is.
	Lease func(ctx context.Context) (*Lease, error)
	// Hostname is this node's name: kcm's lease identity is "<hostname>_<uuid>" (os.Hostname() of the
	// kcm process: kcm has no flag to change it). "" when unknown: then Wait learns it from the lease
	// the first time it sees this kcm lead, and until it knows it takes no kcm for a standby from the
	// lease, which could be this kcm's own (see judgeLease).
	Hostname string
	// ListsControllers says kcm lists a health check per controller while it leads, as kcm 1.23 and
	// later do (the caller knows from the image tag). Then a kcm that the lease shows leading since it
	// restarted (this node's lease, renewed after the restart) yet lists no controllers is not a
	// standby, and the grace does not take it for one. Older kcm list none, leader or not.
	ListsControllers bool
	// CAFile verifies a non-loopback URL against this CA bundle instead of the system roots.
	CAFile string
	// Client overrides the HTTP client (tests); its TLS settings are then the caller's.
	Client *http.Client
}

// Lease is kcm's leader lease (kube-system/kube-controller-manager) as the API server has it; Holder
// is "" when nobody holds it.
type Lease struct {
	Holder   string
	Renewed  time.Time
	Duration time.Duration
}

// ErrAPIUnreachable marks a lease lookup that failed for want of the API server (refused, timed out,
// TLS): kcm, with the same kubeconfig, cannot reach it either.
var ErrAPIUnreachable = errors.New("API server unreachable")

// LeasePoll is how often Wait reads the lease while kcm is healthy but not leading.
const LeasePoll = 3 * time.Second

// leaseSkew is allowed between this node's clock and the renewing node's.
const leaseSkew = 2 * time.Second

// leaseVerdict is what the lease says about a healthy kcm that does not lead.
type leaseVerdict struct {
	standby bool   // another node leads: this kcm is a standby
	mine    bool   // a kcm of this node holds the lease
	unknown bool   // someone holds the lease, but this node's name is unknown: it may be this kcm
	stuck   bool   // nobody can lead through this kcm's API server, nobody leads, or this kcm leads without controllers
	msg     string // for the progress line and the timeout error
	key     string // what the verdict is about, without the times in msg: a progress line per change
}

// judgeLease says what lease l (or the error reading it) means for a healthy kcm that does not lead.
// Only a holder known to be another node makes a standby: a kcm that just took the lease lists its
// controllers a moment later (0.4 s under the real kubelet), so a holder that may be this node's own
// new kcm is never taken for another node's, however long this kcm has not led.
func judgeLease(l *Lease, err error, hostname string) leaseVerdict {
	switch {
	case errors.Is(err, ErrAPIUnreachable):
		return leaseVerdict{stuck: true, key: "unreachable", msg: "kube-controller-manager's API server is unreachable with its kubeconfig (" + oneLine(err.Error()) + "): a kcm that cannot reach it never leads"}
	case err != nil:
		return leaseVerdict{key: "unreadable", msg: "leader lease not readable (" + oneLine(err.Error()) + ")"}
	case l == nil || l.Holder == "":
		return leaseVerdict{stuck: true, key: "no holder", msg: "no kube-controller-manager holds the leader lease"}
	}
	host, _, _ := strings.Cut(l.Holder, "_")
	age := time.Since(l.Renewed).Round(time.Second)
	if time.Since(l.Renewed) > l.Duration+leaseSkew {
		return leaseVerdict{stuck: true, key: "stale " + l.Holder, msg: fmt.Sprintf("the leader lease holder %s stopped renewing %s ago: nobody leads", host, age)}
	}
	switch {
	case hostname == "":
		return leaseVerdict{unknown: true, key: "held? " + l.Holder, msg: fmt.Sprintf("the leader lease is held by %s (renewed %s ago), but this node's name is unknown, so it may be this node's own kcm: not taken for a standby; waiting for this kcm to lead in the new state", host, age)}
	case strings.EqualFold(host, hostname):
		// This node's previous kcm: the new one takes over once the lease runs out.
		return leaseVerdict{mine: true, key: "mine " + l.Holder, msg: fmt.Sprintf("the leader lease is still this node's previous kcm's (renewed %s ago)", age)}
	}
	return leaseVerdict{standby: true, key: "held " + l.Holder, msg: fmt.Sprintf("the leader lease is held by %s (renewed %s ago)", host, age)}
}

// leaseHost returns the node name in a fresh lease's holder identity ("<hostname>_<uuid>"), "" for
// none, an unreadable lease or one nobody renews.
func leaseHost(l *Lease, err error) string {
	if err != nil || l == nil || l.Holder == "" || time.Since(l.Renewed) > l.Duration+leaseSkew {
		return ""
	}
	host, _, _ := strings.Cut(l.Holder, "_")
	return host
}

// LeaderName returns this node's name as kcm's leader lease has it when the kcm at o.URL leads now (it
// lists its controllers only then, so the lease holder is this kcm): what a standby verdict needs where
// no other source has it. "" when kcm does not lead, o.Lease is nil, or the lease says nothing fresh.
// A caller asks before the change: under the kubelet the old kcm is gone within a second of the write,
// so Wait seldom sees it lead.
func LeaderName(ctx context.Context, o Options) string {
	if o.Lease == nil {
		return ""
	}
	if o.URL == "" {
		o.URL = DefaultURL
	}
	client := o.Client
	if client == nil {
		var err error
		if client, err = NewClient(o.URL, o.CAFile); err != nil {
			return ""
		}
	}
	if obs := Check(ctx, client, o.URL, 2*time.Second); !obs.Healthy() || !obs.Leading() {
		return ""
	}
	return leaseHost(o.Lease(ctx))
}

// Observation is one poll's outcome.
type Observation struct {
	Err        error           // transport error (refused, timeout, TLS); nil when kcm answered
	StatusCode int             // HTTP status; 0 with Err
	Checks     map[string]bool // check name → ok, from the "[+]name ok" / "[-]name failed" lines
	Failed     []string        // names of failing checks, in order
	// Cert is the SHA-256 of kcm's serving certificate. A kubeadm kcm makes itself a new self-signed
	// one at every start, so a different one means a different process.
	Cert string
}

// Healthy reports HTTP 200.
func (o Observation) Healthy() bool { return o.Err == nil && o.StatusCode == http.StatusOK }

// Leading reports whether kcm lists controller checks, which it does only while it holds the lease and
// has started its controllers.
func (o Observation) Leading() bool {
	for name := range o.Checks {
		if !nonControllerChecks[name] {
			return true
		}
	}
	return false
}

// Mirroring reports whether the mirroring controller's check is listed (under either name).
func (o Observation) Mirroring() bool {
	for _, n := range mirroringChecks {
		if _, ok := o.Checks[n]; ok {
			return true
		}
	}
	return false
}

// EndpointsRunning reports whether the Endpoints controller's check is listed (under either name).
func (o Observation) EndpointsRunning() bool {
	for _, n := range endpointsChecks {
		if _, ok := o.Checks[n]; ok {
			return true
		}
	}
	return false
}

// endpointsDone reports whether o shows the Endpoints controller as opts want it (always, when they
// do not watch it or kcm lists no controllers: Done decides about a standby).
func (opts Options) endpointsDone(o Observation) bool {
	return opts.Endpoints == nil || !o.Leading() || o.EndpointsRunning() == *opts.Endpoints
}

// Done reports whether o is what Wait waits for.
func (o Observation) Done(want, acceptStandby bool) bool {
	if !o.Healthy() {
		return false
	}
	if !o.Leading() {
		return acceptStandby
	}
	return o.Mirroring() == want
}

// String says in a few words what was seen, for progress lines and errors.
func (o Observation) String() string {
	switch {
	case o.Err != nil:
		return oneLine(o.Err.Error())
	case o.StatusCode != http.StatusOK:
		s := fmt.Sprintf("HTTP %d", o.StatusCode)
		if len(o.Failed) > 0 {
			s += ", failing: " + strings.Join(o.Failed, ", ")
		}
		return s
	case !o.Leading():
		return "healthy, not leading (no controllers listed)"
	case o.Mirroring():
		return "healthy, mirroring controller running"
	default:
		return "healthy, mirroring controller not running"
	}
}

// Parse reads a /healthz?verbose body.
func Parse(status int, body string) Observation {
	o := Observation{StatusCode: status, Checks: map[string]bool{}}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "[+]"):
			// "[+]name ok", "[+]name excluded: ok", "[+]name excluded with group: ok"
			name, _, _ := strings.Cut(line[3:], " ")
			o.Checks[name] = true
		case strings.HasPrefix(line, "[-]"):
			name, _, _ := strings.Cut(line[3:], " ")
			o.Checks[name] = false
			o.Failed = append(o.Failed, name)
		}
	}
	return o
}

// TimeoutError is returned when the deadline passes before kcm reaches the wanted state.
type TimeoutError struct {
	URL     string
	Waited  time.Duration
	Wanted  string
	Last    Observation
	Polls   int
	Healthy bool   // kcm answered 200 at least once
	Lease   string // what the leader lease said last, when it was read
}

func (e *TimeoutError) Error() string {
	s := fmt.Sprintf("kube-controller-manager (%s) did not become %s within %s (last: %s", e.URL, e.Wanted, e.Waited.Round(time.Second), e.Last)
	if e.Lease != "" {
		s += "; " + e.Lease
	}
	return s + ")"
}

// describe names what Wait waits for, for humans.
func describe(want bool) string {
	if want {
		return "healthy with the mirroring controller running"
	}
	return "healthy without the mirroring controller"
}

// Wait polls until kcm is healthy in the wanted state, ctx ends, or an option is invalid. On ctx's
// deadline it returns a *TimeoutError; on cancellation ctx.Err().
func Wait(ctx context.Context, o Options) error {
	if o.URL == "" {
		o.URL = DefaultURL
	}
	if o.Interval <= 0 || o.Interval > MaxInterval {
		o.Interval = MaxInterval
	}
	client := o.Client
	if client == nil {
		var err error
		if client, err = NewClient(o.URL, o.CAFile); err != nil {
			return err
		}
	}
	p := &progress{w: o.Progress, tty: o.TTY, what: describe(o.Want), start: time.Now()}
	defer p.finish()
	var last Observation
	polls := 0
	healthyOnce := false
	grace := o.StandbyGrace
	if grace == 0 {
		grace = DefaultStandbyGrace
		if dl, ok := ctx.Deadline(); ok && time.Until(dl)/2 < grace {
			grace = time.Until(dl) / 2
		}
	}
	var standbySince, leaseAt, restartedAt, learnAt time.Time
	hostname := o.Hostname
	var lease leaseVerdict
	leaseMsg := ""     // the last lease verdict, kept for the timeout error when kcm stops answering
	restarted := false // kcm was seen not healthy, or with a new serving certificate, since Wait began
	firstCert := ""
	for {
		reqTimeout := 2 * time.Second
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < reqTimeout {
			reqTimeout = max(time.Until(dl), 10*time.Millisecond)
		}
		last = Check(ctx, client, o.URL, reqTimeout)
		polls++
		healthyOnce = healthyOnce || last.Healthy()
		// Restarted: seen down, or serving another certificate than at first. The lease is read again
		// at once then: what it said about the old kcm may now be true of the new one.
		if !restarted && (!last.Healthy() || firstCert != "" && last.Cert != "" && last.Cert != firstCert) {
			restarted, leaseAt, restartedAt = true, time.Time{}, time.Now()
		}
		if firstCert == "" {
			firstCert = last.Cert
		}
		if last.Done(o.Want, o.AcceptStandby) && o.endpointsDone(last) {
			p.done(last)
			return nil
		}
		if hostname == "" && o.Lease != nil && last.Healthy() && last.Leading() && time.Since(learnAt) >= LeasePoll {
			// This kcm leads now (it lists controllers only then), so the lease names its node: the
			// identity a standby verdict needs. The kcm watched is the one that leads, wherever it runs.
			learnAt = time.Now()
			if h := leaseHost(o.Lease(ctx)); h != "" {
				hostname = h
				p.note("learned "+h, fmt.Sprintf("kube-controller-manager leads as %s (its leader lease): that is this node's name in the lease", h))
			}
		}
		if last.Healthy() && !last.Leading() {
			if standbySince.IsZero() {
				standbySince = time.Now()
			}
			if o.Lease != nil && time.Since(leaseAt) >= LeasePoll {
				leaseAt = time.Now()
				l, err := o.Lease(ctx)
				lease = judgeLease(l, err, hostname)
				if lease.mine && restarted && o.ListsControllers && l.Renewed.After(restartedAt) {
					// Renewed after the old kcm was gone: the new one leads, and would list its
					// controllers. It is no standby; the deadline decides.
					lease = leaseVerdict{stuck: true, key: "leads " + l.Holder, msg: fmt.Sprintf("this node's restarted kube-controller-manager holds the leader lease (renewed %s ago) but lists no controllers", time.Since(l.Renewed).Round(time.Second))}
				}
				leaseMsg = lease.msg
				// Old and new kcm look alike on a standby: the lease speaks for the new one only
				// after kcm was seen down (the kubelet restarting it); until then the grace decides.
				if lease.standby && restarted {
					p.standbyLease(lease.msg)
					return nil
				}
				if lease.standby {
					p.note(lease.key, lease.msg+"; waiting to see kube-controller-manager restart")
				} else {
					p.note(lease.key, lease.msg)
				}
			}
			// Where this kcm lists its controllers once it leads (1.23+) and the lease may be its own,
			// time proves nothing: it keeps waiting for them, and the deadline decides.
			if grace >= 0 && time.Since(standbySince) >= grace && !lease.stuck && !(lease.unknown && o.ListsControllers) {
				p.standby(grace)
				return nil
			}
		} else {
			standbySince, leaseAt, lease = time.Time{}, time.Time{}, leaseVerdict{}
		}
		p.update(last)
		t := time.NewTimer(o.Interval)
		select {
		case <-ctx.Done():
			t.Stop()
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return &TimeoutError{URL: o.URL, Waited: time.Since(p.start), Wanted: describe(o.Want), Last: last, Polls: polls, Healthy: healthyOnce, Lease: leaseMsg}
			}
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Check polls once.
func Check(ctx context.Context, client *http.Client, rawURL string, timeout time.Duration) Observation {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return Observation{Err: err}
	}
	resp, err := client.Do(req)
	if err != nil {
		return Observation{Err: unwrapURLError(err)}
	}
	defer resp.Body.Close()
	// A healthz body is a line per check: a few kilobytes.
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Observation{Err: err}
	}
	o := Parse(resp.StatusCode, string(body))
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		sum := sha256.Sum256(resp.TLS.PeerCertificates[0].Raw)
		o.Cert = hex.EncodeToString(sum[:])
	}
	return o
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// NewClient returns the client Wait uses for rawURL: certificate verification skipped for loopback
// hosts only (see the package comment), otherwise verified against caFile or the system roots.
// Redirects are not followed: /healthz does not redirect, and following one could leave the node.
func NewClient(rawURL, caFile string) (*http.Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("--wait URL %q: %w", rawURL, err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("--wait URL %q: want https://host:port/healthz?verbose", rawURL)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if IsLoopback(u.Hostname()) {
		tc.InsecureSkipVerify = true // self-signed serving cert; loopback only, see package comment
	} else if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("CA file %s: %w", caFile, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s: no PEM certificates", caFile)
		}
		tc.RootCAs = pool
	}
	tr := &http.Transport{
		TLSClientConfig:   tc,
		Proxy:             nil,  // never send a node-local probe through HTTPS_PROXY
		DisableKeepAlives: true, // each poll must see the current kcm process, not a pooled connection to the old one
		DialContext:       (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}, nil
}

// IsLoopback reports whether host is "localhost" or a loopback IP.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// progress prints what Wait is doing: one line rewritten in place on a terminal, log lines otherwise.
type progress struct {
	w       io.Writer
	tty     bool
	what    string
	start   time.Time
	lastMsg string
	lastLog time.Time
	drawn   bool
	// lastNote is the key of the last lease message logged.
	lastNote string
}

const plainEvery = 15 * time.Second

func (p *progress) update(o Observation) {
	if p.w == nil {
		return
	}
	el := time.Since(p.start).Round(time.Second)
	msg := o.String()
	if p.tty {
		// \r and clear-to-end-of-line: a shorter message must not leave the tail of a longer one.
		fmt.Fprintf(p.w, "\r\x1b[K[wait] %s: waiting for kube-controller-manager to be %s (now: %s)", el, p.what, msg)
		p.drawn = true
		return
	}
	if msg == p.lastMsg && time.Since(p.lastLog) < plainEvery {
		return
	}
	p.lastMsg, p.lastLog = msg, time.Now()
	fmt.Fprintf(p.w, "[wait] %s: waiting for kube-controller-manager to be %s (now: %s)\n", el, p.what, msg)
}

func (p *progress) done(o Observation) {
	if p.w == nil {
		return
	}
	if p.tty && p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
	fmt.Fprintf(p.w, "[wait] kube-controller-manager is %s after %s\n", o.String(), time.Since(p.start).Round(100*time.Millisecond))
}

func (p *progress) standby(grace time.Duration) {
	if p.w == nil {
		return
	}
	if p.tty && p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
	fmt.Fprintf(p.w, "[wait] kube-controller-manager is healthy but has not led for %s: taking it for a standby, where the controllers (and so the new flags) cannot be observed; check the leader's node\n", grace.Round(time.Second))
}

// standbyLease reports a standby the leader lease confirmed.
func (p *progress) standbyLease(why string) {
	if p.w == nil {
		return
	}
	if p.tty && p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
	fmt.Fprintf(p.w, "[wait] kube-controller-manager is healthy and a standby: %s; the controllers (and so the new flags) cannot be observed here, check the leader's node\n", why)
}

// note logs what the lease says, once per change of what it is about (key).
func (p *progress) note(key, msg string) {
	if p.w == nil || key == p.lastNote {
		return
	}
	p.lastNote = key
	if p.tty && p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
	fmt.Fprintf(p.w, "[wait] %s\n", msg)
}

func (p *progress) finish() {
	if p.w != nil && p.tty && p.drawn {
		fmt.Fprintln(p.w)
	}
}
