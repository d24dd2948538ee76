#!/usr/bin/env bash
# Peak server memory while a 2 GiB object goes up and comes back down, through the aws cli
# as a single PUT and a single GET (no multipart: one request streams the whole object).
#
#   scripts/bench-rss.sh [SIZE_MIB]      # default 2048
#
# Starts a release server on a free port with a fresh database and data directory, and
# prints the server's peak RSS (VmHWM) after each phase. Needs PostgreSQL and the aws cli.
set -euo pipefail
cd "$(dirname "$0")/.."

size_mib="${1:-2048}"
port="${BENCH_PORT:-18499}"
db="godrive_bench_rss_$$"
work=$(mktemp -d "${TMPDIR:-/tmp}/godrive-rss.XXXXXX")
export POSTGRES_DB="$db" GODRIVE_DATA_DIR="$work/data" GODRIVE_API_PORT="$port" GODRIVE_BIND_ADDR=127.0.0.1
export GODRIVE_AUTH_BCRYPT_COST=4 GODRIVE_LOG_LEVEL=warn
export AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

cargo build --release --locked -q
bin=target/release/godrive

cleanup() {
    [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    psql -h 127.0.0.1 -U postgres -qc "drop database if exists \"$db\" with (force)" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

$bin user create --email bench@example.com --password bench-password >/dev/null
eval "$($bin key create --user bench@example.com)"
$bin serve & pid=$!
for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$port/v1/health/ready" >/dev/null && break
    sleep 0.1
done

hwm() { awk '/VmHWM/ {print $2}' "/proc/$pid/status"; }
aws() { command aws --endpoint-url "http://127.0.0.1:$port" "$@"; }

echo "creating a ${size_mib} MiB file of random bytes"
head -c "$((size_mib * 1024 * 1024))" /dev/urandom > "$work/big.bin"
want=$(sha256sum < "$work/big.bin" | cut -d' ' -f1)

aws s3api create-bucket --bucket rss >/dev/null
echo "server peak RSS after startup:  $(( $(hwm) / 1024 )) MiB"
start=$EPOCHREALTIME
aws s3api put-object --bucket rss --key big.bin --body "$work/big.bin" >/dev/null
up=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}')
echo "server peak RSS after upload:   $(( $(hwm) / 1024 )) MiB  (PUT of ${size_mib} MiB in ${up}s)"
start=$EPOCHREALTIME
aws s3api get-object --bucket rss --key big.bin "$work/back.bin" >/dev/null
down=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}')
peak=$(( $(hwm) / 1024 ))
echo "server peak RSS after download: ${peak} MiB  (GET of ${size_mib} MiB in ${down}s)"
got=$(sha256sum < "$work/back.bin" | cut -d' ' -f1)
[ "$want" = "$got" ] || { echo "SHA-256 mismatch: $want vs $got" >&2; exit 1; }
echo "SHA-256 equal: $want"
if [ "$peak" -ge 100 ]; then
    echo "FAIL: peak RSS ${peak} MiB is not under 100 MiB" >&2
    exit 1
fi
echo "OK: peak RSS ${peak} MiB < 100 MiB"
