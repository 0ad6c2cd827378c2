"""make prove: every guarantee of the security table fails its tests when switched off.

In a database of its own, with the test-only addon tests/addons/jwt_provider_prove
(guards.py: one switch per guarantee, each undone at once):
1. Odoo with --test-enable installs that addon, whose one test switches each
   guard off in turn and runs the Odoo tests named for it, which must fail,
   then on again, when they must pass;
2. a threaded server (JWT_PROVE_SWITCHES=1) whose guards this script switches
   over HTTP, for the black-box tests named for each guard, same rule.
Two Odoo starts per series, none per guard.

ARGS: guard names to prove only those (default: all). Prints a table, and
ends with "N passed, N failed" (a row passes when each of its tests failed
with the guard off and passed with it on).
"""
import json
import os
import sys
import time
import urllib.parse
import urllib.request

import run_tests
from run_tests import ENV, LOG_DIR, ROOT, SERIES, Server, free_port, junit_counts, odoo_cmd, odoo_env, run_limited

PROVE_DB = run_tests.TEST_DB + '_prove'
TIMEOUT = int(ENV.get('PROVE_TIMEOUT') or 1800)
MODULES = run_tests.MODULES


def markdown(rows):
    lines = ['| guard | guarantee | test | guard off | guard on |', '|---|---|---|---|---|']
    for row in rows:
        if not row['tests']:
            lines.append('| `%s` | %s | | %s | |' % (row['guard'], row['guarantee'], row['verdict']))
        for test in row['tests']:
            lines.append('| `%s` | %s | `%s` | %s | %s |' % (
                row['guard'], row['guarantee'], test['test'], test['off'], test['on']))
    return '\n'.join(lines)


def outcome(junit):
    tests, failures, skipped = junit_counts(junit)
    if failures:
        return 'failed'
    if not tests:
        return 'absent'
    return 'skipped' if skipped >= tests else 'passed'


def start_neighbours():
    """The two servers test_neighbour compares with (Odoo alone, and a process
    serving another database), and what tells the tests where they are."""
    error = run_tests.prepare_plain_db()
    reference = Server('reference', '--workers=0', db=run_tests.PLAIN_DB)
    mixed = Server('mixed', '--workers=0', db='%s,%s' % (PROVE_DB, run_tests.PLAIN_DB), served=run_tests.PLAIN_DB)
    try:
        for server in (reference, mixed):
            server.wait(path='/web/login')
    except BaseException:
        reference.stop()
        mixed.stop()
        raise
    return [reference, mixed], dict(
        JWT_TEST_REFERENCE_URL=reference.url, JWT_TEST_MIXED_URL=mixed.url, JWT_TEST_MIXED_LOG=mixed.log,
        JWT_TEST_PLAIN_DB=run_tests.PLAIN_DB, JWT_TEST_PLAIN_DB_ERROR=error or '')


def prove_blackbox(rows, pytest_log):
    """The black-box tests of each row, its guard switched off then on over HTTP."""
    ENV['JWT_PROVE_SWITCHES'] = '1'  # the switches answer in this server only
    server = Server('prove', '--workers=0', db=PROVE_DB)
    try:
        server.wait()
        env = dict(ENV, JWT_TEST_URL=server.url, JWT_TEST_WORKERS_URL=server.url, JWT_TEST_DB=PROVE_DB,
                   JWT_TEST_SERVER_LOG=server.log, JWT_TEST_WORKERS_SERVER_LOG=server.log,
                   JWT_TEST_SERIES=SERIES, JWT_TEST_LIGHT_SERIES='',
                   JWT_TEST_SESSIONS=os.path.join(ENV['HARNESS_DATA_DIR'], 'sessions'),
                   JWT_TEST_PG_DATA=ENV.get('HARNESS_PG_DATA', ''), ODOO_JWT_BODY_TIMEOUT=run_tests.BODY_TIMEOUT,
                   JWT_FUZZ_REPORT=os.path.join(LOG_DIR, 'prove-fuzz-report.txt'))
        junit = os.path.join(LOG_DIR, 'prove.xml')

        def switch(guard, off):
            data = urllib.parse.urlencode({'guard': guard, 'off': '1' if off else ''}).encode()
            urllib.request.urlopen(server.url + '/jwt_provider_prove/switch', data, timeout=30).read()

        def run(node, extra_env):
            if os.path.exists(junit):
                os.remove(junit)
            with open(pytest_log, 'a') as out:
                out.write('\n=== %s\n' % node)
                out.flush()
                run_limited([ENV['HARNESS_PY'], '-m', 'pytest', '-p', 'no:cacheprovider', '-q', '-rfEs',
                             '--junitxml=' + junit, os.path.join(ROOT, 'tests', 'blackbox', node)],
                            run_tests.BLACKBOX_TIMEOUT, env=dict(env, **extra_env), cwd=ROOT, stdout=out, stderr=out)
            return outcome(junit)

        for row in rows:
            nodes = row.get('blackbox', ())
            # Started for their row only: test_faults (outage-503) stops PostgreSQL,
            # which it refuses to do under another database's sessions.
            extra_servers, extra_env = start_neighbours() if any('test_neighbour' in n for n in nodes) else ([], {})
            try:
                for node in nodes:
                    switch(row['guard'], True)
                    try:
                        off = run(node, extra_env)
                    finally:
                        switch(row['guard'], False)
                    row['tests'].append({'test': 'blackbox/' + node, 'off': off, 'on': run(node, extra_env)})
            finally:
                for each in extra_servers:
                    each.stop()
    finally:
        server.stop()


def main():
    proven, unproven, not_applicable = prove(sys.argv[1:])
    print('%d passed, %d failed' % (proven, unproven) + (', %d skipped' % not_applicable if not_applicable else ''))
    return 1 if unproven else 0


def prove(only=()):
    """Runs the proof; returns (proven, not proven, not applicable) rows."""
    os.makedirs(LOG_DIR, exist_ok=True)
    log = os.path.join(LOG_DIR, 'prove.log')
    report = os.path.join(LOG_DIR, 'prove.json')
    pytest_log = os.path.join(LOG_DIR, 'prove-pytest.log')
    for path in (log, report, pytest_log):
        if os.path.exists(path):
            os.remove(path)
    t0 = time.time()
    run_tests.copy_template(PROVE_DB)
    common = ['--stop-after-init', '--max-cron-threads=0', '--workers=0', '--logfile=' + log]
    print('[prove] Odoo %s: installing %s in %s (log: %s)' % (SERIES, MODULES, PROVE_DB, log), flush=True)
    rc, timed_out = run_limited(odoo_cmd('-i', MODULES, '--http-port=%d' % free_port(), '--log-level=warn',
                                         *common, db=PROVE_DB), TIMEOUT, env=odoo_env())
    if rc or timed_out:
        print('[prove] installing failed, see %s' % log)
        return 0, 1, 0
    env = dict(odoo_env(), JWT_PROVE_REPORT=report, JWT_PROVE_ONLY=','.join(only))
    print('[prove] switching each guard off in turn: Odoo tests (one Odoo process, --test-enable)', flush=True)
    tags = [] if run_tests.MAJOR < 12 else ['--test-tags=/jwt_provider_prove']
    rc, timed_out = run_limited(odoo_cmd('-i', 'jwt_provider_prove', '--test-enable', '--log-level=info',
                                         '--http-port=%d' % free_port(), *(tags + common), db=PROVE_DB),
                                TIMEOUT, env=env)
    rows = []
    if os.path.exists(report):
        with open(report) as f:
            rows = json.load(f)
    if any(row.get('blackbox') for row in rows):
        print('[prove] switching each guard off in turn: black-box tests (one threaded server)', flush=True)
        prove_blackbox(rows, pytest_log)
    for row in rows:
        if row.get('verdict') != 'n/a':
            row['verdict'] = 'proven' if row['tests'] and all(
                t['off'] == 'failed' and t['on'] == 'passed' for t in row['tests']) else 'NOT PROVEN'
    with open(report, 'w') as f:  # now with the black-box half
        json.dump(rows, f, indent=1)
    print(markdown(rows))
    for row in rows:
        if row['verdict'] == 'NOT PROVEN':
            print('[prove] NOT PROVEN: %s (%s)' % (row['guard'], ', '.join(
                '%s off %s, on %s' % (t['test'], t['off'], t['on']) for t in row['tests']) or 'no test'))
    proven = sum(row['verdict'] == 'proven' for row in rows)
    unproven = sum(row['verdict'] == 'NOT PROVEN' for row in rows)
    not_applicable = sum(row['verdict'] == 'n/a' for row in rows)
    if timed_out:
        print('[prove] stopped after %d s (PROVE_TIMEOUT), see %s' % (TIMEOUT, log))
        unproven += 1
    elif not rows:
        print('[prove] no guard was proven or refuted, see %s' % log)
        unproven += 1
    print('[prove] Odoo %s: %d guards proven, %d not proven, %d not applicable to this series (%.0f s)'
          % (SERIES, proven, unproven, not_applicable, time.time() - t0), flush=True)
    return proven, unproven, not_applicable


if __name__ == '__main__':
    sys.exit(main())
