# Janua's OpenID conformance runner (conformance/). The root Makefile includes this file;
# test it alone with: make -f conformance/conformance.mk conformance-reference
#
#   make conformance-reference   every plan against panva/oidc-provider (certified), must exit 0
#   make conformance             every plan against Janua (./cmd/janua)
#   make rp-oauth2-proxy         oauth2-proxy v7.15.3 signs in, refreshes and logs out through Janua
GO ?= go
CONFORMANCE_DIR := conformance
CONFORMANCE_OUT ?= $(CONFORMANCE_DIR)/out
CONFORMANCE_BIN := $(CONFORMANCE_OUT)/bin/conformance
# Fixed ports: the redirect URIs are registered with the OP in advance.
CONFORMANCE_REF_HTTP ?= 127.0.0.1:3780
CONFORMANCE_TLS ?= 127.0.0.1:3743
CONFORMANCE_ORACLES ?= openid-client,zitadel

.PHONY: conformance-reference conformance conformance-deps conformance-test conformance-runner

conformance-runner:
	$(GO) build -o $(CONFORMANCE_BIN) ./$(CONFORMANCE_DIR)/cmd/conformance

# npm packages (lockfile) and Debian chromium for REVIEW screenshots.
conformance-deps:
	cd $(CONFORMANCE_DIR)/reference && npm ci --no-audit --no-fund --loglevel=error
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian chromium for REVIEW screenshots"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

conformance-reference: conformance-deps conformance-runner ## Prove the conformance runner on the certified reference OP (must exit 0)
	GO="$(GO)" OUT="$(CONFORMANCE_OUT)/reference" BIN="$(CONFORMANCE_BIN)" \
	  REF_HTTP="$(CONFORMANCE_REF_HTTP)" TLS_ADDR="$(CONFORMANCE_TLS)" ORACLES="$(CONFORMANCE_ORACLES)" \
	  bash $(CONFORMANCE_DIR)/run-reference.sh

conformance: conformance-deps conformance-runner ## Run the OpenID conformance plans against Janua
	GO="$(GO)" OUT="$(CONFORMANCE_OUT)/janua" BIN="$(CONFORMANCE_BIN)" TLS_ADDR="$(CONFORMANCE_TLS)" \
	  ORACLES="$(CONFORMANCE_ORACLES)" bash $(CONFORMANCE_DIR)/run-janua.sh

conformance-test:
	$(GO) test -race ./$(CONFORMANCE_DIR)/...

# What CI runs for the runner: its own tests, then the reference run (must exit 0).
conformance-ci: conformance-test conformance-reference
.PHONY: conformance-ci

# oauth2-proxy (built from tools/oauth2-proxy, its own module) in front of a tiny
# app, configured with Janua's issuer URL only: sign-in, refresh, both logouts.
# The test skips without JANUA_TEST_OAUTH2_PROXY, so `make test` stays quick.
rp-oauth2-proxy: ## oauth2-proxy v7.15.3 signs in, refreshes and logs out through Janua
	JANUA_TEST_OAUTH2_PROXY=1 $(GO) test -count=1 -timeout 15m -v -run '^TestOAuth2Proxy$$' ./$(CONFORMANCE_DIR)/rp
.PHONY: rp-oauth2-proxy
