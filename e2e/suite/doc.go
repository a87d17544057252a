// Package e2e proves mirrorctl against real Kubernetes binaries: etcd, kube-apiserver,
// kube-controller-manager and kubeadm built from their own modules by e2e/build.sh.
//
// The tests need MIRRORCTL_E2E_BIN (the binaries cache, one folder per Kubernetes version) and, for the
// tests that run mirrorctl, MIRRORCTL_BIN (a built mirrorctl). `make e2e` sets both; without them the
// tests skip.
package e2e
