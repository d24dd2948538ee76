#!/usr/bin/env bash
# The soak (issue #10): mixed S3 and JSON traffic (uploads and downloads up to 10 MB,
# listings, deletes, logins) from 24 clients against two `godrive serve` instances sharing
# one database and one data directory, for a bounded time (default 300 s). Prints 5xx
# answers, lost objects, p95 upload latency and both servers' memory every 10 s.
# Usage: scripts/soak.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --bin godrive --example bench
exec target/release/examples/bench --soak "${1:-300}"
