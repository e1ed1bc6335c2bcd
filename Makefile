# rescue: see README.md. Two entry points matter on a fresh machine:
#   make demo   run scan and the fix diff on a built-in broken root
#   make test   install what the tests need, then vet and test everything
GO       ?= go
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
export CGO_ENABLED := 0

.PHONY: all build deps test test-short vet fuzz bench demo e2e e2e-release e2e-full e2e-lastboot docs release clean depcheck

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/rescue ./cmd/rescue

# Debian packages the tests use (mkfs, rpm, debsums, qemu, …). Installed
# only when missing, and only as root; elsewhere the tests that need them
# skip with a message.
deps:
	scripts/deps.sh

# vet with the bench and e2e tags, so the benchmark and boot-proof code that
# only make bench and make e2e build cannot rot unseen (it did once).
vet:
	test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet -tags bench,e2e ./...

# The tests run through scripts/testsummary: go test's usual output (each
# package's result, every failed test in full), then every skipped test with
# its reason and the counts, so that a test that proved nothing here (a
# missing corpus, not root) is seen. The exit status is go test's.
test: deps vet
	@rc=$$(mktemp); { $(GO) test -json -timeout 60m ./...; echo $$? > $$rc; } | $(GO) run ./scripts/testsummary; \
	s=$$(cat $$rc); rm -f $$rc; exit $$s

test-short: vet
	$(GO) test -short ./...

# Each fuzz target for FUZZTIME (default 30s).
FUZZTIME ?= 30s
fuzz:
	scripts/fuzz.sh $(FUZZTIME)

# rescue verify against rpm -Va, debsums and dpkg --verify, and rescue scan,
# on the same trees in one run (bench/): with warm caches, cold on this
# machine's disk, and cold on a cloud-like disk (images/clouddisk: latency
# and IOPS cap printed), with the growth of the cost per file; for each tree
# and disk the ratios, the goals and the peak memory; then every Go
# benchmark. Root only. BENCH_RUNS (runs per figure), BENCH_ONLY (sections)
# and BENCH_GROWTH (tree sizes) narrow it.
bench: deps build
	@f=$$(mktemp); { $(GO) test -tags bench -run '^TestBench$$' -count=1 -v -timeout 180m ./bench/ 2>&1; echo $$? > $$f; } | \
	grep --line-buffered -v '^=== RUN\|^--- PASS\|^PASS$$\|^ok '; s=$$(cat $$f); rm -f $$f; exit $$s
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

# The boot proof: real Debian images (12, and 11 and 13 in the release
# matrix below; docs/e2e.md has the measured table) broken in known ways; rescue must
# find each fault, the broken image is booted under qemu (software
# emulation), repaired with `rescue fix --apply`, rescanned, booted again
# with root and an ordinary user logging in (and over SSH where the fault
# concerns sshd), and undone (root only; needs qemu, mmdebstrap, ssh and
# loop devices). The Debian root and the base images are cached in
# E2E_CACHE. `make e2e` runs E2E_SET: every scenario by default, "ci" (a
# fixed subset plus three scenarios rotating by day) or a comma-separated
# list; `make e2e-full` is every scenario on every release with a long
# timeout. The runbook
# rows (a helper VM runs a runbook's own helper step on the disk attached by
# its cloud id) cost a helper boot each: "all" and "ci" hold one of them,
# runbook-oos-grub-root-uuid; E2E_SET=runbooks (or their names) and
# e2e-full run every one (also runbook-oos-lvm-profile and
# runbook-ssm-pam-unix-deleted). Both print the
# table and below it what the run measured (scenarios, baselines, boots,
# logins, seconds); also in E2E_OUT as table.md/table.json, with every
# serial log. E2E_RESCUE=PATH runs the proof against another program: one
# that repairs nothing must fail every row.
E2E_OUT      ?= $(CURDIR)/e2e-out
E2E_CACHE    ?= /var/cache/rescue-e2e
E2E_PARALLEL ?= 2
E2E_SET      ?= all
E2E_RESCUE   ?=
# CI has 90 minutes for make test and make e2e together.
E2E_TIMEOUT  ?= 60m
# The release matrix (scripts/e2e-matrix.sh, planned by
# images/e2e/matrixtool): after the Debian 12 run (E2E_SET), `make e2e`
# boots a fixed set on Debian 11 (E2E_SET_11) and on Debian 13
# (E2E_SET_13), the faults that bite differently there, on the MBR image
# only, plus E2E_MATRIX_ROTATE cells a day of the rest of the matrix (every
# other scenario on 11 and 13; 8 a day boot the whole matrix in a week, but
# it is off by default, see below). Each release's table is in its own E2E_OUT (E2E_OUT-debian11,
# E2E_OUT-debian13); the scenario × release table of them all is printed
# last and kept in $(E2E_OUT)/matrix.md. E2E_SET_11= or E2E_SET_13= (empty)
# and E2E_MATRIX_ROTATE=0 leave them out.
#
# E2E_SET_13: the one fault whose verdict differs on 13 (login.defs
# ERASECHAR is inert: util-linux's login), the one whose severity the
# Debian 13 boot corrected (pam-login-deleted), and pam-unix-deleted for a
# lock-out repaired end to end (PAM 1.7, OpenSSH 10, a .deb restored).
#
# The budget (CI: 90 min on 2 cores for make test and make e2e; 2181 s
# used before the matrix, so ~40 min for it). Measured on Debian 13
# (trixie, run of 2026-12-01, docs/e2e.md): the root and the MBR image
# built cold in 3m58s + 19s; a row of two boots takes 238 CPU-seconds of
# qemu on average (128-320), so with two boots at a time on 2 idle cores
# about 2 min of wall time, 2.5 with rescue's own runs. Cost above the
# Debian 12 run: Debian 13 run ~4.5 min cold build + ~1 min baseline + 3
# rows (128 + 245 + 317 CPU-s, ~6 min) ≈ 12 min; the rotation 8 rows ×
# 2.5 min ≈ 20 min (Debian 11's root and run are already in the 2181 s);
# total ≈ 32 min, 8 min under the headroom. The rotation's rest is 46
# cells (25 scenarios on 11 and on 13, less the 4 fixed): 8 a day cover
# it in 6 days.
E2E_SET_11        ?= libnss-files-deleted
E2E_SET_13        ?= login-defs-erasechar,pam-login-deleted,pam-unix-deleted
# The rotation is off in `make e2e` (so in CI) until its cells have been
# booted here once: 46 cells (other flavors, and scenarios on 11 and 13
# never booted there) could turn CI red on a day's draw without a change
# to the code. E2E_MATRIX_ROTATE=8 turns it on.
E2E_MATRIX_ROTATE ?= 0
E2E_RELEASE  ?=
E2E_FLAVORS  ?=
E2E_RUN = E2E_SCENARIOS=$(2) E2E_OUT=$(E2E_OUT) E2E_CACHE=$(E2E_CACHE) E2E_PARALLEL=$(E2E_PARALLEL) E2E_RESCUE=$(E2E_RESCUE) \
	E2E_RELEASE=$(E2E_RELEASE) E2E_FLAVORS=$(E2E_FLAVORS) \
	$(GO) test -tags e2e -run '^TestBootProof$$' -count=1 -v ./images/e2e/
# Progress goes to the terminal and E2E_OUT.log; the table is printed last,
# also when scenarios failed, and the exit status is the test's.
E2E_SHOW = mkdir -p $(E2E_OUT); rm -f $(E2E_OUT)/table.md $(E2E_OUT)/table.json; \
	{ $(call E2E_RUN,$(1),$(2)) -timeout $(1) 2>&1; echo $$? > $(E2E_OUT)/.rc; } | tee $(E2E_OUT).log | grep -E '^(e2e |\s*--- |ok|FAIL|PASS)'; \
	cat $(E2E_OUT)/table.md 2>/dev/null || tail -30 $(E2E_OUT).log; exit $$(cat $(E2E_OUT)/.rc)
E2E_MATRIX = GO='$(GO)' MAKE='$(MAKE)' E2E_OUT='$(E2E_OUT)' E2E_SET='$(E2E_SET)' E2E_SET_11='$(E2E_SET_11)' \
	E2E_SET_13='$(E2E_SET_13)' E2E_MATRIX_ROTATE='$(E2E_MATRIX_ROTATE)' E2E_FLAVORS='$(E2E_FLAVORS)' \
	E2E_TIMEOUT='$(E2E_TIMEOUT)' scripts/e2e-matrix.sh

e2e: deps
	@$(E2E_MATRIX) ci

# One release's run (E2E_RELEASE: bullseye, bookworm or trixie).
e2e-release: deps
	@$(call E2E_SHOW,$(E2E_TIMEOUT),$(E2E_SET))

# The whole matrix: "full" on Debian 12 (with every runbook row) and every
# scenario that applies on Debian 11 and 13, every image flavor.
e2e-full: deps
	@$(E2E_MATRIX) full

# The last boot on real boots (not part of CI): every scenario that is not
# static is booted once without a snapshot, so that its journal lands on
# the image, and `rescue scan IMAGE --console serial.log` must name the
# failure and link it to the scenario's finding (evidence/realboot_test.go).
# The table is in $(E2E_OUT)-lastboot/lastboot.md. LASTBOOT_RELEASE boots
# another release (bullseye), LASTBOOT_SCENARIOS names the scenarios (by
# default those with a symptom on the release, FullOnly ones aside).
e2e-lastboot: deps
	LASTBOOT_OUT=$(E2E_OUT)-lastboot$(if $(LASTBOOT_RELEASE),-$(LASTBOOT_RELEASE)) E2E_CACHE=$(E2E_CACHE) \
		LASTBOOT_RELEASE=$(LASTBOOT_RELEASE) LASTBOOT_SCENARIOS=$(LASTBOOT_SCENARIOS) \
		$(GO) test -tags e2e -run '^TestRealBoots$$' -count=1 -v -timeout 240m ./evidence/

docs: build
	bin/rescue gen-docs docs

# A release in DIST: static linux/amd64 and linux/arm64 binaries with
# VERSION stamped in, a .deb and an .rpm of each (binary, man pages from
# docs/man, bash/zsh/fish completions), and SHA256SUMS. Built by
# cmd/rescue-release with nfpm as a library; release/ tests install the
# packages with dpkg and rpm.
DIST ?= dist
release:
	$(GO) run ./cmd/rescue-release -out $(DIST) -version $(VERSION)

clean:
	rm -rf bin $(DIST)
