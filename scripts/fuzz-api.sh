#!/usr/bin/env bash
# Property-based fuzzing of the JSON API from its own OpenAPI document with schemathesis.
# It must find no 5xx (check: not_a_server_error). Writes its output to
# docs/fuzz-api.txt.
#
#   scripts/fuzz-api.sh [MAX_EXAMPLES]     # default 50 per operation
#
# Installs schemathesis into a virtualenv under target/, starts a debug server on a fresh
# database and data directory with a first admin, logs in, and fuzzes with its token
# (logout is left out: it would end the session the rest of the run uses).
set -euo pipefail
cd "$(dirname "$0")/.."
examples="${1:-50}"
port="${FUZZ_PORT:-18498}"
db="godrive_fuzz_$$"
work=$(mktemp -d "${TMPDIR:-/tmp}/godrive-fuzz.XXXXXX")
venv=target/schemathesis-venv
export POSTGRES_DB="$db" GODRIVE_DATA_DIR="$work/data" GODRIVE_API_PORT="$port" GODRIVE_BIND_ADDR=127.0.0.1
export GODRIVE_AUTH_BCRYPT_COST=4 GODRIVE_LOG_LEVEL=warn GODRIVE_LOGIN_MAX_FAILURES=1000000
# Fuzz as an admin so the admin routes are reached too.
export GODRIVE_ADMIN_EMAIL=fuzz@example.com GODRIVE_ADMIN_PASSWORD=fuzz-password

if [ ! -x "$venv/bin/st" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet schemathesis
fi
cargo build --locked -q
cleanup() {
    [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    psql -h 127.0.0.1 -U postgres -qc "drop database if exists \"$db\" with (force)" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
target/debug/godrive serve & pid=$!
for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$port/v1/health/ready" >/dev/null && break
    sleep 0.1
done
base="http://127.0.0.1:$port"
token=$(curl -fs -X POST "$base/v1/auth/login" -H 'content-type: application/json' \
    -d '{"email":"fuzz@example.com","password":"fuzz-password"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

set +e
"$venv/bin/st" run "$base/v1/openapi.json" --url "$base" \
    --checks not_a_server_error \
    --header "Authorization: Bearer $token" \
    --exclude-path /v1/auth/logout \
    --max-examples "$examples" --workers 2 --no-color 2>&1 | tee "$work/out.txt"
status=${PIPESTATUS[0]}
set -e
{
    echo "# scripts/fuzz-api.sh $examples  ($(date -u +%Y-%m-%dT%H:%MZ), schemathesis $("$venv/bin/st" --version | awk '{print $NF}'))"
    echo "# exit status: $status"
    cat "$work/out.txt"
} > docs/fuzz-api.txt
exit "$status"
