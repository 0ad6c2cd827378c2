# The commands of the README. Each sets up whatever is missing first.
# Variables: ODOO_VERSION (11.0 default, 12.0 ... 19.0), ODOO_SRC, ODOO_SRC_ARCHIVES,
# DB, HTTP_PORT, PYTHON, and for test-all TEST_SERIES, TEST_TIMEOUT (see README).
.PHONY: run test test-all bench stop clean
export DB HTTP_PORT ODOO_SRC ODOO_VERSION ODOO_SRC_ARCHIVES PYTHON TEST_SERIES TEST_TIMEOUT

run:
	@dev/harness.sh run

test:
	@dev/harness.sh test

test-all:
	@dev/harness.sh test-all

bench:
	@dev/harness.sh bench

stop:
	@dev/harness.sh stop

clean:
	@dev/harness.sh clean
