#!/usr/bin/env bash
# The scenario with s3cmd (defaults: SigV4, multipart from 15 MiB). Configured: endpoint
# and keys; path-style addressing (the endpoint has no bucket DNS); and bucket_location,
# because s3cmd's default "US" is not a SigV4 region (s3cmd maps it to us-east-1 only for
# amazonaws.com hosts) and the signature scope would carry "US" verbatim.
source "$(dirname "$0")/lib.sh"
hostport=${GODRIVE_ENDPOINT#http://}
cat > "$out/s3cfg" <<CFG
[default]
access_key = $AWS_ACCESS_KEY_ID
secret_key = $AWS_SECRET_ACCESS_KEY
host_base = $hostport
host_bucket = $hostport
use_https = False
bucket_location = us-east-1
CFG
s3cmd() { command s3cmd -c "$out/s3cfg" --no-progress "$@"; }
b="$BUCKET"

step make bucket;        s3cmd mb "s3://$b"
step upload;             s3cmd put "$WORK/small.txt" "s3://$b/small.txt"
                         s3cmd put "$WORK/big.bin" "s3://$b/big.bin"
step list;               s3cmd ls "s3://$b/" | tee "$out/ls"
                         grep -q small.txt "$out/ls" && grep -q big.bin "$out/ls"
step download;           s3cmd get "s3://$b/small.txt" "$out/small.txt"
                         s3cmd get "s3://$b/big.bin" "$out/big.bin"
                         same "$WORK/small.txt" "$out/small.txt" "small round trip"
                         same "$WORK/big.bin" "$out/big.bin" "40 MiB round trip"
# s3cmd has no ranged get: fetch a range through a URL s3cmd signed (SigV2).
step ranged download;    url=$(s3cmd signurl "s3://$b/big.bin" +600)
                         curl -sf -r 1000-1999 "$url" -o "$out/range"
                         range_of "$WORK/big.bin" 1000 1000 > "$out/range.want"
                         same "$out/range.want" "$out/range" "range 1000-1999"
step server-side copy;   s3cmd cp "s3://$b/big.bin" "s3://$b/copy/big.bin"
                         s3cmd get "s3://$b/copy/big.bin" "$out/copy.bin"
                         same "$WORK/big.bin" "$out/copy.bin" "copy"
step sync 200 files;     s3cmd sync "$WORK/tree/" "s3://$b/tree/" > "$out/sync1"
                         [ "$(grep -c '^upload:' "$out/sync1")" = 200 ] || { echo "FAIL: first sync"; cat "$out/sync1"; exit 1; }
step sync again;         s3cmd sync "$WORK/tree/" "s3://$b/tree/" > "$out/sync2"
                         ! grep -q '^upload:' "$out/sync2" || { echo "FAIL: second sync transferred:"; cat "$out/sync2"; exit 1; }
                         echo "ok: nothing transferred"
step presign;            url=$(s3cmd signurl "s3://$b/small.txt" +600)
                         curl -sf "$url" -o "$out/presigned"
                         same "$WORK/small.txt" "$out/presigned" "presigned GET"
step delete everything;  s3cmd del --recursive --force "s3://$b"
                         [ -z "$(s3cmd ls --recursive "s3://$b")" ]
step remove bucket;      s3cmd rb "s3://$b"
