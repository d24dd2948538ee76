# Shortcuts for the commands in README.md; `make lint test` is what CI runs (.ci/run).

.PHONY: fmt lint test run migrate hardening bench bench-quota bench-versions bench-rss console-shots console-bench compose-up compose-down monitoring-check

fmt:
	cargo fmt --all

lint:
	cargo fmt --all -- --check
	cargo clippy --locked --all-targets -- -D warnings

# Needs the local PostgreSQL and the test clients (see README.md).
test:
	cargo test --locked

run:
	cargo run --release

migrate:
	cargo run --release -- migrate

# What quota enforcement costs on small PUTs (BENCHMARKS.md).
# The facade benchmark (BENCHMARKS.md); `make bench-quota` for the quota cost.
bench:
	scripts/bench.sh

# Fault, bad-input and authorization tests (also part of `make test`), then the soak.
hardening:
	cargo test --locked --test it -- isolation:: hostile:: faults:: connections:: startup:: fuzz::
	scripts/soak.sh $(or $(SOAK_SECS),300)

bench-quota:
	cargo run --release --example bench_quota

# What a versioned bucket costs, and paging 100,000 versions (BENCHMARKS.md).
bench-versions:
	cargo run --release --example bench_versions

# The console's flows in headless Chromium, writing the README's screenshots to
# docs/console/ and printing what BENCHMARKS.md records (first load, a 1,000-file page).
console-shots:
	GODRIVE_CONSOLE_SHOTS=$(CURDIR)/docs/console cargo test --locked --test it -- console::the_console_flows --nocapture

# The same flows with 10,000 files in one folder: the first and the last page of 1,000.
console-bench:
	GODRIVE_CONSOLE_MANY=10000 cargo test --locked --test it -- console::the_console_flows --nocapture

# Peak server memory while streaming a 2 GiB object (BENCHMARKS.md).
bench-rss:
	scripts/bench-rss.sh

compose-up:
	@test -f .env || { echo "no .env: cp .env.example .env, then set POSTGRES_PASSWORD and GRAFANA_ADMIN_PASSWORD"; exit 1; }
	docker compose up -d --build

compose-down:
	docker compose down

# Prometheus configuration, rules and their unit tests (promtool: apt-get install prometheus).
monitoring-check:
	promtool check config monitoring/prometheus/prometheus.yml
	promtool test rules monitoring/prometheus/tests/*.yml
