#!/usr/bin/env bash
# The report in a real browser: `eeops report` of 2,000 emulated tasks is
# opened in headless Chromium (Debian's package, installed when missing) with
# the network cut off; browser_check.py says what it checks.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null; then
  echo "browser check: installing Debian's chromium"
  export DEBIAN_FRONTEND=noninteractive
  timeout 900 apt-get update -qq \
    && timeout 1200 apt-get install -y -qq --no-install-recommends chromium >/dev/null \
    || { echo "browser check FAILED: could not install chromium with apt-get"; exit 1; }
fi

cargo build --locked --all-features --bin eeops -q
eeops="${CARGO_TARGET_DIR:-target}/debug/eeops"
work=$(mktemp -d)
serve_pid=
cleanup() {
  if [ -n "$serve_pid" ]; then kill "$serve_pid" 2>/dev/null || true; wait "$serve_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$eeops" --project browser-check serve --seed 2000 --listen 127.0.0.1:0 >"$work/serve.out" 2>"$work/serve.err" &
serve_pid=$!
endpoint=
for _ in $(seq 1 300); do
  endpoint=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$work/serve.out" | head -n 1 || true)
  [ -n "$endpoint" ] && break
  kill -0 "$serve_pid" 2>/dev/null || { echo "browser check FAILED: eeops serve exited: $(cat "$work/serve.err")"; exit 1; }
  sleep 0.1
done
[ -n "$endpoint" ] || { echo "browser check FAILED: eeops serve printed no endpoint within 30 s"; exit 1; }

timeout 120 "$eeops" --endpoint "$endpoint" --no-auth --project browser-check report --out "$work/report.html"
timeout 300 python3 .ci/browser_check.py "$work/report.html" "$work/browser" \
  || { echo "browser check: Chromium's log follows"; tail -n 40 "$work/browser/chromium.log" 2>/dev/null; exit 1; }
