package cluster

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The audit log and metrics in testdata were written by a real kube-apiserver v1.37.2 in the e2e suite
// (TestEndpointsWritersReadersCostPrune, MIRRORCTL_E2E_KEEP_AUDIT): see cluster/testdata/README.md.
const (
	realAuditLog = "testdata/kube-apiserver-v1.37.2-audit.log"
	realMetrics  = "testdata/kube-apiserver-v1.37.2-metrics.txt"
)

func TestReadAuditLogReal(t *testing.T) {
	readers, sum, err := ReadAuditLog(realAuditLog)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Events != 43 || sum.EndpointsReads != 38 || sum.First == nil || !sum.Last.After(*sum.First) {
		t.Errorf("summary %+v", sum)
	}
	byAgent := map[string]Reader{}
	for _, r := range readers {
		byAgent[r.UserAgent] = r
	}
	d := byAgent["legacy-dashboard/2.1"]
	if !d.Blocks || d.User != "kubernetes-super-admin" || d.Verbs["list"] != 1 || d.Requests != 1 || d.Last.IsZero() {
		t.Errorf("dashboard: %+v", d)
	}
	k := byAgent["kube-controller-manager/v0.0.0 (linux/amd64) kubernetes/$Format/shared-informers"]
	if k.Blocks || k.Component != "kube-controller-manager" || k.Verbs["watch"] != 1 {
		t.Errorf("kcm: %+v", k)
	}
	if m := byAgent["mirrorctl"]; m.Blocks || m.Component != "mirrorctl" {
		t.Errorf("mirrorctl: %+v", m)
	}
	// Blocking readers come first.
	if !readers[0].Blocks || readers[len(readers)-1].Blocks {
		t.Errorf("order: %+v", readers)
	}
	// Writes (POST, PUT, DELETE) are not reads and are not counted.
	total := 0
	for _, r := range readers {
		total += r.Requests
	}
	if total != sum.EndpointsReads {
		t.Errorf("readers add up to %d, summary says %d", total, sum.EndpointsReads)
	}
}

// A request logged at several stages counts once; impersonation names both users.
func TestReadAuditLogStagesAndImpersonation(t *testing.T) {
	log := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a1","stage":"ResponseStarted","verb":"watch","user":{"username":"system:serviceaccount:monitoring:exporter"},"userAgent":"exporter/1","objectRef":{"resource":"endpoints","apiVersion":"v1"},"requestReceivedTimestamp":"2026-12-05T10:00:00.000000Z"}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a1","stage":"ResponseComplete","verb":"watch","user":{"username":"system:serviceaccount:monitoring:exporter"},"userAgent":"exporter/1","objectRef":{"resource":"endpoints","apiVersion":"v1"},"requestReceivedTimestamp":"2026-12-05T10:00:00.000000Z"}

{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a2","stage":"ResponseComplete","verb":"get","user":{"username":"alice"},"impersonatedUser":{"username":"bob"},"userAgent":"kubectl/v1.37.2","objectRef":{"resource":"endpoints","namespace":"x","name":"y","apiVersion":"v1"},"requestReceivedTimestamp":"2026-12-05T11:00:00.000000Z"}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a3","stage":"ResponseComplete","verb":"list","user":{"username":"alice"},"userAgent":"kubectl/v1.37.2","objectRef":{"resource":"endpointslices","apiGroup":"discovery.k8s.io","apiVersion":"v1"},"requestReceivedTimestamp":"2026-12-05T12:00:00.000000Z"}
`
	readers, sum, err := readAuditLog(strings.NewReader(log), "audit.log")
	if err != nil {
		t.Fatal(err)
	}
	if sum.Events != 4 || sum.EndpointsReads != 2 || len(readers) != 2 {
		t.Fatalf("summary %+v readers %+v", sum, readers)
	}
	for _, r := range readers {
		switch r.User {
		case "system:serviceaccount:monitoring:exporter":
			if r.ServiceAccount != "monitoring/exporter" || r.Requests != 1 || !r.Blocks {
				t.Errorf("exporter %+v", r)
			}
		case "bob":
			if r.ImpersonatedBy != "alice" || r.Verbs["get"] != 1 {
				t.Errorf("bob %+v", r)
			}
		default:
			t.Errorf("unexpected reader %+v", r)
		}
	}
}

// A rotated file compressed by --audit-log-compress reads the same.
func TestReadAuditLogGzip(t *testing.T) {
	raw, err := os.ReadFile(realAuditLog)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(raw)
	zw.Close()
	p := filepath.Join(t.TempDir(), "audit-2026-12-05T23-19-40.000.log.gz")
	if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	want, wantSum, _ := ReadAuditLog(realAuditLog)
	got, sum, err := ReadAuditLog(p)
	if err != nil || len(got) != len(want) || sum.EndpointsReads != wantSum.EndpointsReads || sum.Events != wantSum.Events {
		t.Errorf("gzipped: %d readers %+v %v; plain: %d readers %+v", len(got), sum, err, len(want), wantSum)
	}
	// A truncated gzip stream is an error naming the file.
	if err := os.WriteFile(p, b.Bytes()[:b.Len()/2], 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadAuditLog(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("truncated gzip: %v", err)
	}
}

func TestReadAuditLogBadInput(t *testing.T) {
	good, err := os.ReadFile(realAuditLog)
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(good), "\n")
	dir := t.TempDir()
	defer func(n int) { maxAuditLine = n }(maxAuditLine)
	maxAuditLine = 64 << 10
	for _, tc := range []struct {
		name, body, want string
	}{
		{"truncated", first + "\n" + first[:40] + "\n", ":2: not an audit event"},
		{"other json", first + "\n" + `{"kind":"Pod","apiVersion":"v1"}` + "\n", `:2: not an audit event (kind "Pod"`},
		{"text", "hello\n", ":1: not an audit event"},
		{"long line", first + "\n" + `{"kind":"Event","x":"` + strings.Repeat("x", maxAuditLine) + "\"}\n", ":2: line longer than"},
	} {
		p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".log")
		if err := os.WriteFile(p, []byte(tc.body), 0o600); err != nil {
			t.Fatal(err)
		}
		_, _, err := ReadAuditLog(p)
		if err == nil || !strings.Contains(err.Error(), p+tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want %q", tc.name, err, p+tc.want)
		}
	}
	if _, _, err := ReadAuditLog(filepath.Join(dir, "missing.log")); err == nil || !strings.Contains(err.Error(), "missing.log") {
		t.Errorf("missing file: %v", err)
	}
}

func TestParseEndpointMetricsReal(t *testing.T) {
	raw, err := os.ReadFile(realMetrics)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseEndpointMetrics(raw)
	if err != nil {
		t.Fatal(err)
	}
	// The sample's endpoints lines: LIST 6 (cluster) + 30 (namespace), GET 1, one open WATCH; the
	// POSTs and the PUT are writes.
	if !m.DeprecatedRequested || m.Reads["LIST"] != 36 || m.Reads["GET"] != 1 || m.Reads["WATCH"] != 0 || m.Watches != 1 || len(m.Reads) != 2 {
		t.Errorf("metrics %+v", m)
	}
	if _, err := ParseEndpointMetrics([]byte(`apiserver_request_total{resource="endpoints",verb="LIST} 3` + "\n")); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("malformed line: %v", err)
	}
	// Escapes in label values, and other resources ignored.
	m, err = ParseEndpointMetrics([]byte("apiserver_request_total{resource=\"endpoints\",group=\"\",verb=\"GET\",x=\"a\\\"b\"} 2 1700000000\napiserver_request_total{resource=\"pods\",group=\"\",verb=\"GET\"} 9\n"))
	if err != nil || m.Reads["GET"] != 2 {
		t.Errorf("%+v %v", m, err)
	}
}

func TestReaderAuditConclude(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    ReaderAudit
		safe bool
	}{
		{"nothing known", ReaderAudit{}, false},
		{"metrics with reads, no log", ReaderAudit{Metrics: &EndpointMetrics{Reads: map[string]float64{"LIST": 3}}}, false},
		{"metrics: only the API server's own reads", ReaderAudit{Metrics: &EndpointMetrics{Reads: map[string]float64{"GET": 3}, SelfReads: map[string]float64{"GET": 3}}}, true},
		{"log, control plane only", ReaderAudit{AuditLog: &AuditLogSummary{Events: 3}, Readers: []Reader{{User: "system:kube-controller-manager", Component: "kube-controller-manager"}},
			Metrics: &EndpointMetrics{Reads: map[string]float64{"LIST": 3}}}, true},
		{"log, a blocking reader", ReaderAudit{AuditLog: &AuditLogSummary{Events: 3}, Readers: []Reader{{User: "x", Blocks: true, Verbs: map[string]int{"list": 1}, Requests: 1}}}, false},
		{"empty log", ReaderAudit{AuditLog: &AuditLogSummary{}}, false},
	} {
		r := tc.r
		r.conclude()
		if r.Safe != tc.safe || (len(r.Findings) == 0) != tc.safe {
			t.Errorf("%s: safe %v findings %q, want safe %v", tc.name, r.Safe, r.Findings, tc.safe)
		}
	}
}
