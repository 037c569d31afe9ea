#!/usr/bin/env bash
# Seconds from `make run` in a fresh clone to the first reply `palmbot chat` prints (issue 16: under 60).
#   tests/bench/first_run.sh cold               # empty uv and pip caches: everything comes from PyPI
#   tests/bench/first_run.sh warm               # the caches as they are (after a first run)
#   tests/bench/first_run.sh cold INSTALLER=pip # any further arguments go to `make run`
set -euo pipefail
mode=${1:-cold}
shift || true
src=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
work=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill -- "-$server" 2>/dev/null; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
git clone -q "$src" "$work/palmbot"
cd "$work/palmbot"
if [ "$mode" = cold ]; then
    export UV_CACHE_DIR="$work/uv-cache" PIP_NO_CACHE_DIR=1
fi

start=$(date +%s.%N)
setsid make run PORT="$port" "$@" >"$work/run.log" 2>&1 &
server=$!
until python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
        "http://127.0.0.1:$port/healthz" 2>/dev/null; do
    kill -0 "$server" 2>/dev/null || { cat "$work/run.log"; exit 1; }
    sleep 0.2
done
said=$(echo 你好 | PALMBOT_PORT="$port" .venv/bin/palmbot chat --phone 13800000001)
end=$(date +%s.%N)
grep -m1 '公众号>' <<<"$said"
python3 -c 'import sys; print(f"first reply {float(sys.argv[2]) - float(sys.argv[1]):.1f} s after make run ({sys.argv[3]})")' \
    "$start" "$end" "$mode${*:+ $*}"
