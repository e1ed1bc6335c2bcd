# rescue: see README.md. Two entry points matter on a fresh machine:
#   make demo   run scan and the fix diff on a built-in broken root
#   make test   install what the tests need, then vet and test everything
GO       ?= go
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
export CGO_ENABLED := 0

.PHONY: all build deps test test-short vet fuzz bench demo e2e e2e-full docs clean depcheck

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/rescue ./cmd/rescue

# Debian packages the tests use (mkfs, rpm, debsums, qemu, …). Installed
# only when missing, and only as root; elsewhere the tests that need them
# skip with a message.
deps:
	scripts/deps.sh

vet:
	test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

test: deps vet
	$(GO) test -timeout 60m ./...

test-short: vet
	$(GO) test -short ./...

# Each fuzz target for FUZZTIME (default 30s).
FUZZTIME ?= 30s
fuzz:
	scripts/fuzz.sh $(FUZZTIME)

# rescue verify against rpm -Va, debsums and dpkg --verify on the same trees
# (corpus AlmaLinux roots, an rpmbuild root, a Debian minbase), timed in the
# same run, with the ratios and a check that the findings are identical;
# then every Go benchmark.
bench: deps build
	@f=$$(mktemp); $(GO) test -tags bench -run '^TestBenchVerify$$' -count=1 -v -timeout 60m ./pkgdb/ >$$f 2>&1; s=$$?; \
	grep -v '^=== RUN\|^--- PASS\|^PASS$$' $$f; rm -f $$f; exit $$s
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...

# The measurements behind docs/dependencies.md: the design card's libraries
# run on real input where rescue keeps its own code. depcheck/ is a module
# of its own, so those libraries stay out of rescue's go.mod and out of
# make test; a failing test names the decision to revisit.
depcheck: deps
	cd depcheck && $(GO) test -count=1 -v .
	cd depcheck && $(GO) test -count=5 -cpu 1 -run '^$$' -bench . -benchtime 10x -benchmem .
	depcheck/size.sh

demo: build
	scripts/demo.sh bin/rescue

# The boot proof: real Debian 12 images broken in known ways, booted under
# qemu (software emulation) before and after `rescue fix --apply` (root only;
# needs qemu, mmdebstrap and loop devices). The Debian root and the base images are cached
# in E2E_CACHE. `make e2e` runs E2E_SET: every scenario by default (24 rows,
# 39 boots: 21 minutes on an idle 2-CPU machine; .ci/run on a clean clone
# with an empty cache took 29 minutes in all), or "ci" (a
# fixed subset plus three scenarios rotating by day, about 15 minutes) or a
# comma-separated list; `make e2e-full` is every scenario with a long
# timeout. Both print the table (also in E2E_OUT as table.md/table.json, with
# every serial log).
E2E_OUT      ?= $(CURDIR)/e2e-out
E2E_CACHE    ?= /var/cache/rescue-e2e
E2E_PARALLEL ?= 2
E2E_SET      ?= all
# CI has 90 minutes for make test and make e2e together.
E2E_TIMEOUT  ?= 60m
E2E_RUN = E2E_SCENARIOS=$(2) E2E_OUT=$(E2E_OUT) E2E_CACHE=$(E2E_CACHE) E2E_PARALLEL=$(E2E_PARALLEL) \
	$(GO) test -tags e2e -run '^TestBootProof$$' -count=1 -v ./images/e2e/
# Progress goes to the terminal and E2E_OUT.log; the table is printed last,
# also when scenarios failed, and the exit status is the test's.
E2E_SHOW = mkdir -p $(E2E_OUT); rm -f $(E2E_OUT)/table.md; \
	{ $(call E2E_RUN,$(1),$(2)) -timeout $(1) 2>&1; echo $$? > $(E2E_OUT)/.rc; } | tee $(E2E_OUT).log | grep -E '^(e2e |\s*--- |ok|FAIL|PASS)'; \
	cat $(E2E_OUT)/table.md 2>/dev/null || tail -30 $(E2E_OUT).log; exit $$(cat $(E2E_OUT)/.rc)

e2e: deps
	@$(call E2E_SHOW,$(E2E_TIMEOUT),$(E2E_SET))

e2e-full: deps
	@$(call E2E_SHOW,240m,all)

docs: build
	bin/rescue gen-docs docs

clean:
	rm -rf bin
