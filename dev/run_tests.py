"""Run every test of the addon and print one closing line ``N passed, N failed``.

1. Odoo's own tests (``tests/``), with ``--test-enable`` while installing the
   addon in a fresh copy of the template database.
2. Black-box HTTP tests (``tests/blackbox``, pytest) against servers started
   on that database: threaded, and with ``--workers 2``.
An ERROR in an Odoo log that is not a known harmless start-up message counts
as a failure. Exit status is non-zero on any failure.
"""
import os
import re
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

ENV = os.environ
ROOT = ENV['HARNESS_ROOT']
STATE = ENV['HARNESS_STATE']
FLAVOR = ENV['HARNESS_FLAVOR']
TEST_DB = (ENV.get('DB') or 'jwt_provider') + '_test_' + FLAVOR.replace('-', '_')
LOG_DIR = os.path.join(STATE, 'logs-' + FLAVOR)

# ERROR lines Odoo logs on every start on this stack, unrelated to the addon.
HARMLESS_ERRORS = (
    re.compile(r'Unmet dependencies'),                       # apps of the mail wheel we do not install
    re.compile(r'odoo\.modules\.module: Module \S+: \d+ failures, \d+ errors'),  # counted from the runner
    re.compile(r'odoo\.modules\.loading: At least one test failed'),
)
# ERROR records that are harmless only with a given exception at the end of
# their traceback: (pattern of the log line, pattern of the traceback's last line).
HARMLESS_TRACEBACKS = (
    # 12.0+ /web/session/authenticate raises AccessDenied on a wrong password and
    # Odoo logs it at ERROR (11.0 returns no uid); the tests send wrong ones on purpose.
    (re.compile(r'odoo\.http: Exception during JSON request handling'),
     re.compile(r'^odoo\.exceptions\.AccessDenied\b')),
)
LOG_LINE = re.compile(r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \d+ (\w+) (\S+) (\S+): (.*)$')


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def odoo_cmd(*args):
    cmd = [ENV['HARNESS_PY'], os.path.join(ROOT, 'dev', 'odoo'),
           '--addons-path=' + ENV['HARNESS_ADDONS_PATH'], '--data-dir=' + ENV['HARNESS_DATA_DIR'],
           '--db_host=127.0.0.1', '--db_port=' + ENV['HARNESS_PG_PORT'], '--db_user=' + ENV['HARNESS_PG_ROLE'],
           '--http-interface=127.0.0.1', '--without-demo=all', '-d', TEST_DB, '--db-filter=^%s$' % TEST_DB]
    return cmd + list(args)


def odoo_env():
    env = dict(ENV, ODOO_PRELOAD_ADDONS='no')
    if ENV.get('HARNESS_ODOO_SRC'):
        env['PYTHONPATH'] = ENV['HARNESS_ODOO_SRC']
    env.pop('ODOO_JWT_KEY', None)
    env.pop('ODOO_JWT_ALGORITHM', None)
    return env


def psql(sql, db='postgres'):
    subprocess.run(['psql', '-X', '-q', '-h', '127.0.0.1', '-p', ENV['HARNESS_PG_PORT'], '-U', 'postgres',
                    '-d', db, '-c', sql], check=True, stdout=subprocess.DEVNULL,
                   env=dict(ENV, PGOPTIONS='-c client_min_messages=warning'))


def unexpected_errors(log_path):
    """ERROR/CRITICAL lines of an Odoo log that no harmless pattern explains.

    Failing tests' own report lines are left to the test counts.
    """
    found = []
    with open(log_path, errors='replace') as f:
        lines = f.read().split('\n')
    for i, line in enumerate(lines):
        m = LOG_LINE.match(line)
        if not m or m.group(1) not in ('ERROR', 'CRITICAL'):
            continue
        logger = m.group(3)
        if logger.startswith('odoo.addons.') and '.tests.' in logger:
            continue  # a unittest report line (FAIL:/ERROR:/Traceback), counted by the runner
        if any(p.search(line) for p in HARMLESS_ERRORS):
            continue
        last = ''  # the last line of the record's traceback, if any
        for following in lines[i + 1:]:
            if LOG_LINE.match(following):
                break
            last = following.strip() or last
        if any(p.search(line) and e.match(last) for p, e in HARMLESS_TRACEBACKS):
            continue
        found.append(line)
    return found


def run_odoo_tests():
    """Install the addons with --test-enable in a fresh database; returns (passed, failed, skipped)."""
    log = os.path.join(LOG_DIR, 'odoo-tests.log')
    open(log, 'w').close()  # Odoo appends to its log file
    # The test database is the runner's own: an idle session left in it (e.g. the cron
    # thread of a `make run` server that once served it) would block the drop.
    psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '%s' AND state = 'idle'"
         % TEST_DB)
    psql('DROP DATABASE IF EXISTS "%s"' % TEST_DB)
    psql('CREATE DATABASE "%s" TEMPLATE "%s" OWNER %s' % (TEST_DB, ENV['HARNESS_TEMPLATE_DB'], ENV['HARNESS_PG_ROLE']))
    # A copy must not share its template's identity (tokens are bound to it).
    psql("UPDATE ir_config_parameter SET value = gen_random_uuid() WHERE key = 'database.uuid'", TEST_DB)
    print('[tests] Odoo tests: installing jwt_provider and the example addon with --test-enable', flush=True)
    proc = subprocess.run(odoo_cmd('-i', 'jwt_provider,jwt_provider_example', '--test-enable',
                                   '--stop-after-init', '--max-cron-threads=0', '--workers=0',
                                   '--http-port=%d' % free_port(), '--logfile=' + log, '--log-level=info'),
                          env=odoo_env())
    ran = failures = errors = skipped = 0
    reports = []
    with open(log, errors='replace') as f:
        for line in f:
            # 11.0/12.0 log unittest's own summary under the test module's
            # logger; 13.0 logs "Ran N tests" under odoo.modules.module and one
            # "skipped Class.test" line per skipped test instead of "(skipped=N)".
            m = re.search(r'(?:\.tests\.\S+|odoo\.modules\.module): Ran (\d+) tests? in', line)
            if m:
                ran += int(m.group(1))
            m = re.search(r'odoo\.modules\.module: Module \S+: (\d+) failures, (\d+) errors', line)
            if m:
                failures += int(m.group(1))
                errors += int(m.group(2))
            m = re.search(r'\.tests\.\S+: .*\(.*skipped=(\d+)', line)
            if m:
                skipped += int(m.group(1))
            if re.search(r' INFO \S+ odoo\.addons\.\S+\.tests\.\S+: skipped [A-Za-z_][\w.]*\s*$', line):
                skipped += 1
            if re.search(r'\.tests\.\S+: (FAIL|ERROR): ', line):
                reports.append(line.strip())
    failed = failures + errors
    extra = unexpected_errors(log)
    if proc.returncode and not failed and not extra:
        extra.append('Odoo exited with status %d (see %s)' % (proc.returncode, log))
    if ran == 0:
        extra.append('Odoo ran no test (see %s)' % log)
    for line in reports + extra:
        print('[tests]   ' + line)
    print('[tests] Odoo tests: %d ran, %d failed, %d unexpected log errors' % (ran, failed, len(extra)), flush=True)
    return ran - failed - skipped, failed + len(extra), skipped


class Server(object):
    """An Odoo server on the test database, for the black-box tests."""

    def __init__(self, name, *args):
        self.port = free_port()
        self.log = os.path.join(LOG_DIR, 'server-%s.log' % name)
        open(self.log, 'w').close()
        self.proc = subprocess.Popen(
            odoo_cmd('--http-port=%d' % self.port, '--max-cron-threads=0', '--logfile=' + self.log,
                     '--log-level=info', *args),
            env=odoo_env(), start_new_session=True)
        self.url = 'http://127.0.0.1:%d' % self.port

    def wait(self, timeout=120):
        import urllib.request
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('Odoo exited early, see %s' % self.log)
            try:
                urllib.request.urlopen(self.url + '/api/ping', timeout=5).read()
                return self
            except Exception:
                time.sleep(0.5)
        raise RuntimeError('Odoo did not answer within %ds, see %s' % (timeout, self.log))

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


def run_blackbox(extra_args):
    threaded = Server('threaded', '--workers=0')
    workers = Server('workers', '--workers=2', '--longpolling-port=%d' % free_port())
    try:
        threaded.wait()
        workers.wait()
        junit = os.path.join(LOG_DIR, 'blackbox.xml')
        env = dict(ENV, JWT_TEST_URL=threaded.url, JWT_TEST_WORKERS_URL=workers.url, JWT_TEST_DB=TEST_DB,
                   JWT_TEST_SESSIONS=os.path.join(ENV['HARNESS_DATA_DIR'], 'sessions'),
                   JWT_TEST_SERVER_LOG=threaded.log, JWT_TEST_SERIES=ENV['HARNESS_SERIES'])
        print('[tests] black-box HTTP tests against %s and %s (--workers 2)' % (threaded.url, workers.url),
              flush=True)
        subprocess.run([ENV['HARNESS_PY'], '-m', 'pytest', '-p', 'no:cacheprovider', '-q', '-rfE',
                        '--junitxml=' + junit, os.path.join(ROOT, 'tests', 'blackbox')] + extra_args,
                       env=env, cwd=ROOT)
    finally:
        threaded.stop()
        workers.stop()
    tests = failures = skipped = 0
    if os.path.exists(junit):
        for suite in ET.parse(junit).getroot().iter('testsuite'):
            tests += int(suite.get('tests', 0))
            failures += int(suite.get('failures', 0)) + int(suite.get('errors', 0))
            skipped += int(suite.get('skipped', 0))
    extra = []
    for server in (threaded, workers):
        extra += unexpected_errors(server.log)
    if tests == 0:
        extra.append('pytest ran no test')
    for line in extra:
        print('[tests]   unexpected: ' + line)
    return tests - failures - skipped, failures + len(extra), skipped


def main():
    os.makedirs(LOG_DIR, exist_ok=True)
    passed, failed, skipped = run_odoo_tests()
    try:
        p, f, s = run_blackbox(sys.argv[1:])
    except RuntimeError as e:
        print('[tests] black-box tests could not run: %s' % e)
        p, f, s = 0, 1, 0
    passed, failed, skipped = passed + p, failed + f, skipped + s
    print('[tests] logs: %s' % LOG_DIR)
    print('%d passed, %d failed' % (passed, failed) + (', %d skipped' % skipped if skipped else ''))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
