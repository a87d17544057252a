package cluster

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// ReaderAudit answers "is it safe to stop the Endpoints controller?": does anything outside the
// control plane still read v1 Endpoints (issue 16 §4)?
type ReaderAudit struct {
	Safe     bool             `json:"safe"`
	Metrics  *EndpointMetrics `json:"metrics"`   // null when /metrics could not be read
	AuditLog *AuditLogSummary `json:"audit_log"` // null without --audit-log
	Readers  []Reader         `json:"readers"`   // from the audit log
	Findings []string         `json:"findings"`
	Warnings []string         `json:"warnings"`
	Notes    []string         `json:"notes"`
}

// EndpointMetrics is what the API server's own /metrics say about v1 Endpoints since it started. They
// count requests, not clients: kube-apiserver 1.37 has no per-client metric for Endpoints (KEP-4974
// planned one; it is not in the source), so only the audit log can say who.
type EndpointMetrics struct {
	// DeprecatedRequested is apiserver_requested_deprecated_apis{group="",version="v1",resource="endpoints"}:
	// a gauge set to 1 by the first request (any verb) for the deprecated v1 Endpoints (1.33+).
	DeprecatedRequested bool `json:"deprecated_requested"`
	// Reads is apiserver_request_total for endpoints, summed per read verb (GET, LIST, WATCH), every
	// client and response code; SelfReads is apiserver_selfrequest_total, the API server's own part.
	Reads     map[string]float64 `json:"reads"`
	SelfReads map[string]float64 `json:"self_reads"`
	// Watches is apiserver_longrunning_requests{verb="WATCH",resource="endpoints"}: watches open now.
	Watches float64 `json:"watches"`
}

// metricsGetter is the optional part of an API that reads a non-resource text path (/metrics).
type metricsGetter interface {
	GetText(ctx context.Context, absPath string) ([]byte, error)
}

// auditReaders builds the ReaderAudit; a.ServerVersion is already known. auditLog is a host path.
func (c *Client) auditReaders(ctx context.Context, a *Audit, auditLog string) (*ReaderAudit, error) {
	r := &ReaderAudit{Readers: []Reader{}, Findings: []string{}, Warnings: []string{}, Notes: []string{}}
	if auditLog != "" {
		readers, sum, err := ReadAuditLog(auditLog)
		if err != nil {
			return nil, err
		}
		r.Readers, r.AuditLog = readers, sum
	}
	if mg, ok := c.Kube.(metricsGetter); !ok {
		r.Warnings = append(r.Warnings, "API server metrics not read: no REST client")
	} else {
		a.Counts.Requests++
		raw, err := mg.GetText(ctx, "/metrics")
		switch {
		case apierrors.IsForbidden(err) || apierrors.IsNotFound(err):
			r.Warnings = append(r.Warnings, "API server metrics not read: "+oneLine(err.Error()))
		case err != nil:
			return nil, fmt.Errorf("%s/metrics: %s", c.Host, oneLine(err.Error()))
		default:
			m, err := ParseEndpointMetrics(raw)
			if err != nil {
				return nil, fmt.Errorf("%s/metrics: %w", c.Host, err)
			}
			r.Metrics = m
		}
	}
	r.conclude()
	return r, nil
}

// conclude decides Safe: with an audit log, nothing outside the control plane read Endpoints in it;
// without one, the metrics must show no read at all (they cannot say who read).
func (r *ReaderAudit) conclude() {
	blocking := 0
	for _, rd := range r.Readers {
		if rd.Blocks {
			blocking++
			who := rd.User
			if rd.UserAgent != "" {
				who += " (" + rd.UserAgent + ")"
			}
			r.Findings = append(r.Findings, fmt.Sprintf("%s read Endpoints %d time(s), last at %s (%s): it reads nothing once the Endpoints controller stops writing them; move it to EndpointSlices first",
				who, rd.Requests, rd.Last.Format("2006-01-02T15:04:05Z"), verbList(rd.Verbs)))
		}
	}
	reads := 0.0
	if m := r.Metrics; m != nil {
		for v, n := range m.Reads {
			reads += n - m.SelfReads[v]
		}
	}
	switch {
	case r.AuditLog != nil:
		if r.AuditLog.First != nil {
			r.Notes = append(r.Notes, fmt.Sprintf("the audit log %s covers %s to %s: a client that reads Endpoints rarely (a daily job) may not be in it",
				r.AuditLog.File, r.AuditLog.First.Format("2006-01-02T15:04:05Z"), r.AuditLog.Last.Format("2006-01-02T15:04:05Z")))
		}
		if r.AuditLog.Events == 0 {
			r.Findings = append(r.Findings, "the audit log "+r.AuditLog.File+" holds no events: the audit policy may leave Endpoints out (log at least Metadata for endpoints)")
		}
	case r.Metrics == nil:
		r.Findings = append(r.Findings, "nothing tells who reads Endpoints: /metrics was not readable and no --audit-log was given")
	case reads > 0:
		r.Findings = append(r.Findings, fmt.Sprintf("the API server served %.0f read(s) of Endpoints since it started (its metrics count requests, not clients, and include the control plane's own): pass --audit-log FILE to see who", reads))
	}
	if m := r.Metrics; m != nil {
		r.Notes = append(r.Notes, "the metrics are those of the one API server answering; each kube-apiserver counts its own requests since it started")
		if m.Watches > 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("%.0f watch(es) of Endpoints are open on this API server now", m.Watches))
		}
	}
	r.Notes = append(r.Notes, "kube-controller-manager's own reads (its Endpoints and mirroring controllers) and kube-apiserver's (the default/kubernetes reconciler) do not block: they are the controllers being stopped, or independent of them")
	r.Safe = len(r.Findings) == 0 && blocking == 0
}

func verbList(v map[string]int) string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, v[k]))
	}
	return strings.Join(parts, ", ")
}

// ParseEndpointMetrics reads the Prometheus text exposition of kube-apiserver's /metrics and keeps the
// Endpoints figures. Only the lines of the four metric families used are parsed.
func ParseEndpointMetrics(raw []byte) (*EndpointMetrics, error) {
	m := &EndpointMetrics{Reads: map[string]float64{}, SelfReads: map[string]float64{}}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(b) == 0 || b[0] == '#' {
			continue
		}
		name, _, _ := bytes.Cut(b, []byte("{"))
		switch string(name) {
		case "apiserver_requested_deprecated_apis", "apiserver_request_total", "apiserver_selfrequest_total", "apiserver_longrunning_requests":
		default:
			continue
		}
		labels, value, err := parseSample(string(b[len(name):]))
		if err != nil {
			return nil, fmt.Errorf("line %d: %s: %w", line, name, err)
		}
		if labels["resource"] != "endpoints" || labels["group"] != "" || labels["subresource"] != "" {
			continue
		}
		if v, ok := labels["version"]; ok && v != "v1" {
			continue
		}
		verb := labels["verb"]
		switch string(name) {
		case "apiserver_requested_deprecated_apis":
			m.DeprecatedRequested = m.DeprecatedRequested || value > 0
		case "apiserver_request_total":
			if verb == "GET" || verb == "LIST" || verb == "WATCH" {
				m.Reads[verb] += value
			}
		case "apiserver_selfrequest_total":
			if verb == "GET" || verb == "LIST" || verb == "WATCH" {
				m.SelfReads[verb] += value
			}
		case "apiserver_longrunning_requests":
			if verb == "WATCH" {
				m.Watches += value
			}
		}
	}
	return m, sc.Err()
}

// parseSample reads `{k="v",...} value [timestamp]` (the part after the metric name).
func parseSample(s string) (map[string]string, float64, error) {
	labels := map[string]string{}
	if strings.HasPrefix(s, "{") {
		i := 1
		for {
			for i < len(s) && (s[i] == ' ' || s[i] == ',') {
				i++
			}
			if i < len(s) && s[i] == '}' {
				i++
				break
			}
			eq := strings.IndexByte(s[i:], '=')
			if eq < 0 || i+eq+1 >= len(s) || s[i+eq+1] != '"' {
				return nil, 0, fmt.Errorf("malformed labels %q", s)
			}
			key := s[i : i+eq]
			i += eq + 2
			var v strings.Builder
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
					switch s[i] {
					case 'n':
						v.WriteByte('\n')
					default:
						v.WriteByte(s[i])
					}
					continue
				}
				v.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, 0, fmt.Errorf("unterminated label value in %q", s)
			}
			i++ // closing quote
			labels[key] = v.String()
		}
		s = s[i:]
	}
	f := strings.Fields(s)
	if len(f) < 1 {
		return nil, 0, fmt.Errorf("no value in %q", s)
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return nil, 0, fmt.Errorf("value %q: %w", f[0], err)
	}
	return labels, v, nil
}
