package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mirrorctl/mirrorctl/health"
)

// ErrNoLease means kube-system/kube-controller-manager does not exist: no kcm has ever led.
var ErrNoLease = errors.New("no kube-controller-manager lease")

// KCMLease reads kcm's leader lease.
func (c *Client) KCMLease(ctx context.Context) (*health.Lease, error) {
	l, err := c.Kube.GetLease(ctx, "kube-system", "kube-controller-manager", metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, ErrNoLease
	}
	if err != nil {
		return nil, fmt.Errorf("get lease kube-system/kube-controller-manager: %w", err)
	}
	out := &health.Lease{}
	if h := l.Spec.HolderIdentity; h != nil {
		out.Holder = *h
	}
	if r := l.Spec.RenewTime; r != nil {
		out.Renewed = r.Time
	} else if a := l.Spec.AcquireTime; a != nil {
		out.Renewed = a.Time
	}
	if d := l.Spec.LeaseDurationSeconds; d != nil {
		out.Duration = time.Duration(*d) * time.Second
	}
	return out, nil
}

// IsUnreachable reports whether err is a failure to talk to the API server at all (refused, timed out,
// TLS, DNS) rather than an answer from it.
func IsUnreachable(err error) bool {
	if err == nil {
		return false
	}
	var status apierrors.APIStatus
	return !errors.As(err, &status)
}
