package cluster

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

// Reader is one client that read Endpoints, as the API server's audit log names it: one entry per user
// and user agent.
type Reader struct {
	User string `json:"user"`
	// ServiceAccount is namespace/name when User is a service account.
	ServiceAccount string `json:"service_account,omitempty"`
	// ImpersonatedBy is the authenticated user when the request impersonated User.
	ImpersonatedBy string         `json:"impersonated_by,omitempty"`
	UserAgent      string         `json:"user_agent"`
	Verbs          map[string]int `json:"verbs"` // get, list, watch: requests of each
	Requests       int            `json:"requests"`
	Last           time.Time      `json:"last"` // when the newest of them was received
	// Component names the readers that do not block stopping the Endpoints controller:
	// kube-controller-manager (only its Endpoints and mirroring controllers hold an Endpoints informer
	// in 1.37), kube-apiserver (the default/kubernetes reconciler) and mirrorctl itself. Empty for others.
	Component string `json:"component,omitempty"`
	Blocks    bool   `json:"blocks"` // something outside the control plane reads Endpoints
}

// AuditLogSummary is what the audit log covered.
type AuditLogSummary struct {
	File           string     `json:"file"`
	Events         int        `json:"events"`          // lines read
	EndpointsReads int        `json:"endpoints_reads"` // distinct requests reading Endpoints
	First          *time.Time `json:"first"`           // the oldest and newest request in the file
	Last           *time.Time `json:"last"`
}

// auditEvent is the part of an audit.k8s.io/v1 Event (k8s.io/apiserver pkg/apis/audit/v1) read here.
type auditEvent struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	AuditID    string `json:"auditID"`
	Stage      string `json:"stage"`
	Verb       string `json:"verb"`
	User       struct {
		Username string `json:"username"`
	} `json:"user"`
	ImpersonatedUser *struct {
		Username string `json:"username"`
	} `json:"impersonatedUser"`
	UserAgent string `json:"userAgent"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		APIGroup    string `json:"apiGroup"`
		Subresource string `json:"subresource"`
	} `json:"objectRef"`
	RequestReceived time.Time `json:"requestReceivedTimestamp"`
}

// maxAuditLine bounds one line: a RequestResponse-level event of a big list runs to megabytes. A
// variable so that a test can lower it.
var maxAuditLine = 64 << 20

// ReadAuditLog streams a kube-apiserver audit log (JSON lines, the log backend's format; gzipped as
// --audit-log-compress leaves rotated files, or not) and returns
// every client that got, listed or watched v1 Endpoints, with counts and the last time. A request
// logged at several stages counts once (by auditID). Any line that is not an audit event is an error
// naming the file and the line: a half-understood log would make an unsafe answer look safe.
func ReadAuditLog(path string) ([]Reader, *AuditLogSummary, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("--audit-log %s: %w", path, unwrap(err))
	}
	defer f.Close()
	// kube-apiserver --audit-log-compress gzips the rotated files (audit-….log.gz): read those as they are.
	br := bufio.NewReaderSize(f, 64<<10)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("--audit-log %s: %w", path, err)
		}
		defer zr.Close()
		return readAuditLog(zr, path)
	}
	return readAuditLog(br, path)
}

func readAuditLog(r io.Reader, name string) ([]Reader, *AuditLogSummary, error) {
	sum := &AuditLogSummary{File: name}
	type key struct{ user, impersonator, agent string }
	byKey := map[key]*Reader{}
	seen := map[string]struct{}{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxAuditLine)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(strings.TrimSpace(string(b))) == 0 {
			continue
		}
		var ev auditEvent
		if err := json.Unmarshal(b, &ev); err != nil {
			return nil, nil, fmt.Errorf("%s:%d: not an audit event: %s", name, line, oneLine(err.Error()))
		}
		if ev.Kind != "Event" || !strings.HasPrefix(ev.APIVersion, "audit.k8s.io/") {
			return nil, nil, fmt.Errorf("%s:%d: not an audit event (kind %q, apiVersion %q; want Event, audit.k8s.io/v1)", name, line, ev.Kind, ev.APIVersion)
		}
		sum.Events++
		if t := ev.RequestReceived; !t.IsZero() {
			if sum.First == nil || t.Before(*sum.First) {
				t := t.UTC()
				sum.First = &t
			}
			if sum.Last == nil || t.After(*sum.Last) {
				t := t.UTC()
				sum.Last = &t
			}
		}
		o := ev.ObjectRef
		if o == nil || o.Resource != "endpoints" || o.APIGroup != "" || o.Subresource != "" {
			continue
		}
		if ev.Verb != "get" && ev.Verb != "list" && ev.Verb != "watch" {
			continue
		}
		if ev.AuditID != "" {
			if _, dup := seen[ev.AuditID]; dup {
				continue
			}
			seen[ev.AuditID] = struct{}{}
		}
		sum.EndpointsReads++
		k := key{user: ev.User.Username, agent: ev.UserAgent}
		if ev.ImpersonatedUser != nil {
			k = key{user: ev.ImpersonatedUser.Username, impersonator: ev.User.Username, agent: ev.UserAgent}
		}
		rd := byKey[k]
		if rd == nil {
			rd = &Reader{User: k.user, ImpersonatedBy: k.impersonator, UserAgent: k.agent, Verbs: map[string]int{}}
			if ns, n, ok := strings.Cut(strings.TrimPrefix(k.user, "system:serviceaccount:"), ":"); ok && strings.HasPrefix(k.user, "system:serviceaccount:") {
				rd.ServiceAccount = ns + "/" + n
			}
			rd.Component = controlPlaneReader(k.user, k.agent)
			rd.Blocks = rd.Component == ""
			byKey[k] = rd
		}
		rd.Verbs[ev.Verb]++
		rd.Requests++
		if ev.RequestReceived.After(rd.Last) {
			rd.Last = ev.RequestReceived.UTC()
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, nil, fmt.Errorf("%s:%d: line longer than %d KiB", name, line+1, maxAuditLine>>10)
		}
		return nil, nil, fmt.Errorf("%s: %w", name, unwrap(err))
	}
	out := make([]Reader, 0, len(byKey))
	for _, rd := range byKey {
		out = append(out, *rd)
	}
	// Blocking readers first, then the busiest.
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Blocks != b.Blocks {
			return a.Blocks
		}
		if a.Requests != b.Requests {
			return a.Requests > b.Requests
		}
		if a.User != b.User {
			return a.User < b.User
		}
		return a.UserAgent < b.UserAgent
	})
	return out, sum, nil
}

// controlPlaneReader names the control-plane component behind a user, "" for anyone else. The
// identities are kubeadm's (and the components' defaults): kcm's informers use its own credentials
// (the "shared-informers" client), with --use-service-account-credentials its controllers each have a
// kube-system service account of their name.
// mirrorctl's own reads (this audit, skip) are listed too, and do not block.
func controlPlaneReader(user, agent string) string {
	if agent == "mirrorctl" || strings.HasPrefix(agent, "mirrorctl/") {
		return "mirrorctl"
	}
	switch user {
	case "system:kube-controller-manager",
		"system:serviceaccount:kube-system:endpoint-controller",
		"system:serviceaccount:kube-system:endpointslicemirroring-controller":
		return "kube-controller-manager"
	case "system:apiserver":
		return "kube-apiserver"
	}
	return ""
}
