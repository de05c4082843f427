#!/usr/bin/env bash
# `make bench` (sidecar part): wrk against `veritoken serve` with a valid RS256 token, next
# to a plain nginx `return 200` location for scale, on this machine, in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${CARGO_TARGET_DIR:-target}/release/veritoken
IDP_BIN=${CARGO_TARGET_DIR:-target}/release/veritoken-testidp
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
DURATION=${BENCH_DURATION:-10s}
CONNECTIONS=${BENCH_CONNECTIONS:-32}

"$IDP_BIN" --port 0 > "$WORK/idp.out" & PIDS+=($!)
for _ in $(seq 50); do [ -s "$WORK/idp.out" ] && break; sleep 0.1; done
IDP=$(head -n1 "$WORK/idp.out")
TOKEN=$(curl -sf -u test-client:test-secret -d grant_type=client_credentials -d alg=RS256 -d scope=orders:read -d lifetime=3600 "$IDP/token" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

cat > "$WORK/serve.json" <<JSON
{"listen": "127.0.0.1:0", "clients": [{"name": "orders", "paths": ["/auth/orders"], "required_scopes": ["orders:read"],
  "claim_headers": {"sub": "X-Auth-Subject"},
  "verifier": {"issuers": [{"issuer": "$IDP", "audiences": ["api://default"], "algorithms": ["RS256"], "jwks_uri": "$IDP/jwks"}]}}]}
JSON
"$BIN" serve --config "$WORK/serve.json" > "$WORK/serve.out" 2>/dev/null & PIDS+=($!)
for _ in $(seq 50); do [ -s "$WORK/serve.out" ] && break; sleep 0.1; done
SIDECAR=$(head -n1 "$WORK/serve.out" | awk '{print $NF}')
curl -sf -o /dev/null -H "Authorization: Bearer $TOKEN" "$SIDECAR/auth/orders"   # warm the key cache

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$WORK/nginx"
cat > "$WORK/nginx/nginx.conf" <<NGINX
worker_processes 1;
events {}
http {
    access_log off;
    client_body_temp_path $WORK/nginx/body; proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fcgi; uwsgi_temp_path $WORK/nginx/uwsgi; scgi_temp_path $WORK/nginx/scgi;
    server { listen 127.0.0.1:$PORT; location = /plain { return 200; } }
}
NGINX
nginx -p "$WORK/nginx/" -c "$WORK/nginx/nginx.conf" -g "daemon off; pid $WORK/nginx/nginx.pid; error_log $WORK/nginx/error.log;" & PIDS+=($!)
sleep 0.5

run() {  # label url [header]
  local label=$1 url=$2 out
  shift 2
  out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "$@" "$url")
  local rps p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  printf '%-42s %12s req/s   p99 %8s\n' "$label" "$rps" "$p99"
}
echo "wrk -t2 -c$CONNECTIONS -d$DURATION on $(nproc) cores (wrk shares the cores with the server)"
run "veritoken serve, valid RS256 token" "$SIDECAR/auth/orders" -H "Authorization: Bearer $TOKEN"
run "veritoken serve, no token (401)" "$SIDECAR/auth/orders"
run "nginx return 200 (for scale)" "http://127.0.0.1:$PORT/plain"
