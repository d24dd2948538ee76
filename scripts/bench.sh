#!/usr/bin/env bash
# The facade benchmark (issue #9): builds the release binary and the bench, then runs the
# same workloads against the loopback ceiling, s3s-fs, GoDrive (fs) and GoDrive (s3 over
# s3s-fs) in one invocation. Needs the local PostgreSQL (POSTGRES_* honoured).
# Usage: scripts/bench.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --bin godrive --example bench
exec target/release/examples/bench "$@"
