#!/usr/bin/env bash
# `make demo`: mint tokens with openssl (another implementation than ours), then let the
# veritoken CLI accept the good one and reject the bad ones, each with its stable code;
# then start the test IdP, get a token from it and verify it through its JWKS URL.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VERITOKEN_BIN:-${CARGO_TARGET_DIR:-target}/debug/veritoken}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
ISS="https://demo.veritoken.local/"
AUD="api://orders"
NOW=$(date +%s)

# sign HEADER_JSON PAYLOAD_JSON -> RS256 compact JWS
sign() {
  local input
  input="$(printf '%s' "$1" | b64url).$(printf '%s' "$2" | b64url)"
  printf '%s.%s' "$input" "$(printf '%s' "$input" | openssl dgst -sha256 -sign "$WORK/key.pem" -binary | b64url)"
}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# expect_reject LABEL TOKEN [extra verify flags...]: prints the error code the CLI returns.
verify() { "$BIN" verify --pem "$WORK/pub.pem" --issuer "$ISS" --audience "$AUD" --algorithms RS256 "$@"; }
expect_reject() {
  local label=$1 token=$2 out status
  shift 2
  set +e
  out=$(verify "$@" "$token")
  status=$?
  set -e
  if [ "$status" -ne 1 ]; then
    echo "demo: expected a rejection for '$label' (exit 1), got exit $status: $out" >&2
    exit 1
  fi
  printf '  %-42s -> %s\n' "$label" "$(printf '%s' "$out" | python3 -c 'import json,sys; e=json.load(sys.stdin)["error"]; print(e["code"] + ": " + e["message"])')"
}

step "A fresh RSA-2048 key pair (openssl)"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/key.pem" 2>/dev/null
openssl pkey -in "$WORK/key.pem" -pubout -out "$WORK/pub.pem"
echo "  public key: $WORK/pub.pem"

HEADER='{"alg":"RS256","typ":"JWT"}'
CLAIMS="{\"iss\":\"$ISS\",\"aud\":\"$AUD\",\"sub\":\"alice\",\"scope\":\"orders:read\",\"iat\":$NOW,\"exp\":$((NOW + 300))}"
TOKEN=$(sign "$HEADER" "$CLAIMS")

step "veritoken inspect (decodes, verifies nothing)"
"$BIN" inspect "$TOKEN"

step "veritoken verify: the good token is accepted (exit 0, claims on stdout)"
verify --scope orders:read "$TOKEN"

step "veritoken verify: bad tokens are rejected (exit 1) with stable codes"
expect_reject "expired (verified 10 minutes later)" "$TOKEN" --now $((NOW + 600))
expect_reject "for another audience" "$(sign "$HEADER" "${CLAIMS/$AUD/api://billing}")"
expect_reject "from another issuer" "$(sign "$HEADER" "${CLAIMS/$ISS/https://evil.example/}")"
expect_reject "payload swapped, signature kept" "${TOKEN%%.*}.$(printf '%s' "${CLAIMS/alice/admin}" | b64url).${TOKEN##*.}"
expect_reject "alg none" "$(printf '%s' '{"alg":"none"}' | b64url).$(printf '%s' "$CLAIMS" | b64url)."
expect_reject "duplicate claim (sub twice)" "$(sign "$HEADER" "${CLAIMS/\"sub\":\"alice\"/\"sub\":\"alice\",\"sub\":\"admin\"}")"
expect_reject "crit header" "$(sign '{"alg":"RS256","crit":["x"],"x":1}' "$CLAIMS")"
expect_reject "missing scope orders:write" "$TOKEN" --scope orders:write
expect_reject "not a JWT at all" "hello.world"

step "The test IdP: a token from its token endpoint, verified through its JWKS URL"
IDP_BIN=${VERITOKEN_TESTIDP_BIN:-${CARGO_TARGET_DIR:-target}/debug/veritoken-testidp}
"$IDP_BIN" --port 0 > "$WORK/idp.out" &
IDP_PID=$!
trap 'kill $IDP_PID 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do [ -s "$WORK/idp.out" ] && break; sleep 0.1; done
IDP=$(head -n1 "$WORK/idp.out")
echo "  test IdP at $IDP (issuer and discovery), JWKS at $IDP/jwks"
IDP_TOKEN=$(curl -sf -u test-client:test-secret -d grant_type=client_credentials -d scope=orders:read -d alg=ES256 "$IDP/token" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
"$BIN" verify --jwks-uri "$IDP/jwks" --issuer "$IDP" --audience api://default --algorithms ES256,RS256 "$IDP_TOKEN"
echo "  ...and through OIDC discovery:"
"$BIN" verify --discovery --issuer "$IDP" --audience api://default --algorithms ES256 --scope orders:read "$IDP_TOKEN" >/dev/null && echo "  accepted"
set +e
OUT=$("$BIN" verify --discovery --issuer "$IDP" --audience api://orders --algorithms ES256 "$IDP_TOKEN")
set -e
printf '  %-42s -> %s\n' "for another audience" "$OUT"

step "C (libveritoken): the same token through the same engine"
cat > "$WORK/c.json" <<JSON
{"issuers": [{"issuer": "$IDP", "audiences": ["api://default"], "algorithms": ["ES256"], "discovery": true,
  "jwks_cache": {"wait_at_startup": true}}]}
JSON
echo "  build/verify-example config.json TOKEN:"
build/verify-example "$WORK/c.json" "$IDP_TOKEN" | sed 's/^/    /'
set +e
# Change one character well inside the signature (the last one may carry unused bits).
POS=$((${#IDP_TOKEN} - 10)); CH=${IDP_TOKEN:$POS:1}; [ "$CH" = "A" ] && NEW=B || NEW=A
TAMPERED="${IDP_TOKEN:0:$POS}$NEW${IDP_TOKEN:$((POS + 1))}"
echo "  and the token with one signature character changed:"
build/verify-example "$WORK/c.json" "$TAMPERED" | sed 's/^/    /'
set -e

step "Go (cgo over libveritoken): the same token, the same verdicts"
echo "  go run ./cmd/verify config.json TOKEN:"
# `make demo` passes GOFLAGS with the library's checksum (GO_RELINK), so a rebuilt
# libveritoken.a is linked, not the one Go's cache remembers.
(cd bindings-c/go && go build -o "$WORK/go-verify" ./cmd/verify)
"$WORK/go-verify" "$WORK/c.json" "$IDP_TOKEN" | sed 's/^/    /'
echo "  and the tampered token:"
set +e
"$WORK/go-verify" "$WORK/c.json" "$TAMPERED" | sed 's/^/    /'
set -e

step "Python (the veritoken wheel): the same token, the same verdicts"
PYTHON=${VERITOKEN_PYTHON:-.venv/bin/python}
"$PYTHON" - "$WORK/c.json" "$IDP_TOKEN" "$TAMPERED" <<'PY' | sed 's/^/    /'
import sys
import veritoken

verifier = veritoken.Verifier.from_file(sys.argv[1])
token = verifier.verify(sys.argv[2])
print(f"accepted: sub={token.subject} scopes={token.granted_scopes()} alg={token.algorithm}")
try:
    verifier.verify(sys.argv[3])
except veritoken.SignatureInvalid as e:
    print(f"tampered: {type(e).__name__} code={e.code} status={e.status}: {e.message}")
PY

step "Node (the veritoken addon): the same token, the same verdicts"
node - "$WORK/c.json" "$IDP_TOKEN" "$TAMPERED" <<'JS' | sed 's/^/    /'
const { Verifier, VeritokenError } = require(process.cwd() + '/bindings-node')
const [config, good, tampered] = process.argv.slice(2)
const verifier = Verifier.fromFile(config)
verifier.verify(good).then(async (token) => {
  console.log(`accepted: sub=${token.subject} scopes=${token.grantedScopes()} alg=${token.algorithm}`)
  try {
    await verifier.verify(tampered)
  } catch (e) {
    if (!(e instanceof VeritokenError)) throw e
    console.log(`tampered: err.code=${e.code} status=${e.status}: ${e.message}`)
  }
})
JS

step "veritoken serve: the nginx auth_request backend, one request each way"
cat > "$WORK/serve.json" <<JSON
{"listen": "127.0.0.1:0", "clients": [{"name": "orders", "paths": ["/auth/orders"], "required_scopes": ["orders:read"],
  "claim_headers": {"sub": "X-Auth-Subject", "scope": "X-Auth-Scope"},
  "verifier": {"issuers": [{"issuer": "$IDP", "audiences": ["api://default"], "algorithms": ["ES256", "RS256"], "discovery": true}],
               "dpop": {"mode": "allowed"}}}]}
JSON
"$BIN" serve --config "$WORK/serve.json" > "$WORK/serve.out" 2>"$WORK/serve.log" &
SERVE_PID=$!
trap 'kill $IDP_PID $SERVE_PID 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do [ -s "$WORK/serve.out" ] && break; sleep 0.1; done
SIDECAR=$(head -n1 "$WORK/serve.out" | awk '{print $NF}')
echo "  sidecar at $SIDECAR; GET /auth/orders with the IdP's token:"
curl -s -D - -o /dev/null -H "Authorization: Bearer $IDP_TOKEN" "$SIDECAR/auth/orders" | grep -iE "^(HTTP|x-auth)" | sed 's/^/    /'
echo "  and without a token:"
curl -s -D - "$SIDECAR/auth/orders" | grep -iE "^(HTTP|www-authenticate|\{)" | sed 's/^/    /'

step "DPoP (RFC 9449): a sender-constrained token, its proof, and the proof replayed"
# The IdP signs proofs with its test client's key; a proof sent to /token binds the token (cnf.jkt).
json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
proof_for() { curl -sf -H 'Content-Type: application/json' -d "$1" "$IDP/dpop/proof" | json_field proof; }
TOKEN_PROOF=$(proof_for "{\"htm\": \"POST\", \"htu\": \"$IDP/token\"}")
DPOP_TOKEN=$(curl -sf -u test-client:test-secret -H "DPoP: $TOKEN_PROOF" -d grant_type=client_credentials -d scope=orders:read -d alg=ES256 "$IDP/token" \
  | json_field access_token)
API="https://api.example.com/orders"
API_PROOF=$(proof_for "{\"htm\": \"GET\", \"htu\": \"$API\", \"access_token\": \"$DPOP_TOKEN\"}")
dpop_call() {
  curl -s -D - -o "$WORK/dpop.body" -H "Authorization: DPoP $DPOP_TOKEN" -H "DPoP: $API_PROOF" \
    -H "X-Original-Method: GET" -H "X-Original-URL: $API" "$SIDECAR/auth/orders" | grep -iE "^(HTTP|x-auth-subject|www-authenticate)" | sed 's/^/    /'
}
echo "  GET $API with Authorization: DPoP and its proof (through the sidecar):"
dpop_call
echo "  the same proof again (a replay):"
dpop_call
sed 's/^/    /' "$WORK/dpop.body"; echo
echo "  the DPoP-bound token sent as a plain bearer token:"
curl -s -H "Authorization: Bearer $DPOP_TOKEN" "$SIDECAR/auth/orders" | sed 's/^/    /'; echo

printf '\nDemo finished: 9 accepted, 17 rejected, each with its code.\n'
