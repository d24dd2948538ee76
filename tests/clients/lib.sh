# Helpers shared by the client scenarios.
set -euo pipefail
sha() { sha256sum < "$1" | cut -d' ' -f1; }
same() { # same FILE_A FILE_B LABEL
    if [ "$(sha "$1")" != "$(sha "$2")" ]; then echo "FAIL: $3: SHA-256 differs" >&2; exit 1; fi
    echo "ok: $3"
}
range_of() { # range_of FILE OFFSET LENGTH > out
    dd if="$1" iflag=skip_bytes,count_bytes skip="$2" count="$3" status=none
}
step() { echo "-- $*"; }
out=$(mktemp -d "$WORK/out.XXXXXX")
