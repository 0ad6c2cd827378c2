"""Run every test of the addon and print one closing line ``N passed, N failed``.

1. Odoo's own tests (``tests/``), with ``--test-enable`` while installing the
   addon in a fresh copy of the template database.
2. Black-box HTTP tests (``tests/blackbox``, pytest) against servers started
   on that database: threaded, and with ``--workers 2``.
An Odoo log with ERROR lines that no known harmless pattern explains counts
as one failure (the lines are printed). Exit status is non-zero on any failure.

    python dev/run_tests.py [PYTEST_ARGS...]     (from dev/harness.py test)
    python dev/run_tests.py --check-log LOGFILE  (lists a log's unexplained ERROR lines)

Odoo 11.0 to 19.0: the options and the way results are logged differ by
series (see odoo_cmd, workers_args and count_odoo_tests).
"""
import json
import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

from harness import free_port  # one place for the harness and the tools

ENV = os.environ
ROOT = ENV['HARNESS_ROOT']
STATE = ENV['HARNESS_STATE']
FLAVOR = ENV['HARNESS_FLAVOR']
SERIES = ENV.get('HARNESS_SERIES', '11.0')
MAJOR = int(SERIES.split('.')[0])
TEST_DB = (ENV.get('DB') or 'jwt_provider') + '_test_' + FLAVOR.replace('-', '_')
LOG_DIR = os.path.join(STATE, 'logs-' + FLAVOR)
MODULES = 'jwt_provider,jwt_provider_example,rest_neighbour,other_second_factor,password_hash_cost'
# The neighbour addon alone, without jwt_provider: how Odoo answers its routes.
PLAIN_DB = TEST_DB + '_plain'
NEIGHBOUR = 'rest_neighbour'
# OCA's auth_jwt as published on PyPI (installed without its odoo requirement) and its demo
# addon's auth='jwt_demo_keycloak' route, in a database of their own: a consumer of our JWKS
# (tests/blackbox/test_interop.py). No wheels for 11.0-15.0, 17.0's demo addon or 19.0.
OCA_DB = TEST_DB + '_oca'
OCA_WHEELS = {
    16: ['odoo-addon-auth_jwt==16.0.1.2.0.4', 'odoo-addon-auth_jwt_demo==16.0.1.1.1.1'],
    18: ['odoo-addon-auth_jwt==18.0.1.0.2', 'odoo-addon-auth_jwt_demo==18.0.1.0.1'],
}

# ERROR lines Odoo logs on every start on this stack, unrelated to the addon.
HARMLESS_ERRORS = (
    re.compile(r'Unmet dependencies'),                       # apps of the mail wheel we do not install
    # Test summaries, counted from the test report instead:
    re.compile(r'odoo\.modules\.(module|loading): Module \S+: \d+ failures, \d+ errors'),
    re.compile(r'odoo\.modules\.loading: At least one test failed'),
    re.compile(r'odoo\.tests\.(runner|result): \d+ failed, \d+ error\(s\) of \d+ tests when loading database'),
)
# ERROR records that are harmless only with a given exception at the end of
# their traceback: (pattern of the log line, pattern of the traceback's last line).
HARMLESS_TRACEBACKS = (
    # 12.0+ /web/session/authenticate raises AccessDenied on a wrong password and
    # Odoo logs it at ERROR (11.0 returns no uid); the tests send wrong ones on purpose.
    (re.compile(r'odoo\.http: Exception during JSON request handling'),
     re.compile(r'^odoo\.exceptions\.AccessDenied\b')),
    # tests/blackbox/test_addon_routes.py: an addon's bug, a 500 logged at ERROR as it should be.
    (re.compile(r'answers: API request failed|odoo\.http: Exception during request handling'),
     re.compile(r'^ZeroDivisionError: an addon bug')),
)
# ERROR records that Odoo's own modules log for their own reasons while the
# browser tests merely have the web client open, and that do not fail the run:
# (logger, pattern of the whole record, why). Each is excused only in the log of
# the server the browser tests use, only while they run, never from a logger of
# ours or the test addons' and never in a record that names our addon or routes;
# the excused lines are reported on lines of their own ("tolerated"). README and
# docs/development.md list them.
BROWSER_TOLERATED = (
    # 19.0 Discuss (mail, installed by auth_signup): the web client's own calls
    # (presence, channel fetches) update the same channel member row at once;
    # PostgreSQL refuses one, odoo.sql_db logs the query at ERROR, and Odoo
    # retries the request (odoo.service.model, at INFO).
    # (odoo.sql_db logs psycopg2's cursor.query, bytes: "bad query: b'UPDATE ...'".)
    ('odoo.sql_db', re.compile(r'bad query: (b\')?UPDATE "discuss_channel_member"\s.*^ERROR: +could not serialize '
                               r'access due to concurrent update', re.S | re.M),
     "Discuss's concurrent update of a channel member, retried by Odoo"),
)
OUR_LOGGERS = re.compile(r'^odoo\.addons\.(jwt_provider|rest_neighbour)')
OURS = re.compile(r'jwt_provider|rest_neighbour|/api/')
LOG_LINE = re.compile(r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d+ \d+ (\w+) (\S+) (\S+): (.*)$')
# tests/blackbox/test_faults.py stops PostgreSQL on purpose and appends each
# outage ("start end", epoch seconds) to this file. The ERROR records Odoo logs
# then about its lost connections, from the outage until the servers have
# recovered (the test allows 60 s), are expected.
FAULT_WINDOWS = os.path.join(LOG_DIR, 'fault-windows.txt')
FAULT_GRACE = 20  # seconds after an outage during which the pool's broken connections may still log
# Nothing may hang a run (CI has a deadline): each step has a time limit, and
# a lock wait in the test database ends in an error instead of waiting forever
# (a request blocked by the test's own open transaction, say).
ODOO_TESTS_TIMEOUT = int(ENV.get('ODOO_TESTS_TIMEOUT') or 900)
BLACKBOX_TIMEOUT = int(ENV.get('BLACKBOX_TIMEOUT') or 1200)
BROWSER_TIMEOUT = int(ENV.get('BROWSER_TIMEOUT') or 900)
LOCK_TIMEOUT = '60s'
# How long the servers wait for an API request's body (tests/blackbox/test_addon_routes.py).
BODY_TIMEOUT = '10'
# Series whose `make test` also installs the wheel of `make dist` and runs the
# contract tests against it (dev/test_wheel.py): the ends of the setuptools-odoo
# and whool eras, and the newest series. Empty for none.
WHEEL_SERIES = ENV.get('JWT_WHEEL_SERIES', '11.0 16.0 19.0').split()
FAULT_RECORD = re.compile(r'psycopg2|OperationalError|InterfaceError|PoolError|[Cc]onnection|database|cursor')


def odoo_cmd(*args, db=None, served=None, python=None, addons_path=None):
    """Odoo's command line on ``db`` (``TEST_DB`` by default; a comma-separated
    list is loaded at start), serving the database ``served`` (``db`` by default).
    ``python`` and ``addons_path`` (``''``: Odoo's default) replace the harness's."""
    db = db or TEST_DB
    addons_path = ENV['HARNESS_ADDONS_PATH'] if addons_path is None else addons_path
    cmd = [python or ENV['HARNESS_PY'], os.path.join(ROOT, 'dev', 'odoo')]
    cmd += ['--addons-path=' + addons_path] if addons_path else []
    cmd += ['--data-dir=' + ENV['HARNESS_DATA_DIR'], '--db_host=127.0.0.1', '--db_port=' + ENV['HARNESS_PG_PORT'],
            '--db_user=' + ENV['HARNESS_PG_ROLE'], '--http-interface=127.0.0.1', '-d', db,
            '--db-filter=^%s$' % (served or db)]
    if MAJOR < 19:  # 19.0 installs no demo data unless asked and reads --without-demo as a boolean
        cmd.append('--without-demo=all')
    return cmd + list(args)


def workers_args(workers=2):
    """Options of a multi-process server: 16.0 renamed --longpolling-port to
    --gevent-port (18.0 dropped the old name)."""
    option = '--gevent-port' if MAJOR >= 16 else '--longpolling-port'
    return ['--workers=%d' % workers, '%s=%d' % (option, free_port())]


def odoo_env():
    env = dict(ENV, ODOO_PRELOAD_ADDONS='no')
    if ENV.get('HARNESS_ODOO_SRC'):
        env['PYTHONPATH'] = ENV['HARNESS_ODOO_SRC']
    env['ODOO_JWT_BODY_TIMEOUT'] = BODY_TIMEOUT
    env.pop('ODOO_JWT_KEY', None)
    env.pop('ODOO_JWT_ALGORITHM', None)
    return env


def run_limited(cmd, timeout, **kw):
    """subprocess.run with a time limit: SIGTERM, then SIGKILL. Returns (returncode, timed_out)."""
    proc = subprocess.Popen(cmd, **kw)
    try:
        return proc.wait(timeout), False
    except subprocess.TimeoutExpired:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        return proc.returncode, True
    finally:
        if proc.poll() is None:  # interrupted (SIGTERM from timeout or CI)
            proc.kill()


def last_started_test(log):
    started = None
    with open(log, errors='replace') as f:
        for line in f:
            m = re.search(r' (odoo\.addons\.\S+): Starting (\S+) \.\.\.', line)
            if m:
                started = '%s %s' % (m.group(1), m.group(2))
    return started


def psql(sql, db='postgres'):
    subprocess.run(['psql', '-X', '-q', '-h', '127.0.0.1', '-p', ENV['HARNESS_PG_PORT'], '-U', 'postgres',
                    '-d', db, '-c', sql], check=True, stdout=subprocess.DEVNULL,
                   env=dict(ENV, PGOPTIONS='-c client_min_messages=warning'))


def error_records(log_path):
    """``(line, traceback's last line)`` of each ERROR/CRITICAL record of a log."""
    with open(log_path, errors='replace') as f:
        lines = f.read().split('\n')
    for i, line in enumerate(lines):
        m = LOG_LINE.match(line)
        if not m or m.group(2) not in ('ERROR', 'CRITICAL'):
            continue
        record = [line]
        for following in lines[i + 1:]:
            if LOG_LINE.match(following):
                break
            record.append(following)
        yield m, record, ([r.strip() for r in record if r.strip()] or [''])[-1]


def odoo_own_errors(log_path):
    """What the reference server (Odoo without jwt_provider) logged at ERROR
    for the neighbour addon's routes: the same on the other servers is Odoo's, not ours."""
    if not os.path.exists(log_path):
        return set()
    return {ADDRESS.sub('0x', last) for _m, _record, last in error_records(log_path)}


ADDRESS = re.compile(r'0x[0-9a-f]+')


def log_time(m):
    """A log line's time in epoch seconds (Odoo logs in the server's local time, as time.mktime reads it)."""
    return time.mktime(time.strptime(m.group(1), '%Y-%m-%d %H:%M:%S'))


def browser_tolerated(m, record, window):
    """Why an ERROR record is tolerated while the browser tests ran (``window``: start, end), or None."""
    if not window or not window[0] - 1 <= log_time(m) <= window[1] + 1:
        return None
    # The record's message and traceback; not the line's prefix, which names the database (jwt_provider_...).
    logger, text = m.group(4), '\n'.join([m.group(5)] + record[1:])
    if OUR_LOGGERS.match(logger) or OURS.search(text):
        return None
    for name, pattern, why in BROWSER_TOLERATED:
        if logger == name and pattern.search(text):
            return why
    return None


def unexpected_errors(log_path, odoo_own=(), browser_window=None, tolerated=None):
    """ERROR/CRITICAL lines of an Odoo log that no harmless pattern explains.

    Failing tests' own report lines are left to the test counts. With
    ``browser_window`` (start, end of the browser tests), the records of
    BROWSER_TOLERATED logged then go to the list ``tolerated`` as (line, why).
    """
    found = []
    windows = fault_windows()
    for m, record, last in error_records(log_path):
        line = record[0]
        logger = m.group(4)
        why = browser_tolerated(m, record, browser_window)
        if why:
            if tolerated is not None:
                tolerated.append((line, why))
            continue
        if logger.startswith('odoo.addons.') and '.tests.' in logger:
            continue  # a unittest report line (FAIL:/ERROR:/Traceback), counted by the runner
        if any(p.search(line) for p in HARMLESS_ERRORS):
            continue
        if any(p.search(line) and e.match(last) for p, e in HARMLESS_TRACEBACKS):
            continue
        if ADDRESS.sub('0x', last) in odoo_own:
            continue
        if windows:
            when = log_time(m)
            text = '\n'.join(record)
            if any(start - 2 <= when <= end + grace and pattern.search(text)
                   for start, end, pattern, grace in windows):
                continue
        found.append(line)
    return found


def fault_windows():
    """``(start, end, pattern, grace)`` of each window in which a test made the
    server log an ERROR on purpose: ``start end`` for a database outage (errors
    about the database, for ``FAULT_GRACE`` seconds after it), or ``start end
    regex`` for one expected error, excused only while the test ran."""
    windows = []
    try:
        with open(FAULT_WINDOWS) as f:
            for line in f:
                fields = line.rstrip('\n').split(' ', 2)
                if len(fields) == 3:
                    windows.append((float(fields[0]), float(fields[1]), re.compile(fields[2]), 0))
                elif len(fields) == 2:
                    windows.append((float(fields[0]), float(fields[1]), FAULT_RECORD, FAULT_GRACE))
    except (OSError, ValueError):
        return []
    return windows


def count_odoo_tests(log):
    """(ran, failed, skipped, reports) from the log of an Odoo test run.

    11.0/12.0 log unittest's own summary ("Ran N tests") under the test
    module's logger; 13.0 logs "Ran N tests" under odoo.modules.module, and
    failures per module as "Module X: N failures, N errors". 14.0+ log no
    "Ran": the process ends with one line for the whole run (at- and
    post-install tests) under odoo.tests.runner (14.0/15.0) or
    odoo.tests.result (16.0+): "N failed, N error(s) of N tests when loading
    database 'db'". Skipped tests: "(skipped=N)" in 11.0/12.0, then one
    "skipped Class.test" line each (16.0+ adds " : reason").
    """
    ran = failures = errors = skipped = 0
    final = None
    reports = []
    with open(log, errors='replace') as f:
        for line in f:
            m = re.search(r'odoo\.tests\.(?:runner|result): (\d+) failed, (\d+) error\(s\) of (\d+) tests? '
                          r'when loading database', line)
            if m:
                final = (int(m.group(3)), int(m.group(1)), int(m.group(2)))
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
            if re.search(r' INFO \S+ odoo\.addons\.\S+\.tests\.\S+: skipped [A-Za-z_][\w.]*(\s+:.*)?\s*$', line):
                skipped += 1
            if re.search(r'\.tests\.\S+: (FAIL|ERROR): ', line):
                reports.append(line.strip())
    if final:
        ran, failures, errors = final
    return ran, failures + errors, skipped, reports


def module_state(name, db=None):
    out = subprocess.run(['psql', '-X', '-tA', '-h', '127.0.0.1', '-p', ENV['HARNESS_PG_PORT'], '-U', 'postgres',
                          '-d', db or TEST_DB, '-c', "SELECT state FROM ir_module_module WHERE name = '%s'" % name],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, universal_newlines=True)
    return out.stdout.strip() or 'absent'


# A Python warning raised in the addon's own code: an Odoo API it uses is
# deprecated in this series (19.0's request.cr logged one per token request).
ADDON_WARNING = re.compile(r'/jwt_provider/\S+\.py:\d+: \w*Warning')


def addon_warnings(log_path):
    """The ``py.warnings`` lines of a log that point into the addon's code."""
    with open(log_path, errors='replace') as f:
        return [line for line in f.read().split('\n')
                if ' py.warnings: ' in line and ADDON_WARNING.search(line) and LOG_LINE.match(line)]


def report_log_errors(name, log, odoo_own=(), browser_window=None):
    """Print a log's unexplained ERROR lines, and the warnings of the addon's
    code; the log then counts as one failure. The tolerated ones
    (BROWSER_TOLERATED) are printed apart and count for nothing."""
    tolerated = []
    errors = unexpected_errors(log, odoo_own, browser_window, tolerated) + addon_warnings(log)
    for line, why in tolerated[:5]:
        print('[tests]   tolerated (%s): %s' % (why, line))
    if tolerated:
        print('[tests]   %s: %d ERROR lines of Odoo\'s own modules while the browser tests ran, tolerated '
              '(not failures; see docs/development.md)' % (name, len(tolerated)))
    for line in errors[:10]:
        print('[tests]   unexpected: ' + line)
    if len(errors) > 10:
        print('[tests]   unexpected: ... and %d more ERROR lines in %s' % (len(errors) - 10, log))
    if errors:
        print('[tests]   %s: %d unexplained ERROR lines or warnings of the addon, counted as one failure'
              % (name, len(errors)))
    return 1 if errors else 0


def copy_template(db):
    # The database is the runner's own: an idle session left in it (e.g. the cron
    # thread of a `make run` server that once served it) would block the drop.
    psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '%s' AND state = 'idle'" % db)
    psql('DROP DATABASE IF EXISTS "%s"' % db)
    psql('CREATE DATABASE "%s" TEMPLATE "%s" OWNER %s' % (db, ENV['HARNESS_TEMPLATE_DB'], ENV['HARNESS_PG_ROLE']))
    # A copy must not share its template's identity (tokens are bound to it).
    psql("UPDATE ir_config_parameter SET value = gen_random_uuid() WHERE key = 'database.uuid'", db)
    psql("ALTER DATABASE \"%s\" SET lock_timeout = '%s'" % (db, LOCK_TIMEOUT))


def prepare_plain_db():
    """The neighbour addon installed without jwt_provider; ``None`` or an error message."""
    log = os.path.join(LOG_DIR, 'plain-db.log')
    open(log, 'w').close()
    copy_template(PLAIN_DB)
    returncode, timed_out = run_limited(
        odoo_cmd('-i', NEIGHBOUR, '--stop-after-init', '--max-cron-threads=0', '--workers=0',
                 '--http-port=%d' % free_port(), '--logfile=' + log, '--log-level=warn', db=PLAIN_DB),
        ODOO_TESTS_TIMEOUT, env=odoo_env())
    if returncode or timed_out:
        return 'installing %s in %s failed, see %s' % (NEIGHBOUR, PLAIN_DB, log)
    return None


def prepare_oca_db():
    """OCA's auth_jwt installed in ``OCA_DB``: ``None``, or why not (the test skips then;
    it fails on a reason that starts with ``failed``)."""
    if MAJOR not in OCA_WHEELS:
        return 'OCA publishes no auth_jwt and auth_jwt_demo wheels for %s' % SERIES
    if SERIES in ENV.get('JWT_TEST_LIGHT_SERIES', '').split():
        return 'a heavy test: skipped on JWT_TEST_LIGHT_SERIES'
    log = os.path.join(LOG_DIR, 'oca-db.log')
    with open(log, 'w') as f:
        if subprocess.run([ENV['HARNESS_PY'], '-m', 'pip', 'install', '--no-deps', '-q'] + OCA_WHEELS[MAJOR],
                          stdout=f, stderr=subprocess.STDOUT).returncode:
            return 'failed to install OCA\'s auth_jwt wheels, see %s' % log
    copy_template(OCA_DB)
    returncode, timed_out = run_limited(
        odoo_cmd('-i', 'auth_jwt,auth_jwt_demo', '--stop-after-init', '--max-cron-threads=0', '--workers=0',
                 '--http-port=%d' % free_port(), '--logfile=' + log, '--log-level=warn', db=OCA_DB),
        ODOO_TESTS_TIMEOUT, env=odoo_env())
    if returncode or timed_out:
        return 'failed to install auth_jwt in %s, see %s' % (OCA_DB, log)
    return None


def run_odoo_tests():
    """Install the addons with --test-enable in a fresh database; returns (passed, failed, skipped)."""
    log = os.path.join(LOG_DIR, 'odoo-tests.log')
    open(log, 'w').close()  # Odoo appends to its log file
    copy_template(TEST_DB)
    print('[tests] Odoo %s tests: installing %s with --test-enable (log: %s)' % (SERIES, MODULES, log), flush=True)
    t0 = time.time()
    returncode, timed_out = run_limited(
        odoo_cmd('-i', MODULES, '--test-enable', '--stop-after-init', '--max-cron-threads=0', '--workers=0',
                 '--http-port=%d' % free_port(), '--logfile=' + log, '--log-level=info'),
        ODOO_TESTS_TIMEOUT, env=odoo_env())
    ran, failed, skipped, reports = count_odoo_tests(log)
    for line in reports:
        print('[tests]   ' + line)
    extra = report_log_errors('the Odoo test log', log)
    if timed_out:
        print('[tests]   Odoo tests stopped after %d s (ODOO_TESTS_TIMEOUT), in %s'
              % (ODOO_TESTS_TIMEOUT, last_started_test(log) or 'no test yet'))
        extra += 1
    elif returncode and not failed and not extra:
        print('[tests]   Odoo exited with status %d (see %s)' % (returncode, log))
        extra += 1
    if ran == 0:
        print('[tests]   Odoo ran no test (see %s)' % log)
        extra += 1
    print('[tests] Odoo tests: %d ran, %d failed, %d skipped (%.0f s)'
          % (ran, failed, skipped, time.time() - t0), flush=True)
    return ran - failed - skipped, failed + extra, skipped


def die_with_parent():
    """In a server's process: get SIGTERM when the runner dies, even by SIGKILL (Linux)."""
    try:
        import ctypes
        ctypes.CDLL('libc.so.6', use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def on_sigterm(*_):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: the clean-up must not be interrupted
    sys.exit(143)


class Server(object):
    """An Odoo server on the test database, for the black-box tests."""

    def __init__(self, name, *args, **kw):
        self.port = free_port()
        self.log = os.path.join(LOG_DIR, 'server-%s.log' % name)
        open(self.log, 'w').close()
        self.proc = subprocess.Popen(
            odoo_cmd('--http-port=%d' % self.port, '--max-cron-threads=0', '--logfile=' + self.log,
                     '--log-level=info', *args, **kw),
            env=odoo_env(), start_new_session=True, preexec_fn=die_with_parent)
        self.url = 'http://127.0.0.1:%d' % self.port

    def wait(self, timeout=120, path='/api/ping'):
        import urllib.error
        import urllib.request
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('Odoo exited early, see %s' % self.log)
            try:
                urllib.request.urlopen(self.url + path, timeout=5).read()
                return self
            except urllib.error.HTTPError:  # any answer of Odoo's: it serves
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


def server_command():
    """What a black-box test needs to start a server of its own on the test
    database (test_startup watches one start): the command (its log file left
    to the test), its URL, and the environment entries Odoo gets beyond the tests' own."""
    env, port = odoo_env(), free_port()
    return dict(JWT_TEST_ODOO_CMD=json.dumps(odoo_cmd('--workers=0', '--max-cron-threads=0', '--log-level=info',
                                                      '--http-port=%d' % port)),
                JWT_TEST_ODOO_URL='http://127.0.0.1:%d' % port,
                JWT_TEST_ODOO_ENV=json.dumps({k: v for k, v in env.items() if ENV.get(k) != v}),
                JWT_TEST_ODOO_UNSET=json.dumps([k for k in ENV if k not in env]))


def run_blackbox(extra_args):
    state = module_state('jwt_provider')
    if state != 'installed':
        raise RuntimeError('jwt_provider is %s in %s after the Odoo tests' % (state, TEST_DB))
    t0 = time.time()
    figures = os.path.join(LOG_DIR, 'figures.txt')
    for path in (FAULT_WINDOWS, os.path.join(LOG_DIR, 'fuzz-report.txt'), figures):
        if os.path.exists(path):
            os.remove(path)
    plain_error = prepare_plain_db()
    oca_skip = prepare_oca_db()
    oca = None if oca_skip else Server('oca', '--workers=0', db=OCA_DB)  # with one database, no dbfilter needed
    threaded = Server('threaded', '--workers=0')
    workers = Server('workers', *workers_args())
    # Another addon's routes, served by Odoo alone (jwt_provider never imported),
    # and by a process that has jwt_provider loaded for another database.
    reference = Server('reference', '--workers=0', db=PLAIN_DB)
    mixed = Server('mixed', '--workers=0', db='%s,%s' % (TEST_DB, PLAIN_DB), served=PLAIN_DB)
    browser = None
    try:
        threaded.wait()
        workers.wait()
        for server in (reference, mixed) + ((oca,) if oca else ()):
            server.wait(path='/web/login')
        junit = os.path.join(LOG_DIR, 'blackbox.xml')
        env = dict(ENV, JWT_TEST_URL=threaded.url, JWT_TEST_WORKERS_URL=workers.url, JWT_TEST_DB=TEST_DB,
                   JWT_TEST_SESSIONS=os.path.join(ENV['HARNESS_DATA_DIR'], 'sessions'),
                   JWT_TEST_SERVER_LOG=threaded.log, JWT_TEST_WORKERS_SERVER_LOG=workers.log,
                   JWT_TEST_SERIES=SERIES, JWT_TEST_PG_DATA=ENV.get('HARNESS_PG_DATA', ''),
                   JWT_TEST_REFERENCE_URL=reference.url, JWT_TEST_MIXED_URL=mixed.url,
                   JWT_TEST_MIXED_LOG=mixed.log, JWT_TEST_PLAIN_DB=PLAIN_DB,
                   JWT_TEST_PLAIN_DB_ERROR=plain_error or '', ODOO_JWT_BODY_TIMEOUT=BODY_TIMEOUT,
                   JWT_TEST_FAULT_WINDOWS=FAULT_WINDOWS, JWT_TEST_OCA_URL=oca.url if oca else '',
                   JWT_TEST_OCA_DB=OCA_DB, JWT_TEST_OCA_SKIP=oca_skip or '',
                   JWT_FUZZ_REPORT=os.path.join(LOG_DIR, 'fuzz-report.txt'),
                   **server_command())
        print('[tests] black-box HTTP tests against %s and %s (--workers 2)' % (threaded.url, workers.url),
              flush=True)
        if os.path.exists(junit):
            os.remove(junit)
        _, timed_out = run_limited([ENV['HARNESS_PY'], '-m', 'pytest', '-p', 'no:cacheprovider', '-q', '-rfE',
                                    '--junitxml=' + junit, os.path.join(ROOT, 'tests', 'blackbox')] + extra_args,
                                   BLACKBOX_TIMEOUT, env=env, cwd=ROOT)
        browser = run_browser_tests(env, threaded.url)
    finally:
        for server in (threaded, workers, reference, mixed) + ((oca,) if oca else ()):
            server.stop()
    tests, failures, skipped = junit_counts(junit)
    extra = 0
    odoo_own = odoo_own_errors(reference.log)  # the reference itself runs no code of ours
    for name, server in (('the threaded server', threaded), ('the --workers 2 server', workers),
                         ('the mixed server', mixed)) + ((('the auth_jwt server', oca),) if oca else ()):
        # The browser tests use the threaded server: its log alone may hold tolerated records.
        window = BROWSER_WINDOW if server is threaded else None
        extra += report_log_errors(name, server.log, odoo_own, window)
    extra += stopped_or_empty('pytest', timed_out, tests, BLACKBOX_TIMEOUT, 'BLACKBOX_TIMEOUT')
    if os.path.exists(figures):
        with open(figures) as f:
            for line in f:
                print('[tests]   measured: ' + line.rstrip())
    print('[tests] black-box tests: %d ran, %d failed, %d skipped (%.0f s)'
          % (tests, failures, skipped, time.time() - t0), flush=True)
    if browser is not None:
        b_tests, b_failures, b_skipped = browser
        tests, failures, skipped = tests + b_tests, failures + b_failures, skipped + b_skipped
    return tests - failures - skipped, failures + extra, skipped


def stopped_or_empty(name, timed_out, tests, timeout, variable):
    """One failure (said) for a pytest run that hit its time limit or ran no test."""
    if timed_out:
        print('[tests]   %s stopped after %d s (%s)' % (name, timeout, variable))
        return 1
    if tests == 0:
        print('[tests]   %s ran no test' % name)
        return 1
    return 0


def junit_counts(junit):
    """(tests, failures and errors, skipped) of a pytest JUnit file, zeros when absent."""
    tests = failures = skipped = 0
    if os.path.exists(junit):
        for suite in ET.parse(junit).getroot().iter('testsuite'):
            tests += int(suite.get('tests', 0))
            failures += int(suite.get('failures', 0)) + int(suite.get('errors', 0))
            skipped += int(suite.get('skipped', 0))
    return tests, failures, skipped


def run_browser_tests(env, url):
    """tests/browser in headless Chromium against the threaded server, on the
    series the harness set a browser up for (HARNESS_BROWSER_PY); None elsewhere."""
    python = ENV.get('HARNESS_BROWSER_PY')
    chromium = ENV.get('JWT_TEST_CHROMIUM') or '/usr/bin/chromium'
    if ENV.get('HARNESS_BROWSER_SERIES'):  # this series has browser tests: their absence is a failure
        missing = [what for what, absent in (
            ('no Chromium at %s (apt-get install chromium, as root; or set JWT_TEST_CHROMIUM)' % chromium,
             not os.access(chromium, os.X_OK)),
            ("no browser virtualenv (see the harness's notes above)", not python)) if absent]
        if missing:
            print('[tests] FAILED: Odoo %s runs the browser tests (BROWSER_SERIES) but they cannot run: %s'
                  % (SERIES, '; '.join(missing)), flush=True)
            return 0, 1, 0
    if not python:
        return None
    t0 = time.time()
    junit = os.path.join(LOG_DIR, 'browser.xml')
    if os.path.exists(junit):
        os.remove(junit)
    print('[tests] browser tests (headless Chromium) against %s' % url, flush=True)
    env = dict(env, JWT_TEST_SCREENSHOTS=os.path.join(LOG_DIR, 'screenshots'))
    _, timed_out = run_limited([python, '-m', 'pytest', '-p', 'no:cacheprovider', '-q', '-rfEs',
                                '--junitxml=' + junit, os.path.join(ROOT, 'tests', 'browser')],
                               BROWSER_TIMEOUT, env=env, cwd=ROOT)
    tests, failures, skipped = junit_counts(junit)
    if timed_out:
        print('[tests]   browser tests stopped after %d s (BROWSER_TIMEOUT)' % BROWSER_TIMEOUT)
        failures += 1
    elif tests == 0 or skipped == tests:
        print('[tests]   no browser test ran (see above)')
        failures += 1
    BROWSER_WINDOW[:] = [t0, time.time()]
    print('[tests] browser tests: %d ran, %d failed, %d skipped (%.0f s); screenshots: %s'
          % (tests, failures, skipped, time.time() - t0, env['JWT_TEST_SCREENSHOTS']), flush=True)
    return tests, failures, skipped


BROWSER_WINDOW = []  # start and end (epoch seconds) of the browser tests, once they ran


def check_log(path):
    """The harness's check of a log it made Odoo write (the template's)."""
    errors = unexpected_errors(path)
    for line in errors:
        print(line)
    return 1 if errors else 0


def main():
    if sys.argv[1:2] == ['--check-log']:
        return check_log(sys.argv[2])
    # `timeout` and CI cancel with SIGTERM: stop the servers on the way out.
    signal.signal(signal.SIGTERM, on_sigterm)
    os.makedirs(LOG_DIR, exist_ok=True)
    if os.path.exists(FAULT_WINDOWS):  # a previous run's: it must excuse nothing of this one
        os.remove(FAULT_WINDOWS)
    passed, failed, skipped = run_odoo_tests()
    try:
        p, f, s = run_blackbox(sys.argv[1:])
    except RuntimeError as e:
        print('[tests] black-box tests could not run: %s' % e)
        p, f, s = 0, 1, 0
    passed, failed, skipped = passed + p, failed + f, skipped + s
    if SERIES in ENV.get('JWT_PROVE_SERIES', '').split():  # CI: one series per HTTP era
        import prove
        p, f, s = prove.prove()
        passed, failed, skipped = passed + p, failed + f, skipped + s
    if SERIES in WHEEL_SERIES:  # the wheel make dist builds, installed as a user installs it
        import test_wheel
        p, f, s = test_wheel.test_wheel()
        passed, failed, skipped = passed + p, failed + f, skipped + s
    print('[tests] logs: %s' % LOG_DIR)
    print('%d passed, %d failed' % (passed, failed) + (', %d skipped' % skipped if skipped else ''))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
