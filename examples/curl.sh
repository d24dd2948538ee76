#!/usr/bin/env bash
# A walkthrough of GoDrive's JSON API with curl: register, log in, create an access key,
# make a bucket, upload and download a file, keep versions of it and restore one, refresh
# the session, log out.
#
#   cargo run --release &          # README command 1
#   examples/curl.sh               # GODRIVE_URL defaults to http://127.0.0.1:8080
set -euo pipefail
url="${GODRIVE_URL:-http://127.0.0.1:8080}/v1"
email="walk-$(date +%s)-$RANDOM@example.com"
password="correct horse battery"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

echo "== register $email"
curl -sf -X POST "$url/auth/register" -H 'content-type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"$password\"}" | tee "$work/user.json"; echo

echo "== log in"
curl -sf -X POST "$url/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"$password\"}" > "$work/tokens.json"
access=$(json '["access_token"]' < "$work/tokens.json")
refresh=$(json '["refresh_token"]' < "$work/tokens.json")
auth=(-H "authorization: Bearer $access")
curl -sf "$url/me" "${auth[@]}"; echo

echo "== create an access key for S3 tools (the secret is shown once)"
curl -sf -X POST "$url/keys" "${auth[@]}" -H 'content-type: application/json' -d '{"name":"walkthrough"}' \
    | json '["access_key_id"]'

echo "== make a bucket"
bucket=$(curl -sf -X POST "$url/buckets" "${auth[@]}" -H 'content-type: application/json' \
    -d "{\"name\":\"walk-$(date +%s)-$RANDOM\"}" | json '["id"]')

echo "== upload a file"
head -c 300000 /dev/urandom > "$work/photo.jpg"
file=$(curl -sf -X POST "$url/buckets/$bucket/files" "${auth[@]}" \
    -F "file=@$work/photo.jpg;type=image/jpeg" | tee "$work/file.json" | json '["id"]')
cat "$work/file.json"; echo

echo "== download it and compare SHA-256"
curl -sf "$url/buckets/$bucket/files/$file/content" "${auth[@]}" -o "$work/back.jpg"
up=$(sha256sum < "$work/photo.jpg" | cut -d' ' -f1)
down=$(sha256sum < "$work/back.jpg" | cut -d' ' -f1)
stored=$(json '["sha256"]' < "$work/file.json")
echo "uploaded $up, downloaded $down, recorded $stored"
[ "$up" = "$down" ] && [ "$up" = "$stored" ]

echo "== turn versioning on; overwrite the file; its old version stays"
curl -sf -X PUT "$url/buckets/$bucket/versioning" "${auth[@]}" -H 'content-type: application/json' \
    -d '{"status":"enabled"}' | json '["versioning"]'
echo "a new photo" > "$work/new.jpg"
curl -sf -X POST "$url/buckets/$bucket/files" "${auth[@]}" -F "file=@$work/new.jpg;filename=photo.jpg" > /dev/null
curl -sf "$url/buckets/$bucket/files/$file/versions" "${auth[@]}" > "$work/versions.json"
cat "$work/versions.json"; echo
old=$(json '["items"][1]["version_id"]' < "$work/versions.json")

echo "== download the old version, then restore it as the current one"
curl -sf "$url/buckets/$bucket/files/$file/versions/$old/content" "${auth[@]}" -o "$work/old.jpg"
cmp "$work/photo.jpg" "$work/old.jpg"
current=$(curl -sf -X POST "$url/buckets/$bucket/files/$file/versions/$old/restore" "${auth[@]}" | json '["id"]')
curl -sf "$url/buckets/$bucket/files/$current/content" "${auth[@]}" -o "$work/restored.jpg"
cmp "$work/photo.jpg" "$work/restored.jpg"

echo "== refresh the session"
curl -sf -X POST "$url/auth/refresh" -H 'content-type: application/json' \
    -d "{\"refresh_token\":\"$refresh\"}" > "$work/tokens2.json"
refresh2=$(json '["refresh_token"]' < "$work/tokens2.json")

echo "== log out; the refresh token stops working"
curl -sf -X POST "$url/auth/logout" -H 'content-type: application/json' -d "{\"refresh_token\":\"$refresh2\"}"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$url/auth/refresh" -H 'content-type: application/json' \
    -d "{\"refresh_token\":\"$refresh2\"}")
[ "$code" = 401 ]
echo "walkthrough OK"
