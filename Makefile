.PHONY: verify redis-server chromium structure deployments fmt clippy test chaos openapi doc run fuzz

# The one gate: what CI runs (.ci/run) and what the README calls "run all tests".
# The phases run in this order; at the end (or at the first failure) a table
# says how long each took and how much disk was left after it.
PHASES := redis-server chromium structure deployments fmt clippy test chaos openapi doc
verify:
	@./tests/tools/timed-phases $(PHASES)

# The Redis storage tests start their own redis-server processes.
redis-server:
	./tests/tools/ensure-redis-server

# The console's browser test drives Debian's headless chromium via chromedriver.
chromium:
	./tests/tools/ensure-chromium

# STYLE.md's rules no compiler checks: files of at most 500 lines, no two files
# importing each other.
structure:
	./tests/tools/structure-check

# Docker, compose, Kubernetes, Istio, Prometheus and OTel files, checked offline by
# pinned validators (installed on first use into ~/.cache/pubsubgo-tools).
deployments:
	./tests/tools/validate-deployments

fmt:
	cargo fmt --all -- --check

clippy:
	cargo clippy --workspace --all-targets --locked -- -D warnings

test: redis-server chromium
	cargo test --workspace --locked

# The chaos harness's CI selection: real nodes and Redis in network namespaces
# under a seeded nemesis, the checkers over the history, and each test-only
# break caught by its checker (docs/chaos.md). About 5 minutes.
chaos: redis-server
	./jepsen/ci

# schemathesis (all checks and phases, stateful included) against a real server's
# /openapi.json, once with authentication off and once on (an API key): the
# document clients are generated from must say what the server does.
openapi:
	./tests/tools/schemathesis-check

doc:
	RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

# cargo-fuzz (libFuzzer, stable compiler) over the parsers of untrusted input,
# FUZZ_SECONDS per target (default 60) from the seed corpora in node/fuzz/corpus;
# not part of verify. The nightly campaign: FUZZ_SECONDS=600 make fuzz
# (docs/security.md, "Fuzzing"). Needs `cargo install cargo-fuzz --locked`.
fuzz:
	./node/fuzz/run

# Single node, in-memory storage, clients on :8081, metrics on :9092.
run:
	cargo run --bin pubsubgo-server
