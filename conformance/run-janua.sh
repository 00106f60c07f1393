#!/usr/bin/env bash
# Runs every plan against Janua: builds ./cmd/janua, starts it on a fresh SQLite data
# dir behind the runner's TLS proxy (issuer https://localhost:<tls-port>), provisions
# the suite's three static clients and the test user with Janua's CLI, then runs the
# runner. Called by `make conformance`. Any step that fails says so and exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${GO:=go}" "${OUT:=conformance/out/janua}" "${BIN:=conformance/out/bin/conformance}"
: "${TLS_ADDR:=127.0.0.1:3743}" "${JANUA_ADDR:=127.0.0.1:3781}" "${ORACLES:=openid-client,zitadel}"
rm -rf "$OUT" && mkdir -p "$OUT"
tls_port="${TLS_ADDR##*:}"
base_url="https://127.0.0.1:3790"
redirect_uri="$base_url/callback"
post_logout="$base_url/post_logout_redirect"
password="Vampire-Slayer-1997"

fail() { echo "FAILED: $*" >&2; exit 1; }

[ -d cmd/janua ] || fail "./cmd/janua does not exist yet: Janua cannot be built, so there is no OP to test"
janua="$OUT/janua"
"$GO" build -o "$janua" ./cmd/janua || fail "go build ./cmd/janua failed"

export JANUA_DATA_DIR="$OUT/data" JANUA_ISSUER="https://localhost:$tls_port" \
  JANUA_HTTP_ADDR="$JANUA_ADDR" JANUA_TRUSTED_PROXIES="127.0.0.1/32" \
  JANUA_LOGIN_IP_RATE_LIMIT=100000 JANUA_TOKEN_FAILURE_LIMIT=100000  # the runner signs in, and fails on purpose, hundreds of times from one address
mkdir -p "$JANUA_DATA_DIR"

# cli NAME ARGS...: run a Janua CLI command, keep its output, fail clearly.
cli() {
  local name=$1; shift
  if ! "$janua" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"; then
    fail "\`janua $1 ${2:-}\` exited non-zero: $(tail -n 3 "$OUT/$name.err" | tr '\n' ' ')"
  fi
}
json() { node -e 'let d="";process.stdin.on("data",c=>d+=c).on("end",()=>{const v=JSON.parse(d)[process.argv[1]];if(v===undefined){process.exit(3)}console.log(v)})' "$1" <"$2" \
  || fail "janua printed no \"$1\" in $2: $(head -c 300 "$2")"; }

cli migrate migrate
# sub, email and updated_at are Janua's own (directory/claims.go): every other standard claim is set here.
claims='{"name":"Buffy Anne Summers","given_name":"Buffy","family_name":"Summers","middle_name":"Anne","nickname":"Buff","preferred_username":"buffy","profile":"https://example.com/buffy","picture":"https://example.com/buffy.png","website":"https://buffy.example.com","email_verified":true,"gender":"female","birthdate":"1981-01-19","zoneinfo":"America/Los_Angeles","locale":"en-US","phone_number":"+1 (310) 555-0123","phone_number_verified":true,"address":{"formatted":"1630 Revello Drive\nSunnydale, CA 95037\nUSA","street_address":"1630 Revello Drive","locality":"Sunnydale","region":"CA","postal_code":"95037","country":"USA"}}'
cli user users create --email buffy@example.com --password "$password" --claims "$claims" --output json

client() { # NAME AUTH-METHOD
  cli "client-$1" clients create --name "$1" --redirect-uri "$redirect_uri" --post-logout-redirect-uri "$post_logout" \
    --grant-type authorization_code --grant-type refresh_token --grant-type implicit \
    --response-type code --response-type id_token --response-type 'id_token token' --response-type 'code id_token' \
    --response-type 'code token' --response-type 'code id_token token' \
    --scope 'openid profile email address phone offline_access' --token-endpoint-auth-method "$2" --output json
}
client client client_secret_basic
client client2 client_secret_basic
client client_secret_post client_secret_post

cat >"$OUT/config.json" <<JSON
{
  "alias": "janua",
  "description": "Janua built from this tree, fronted by the runner's TLS proxy",
  "server": {"discoveryUrl": "https://localhost:$tls_port/.well-known/openid-configuration"},
  "client": {"client_id": "$(json client_id "$OUT/client-client.out")", "client_secret": "$(json client_secret "$OUT/client-client.out")"},
  "client2": {"client_id": "$(json client_id "$OUT/client-client2.out")", "client_secret": "$(json client_secret "$OUT/client-client2.out")"},
  "client_secret_post": {"client_id": "$(json client_id "$OUT/client-client_secret_post.out")", "client_secret": "$(json client_secret "$OUT/client-client_secret_post.out")"},
  "user": {"username": "buffy@example.com", "password": "$password"},
  "runner": {"base_url": "$base_url", "redirect_uri": "$redirect_uri", "post_logout_redirect_uri": "$post_logout"}
}
JSON

"$janua" serve >"$OUT/janua.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do
  curl -fsS -o /dev/null "http://$JANUA_ADDR/health/ready" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || fail "janua serve exited: $(tail -n 5 "$OUT/janua.log" | tr '\n' ' ')"
  sleep 0.5
done
curl -fsS -o /dev/null "http://$JANUA_ADDR/health/ready" || fail "janua serve not ready on $JANUA_ADDR after 30 s"

"$BIN" run -config "$OUT/config.json" -out "$OUT" -proxy-listen "$TLS_ADDR" -proxy-upstream "http://$JANUA_ADDR" \
  -oracles "$ORACLES" -node-dir conformance/reference -wait 15s \
  -hint-on-discovery-failure "Janua serves no OpenID Provider endpoints yet" 2>"$OUT/progress.log"
