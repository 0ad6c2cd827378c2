# The two commands of the README. Both set up whatever is missing first.
# Variables: DB, HTTP_PORT, ODOO_SRC, PYTHON (see README).
.PHONY: run test bench stop clean
export DB HTTP_PORT ODOO_SRC PYTHON

run:
	@dev/harness.sh run

test:
	@dev/harness.sh test

bench:
	@dev/harness.sh bench

stop:
	@dev/harness.sh stop

clean: stop
	rm -rf .state .venv-*
