#!/usr/bin/env bash
# The scenario with rclone (defaults for provider "Other": path style, single PUT below
# 200 MiB, mtime kept in x-amz-meta-mtime).
source "$(dirname "$0")/lib.sh"
export RCLONE_CONFIG_GD_TYPE=s3 RCLONE_CONFIG_GD_PROVIDER=Other
export RCLONE_CONFIG_GD_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" RCLONE_CONFIG_GD_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY"
export RCLONE_CONFIG_GD_ENDPOINT="$GODRIVE_ENDPOINT" RCLONE_CONFIG=/dev/null
# rclone 1.60 fails to start when AWS_CA_BUNDLE is set (it cannot load a bundle into its own
# HTTP transport); the endpoint is plain http, so the bundle is not needed.
rclone() { env -u AWS_CA_BUNDLE rclone "$@"; }
b="$BUCKET"

step make bucket;        rclone mkdir "gd:$b"
step upload;             rclone copyto "$WORK/small.txt" "gd:$b/small.txt"
                         rclone copyto "$WORK/big.bin" "gd:$b/big.bin"
step list;               rclone lsf "gd:$b" | tee "$out/ls"
                         grep -q small.txt "$out/ls" && grep -q big.bin "$out/ls"
step list versions;      rclone lsf --s3-versions "gd:$b" > "$out/versions"
                         cmp "$out/ls" "$out/versions"
step versioned bucket;   rclone mkdir "gd:$b-v"
                         rclone backend versioning "gd:$b-v" Enabled | grep -q Enabled
                         rclone copyto "$WORK/small.txt" "gd:$b-v/doc.txt"
                         echo changed > "$out/changed.txt"
                         rclone copyto "$out/changed.txt" "gd:$b-v/doc.txt"
                         rclone lsf --s3-versions "gd:$b-v" | tee "$out/vlist"
                         [ "$(wc -l < "$out/vlist")" = 2 ] && grep -q '^doc-v.*\.txt$' "$out/vlist"
                         rclone copyto --s3-versions "gd:$b-v/$(grep '^doc-v' "$out/vlist")" "$out/v1"
                         same "$WORK/small.txt" "$out/v1" "the old version, by --s3-versions"
step purge versions;     rclone purge --s3-versions "gd:$b-v" 2>/dev/null || rclone backend cleanup-hidden "gd:$b-v"
step download;           rclone copyto "gd:$b/small.txt" "$out/small.txt"
                         rclone copyto "gd:$b/big.bin" "$out/big.bin"
                         same "$WORK/small.txt" "$out/small.txt" "small round trip"
                         same "$WORK/big.bin" "$out/big.bin" "40 MiB round trip"
step ranged download;    rclone cat --offset 1000 --count 1000 "gd:$b/big.bin" > "$out/range"
                         range_of "$WORK/big.bin" 1000 1000 > "$out/range.want"
                         same "$out/range.want" "$out/range" "range 1000-1999"
step server-side copy;   rclone copyto "gd:$b/big.bin" "gd:$b/copy/big.bin"
                         rclone copyto "gd:$b/copy/big.bin" "$out/copy.bin"
                         same "$WORK/big.bin" "$out/copy.bin" "copy"
step sync 200 files;     rclone sync "$WORK/tree" "gd:$b/tree" --stats-one-line -v 2> "$out/sync1"
                         [ "$(grep -c 'Copied (new)' "$out/sync1")" = 200 ] || { echo "FAIL: first sync"; tail "$out/sync1"; exit 1; }
step sync again;         rclone sync "$WORK/tree" "gd:$b/tree" --stats-one-line -v 2> "$out/sync2"
                         ! grep -q 'Copied' "$out/sync2" || { echo "FAIL: second sync transferred:"; cat "$out/sync2"; exit 1; }
                         echo "ok: nothing transferred"
step presign;            url=$(rclone link "gd:$b/small.txt")
                         curl -sf "$url" -o "$out/presigned"
                         same "$WORK/small.txt" "$out/presigned" "presigned GET"
step delete everything;  rclone delete "gd:$b"
                         [ -z "$(rclone lsf -R "gd:$b")" ]
step remove bucket;      rclone rmdir "gd:$b"
