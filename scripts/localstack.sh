#!/usr/bin/env bash
# LocalStack for the end-to-end suite, without Docker: `install`, `start`, `stop`, `status`.
# It runs in its own Python 3.13 virtualenv (LocalStack 4.14 needs 3.12+), pinned by
# scripts/localstack-constraints.txt, on 127.0.0.1:4566, with its state under .localstack/.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=.localstack
VENV=$DIR/venv
PORT=${LOCALSTACK_PORT:-4566}
URL=http://127.0.0.1:$PORT

# Python 3.13 for LocalStack's venv: $PYTHON313 if set, else python3.13 on the PATH, any pyenv
# 3.13.x, uv's, the usual install places, or python3 itself when it is 3.13.
python313() {
  local candidates=("${PYTHON313:-}" python3.13)
  local root
  root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
  candidates+=("$root"/versions/3.13*/bin/python3)
  if command -v uv >/dev/null 2>&1; then candidates+=("$(uv python find 3.13 2>/dev/null || true)"); fi
  candidates+=(/usr/local/bin/python3.13 /usr/bin/python3.13 /opt/homebrew/bin/python3.13 python3)
  for candidate in "${candidates[@]}"; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  return 1
}

install() {
  if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import localstack' 2>/dev/null \
     && [ "$DIR/.installed" -nt scripts/localstack-constraints.txt ]; then
    return 0
  fi
  local py
  py=$(python313) || { echo "LocalStack needs Python 3.13: install it (pyenv install 3.13, uv python install 3.13, or your system's python3.13) or set PYTHON313 to one" >&2; return 1; }
  echo "installing LocalStack 4.14.0 into $VENV ($($py --version))"
  rm -rf "$VENV"
  "$py" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -c scripts/localstack-constraints.txt \
    'localstack-core[runtime]==4.14.0' cbor2 pyopenssl cryptography service_identity 2>&1 | grep -v "is ignored" || true
  "$VENV/bin/python" -c 'import localstack' && touch "$DIR/.installed"
}

healthy() { curl -fsS "$URL/_localstack/health" >/dev/null 2>&1; }

start() {
  install
  if healthy; then echo "LocalStack already running at $URL"; return 0; fi
  mkdir -p "$DIR/state"
  # OVERRIDE_IN_DOCKER=0: it is not in its own container; DNS_ADDRESS=0: no DNS server.
  OVERRIDE_IN_DOCKER=0 GATEWAY_LISTEN=127.0.0.1:$PORT FILESYSTEM_ROOT="$PWD/$DIR/state" \
    DNS_ADDRESS=0 SKIP_SSL_CERT_DOWNLOAD=1 DISABLE_EVENTS=1 \
    nohup "$VENV/bin/python" -m localstack.runtime.main > "$DIR/localstack.log" 2>&1 &
  echo $! > "$DIR/localstack.pid"
  for _ in $(seq 1 60); do
    if healthy; then echo "LocalStack ready at $URL"; return 0; fi
    sleep 1
  done
  echo "LocalStack did not become ready; its log ends:" >&2
  tail -20 "$DIR/localstack.log" >&2
  stop
  return 1
}

stop() {
  if [ -f "$DIR/localstack.pid" ]; then
    kill "$(cat "$DIR/localstack.pid")" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$(cat "$DIR/localstack.pid")" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$(cat "$DIR/localstack.pid")" 2>/dev/null || true
    rm -f "$DIR/localstack.pid"
  fi
  rm -rf "$DIR/state"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) healthy && echo "running at $URL" || { echo "not running"; exit 1; } ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
