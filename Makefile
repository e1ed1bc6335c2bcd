# rescue: see README.md. Two entry points matter on a fresh machine:
#   make demo   run scan and the fix diff on a built-in broken root
#   make test   install what the tests need, then vet and test everything
GO       ?= go
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
export CGO_ENABLED := 0

.PHONY: all build deps test test-short vet fuzz bench demo e2e e2e-full docs clean

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

demo: build
	scripts/demo.sh bin/rescue

docs: build
	bin/rescue gen-docs docs

clean:
	rm -rf bin
