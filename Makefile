# The two commands a new user needs: `make up` (install everything and run the bot) and `make test`.
# Everything else is `bin/bot …` (see `bin/bot help`).
.PHONY: up setup run test lint
up:
	bin/bot up
setup:
	bin/bot setup
run:
	bin/bot run
test:
	bin/bot test
lint:
	.venv-actions/bin/ruff check .
# Load benchmark (docs/benchmarks.md): 1, 20 and 50 users for 60 s each, with the default rasa init bot as
# yardstick. Other runs: make bench BENCH="--soak 15m --handoff-every 60 --users 20"
.PHONY: bench
BENCH ?= --users 1 20 50 --duration 60
bench:
	.venv-actions/bin/python bench/load.py $(BENCH)
