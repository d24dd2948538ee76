#!/usr/bin/env bash
# The scenario with the aws cli (defaults: multipart from 8 MiB, its default checksums).
source "$(dirname "$0")/lib.sh"
aws() { command aws --endpoint-url "$GODRIVE_ENDPOINT" "$@"; }
b="$BUCKET"

step make bucket;        aws s3 mb "s3://$b"
step upload;             aws s3 cp "$WORK/small.txt" "s3://$b/small.txt" --no-progress
                         aws s3 cp "$WORK/big.bin" "s3://$b/big.bin" --no-progress
step list;               aws s3 ls "s3://$b/" | tee "$out/ls"
                         grep -q small.txt "$out/ls" && grep -q big.bin "$out/ls"
step download;           aws s3 cp "s3://$b/small.txt" "$out/small.txt" --no-progress
                         aws s3 cp "s3://$b/big.bin" "$out/big.bin" --no-progress
                         same "$WORK/small.txt" "$out/small.txt" "small round trip"
                         same "$WORK/big.bin" "$out/big.bin" "40 MiB round trip"
step ranged download;    aws s3api get-object --bucket "$b" --key big.bin --range bytes=1000-1999 "$out/range" >/dev/null
                         range_of "$WORK/big.bin" 1000 1000 > "$out/range.want"
                         same "$out/range.want" "$out/range" "range 1000-1999"
step versions;           aws s3api list-object-versions --bucket "$b" --prefix small > "$out/versions"
                         grep -q '"VersionId": "null"' "$out/versions"
                         aws s3api get-object --bucket "$b" --key small.txt --version-id null "$out/v-null" >/dev/null
                         same "$WORK/small.txt" "$out/v-null" "get-object --version-id null"
step versioned bucket;   aws s3api create-bucket --bucket "$b-v" >/dev/null
                         aws s3api put-bucket-versioning --bucket "$b-v" --versioning-configuration Status=Enabled
                         aws s3api get-bucket-versioning --bucket "$b-v" | grep -q '"Status": "Enabled"'
                         v1=$(aws s3api put-object --bucket "$b-v" --key doc.txt --body "$WORK/small.txt" --query VersionId --output text)
                         echo changed > "$out/changed.txt"
                         aws s3api put-object --bucket "$b-v" --key doc.txt --body "$out/changed.txt" >/dev/null
                         aws s3api get-object --bucket "$b-v" --key doc.txt --version-id "$v1" "$out/v1" >/dev/null
                         same "$WORK/small.txt" "$out/v1" "get-object --version-id of a noncurrent version"
                         aws s3 rm "s3://$b-v/doc.txt"
                         aws s3api list-object-versions --bucket "$b-v" > "$out/vv"
                         [ "$(grep -c '"VersionId"' "$out/vv")" = 3 ] && grep -q '"DeleteMarkers"' "$out/vv"
step remove versions;    aws s3api list-object-versions --bucket "$b-v" --output text \
                             --query '[Versions[].[Key,VersionId], DeleteMarkers[].[Key,VersionId]][]' |
                         while read -r k v; do aws s3api delete-object --bucket "$b-v" --key "$k" --version-id "$v" >/dev/null; done
                         aws s3 rb "s3://$b-v"
step server-side copy;   aws s3 cp "s3://$b/big.bin" "s3://$b/copy/big.bin" --no-progress
                         aws s3 cp "s3://$b/copy/big.bin" "$out/copy.bin" --no-progress
                         same "$WORK/big.bin" "$out/copy.bin" "copy"
step sync 200 files;     aws s3 sync "$WORK/tree" "s3://$b/tree" --no-progress > "$out/sync1"
                         [ "$(grep -c '^upload:' "$out/sync1")" = 200 ] || { echo "FAIL: first sync"; exit 1; }
step sync again;         aws s3 sync "$WORK/tree" "s3://$b/tree" --no-progress > "$out/sync2"
                         [ ! -s "$out/sync2" ] || { echo "FAIL: second sync transferred:"; cat "$out/sync2"; exit 1; }
                         echo "ok: nothing transferred"
step presign;            url=$(aws s3 presign "s3://$b/small.txt")
                         curl -sf "$url" -o "$out/presigned"
                         same "$WORK/small.txt" "$out/presigned" "presigned GET"
step delete everything;  aws s3 rm "s3://$b" --recursive --quiet
                         [ -z "$(aws s3 ls "s3://$b" --recursive)" ]
step remove bucket;      aws s3 rb "s3://$b"
