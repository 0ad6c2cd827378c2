# The commands of the README. Each sets up whatever is missing first.
# Variables: ODOO_VERSION (11.0 default, 12.0 ... 19.0), ODOO_SRC, ODOO_SRC_ARCHIVES,
# DB, HTTP_PORT, PYTHON, PG_VERSION; ARGS (passed on: pytest's for test, Odoo's for run,
# dev/fuzz.py's for fuzz, series for dist); for test-all TEST_SERIES, TEST_JOBS,
# TEST_TIMEOUT, TEST_PG_VERSIONS.
# See README, "The harness".
.PHONY: run test test-all test-wheel prove lint pot bench fuzz dist stop clean
export DB HTTP_PORT ODOO_SRC ODOO_VERSION ODOO_SRC_ARCHIVES PYTHON PG_VERSION TEST_SERIES TEST_JOBS TEST_TIMEOUT TEST_PG_VERSIONS

run:
	@dev/harness.py run $(ARGS)

test:
	@dev/harness.py test $(ARGS)

test-all:
	@dev/harness.py test-all

test-wheel:
	@dev/harness.py test-wheel

dist:
	@dev/harness.py dist $(ARGS)

prove:
	@dev/harness.py prove $(ARGS)

lint:
	@dev/harness.py lint

pot:
	@dev/harness.py pot

bench:
	@dev/harness.py bench $(ARGS)

fuzz:
	@dev/harness.py fuzz $(ARGS)

stop:
	@dev/harness.py stop

clean:
	@dev/harness.py clean
