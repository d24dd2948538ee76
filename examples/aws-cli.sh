#!/usr/bin/env bash
# A walkthrough of GoDrive with the aws cli: make a bucket, copy a 5 MiB file up and back
# (same SHA-256), list, inspect, remove.
#
# Start a server and get credentials first:
#   cargo run --release &                       # README command 1
#   godrive user create --email me@example.com --password 'correct horse'
#   eval "$(godrive key create --user me@example.com)"
#   examples/aws-cli.sh
set -euo pipefail

endpoint="${GODRIVE_ENDPOINT:-http://127.0.0.1:8080}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
: "${AWS_ACCESS_KEY_ID:?set AWS_ACCESS_KEY_ID (eval \"\$(godrive key create --user EMAIL)\")}"
: "${AWS_SECRET_ACCESS_KEY:?set AWS_SECRET_ACCESS_KEY}"
aws() { command aws --endpoint-url "$endpoint" "$@"; }

bucket="walkthrough-$(date +%s)-$RANDOM"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== make bucket $bucket"
aws s3 mb "s3://$bucket"

echo "== upload a 5 MiB file"
head -c $((5 * 1024 * 1024)) /dev/urandom > "$work/up.bin"
aws s3 cp "$work/up.bin" "s3://$bucket/files/up.bin" --no-progress

echo "== list"
aws s3 ls "s3://$bucket/"
aws s3 ls "s3://$bucket/" --recursive | grep -q "files/up.bin"

echo "== head-object"
aws s3api head-object --bucket "$bucket" --key files/up.bin | tee "$work/head.json"
grep -q '"ContentLength": 5242880' "$work/head.json"

echo "== download and compare SHA-256"
aws s3 cp "s3://$bucket/files/up.bin" "$work/down.bin" --no-progress
up=$(sha256sum < "$work/up.bin" | cut -d' ' -f1)
down=$(sha256sum < "$work/down.bin" | cut -d' ' -f1)
echo "uploaded   $up"
echo "downloaded $down"
[ "$up" = "$down" ]

echo "== remove object and bucket"
aws s3 rm "s3://$bucket/files/up.bin"
aws s3 rb "s3://$bucket"
if aws s3 ls "s3://$bucket" 2>/dev/null; then
    echo "bucket still exists" >&2
    exit 1
fi
echo "walkthrough OK"
