#!/usr/bin/env bash
# Client compatibility suite: the same scenario with the aws cli, s3cmd, rclone, boto3 and
# the AWS SDK for JavaScript v3 (js: `npm ci --prefix tests/clients/js` first),
# each with its default settings, against a running GoDrive.
#
#   GODRIVE_ENDPOINT=http://127.0.0.1:8080 AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... \
#       tests/clients/run.sh [aws s3cmd rclone boto3 js]
#
# The integration tests (tests/it/clients.rs) run it against a fresh server, once with the
# fs backend and once with the s3 backend. .ci/run installs the clients.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${GODRIVE_ENDPOINT:?}" "${AWS_ACCESS_KEY_ID:?}" "${AWS_SECRET_ACCESS_KEY:?}"
export AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

clients=("$@")
[ ${#clients[@]} -gt 0 ] || clients=(aws s3cmd rclone boto3 js)

work=$(mktemp -d "${TMPDIR:-/tmp}/godrive-clients.XXXXXX")
trap 'rm -rf "$work"' EXIT
# Test data shared by every client: a small file, a 40 MiB file, 200 small files.
printf 'hello from the client suite\n' > "$work/small.txt"
head -c $((40 * 1024 * 1024)) /dev/urandom > "$work/big.bin"
mkdir "$work/tree"
for i in $(seq 1 200); do printf 'file %d\n' "$i" > "$work/tree/f$i.txt"; done
export WORK="$work"

failed=0
for c in "${clients[@]}"; do
    echo "=== $c"
    if [ "$c" = boto3 ]; then
        cmd=(python3 "$here/boto3_scenario.py")
    elif [ "$c" = js ]; then
        cmd=(node "$here/js/scenario.mjs")
    else
        cmd=(bash "$here/$c.sh")
    fi
    if BUCKET="suite-$c-$(date +%s)-$RANDOM" "${cmd[@]}"; then
        echo "=== $c: OK"
    else
        echo "=== $c: FAILED"
        failed=1
    fi
done
exit $failed
