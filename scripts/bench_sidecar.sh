#!/usr/bin/env bash
# `make bench-sidecar`: `veritoken serve` (verified-token cache off, and on) next to
# oauth2-proxy in bearer-JWT mode, both behind the same nginx `auth_request` config, driven by
# the same wrk load on loopback: a valid RS256 token from the test IdP, an invalid token (one
# signature character changed) and no token. Prints req/s, p50/p99 and each process's RSS,
# then the budgets (veritoken ≥ 3× oauth2-proxy's req/s with the cache off, ≥ 6× on, p99
# lower), and a plain nginx `return 200` for scale. One run; wrk shares the cores.
#
# Needs: target/release/veritoken and veritoken-testidp, nginx, wrk, curl, python3, and
# oauth2-proxy at $OAUTH2_PROXY_BIN (the Makefile builds the pinned version under build/).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${CARGO_TARGET_DIR:-target}/release/veritoken
IDP_BIN=${CARGO_TARGET_DIR:-target}/release/veritoken-testidp
O2P_BIN=${OAUTH2_PROXY_BIN:?set OAUTH2_PROXY_BIN (make bench-sidecar builds it)}
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
DURATION=${BENCH_DURATION:-10s}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() {  # url: until it answers at all (any status)
  for _ in $(seq 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "not up: $1" >&2; return 1
}

"$IDP_BIN" --port 0 > "$WORK/idp.out" & PIDS+=($!)
for _ in $(seq 50); do [ -s "$WORK/idp.out" ] && break; sleep 0.1; done
IDP=$(head -n1 "$WORK/idp.out")
TOKEN=$(curl -sf -u test-client:test-secret -d grant_type=client_credentials -d alg=RS256 -d scope=orders:read -d lifetime=3600 "$IDP/token" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
# The same token with one signature character changed: well-formed, signature invalid.
BAD_TOKEN=$(python3 -c 'import sys; t=sys.argv[1]; i=len(t)-20; print(t[:i] + ("B" if t[i]=="A" else "A") + t[i+1:])' "$TOKEN")

# veritoken serve, cache off and cache on (two processes; each is measured on its own).
start_veritoken() {  # name max_entries
  local cache=""
  [ "$2" -gt 0 ] && cache=", \"cache\": {\"max_entries\": $2}"
  cat > "$WORK/$1.json" <<JSON
{"listen": "127.0.0.1:0", "access_log": false, "error_body": false, "clients": [{"name": "orders", "paths": ["/auth/orders"], "required_scopes": ["orders:read"],
  "claim_headers": {"sub": "X-Auth-Subject"},
  "verifier": {"issuers": [{"issuer": "$IDP", "audiences": ["api://default"], "algorithms": ["RS256"], "jwks_uri": "$IDP/jwks"}]$cache}}]}
JSON
  "$BIN" serve --config "$WORK/$1.json" > "$WORK/$1.out" 2>/dev/null & PIDS+=($!)
  for _ in $(seq 50); do [ -s "$WORK/$1.out" ] && break; sleep 0.1; done
}
start_veritoken vt_off 0
VT_OFF_PID=${PIDS[-1]}
VT_OFF=$(head -n1 "$WORK/vt_off.out" | awk '{print $NF}' | sed 's|^http://||')
start_veritoken vt_on 10000
VT_ON_PID=${PIDS[-1]}
VT_ON=$(head -n1 "$WORK/vt_on.out" | awk '{print $NF}' | sed 's|^http://||')

# oauth2-proxy: bearer JWTs from the test IdP (--skip-jwt-bearer-tokens with the IdP as an
# extra JWT issuer: discovery, then its JWKS), a static 202 upstream, no request/auth logs
# (veritoken serve runs with access_log false). The login provider stays the default
# one with a dummy client id/secret: it has no token verifier of its own, so each bearer
# token is verified once, by the extra issuer's; no login flow is used.
O2P=127.0.0.1:$(free_port)
"$O2P_BIN" --http-address="$O2P" --reverse-proxy --client-id=bench-dummy --client-secret=bench-dummy \
  --cookie-secret="$(python3 -c 'import secrets; print(secrets.token_hex(16))')" --cookie-secure=false \
  --email-domain='*' --upstream=static://202 \
  --skip-jwt-bearer-tokens --extra-jwt-issuers="$IDP=api://default" \
  --request-logging=false --auth-logging=false > "$WORK/o2p.log" 2>&1 & PIDS+=($!)
O2P_PID=${PIDS[-1]}
wait_for "http://$O2P/ping" || { cat "$WORK/o2p.log" >&2; exit 1; }

# One nginx, one front server per backend with the same auth_request config, a stand-in app.
# Each auth upstream is kept alive as examples/sidecar/nginx.conf does (4 s, under the
# sidecar's idle close; 100,000 requests, where nginx's default of 1000 reconnects).
APP=$(free_port) PLAIN=$(free_port) F_OFF=$(free_port) F_ON=$(free_port) F_O2P=$(free_port)
# A backend that does no work (nginx's own return 200): the most any auth backend can reach
# through this nginx config on this machine.
NOOP=127.0.0.1:$(free_port) F_NOOP=$(free_port)
front() {  # port upstream auth-path
  cat <<NGINX
    upstream $2 { server ${!2}; keepalive 32; keepalive_timeout 4s; keepalive_requests 100000; }
    server {
        listen 127.0.0.1:$1;
        location /api/ {
            auth_request /_auth;
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
        location = /_auth {
            internal;
            proxy_pass http://$2$3;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URI \$request_uri;
        }
    }
NGINX
}
mkdir -p "$WORK/nginx"
cat > "$WORK/nginx/nginx.conf" <<NGINX
worker_processes auto;
events {}
http {
    access_log off;
    client_body_temp_path $WORK/nginx/body; proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fcgi; uwsgi_temp_path $WORK/nginx/uwsgi; scgi_temp_path $WORK/nginx/scgi;
    upstream app { server 127.0.0.1:$APP; keepalive 32; }
    server { listen 127.0.0.1:$APP; location / { return 200 "ok\n"; } }
    server { listen 127.0.0.1:$PLAIN; location = /plain { return 200; } }
    server { listen $NOOP; location / { return 200; } }
$(VT_OFF=$VT_OFF front "$F_OFF" VT_OFF /auth/orders)
$(VT_ON=$VT_ON front "$F_ON" VT_ON /auth/orders)
$(O2P=$O2P front "$F_O2P" O2P /oauth2/auth)
$(NOOP=$NOOP front "$F_NOOP" NOOP /auth)
}
NGINX
nginx -p "$WORK/nginx/" -c "$WORK/nginx/nginx.conf" -g "daemon off; pid $WORK/nginx/nginx.pid; error_log $WORK/nginx/error.log;" & PIDS+=($!)
wait_for "http://127.0.0.1:$PLAIN/plain"

# Every backend answers each case as it should before it is measured (and warms key caches).
for front in $F_OFF $F_ON $F_O2P; do
  for case in "200 $TOKEN" "401 $BAD_TOKEN" "401 -"; do
    want=${case%% *} tok=${case#* }
    auth=()
    [ "$tok" != - ] && auth=(-H "Authorization: Bearer $tok")
    got=$(curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" "http://127.0.0.1:$front/api/")
    [ "$got" = "$want" ] || { echo "front :$front answered $got, expected $want" >&2; cat "$WORK/o2p.log" >&2; exit 1; }
  done
done

ms() {  # wrk latency (850.00us, 1.23ms, 1.02s) in ms
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'
}
declare -A RPS P99
run() {  # key label url [wrk args]
  local key=$1 label=$2 url=$3 out rps p50 p99 bad
  shift 3
  out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "$@" "$url")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
  p99=$(ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
  bad=$(awk '/Non-2xx or 3xx/ {print $NF}' <<<"$out")
  RPS[$key]=$rps P99[$key]=$p99
  printf '%-42s %11.0f %9s %9s  %s\n' "$label" "$rps" "$p50" "$p99" "${bad:+non-2xx: $bad}"
}
rss() { awk '/^VmRSS/ {r=$2} /^VmHWM/ {h=$2} END {printf "%.1f MB (peak %.1f MB)", r/1024, h/1024}' "/proc/$1/status"; }

echo "wrk -t2 -c$CONNECTIONS -d$DURATION --latency, nginx auth_request on loopback, $(nproc) cores shared by wrk, nginx and the backend"
echo "oauth2-proxy ${OAUTH2_PROXY_VERSION:-(version not given)}; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-42s %11s %9s %9s\n' "" "req/s" "p50 ms" "p99 ms"
# Interleaved: the three backends back to back for each case, so a slow phase of a shared
# machine lands on all of them.
for case in valid invalid none; do
  auth=() label="no token (401)"
  case $case in
    valid) auth=(-H "Authorization: Bearer $TOKEN") label="valid RS256 token" ;;
    invalid) auth=(-H "Authorization: Bearer $BAD_TOKEN") label="invalid token (401)" ;;
  esac
  run "off_$case" "veritoken, cache off: $label" "http://127.0.0.1:$F_OFF/api/" "${auth[@]}"
  run "on_$case" "veritoken, cache on: $label" "http://127.0.0.1:$F_ON/api/" "${auth[@]}"
  run "o2p_$case" "oauth2-proxy: $label" "http://127.0.0.1:$F_O2P/api/" "${auth[@]}"
done
run noop "no-work auth backend: valid RS256 token" "http://127.0.0.1:$F_NOOP/api/" -H "Authorization: Bearer $TOKEN"
run plain "nginx return 200 (for scale)" "http://127.0.0.1:$PLAIN/plain"
echo
echo "RSS after the load: veritoken (cache off) $(rss "$VT_OFF_PID"); veritoken (cache on) $(rss "$VT_ON_PID"); oauth2-proxy $(rss "$O2P_PID")"
echo
python3 - "${RPS[noop]}" "${RPS[o2p_valid]}" <<'PY'
import sys
noop, o2p = map(float, sys.argv[1:])
print(f"ceiling: an auth backend that does no work gets {noop:.0f} req/s here, {noop / o2p:.2f}× oauth2-proxy")
PY
echo "valid RS256 token, veritoken over oauth2-proxy:"
for side in off:3 on:6; do
  key=${side%:*} budget=${side#*:}
  python3 - "$key" "$budget" "${RPS[${key}_valid]}" "${RPS[o2p_valid]}" "${P99[${key}_valid]}" "${P99[o2p_valid]}" <<'PY'
import sys
key, budget, rps, o2p_rps, p99, o2p_p99 = sys.argv[1], float(sys.argv[2]), *map(float, sys.argv[3:])
ratio = rps / o2p_rps
print(
    f"  cache {key:<3} {ratio:5.2f}× the req/s (budget ≥ {budget:g}×: {'ok' if ratio >= budget else 'MISSED'}), "
    f"p99 {p99:.2f} vs {o2p_p99:.2f} ms ({'lower: ok' if p99 < o2p_p99 else 'not lower: MISSED'})"
)
PY
done
