# mirrorctl: `make demo` shows the main job on a bundled sample node; `make test` runs the tests.
GO        ?= go
BIN       ?= bin/mirrorctl
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
DATE      ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)
PREFIX    ?= /usr/local
DEMO_ROOT ?= testdata/nodes/kubeadm
# One build configuration for tests and the binary, so the (large) kubeadm API dependency compiles once.
export CGO_ENABLED = 0
# urfave/cli's Markdown man page engine is left out: mirrorctl renders its man page itself, and the
# engine's package set-up would otherwise run at the start of every mirrorctl process.
TAGS      ?= urfave_cli_no_docs

.PHONY: build install demo test unit lint ansible-test ansible-collection e2e bench man stress fuzz clean

build:
	$(GO) build -tags '$(TAGS)' -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/mirrorctl

# The binary, its man page (section 8: an administration command; docs/mirrorctl.1's header says 8
# too) and its bash, zsh and fish completions, where each shell looks for system-wide ones.
install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/mirrorctl
	install -D -m 0644 docs/mirrorctl.1 $(DESTDIR)$(PREFIX)/share/man/man8/mirrorctl.8
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/site-functions $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	$(BIN) completion bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/mirrorctl
	$(BIN) completion zsh > $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_mirrorctl
	$(BIN) completion fish > $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/mirrorctl.fish

# The main job on a bundled sample kubeadm node: what `disable` would change, as a diff. Writes nothing.
demo: build
	$(BIN) --root $(DEMO_ROOT) disable --dry-run

test: lint unit ansible-test

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet -tags '$(TAGS)' ./...

unit:
	bash hack/host-untouched.sh $(GO) test -tags '$(TAGS)' -count=1 ./...

ansible-test: build
	MIRRORCTL_BIN=$(CURDIR)/$(BIN) bash hack/host-untouched.sh bash ansible/test/run.sh

# The Ansible collection mirrorctl.mirrorctl as a tarball in bin/, for `ansible-galaxy collection install`.
ansible-collection:
	mkdir -p bin && ansible-galaxy collection build ansible --output-path bin --force

# Real Kubernetes binaries (built once into ~/.cache/mirrorctl-e2e) and the end-to-end suite.
e2e: build
	MIRRORCTL_BIN=$(CURDIR)/$(BIN) bash hack/host-untouched.sh bash e2e/run.sh

bench: build
	MIRRORCTL_BIN=$(CURDIR)/$(BIN) bash bench/bench.sh

man: build
	mkdir -p docs && $(BIN) man > docs/mirrorctl.1

stress:
	MIRRORCTL_STRESS=1 $(GO) test -tags '$(TAGS)' -count=1 -timeout 30m -run 'Stress|Crash|Concurren' ./...

clean:
	rm -rf bin

# Every fuzz target for FUZZTIME each (default 20s).
fuzz:
	bash hack/fuzz.sh
