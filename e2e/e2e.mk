# Included by the top-level Makefile: `make e2e` builds what is missing and runs the real-Kubernetes suite.
# MIRRORCTL_E2E_CACHE (default ~/.cache/mirrorctl-e2e) holds the built binaries, one folder per version.
.PHONY: e2e e2e-binaries
e2e:
	e2e/run.sh

e2e-binaries:
	e2e/build.sh
