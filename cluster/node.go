package cluster

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NodeAnnotations reads the annotations of the Node named name: where Cluster API manages a machine
// it puts cluster.x-k8s.io/… annotations there (the cluster, its namespace, the Machine and the
// Machine's owner: util/annotations GetManagedAnnotations, sigs.k8s.io/cluster-api@v1.11.0). A Node
// that does not exist has none (nil, nil).
func (c *Client) NodeAnnotations(ctx context.Context, name string) (map[string]string, error) {
	n, err := c.Kube.GetNode(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if n.Annotations == nil {
		return map[string]string{}, nil
	}
	return n.Annotations, nil
}
