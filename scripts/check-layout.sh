#!/usr/bin/env bash
# The layout's rules (README "Layout"), checked over `crate::` paths: the two edges (src/s3,
# src/api) never import each other; the console (src/console) imports neither edge, nor the
# core, and only the server imports it; the core (src/objects, src/accounts, src/presign)
# imports neither edge; src/db and src/storage import no edge, no core module and not the
# server. s3s, the S3 edge's protocol library, stays out of the JSON edge, the core, src/db
# and src/storage: they name nothing from it (comments aside). Exits non-zero and prints
# the offending lines. Also: at most six .rs files directly in src/, none over 450 lines.
set -uo pipefail
cd "$(dirname "$0")/.."
bad=0
check() { # check PATTERN DIR...
    local pattern=$1
    shift
    if grep -rnE --include='*.rs' "$pattern" "$@"; then
        bad=1
    fi
}
check_code() { # check_code PATTERN DIR...: like check, on lines that are not comments
    local pattern=$1
    shift
    if grep -rnE --include='*.rs' "$pattern" "$@" | grep -vE '^[^:]+:[0-9]+:[[:space:]]*//'; then
        bad=1
    fi
}
check 'crate::s3(::|\b)' src/api src/objects src/accounts src/presign src/db src/storage
check 'crate::api(::|\b)' src/s3 src/objects src/accounts src/presign src/db src/storage
check 'crate::(objects|accounts|presign|server|s3|api)(::|\b)' src/db src/storage
# The console (src/console) only serves its embedded files: it calls /v1 from the browser,
# never the core or the database, and no other module reaches into it (the server routes).
check 'crate::(s3|api|objects|accounts|presign|db|storage|jobs)(::|\b)' src/console
check 'crate::console(::|\b)' src/s3 src/api src/objects src/accounts src/presign src/db src/storage src/jobs
check_code '(^|[^[:alnum:]_])s3s(::|[[:space:]]*;|[[:space:]]+as[[:space:]])' \
    src/api src/objects src/accounts src/presign src/db src/storage src/console
# A source tree that shows its architecture: few files flat in src/, none too long to read.
flat=$(find src -maxdepth 1 -name '*.rs' | wc -l)
if [ "$flat" -gt 6 ]; then
    echo "check-layout: $flat .rs files directly in src/ (at most 6)" >&2
    bad=1
fi
long=$(find src -name '*.rs' -exec awk 'END { if (NR > 450) print FILENAME ": " NR " lines" }' {} \;)
if [ -n "$long" ]; then
    echo "$long"
    echo "check-layout: source files over 450 lines" >&2
    bad=1
fi
if [ "$bad" -ne 0 ]; then
    echo "check-layout: the layout's rules are broken above" >&2
    exit 1
fi
echo "check-layout: edges apart, core below them, db and storage below everything, s3s only where S3 is spoken"
