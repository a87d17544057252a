// Command pause is the sandbox process of the pods the e2e kubelet runs (containerd's sandbox_image). The
// real registry.k8s.io/pause is C (kubernetes build/pause/linux/pause.c) and is not built here; this one
// does what that one does for a pod: hold the pod's namespaces by sleeping until SIGINT or SIGTERM, then
// exit 0, and reap children that get reparented to it when it is the pod's PID 1.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
