#!/usr/bin/env bash
# Runs every plan against the reference OP (panva/oidc-provider, OpenID-certified),
# fronted by the runner's TLS proxy. Called by `make conformance-reference`.
# Every FAILED here is a runner bug: the reference is certified for these plans.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${OUT:=conformance/out/reference}" "${BIN:=conformance/out/bin/conformance}"
: "${REF_HTTP:=127.0.0.1:3780}" "${TLS_ADDR:=127.0.0.1:3743}" "${ORACLES:=openid-client,zitadel}"
rm -rf "$OUT" && mkdir -p "$OUT"
start=$(date +%s)

PORT="${REF_HTTP##*:}" ISSUER="https://localhost:${TLS_ADDR##*:}" \
  node conformance/reference/server.mjs conformance/reference/config.json >"$OUT/reference-op.log" 2>&1 &
op=$!
trap 'kill "$op" 2>/dev/null || true; wait "$op" 2>/dev/null || true' EXIT

status=0
"$BIN" run -config conformance/reference/config.json -out "$OUT" \
  -proxy-listen "$TLS_ADDR" -proxy-upstream "http://$REF_HTTP" \
  -oracles "$ORACLES" -node-dir conformance/reference -wait 30s 2>"$OUT/progress.log" || status=$?
echo "reference run: exit $status in $(( $(date +%s) - start ))s (progress: $OUT/progress.log, OP log: $OUT/reference-op.log)"
exit "$status"
