# Janua — make help lists the targets.
SHELL   := /bin/bash
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN     := bin/janua

# Tests reach the local services through these; a test that needs one and
# cannot reach it skips, or fails under CI=true.
export JANUA_TEST_POSTGRES_DSN ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
export JANUA_TEST_REDIS_ADDR   ?= 127.0.0.1:6379

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-22s\033[0m %s\n", $$1, $$2}'

.PHONY: build
build: ## Build bin/janua
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/janua

.PHONY: run
run: build ## Serve on http://localhost:4100 with SQLite in ./data (no set-up needed)
	./$(BIN) serve

.PHONY: test
test: ## Run every test with the race detector (SQLite, PostgreSQL, memory, Redis)
	$(GO) test -race -count=1 ./...

.PHONY: lint
lint: ## gofmt, go vet and staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

.PHONY: fmt
fmt: ## Format the code
	gofmt -w $$(git ls-files '*.go')

.PHONY: screenshots
screenshots: ## Regenerate docs/screenshots (every page and sign-in method, desktop and phone, headless Chromium)
	JANUA_TEST_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run TestBrowser ./cmd/janua

.PHONY: bench
bench: ## Go benchmarks, then janua-load on SQLite and on PostgreSQL + Redis: writes docs/performance.md (~10 min)
	bash bench/run.sh

.PHONY: bench-growth
bench-growth: ## janua-load on an empty and on a seeded PostgreSQL + Redis (1M users, 100k clients, 10M token rows, issue 6): writes docs/performance-growth.md (~25 min, ~20 GB of disk)
	BENCH_SEED="--users 1000000 --clients 100000 --tokens 10000000" BENCH_BACKENDS=postgres BENCH_GO=0 \
		BENCH_OUT=docs/performance-growth.md bash bench/run.sh

.PHONY: bench-go
bench-go: ## Go benchmarks of the hot paths only
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./...

.PHONY: build-load
build-load: ## Build bin/janua-load, the load tool
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/janua-load ./cmd/janua-load

.PHONY: clean
clean: ## Remove build output (not ./data)
	rm -rf bin

-include conformance/conformance.mk
