"""``make fuzz``: at least 10,000 generated hostile requests against a threaded
and a ``--workers 2`` server, then the concurrency tests (issue #9).

Run through the harness (``dev/harness.py fuzz [options] [pytest args]``),
which exports the ``HARNESS_*`` variables ``make test`` uses:

1. a database of its own, ``<DB>_fuzz_<flavor>``, copied from the template,
   with the addon and the example addon installed (no Odoo tests);
2. a threaded server and a ``--workers 2`` server on it, with Odoo's default
   database pool;
3. ``tests/blackbox/test_fuzz.py`` with ``JWT_FUZZ_REQUESTS`` (the main test
   keeps generating until it has sent that many requests), Schemathesis
   (``tests/blackbox/test_schemathesis.py``) with ``--schemathesis-examples``
   examples per operation (``make test`` runs 25), then
   ``tests/blackbox/test_concurrency.py``;
4. ERROR lines in the servers' logs count as failures, as in ``make test``.

It prints the requests sent, the time, every kind of violation with the
smallest request that shows it, and closes with ``N passed, N failed``.

Options: ``--requests N`` (10000), ``--examples N`` (examples per round,
500), ``--batch N`` (parallel requests per example, 8), ``--seed S``,
``--schemathesis-examples N`` (300), ``--no-concurrency``; anything else goes to pytest.
"""
import argparse
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_tests  # noqa: E402  (the harness's runner: same Odoo command line, servers, log rules)

ENV = os.environ


def parse():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--requests', type=int, default=10000)
    parser.add_argument('--examples', type=int, default=500)
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--seed', type=int, default=None)
    parser.add_argument('--schemathesis-examples', type=int, default=300)
    parser.add_argument('--no-concurrency', action='store_true')
    return parser.parse_known_args()


def create_database(db, log):
    run_tests.copy_template(db)
    print('[fuzz] installing jwt_provider and the example addon in %s' % db, flush=True)
    done = subprocess.run(run_tests.odoo_cmd('-i', run_tests.MODULES, '--stop-after-init',
                                             '--max-cron-threads=0', '--workers=0',
                                             '--http-port=%d' % run_tests.free_port(), '--logfile=' + log,
                                             '--log-level=warn'),
                          env=run_tests.odoo_env())
    if done.returncode:
        raise RuntimeError('installing the addon failed, see %s' % log)


def main():
    options, pytest_args = parse()
    os.makedirs(run_tests.LOG_DIR, exist_ok=True)
    db = (ENV.get('DB') or 'jwt_provider') + '_fuzz_' + run_tests.FLAVOR.replace('-', '_')
    run_tests.TEST_DB = db  # odoo_cmd() reads it
    report = os.path.join(run_tests.LOG_DIR, 'make-fuzz-report.txt')  # not make test's fuzz-report.txt
    junit = os.path.join(run_tests.LOG_DIR, 'fuzz.xml')
    for path in (report, junit):
        if os.path.exists(path):
            os.remove(path)
    started = time.time()
    create_database(db, os.path.join(run_tests.LOG_DIR, 'fuzz-install.log'))
    threaded = run_tests.Server('fuzz-threaded', '--workers=0')
    workers = run_tests.Server('fuzz-workers', *run_tests.workers_args())
    try:
        threaded.wait()
        workers.wait()
        env = dict(ENV, JWT_TEST_URL=threaded.url, JWT_TEST_WORKERS_URL=workers.url, JWT_TEST_DB=db,
                   JWT_TEST_SESSIONS=os.path.join(ENV['HARNESS_DATA_DIR'], 'sessions'),
                   JWT_TEST_SERVER_LOG=threaded.log, JWT_TEST_WORKERS_SERVER_LOG=workers.log,
                   JWT_TEST_SERIES=run_tests.SERIES, JWT_TEST_PG_DATA=ENV.get('HARNESS_PG_DATA', ''),
                   JWT_FUZZ_REQUESTS=str(options.requests), JWT_FUZZ_EXAMPLES=str(options.examples),
                   JWT_FUZZ_BATCH=str(options.batch), JWT_FUZZ_REPORT=report,
                   JWT_SCHEMATHESIS_EXAMPLES=str(options.schemathesis_examples), JWT_SCHEMATHESIS_TIMEOUT='3600')
        if options.seed is not None:
            env['JWT_FUZZ_SEED'] = env['JWT_SCHEMATHESIS_SEED'] = str(options.seed)
        tests = [os.path.join(run_tests.ROOT, 'tests', 'blackbox', name)
                 for name in ('test_fuzz.py', 'test_schemathesis.py')]
        if not options.no_concurrency:
            tests.append(os.path.join(run_tests.ROOT, 'tests', 'blackbox', 'test_concurrency.py'))
        print('[fuzz] %d requests and more against %s and %s (--workers 2)'
              % (options.requests, threaded.url, workers.url), flush=True)
        pytest = subprocess.run([ENV['HARNESS_PY'], '-m', 'pytest', '-p', 'no:cacheprovider', '-q', '-rfE',
                                 '--junitxml=' + junit] + tests + pytest_args, env=env, cwd=run_tests.ROOT)
    finally:
        threaded.stop()
        workers.stop()
    passed = failed = 0
    if os.path.exists(junit):
        for suite in ET.parse(junit).getroot().iter('testsuite'):
            cases = int(suite.get('tests', 0))
            bad = int(suite.get('failures', 0)) + int(suite.get('errors', 0))
            passed += cases - bad - int(suite.get('skipped', 0))
            failed += bad
    errors = []
    for server in (threaded, workers):
        errors += ['%s: %s' % (os.path.basename(server.log), line) for line in run_tests.unexpected_errors(server.log)]
    if os.path.exists(report):
        with open(report) as f:
            print('[fuzz] ' + f.read().strip().replace('\n', '\n[fuzz] '))
    print('[fuzz] %d ERROR lines in the servers\' logs%s' % (len(errors), ', first ones:' if errors else ''))
    for line in errors[:10]:
        print('[fuzz]   ' + line[:240])
    print('[fuzz] %.0f s in all; logs in %s' % (time.time() - started, run_tests.LOG_DIR))
    failed += 1 if errors else 0
    if passed + failed == 0 or pytest.returncode not in (0, 1):
        # pytest found nothing to run (-k matching nothing: exit 5), or could not run at all.
        print('[fuzz] pytest ran no test (exit status %d): nothing was fuzzed' % pytest.returncode)
        failed += 1
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
