#!/usr/bin/env bash
# `make run`: the sandbox SSO provider, the sandbox provincial system and the portal, on embedded defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export DATA_DIR="${DATA_DIR:-var}"
export PKI_DIR="${PKI_DIR:-$DATA_DIR/pki}"
# e-certificates are PAdES B-T, time-stamped by the sandbox provincial system's TSA (empty it for B-B)
export SIGNING_TSA_URL="${SIGNING_TSA_URL-http://127.0.0.1:${SANDBOX_PROVINCIAL_PORT:-8200}/tsa}"
mkdir -p "$DATA_DIR"
$PY -m sandbox.pki init "$PKI_DIR"
$PY -m bff migrate
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM
$PY -m sandbox.sso & pids+=($!)
$PY -m sandbox.provincial & pids+=($!)
sleep 1
echo "portal:     ${PUBLIC_BASE_URL:-http://${BFF_HOST:-127.0.0.1}:${BFF_PORT:-8000}}"
echo "SSO:        ${SANDBOX_SSO_ISSUER:-http://127.0.0.1:${SANDBOX_SSO_PORT:-8100}}"
echo "provincial: http://127.0.0.1:${SANDBOX_PROVINCIAL_PORT:-8200} (clerk console at /)"
$PY -m bff serve & pids+=($!)
wait -n
