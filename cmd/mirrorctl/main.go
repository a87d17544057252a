// Command mirrorctl switches kube-controller-manager's EndpointSlice mirroring controller off and on
// safely on control-plane nodes. main is the only place that exits; everything else returns errors, so
// the whole CLI runs in-process in tests (see Main).
package main

import (
	"os"
)

func main() {
	os.Exit(Main(os.Args, os.Stdout, os.Stderr))
}
