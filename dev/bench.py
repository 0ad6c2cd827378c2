"""What a token costs: requests/s and latency against Odoo's own floor.

Started by ``make bench`` (dev/harness.sh bench). For each server mode
(threaded, --workers 2) and each concurrency it runs wrk for a fixed duration
against:
  floor    GET /api/ping                       no authentication at all
  floor_db the same with a session cookie      (Odoo skips its database listing)
  me       GET /api/me                         bearer token
  jwt      GET /example/jwt/ping               an auth='jwt' route doing nothing
  session  POST /web/session/get_session_info  Odoo's own session cookie
  login    POST /api/login                     password hashing dominates
and prints requests/s, p50/p99 latency and the ratios token/floor and
token/session. It then counts the SQL queries of one request of each kind
from a --log-level=debug_sql server.

Options (environment): BENCH_DURATION (s, default 10), BENCH_CONCURRENCY
(default "1 4 16"), BENCH_MODES (default "threaded workers").

``--scale`` measures the daily clean-up instead (``_gc_expired`` and the login
counters' ``_gc``, as the cron runs them): BENCH_GC_ROWS tokens (default
1,000,000; 70 % expired, three per login) and 100,000 stale login counters,
cleaned once on an idle server, then again while BENCH_GC_LOGINS threads
(default 8) log in and fail logins against a --workers server; it prints the
rows removed and the seconds of each run. BENCH_GC_BUDGET (s) caps a run
(default: the cron's own budget, two fifths of limit_time_real).
"""
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import run_tests  # noqa: E402
from run_tests import Server, psql  # noqa: E402  (same way of starting Odoo)

ENV = os.environ
DURATION = int(ENV.get('BENCH_DURATION', '10'))
CONCURRENCY = [int(c) for c in ENV.get('BENCH_CONCURRENCY', '1 4 16').split()]
MODES = ENV.get('BENCH_MODES', 'threaded workers').split()
BENCH_DB = (ENV.get('DB') or 'jwt_provider') + '_bench_' + ENV['HARNESS_FLAVOR'].replace('-', '_')


def post_json(url, path, payload, headers=None):
    request = urllib.request.Request(url + path, data=json.dumps(payload).encode(), headers=dict(
        {'Content-Type': 'application/json'}, **(headers or {})))
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read()), answer.headers


def prepare_db():
    run_tests.TEST_DB = BENCH_DB
    psql('DROP DATABASE IF EXISTS "%s"' % BENCH_DB)
    psql('CREATE DATABASE "%s" TEMPLATE "%s" OWNER %s' % (BENCH_DB, ENV['HARNESS_TEMPLATE_DB'], ENV['HARNESS_PG_ROLE']))
    log = os.path.join(run_tests.LOG_DIR, 'bench-install.log')
    subprocess.run(run_tests.odoo_cmd('-i', 'jwt_provider,jwt_provider_example', '--stop-after-init',
                                      '--logfile=' + log, '--log-level=warn'),
                   env=run_tests.odoo_env(), check=True)


def credentials(url):
    token = post_json(url, '/api/login', {'email': 'admin', 'password': 'admin'})[0]['data']['token']
    _body, headers = post_json(url, '/web/session/authenticate', {
        'jsonrpc': '2.0', 'method': 'call', 'params': {'db': BENCH_DB, 'login': 'admin', 'password': 'admin'}})
    cookie = re.search(r'session_id=([^;]+)', headers.get('Set-Cookie', '')).group(1)
    return token, cookie


def targets(token, cookie):
    rpc = json.dumps({'jsonrpc': '2.0', 'method': 'call', 'params': {}})
    return [
        ('floor', 'GET', '/api/ping', {}, None),
        # The same route with a session cookie: Odoo then takes the database from
        # the session instead of listing the server's databases on a new
        # connection, as token requests do thanks to their db claim.
        ('floor_db', 'GET', '/api/ping', {'Cookie': 'session_id=' + cookie}, None),
        ('me', 'GET', '/api/me', {'Authorization': 'Bearer ' + token}, None),
        ('jwt', 'GET', '/example/jwt/ping', {'Authorization': 'Bearer ' + token}, None),
        ('session', 'POST', '/web/session/get_session_info',
         {'Cookie': 'session_id=' + cookie, 'Content-Type': 'application/json'}, rpc),
        ('login', 'POST', '/api/login', {'Content-Type': 'application/x-www-form-urlencoded'},
         'email=admin&password=admin'),
    ]


def wrk(url, method, path, headers, body, connections, duration=DURATION):
    script = tempfile.NamedTemporaryFile('w', suffix='.lua', delete=False)
    script.write('wrk.method = %s\n' % json.dumps(method))
    if body:
        script.write('wrk.body = %s\n' % json.dumps(body))
    for name, value in headers.items():
        script.write('wrk.headers[%s] = %s\n' % (json.dumps(name), json.dumps(value)))
    script.close()
    out = subprocess.run(['wrk', '-t', str(min(connections, 2)), '-c', str(connections), '-d', '%ds' % duration,
                          '--latency', '-s', script.name, url + path],
                         stdout=subprocess.PIPE, universal_newlines=True).stdout
    os.unlink(script.name)
    rps = float(re.search(r'Requests/sec:\s+([\d.]+)', out).group(1))
    errors = re.search(r'Non-2xx or 3xx responses: (\d+)', out)
    lat = {p: to_ms(v) for p, v in re.findall(r'^\s+(50|99)%\s+(\S+)', out, re.M)}
    return rps, lat.get('50'), lat.get('99'), int(errors.group(1)) if errors else 0


def to_ms(value):
    number, unit = re.match(r'([\d.]+)(\w+)', value).groups()
    return float(number) * {'us': 0.001, 'ms': 1, 's': 1000, 'm': 60000}[unit]


def bench_mode(mode):
    args = ['--workers=0'] if mode == 'threaded' else run_tests.workers_args()  # 16.0 renamed the port option
    server = Server('bench-' + mode, *args).wait()
    results = {}
    try:
        token, cookie = credentials(server.url)
        for name, method, path, headers, body in targets(token, cookie):  # warm every cache
            wrk(server.url, method, path, headers, body, 2, duration=1)
        for connections in CONCURRENCY:
            for name, method, path, headers, body in targets(token, cookie):
                results[(name, connections)] = wrk(server.url, method, path, headers, body, connections)
    finally:
        server.stop()
    return results


def count_queries():
    """SQL queries per request, read from a debug_sql log (median of 5 requests each)."""
    server = Server('bench-sql', '--workers=0', '--log-level=debug_sql').wait()
    counts = {}
    try:
        token, cookie = credentials(server.url)
        for name, method, path, headers, body in targets(token, cookie):
            per_request = []
            for _i in range(6):
                start = os.path.getsize(server.log)
                request = urllib.request.Request(server.url + path, method=method, headers=headers,
                                                 data=body.encode() if body else None)
                urllib.request.urlopen(request, timeout=30).read()
                time.sleep(0.2)
                with open(server.log, errors='replace') as f:
                    f.seek(start)
                    per_request.append(sum(1 for line in f if 'odoo.sql_db: query:' in line))
            counts[name] = statistics.median(per_request[1:])  # the first one warms caches
    finally:
        server.stop()
    return counts


def login_timings(rounds=15):
    """Median ms of refusing a wrong password and an unknown email: the unknown
    email must cost what a real password check costs (no account enumeration)."""
    server = Server('bench-login', '--workers=0').wait()
    try:
        _token, cookie = credentials(server.url)
        post_json(server.url, '/web/dataset/call_kw/ir.config_parameter/set_param', {
            'jsonrpc': '2.0', 'method': 'call', 'params': {
                'model': 'ir.config_parameter', 'method': 'set_param', 'kwargs': {},
                'args': ['jwt_provider.login_max_failures', '1000000']}}, {'Cookie': 'session_id=' + cookie})
        timings = {'wrong password': [], 'unknown email': []}
        for i in range(rounds + 1):
            for name, email in (('wrong password', 'admin'), ('unknown email', 'nobody-%d@example.com' % i)):
                start = time.perf_counter()
                try:
                    post_json(server.url, '/api/login', {'email': email, 'password': 'wrong %d' % i})
                except urllib.error.HTTPError as e:
                    assert e.code == 400, e.code
                if i:  # the first round warms caches
                    timings[name].append((time.perf_counter() - start) * 1000)
    finally:
        server.stop()
    return {name: statistics.median(values) for name, values in timings.items()}


GC_FILL = """
INSERT INTO jwt_provider_session (user_id, family, issued_at, create_date, write_date)
SELECT (SELECT id FROM res_users WHERE login = 'admin'), 'bench-' || f,
       now() at time zone 'UTC', now() at time zone 'UTC', now() at time zone 'UTC'
  FROM generate_series(1, {families}) f;
INSERT INTO jwt_provider_token (user_id, jti_hash, token_type, family, key_fp, issued_at, expires_at)
SELECT (SELECT id FROM res_users WHERE login = 'admin'), md5(random()::text || n) || md5(n::text), 'access',
       'bench-' || ((n - 1) / 3 + 1), 'bench',
       now() at time zone 'UTC' - interval '100 days',
       now() at time zone 'UTC' + CASE WHEN n % 10 < 7 THEN interval '-1 day' ELSE interval '1 day' END
  FROM generate_series(1, {rows}) n;
INSERT INTO jwt_provider_login_attempt (key, failures, last_failure)
SELECT md5('bench' || n), 3, now() at time zone 'UTC' - interval '1 day' FROM generate_series(1, 100000) n
    ON CONFLICT DO NOTHING;
ANALYZE jwt_provider_token; ANALYZE jwt_provider_session; ANALYZE jwt_provider_login_attempt;
"""
# As the cron runs it (its code), timed; one JSON line on stdout.
GC_RUN = """
import json, time
start = time.monotonic()
tokens = env['jwt_provider.token']._gc_expired({kwargs})
attempts = env['jwt_provider.login_attempt']._gc({kwargs})
env.cr.commit()
print('GC ' + json.dumps({{'tokens': tokens, 'attempts': attempts, 'seconds': round(time.monotonic() - start, 1)}}))
"""


def gc_fill(rows):
    psql('DELETE FROM jwt_provider_token; DELETE FROM jwt_provider_session; DELETE FROM jwt_provider_login_attempt;',
         db=BENCH_DB)
    start = time.monotonic()
    psql(GC_FILL.format(rows=rows, families=(rows + 2) // 3), db=BENCH_DB)
    return time.monotonic() - start


def gc_run(budget):
    kwargs = '' if budget is None else 'time_budget=%s' % budget
    cmd = run_tests.odoo_cmd('--no-http', '--log-level=warn', db=BENCH_DB)
    cmd.insert(2, 'shell')  # Odoo's command comes first
    done = subprocess.run(cmd,
                          input=GC_RUN.format(kwargs=kwargs), env=run_tests.odoo_env(), check=True,
                          stdout=subprocess.PIPE, universal_newlines=True).stdout
    return json.loads(next(line[3:] for line in done.splitlines() if line.startswith('GC ')))


def gc_until_done(budget):
    runs = []
    while True:
        runs.append(gc_run(budget))
        if runs[-1]['tokens']['finished'] and runs[-1]['attempts'][1]:
            return runs


def logins(url, stop, counts):
    """Log in (right and wrong passwords, several logins) until ``stop`` is set."""
    import random
    while not stop.is_set():
        email, password = random.choice([('admin', 'admin'), ('admin', 'wrong'),
                                         ('nobody-%d@example.com' % random.randint(1, 50), 'x')])
        try:
            post_json(url, '/api/login', {'email': email, 'password': password})
            counts['ok'] += 1
        except urllib.error.HTTPError as e:
            counts[e.code] = counts.get(e.code, 0) + 1
        except Exception as e:  # noqa: B902 - counted, the run goes on
            counts[type(e).__name__] = counts.get(type(e).__name__, 0) + 1


def scale():
    import threading
    rows = int(ENV.get('BENCH_GC_ROWS', '1000000'))
    budget = ENV.get('BENCH_GC_BUDGET')
    threads = int(ENV.get('BENCH_GC_LOGINS', '8'))
    prepare_db()
    print('machine: %s, %d cores; Odoo %s; %d tokens (70 %% expired), %d sessions, 100000 stale counters' % (
        os.uname().machine, os.cpu_count(), ENV['HARNESS_SERIES'], rows, (rows + 2) // 3))
    print('\n| load | run | tokens removed | ended | sessions | counters | finished | s |')
    print('|---|---:|---:|---:|---:|---:|---|---:|')

    def report(load, runs):
        for i, run in enumerate(runs, 1):
            t = run['tokens']
            print('| %s | %d | %d | %d | %d | %d | %s | %.1f |' % (
                load, i, t['tokens'], t['ended'], t['sessions'], run['attempts'][0],
                t['finished'] and run['attempts'][1], run['seconds']))
        sys.stdout.flush()
    gc_fill(rows)
    report('none', gc_until_done(budget))
    gc_fill(rows)
    server = Server('bench-gc', *run_tests.workers_args()).wait()
    stop, counts = threading.Event(), {'ok': 0}
    workers = [threading.Thread(target=logins, args=(server.url, stop, counts)) for _i in range(threads)]
    try:
        for worker in workers:
            worker.start()
        time.sleep(2)  # the logins are under way
        report('%d threads logging in' % threads, gc_until_done(budget))
    finally:
        stop.set()
        for worker in workers:
            worker.join()
        server.stop()
    print('\nlogins during the clean-up: %s' % counts)


def main():
    if '--scale' in sys.argv[1:]:
        return scale()
    if not shutil.which('wrk'):
        sys.exit('wrk is missing (apt-get install wrk)')
    os.makedirs(run_tests.LOG_DIR, exist_ok=True)
    prepare_db()
    print('machine: %s, %d cores; Odoo %s; %ds per measurement' % (
        os.uname().machine, os.cpu_count(), ENV['HARNESS_SERIES'], DURATION))
    for mode in MODES:
        results = bench_mode(mode)
        print('\n## %s\n' % ('threaded (--workers 0)' if mode == 'threaded' else '--workers 2'))
        print('| route | conns | req/s | p50 ms | p99 ms | non-2xx |')
        print('|---|---:|---:|---:|---:|---:|')
        for (name, connections), (rps, p50, p99, errors) in sorted(results.items(),
                                                                   key=lambda kv: (kv[0][1], kv[0][0])):
            print('| %s | %d | %.0f | %.1f | %.1f | %d |' % (name, connections, rps, p50 or 0, p99 or 0, errors))
        print('\n| conns | me/floor | me/floor_db | me/session | jwt/floor | jwt/floor_db | jwt/session |')
        print('|---:|---:|---:|---:|---:|---:|---:|')
        for connections in CONCURRENCY:
            r = {name: results[(name, connections)][0] for name in ('floor', 'floor_db', 'me', 'jwt', 'session')}
            print('| %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |' % (
                connections, r['me'] / r['floor'], r['me'] / r['floor_db'], r['me'] / r['session'],
                r['jwt'] / r['floor'], r['jwt'] / r['floor_db'], r['jwt'] / r['session']))
    timings = login_timings()
    print('\n## Refusing a login (median ms, threaded)\n')
    for name, ms in timings.items():
        print('- %s: %.1f ms' % (name, ms))
    print('- unknown email / wrong password: %.2f' % (timings['unknown email'] / timings['wrong password']))
    counts = count_queries()
    print('\n## SQL queries per request (median)\n')
    for name, count in counts.items():
        print('- %s: %s' % (name, count))
    for floor in ('floor', 'floor_db'):
        print('- token auth beyond %s: me %+d, jwt %+d' % (floor, counts['me'] - counts[floor],
                                                           counts['jwt'] - counts[floor]))


if __name__ == '__main__':
    main()
