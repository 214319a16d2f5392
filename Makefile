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
