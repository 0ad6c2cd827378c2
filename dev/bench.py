"""What a token costs: requests/s and latency against Odoo's own floor.

Started by ``make bench`` (dev/harness.py bench). For each server mode
(threaded, --workers 2) and each concurrency it runs wrk against:
  floor       GET /api/ping                       no authentication at all
  floor_db    the same with a session cookie      (Odoo skips its database listing)
  jwt         GET /example/jwt/ping               an auth='jwt' route doing nothing
  me          GET /api/me                         bearer token
  session     POST /web/session/get_session_info  Odoo's own session cookie
  xmlrpc      Odoo's XML-RPC execute_kw read of the three fields of /api/me, with
              an API key (where the series has API keys: 14.0+, and XML-RPC)
  json2       Odoo's JSON-2 /json/2/res.users/read of the same fields, bearer API
              key (where the tree serves it: 19.0's ``rpc`` module)
  login       POST /api/login                     password hashing dominates
  odoo_login  POST /web/session/authenticate      Odoo's own login, same password
The shared machine's load changes from second to second, so the routes that
are compared run in short interleaved cells (BENCH_CELL seconds each, one
route after the other, BENCH_ROUNDS times; logins get long enough a cell for
each connection to finish four, at least twice as long):
each ratio is the median of the ratios of one round, taken under the same
load. Each cell also counts the CPU time the server and its PostgreSQL spent
(their processes' /proc counters) per request: the same ratios by CPU cost
hold whatever else the machine runs. It prints the median requests/s, p50/p99
latency, CPU ms per request and those ratios,
then the cost of refusing a login, what revocations elsewhere cost /api/me
(each makes every worker refill what it keeps and Odoo's caches), and the SQL
queries of one request of each kind, from a --log-level=debug_sql server.

Options (environment): BENCH_CELL (s, default 3), BENCH_ROUNDS (default 3),
BENCH_CONCURRENCY (default "1 4 16"), BENCH_MODES (default "threaded workers"),
BENCH_ROUTES (default: all of them; e.g. "floor_db jwt me" while profiling),
BENCH_SIGNAL_RATES (default "0 2 10": revocations a second while /api/me runs).

``--scale`` measures what a big token table costs: first ``/api/me`` and
``/api/login`` against a copy of the database holding BENCH_GC_ROWS tokens
(default 1,000,000; 70 % expired, three per login) beside the empty one
(two servers, interleaved cells), then the daily clean-up (``_gc_expired``
and the login counters' ``_gc``, as the cron runs them) of those rows and
100,000 stale login counters, once on an idle server, then again while
BENCH_GC_LOGINS threads (default 8) log in and fail logins against a
--workers server; it prints the rows removed and the seconds of each run.
BENCH_GC_BUDGET (s) caps a run (default: the cron's own budget, two fifths
of limit_time_real).
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
import xmlrpc.client

sys.path.insert(0, os.path.dirname(__file__))
import run_tests  # noqa: E402
from run_tests import Server, psql  # noqa: E402  (same way of starting Odoo)

ENV = os.environ
CELL = float(ENV.get('BENCH_CELL', '3'))
ROUNDS = int(ENV.get('BENCH_ROUNDS', '3'))
CONCURRENCY = [int(c) for c in ENV.get('BENCH_CONCURRENCY', '1 4 16').split()]
MODES = ENV.get('BENCH_MODES', 'threaded workers').split()
ROUTES = ENV.get('BENCH_ROUTES', '').split()
BENCH_DB = (ENV.get('DB') or 'jwt_provider') + '_bench_' + ENV['HARNESS_FLAVOR'].replace('-', '_')
PROFILE_FIELDS = ['name', 'email', 'company_id']  # what /api/me answers besides id and avatar
# (ratio name, numerator, denominator, target or None): printed per concurrency.
RATIOS = (
    ('me/floor_db', 'me', 'floor_db', 0.8),
    ('jwt/floor_db', 'jwt', 'floor_db', 0.95),
    ('me/floor', 'me', 'floor', None),
    ('me/session', 'me', 'session', None),
    ('me/xmlrpc', 'me', 'xmlrpc', None),
    ('me/json2', 'me', 'json2', None),
    ('login/odoo_login', 'login', 'odoo_login', 0.95),
)

# An API key of the admin for Odoo's own token APIs (14.0+), printed as one JSON line.
API_KEY_SCRIPT = """
import inspect, json
key = None
if 'res.users.apikeys' in env.registry:
    Keys = env['res.users.apikeys'].with_user(env.ref('base.user_admin'))
    args = [None, 'bench']
    if 'expiration_date' in inspect.signature(Keys._generate).parameters:
        args.append(None)
    key = Keys._generate(*args)
    env.cr.commit()
print('KEY ' + json.dumps(key))
"""


def post_json(url, path, payload, headers=None):
    request = urllib.request.Request(url + path, data=json.dumps(payload).encode(), headers=dict(
        {'Content-Type': 'application/json'}, **(headers or {})))
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read()), answer.headers


def odoo_shell(script, db=BENCH_DB):
    """Run ``script`` in ``odoo shell`` on ``db``; its stdout."""
    cmd = run_tests.odoo_cmd('--no-http', '--log-level=warn', db=db)
    cmd.insert(2, 'shell')  # Odoo's command comes first
    with open(os.path.join(run_tests.LOG_DIR, 'bench-shell.log'), 'a') as log:
        return subprocess.run(cmd, input=script, env=run_tests.odoo_env(), check=True,
                              stdout=subprocess.PIPE, stderr=log, universal_newlines=True).stdout


def shell_line(output, prefix):
    return json.loads(next(line[len(prefix):] for line in output.splitlines() if line.startswith(prefix)))


def prepare_db(db=BENCH_DB):
    run_tests.TEST_DB = db
    psql('DROP DATABASE IF EXISTS "%s"' % db)
    psql('CREATE DATABASE "%s" TEMPLATE "%s" OWNER %s' % (db, ENV['HARNESS_TEMPLATE_DB'], ENV['HARNESS_PG_ROLE']))
    log = os.path.join(run_tests.LOG_DIR, 'bench-install.log')
    subprocess.run(run_tests.odoo_cmd('-i', 'jwt_provider,jwt_provider_example', '--stop-after-init',
                                      '--logfile=' + log, '--log-level=warn'),
                   env=run_tests.odoo_env(), check=True)
    return shell_line(odoo_shell(API_KEY_SCRIPT, db), 'KEY ')


class Credentials(object):
    def __init__(self, url, db, api_key):
        body = post_json(url, '/api/login', {'email': 'admin', 'password': 'admin'})[0]
        self.token, self.uid = body['data']['token'], body['data']['user']['id']
        self.db, self.api_key = db, api_key
        body, headers = post_json(url, '/web/session/authenticate', self.odoo_login())
        assert body.get('result', {}).get('uid') == self.uid, body
        self.cookie = re.search(r'session_id=([^;]+)', headers.get('Set-Cookie', '')).group(1)
        self.xmlrpc = self.json2 = False
        if api_key:
            proxy = xmlrpc.client.ServerProxy(url + '/xmlrpc/2/object')
            try:
                self.xmlrpc = bool(proxy.execute_kw(db, self.uid, api_key, 'res.users', 'read', [[self.uid]],
                                                    {'fields': PROFILE_FIELDS}))
            except (xmlrpc.client.ProtocolError, xmlrpc.client.Fault):  # no XML-RPC in this tree
                pass
            try:
                answer = post_json(url, '/json/2/res.users/read', self.json2_body(), self.json2_headers())[0]
                self.json2 = isinstance(answer, list) and bool(answer)
            except (urllib.error.HTTPError, ValueError):  # 19.0's rpc module serves it: absent, or a stub
                pass

    def odoo_login(self):
        return {'jsonrpc': '2.0', 'method': 'call', 'params': {'db': self.db, 'login': 'admin', 'password': 'admin'}}

    def json2_body(self):
        return {'ids': [self.uid], 'fields': PROFILE_FIELDS}

    def json2_headers(self):
        return {'Authorization': 'bearer ' + self.api_key, 'X-Odoo-Database': self.db}


def targets(c):
    """``{name: (method, path, headers, body)}``: the routes of the table."""
    rpc = json.dumps({'jsonrpc': '2.0', 'method': 'call', 'params': {}})
    json_type = {'Content-Type': 'application/json'}
    routes = {
        'floor': ('GET', '/api/ping', {}, None),
        # The same route with a session cookie: Odoo then takes the database from
        # the session instead of listing the server's databases on a new
        # connection, as token requests do thanks to their db claim.
        'floor_db': ('GET', '/api/ping', {'Cookie': 'session_id=' + c.cookie}, None),
        'jwt': ('GET', '/example/jwt/ping', {'Authorization': 'Bearer ' + c.token}, None),
        'me': ('GET', '/api/me', {'Authorization': 'Bearer ' + c.token}, None),
        'session': ('POST', '/web/session/get_session_info', dict(json_type, Cookie='session_id=' + c.cookie), rpc),
        'login': ('POST', '/api/login', {'Content-Type': 'application/x-www-form-urlencoded'},
                  'email=admin&password=admin'),
        'odoo_login': ('POST', '/web/session/authenticate', json_type, json.dumps(c.odoo_login())),
    }
    if c.xmlrpc:
        routes['xmlrpc'] = ('POST', '/xmlrpc/2/object', {'Content-Type': 'text/xml'}, xmlrpc.client.dumps(
            (c.db, c.uid, c.api_key, 'res.users', 'read', [[c.uid]], {'fields': PROFILE_FIELDS}), 'execute_kw'))
    if c.json2:
        routes['json2'] = ('POST', '/json/2/res.users/read', dict(json_type, **c.json2_headers()),
                           json.dumps(c.json2_body()))
    return routes


# Routes compared with each other run interleaved; logins apart (each costs a password hash).
GROUPS = (('floor_db', 'jwt', 'me', 'floor', 'session', 'xmlrpc', 'json2'), ('login', 'odoo_login'))


def wrk(url, method, path, headers, body, connections, duration):
    script = tempfile.NamedTemporaryFile('w', suffix='.lua', delete=False)
    script.write('wrk.method = %s\n' % json.dumps(method))
    if body:
        script.write('wrk.body = %s\n' % json.dumps(body))
    for name, value in headers.items():
        script.write('wrk.headers[%s] = %s\n' % (json.dumps(name), json.dumps(value)))
    script.close()
    out = subprocess.run(['wrk', '-t', str(min(connections, 2)), '-c', str(connections),
                          '-d', '%ds' % max(1, round(duration)),
                          '--timeout', '30s', '--latency', '-s', script.name, url + path],
                         stdout=subprocess.PIPE, universal_newlines=True).stdout
    os.unlink(script.name)
    found = re.search(r'Requests/sec:\s+([\d.]+)', out)
    if not found:
        raise RuntimeError('wrk said:\n' + out)
    rps = float(found.group(1))
    requests = int(re.search(r'(\d+) requests in', out).group(1))
    errors = re.search(r'Non-2xx or 3xx responses: (\d+)', out)
    failed = re.search(r'Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)', out)
    lat = {p: to_ms(v) for p, v in re.findall(r'^\s+(50|99)%\s+(\S+)', out, re.M)}
    return rps, lat.get('50'), lat.get('99'), (int(errors.group(1)) if errors else 0) + (
        sum(int(n) for n in failed.groups()) if failed else 0), requests


def to_ms(value):
    number, unit = re.match(r'([\d.]+)(\w+)', value).groups()
    return float(number) * {'us': 0.001, 'ms': 1, 's': 1000, 'm': 60000}[unit]


TICKS = os.sysconf('SC_CLK_TCK')


def _proc_stats():
    """``{pid: (ppid, own cpu ticks, reaped children's ticks)}`` of every process."""
    stats = {}
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % pid) as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        stats[int(pid)] = (int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14]))
    return stats


def _cmdline(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            return f.read().replace(b'\0', b' ').decode('utf-8', 'replace')
    except OSError:
        return ''


def cpu_seconds(cpu_of):
    """CPU seconds used so far by a server and its database: ``cpu_of`` is
    ``(server pid, database)``; the server's processes (and its ended workers),
    and the PostgreSQL backends serving that database (the cluster serves
    other runs too)."""
    server, db = cpu_of
    stats = _proc_stats()
    children = {}
    for pid, (ppid, _own, _reaped) in stats.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0, [server] if server in stats else []
    if todo:
        total += stats[server][2]  # its recycled workers
    postmaster = postgres_pid()
    todo += [pid for pid in children.get(postmaster, ()) if (' %s ' % db) in _cmdline(pid)]
    while todo:
        pid = todo.pop()
        total += stats[pid][1]
        todo.extend(children.get(pid, ()))
    return total / float(TICKS)


def postgres_pid():
    try:
        with open(os.path.join(ENV['HARNESS_PG_DATA'], 'postmaster.pid')) as f:
            return int(f.readline())
    except (KeyError, OSError, ValueError):
        return None


def interleaved(cells, connections, rounds=ROUNDS):
    """``cells``: ``{name: (url, (method, path, headers, body), seconds)}``, run one
    after the other ``rounds`` times (each round starting one further, so no
    route always follows the same one). ``{name: [(rps, p50, p99, errors), ...]}``."""
    names = list(cells)
    results = {name: [] for name in names}
    for i in range(rounds):
        for name in names[i % len(names):] + names[:i % len(names)]:
            url, (method, path, headers, body), seconds, cpu_of = cells[name]
            before = cpu_seconds(cpu_of)
            rps, p50, p99, errors, requests = wrk(url, method, path, headers, body, connections, seconds)
            cpu_ms = (cpu_seconds(cpu_of) - before) * 1000 / requests if requests else 0
            results[name].append((rps, p50, p99, errors, cpu_ms))
            if seconds > CELL:  # long requests (logins) cut at the cell's end: let the server finish them
                time.sleep(min(10, (results[name][-1][1] or 0) / 1000.0))
    return results


def login_seconds(url, route):
    """Seconds of one login, alone (the median of three)."""
    method, path, headers, body = route
    times = []
    for _i in range(3):
        start = time.perf_counter()
        urllib.request.urlopen(urllib.request.Request(url + path, method=method, headers=headers,
                                                      data=body.encode()), timeout=120).read()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cell_seconds(name, connections, login_time):
    """A cell's length: logins get long enough for every connection to finish
    a few (19.0 hashes a password for about half a second)."""
    if 'login' not in name:
        return CELL
    return min(30, max(2 * CELL, 4 * login_time * max(1, connections / float(os.cpu_count() or 1))))


def mode_args(mode):
    """The server's options of ``mode``. Workers are not recycled during the run
    (Odoo restarts one after ``--limit-request`` requests: 8,192 by default up to
    15.0, 65,536 from 16.0): a restart, with its registry load and empty caches,
    landed in whichever 3 s cell was running and made its ratio noise."""
    if mode == 'threaded':
        return ['--workers=0']
    return run_tests.workers_args() + ['--limit-request=100000000']  # 16.0 renamed the port option


def bench_mode(mode, api_key):
    server = Server('bench-' + mode, *mode_args(mode)).wait()
    results = {}
    try:
        routes = targets(Credentials(server.url, BENCH_DB, api_key))
        for method, path, headers, body in routes.values():  # warm every cache
            wrk(server.url, method, path, headers, body, 2, 1)
        login_time = login_seconds(server.url, routes['login'])
        for connections in CONCURRENCY:
            for group in GROUPS:
                cells = {name: (server.url, routes[name], cell_seconds(name, connections, login_time),
                                (server.proc.pid, BENCH_DB))
                         for name in group if name in routes and (not ROUTES or name in ROUTES)}
                if not cells:
                    continue
                for name, runs in interleaved(cells, connections).items():
                    results[(name, connections)] = runs
    finally:
        server.stop()
        forget_attempts()
    return results


def forget_attempts(db=BENCH_DB):
    """Stopping a server mid-login leaves its reservations pending (they would
    count as failures, then lock the next mode's logins out): start afresh."""
    psql('DELETE FROM jwt_provider_login_attempt', db=db)


def median_of(runs, index):
    values = [run[index] for run in runs if run[index] is not None]
    return statistics.median(values) if values else 0


def round_ratios(results, a, b, connections, index=0):
    """Median over the rounds of ``a``'s requests/s (``index`` 4: CPU ms per
    request) over ``b``'s in that round; None if either is absent."""
    if (a, connections) not in results or (b, connections) not in results:
        return None
    pairs = zip(results[(a, connections)], results[(b, connections)])
    ratios = [x[index] / y[index] for x, y in pairs if x[index] and y[index]]  # 0: no request finished
    return statistics.median(ratios) if ratios else None


def print_results(results, targets_met, mode):
    print('| route | conns | req/s | p50 ms | p99 ms | non-2xx | CPU ms/req |')
    print('|---|---:|---:|---:|---:|---:|---:|')
    for (name, connections), runs in sorted(results.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        print('| %s | %d | %.0f | %.1f | %.1f | %d | %.2f |' % (
            name, connections, median_of(runs, 0), median_of(runs, 1), median_of(runs, 2),
            sum(run[3] for run in runs), median_of(runs, 4)))
    shown = [r for r in RATIOS if any((r[1], c) in results and (r[2], c) in results for c in CONCURRENCY)]
    print('\n| conns | %s |' % ' | '.join(name + (' (>= %.2f)' % target if target else '')
                                          for name, _a, _b, target in shown))
    print('|---:|%s' % ('---:|' * len(shown)))
    for connections in CONCURRENCY:
        cells = []
        for name, a, b, target in shown:
            ratio = round_ratios(results, a, b, connections)
            if ratio is None:
                cells.append('-')
                continue
            if target is not None:
                targets_met.append((mode, name, connections, ratio >= target))
            cells.append('%.2f%s' % (ratio, '' if target is None or ratio >= target else ' (!)'))
        print('| %d | %s |' % (connections, ' | '.join(cells)))
    # The same comparisons by CPU spent per request (server and database): what
    # the routes cost, whatever else the machine runs meanwhile.
    print('\nBy CPU per request (the inverse ratio of CPU ms/req, medians of the rounds):\n')
    print('| conns | %s |' % ' | '.join(name for name, _a, _b, _target in shown))
    print('|---:|%s' % ('---:|' * len(shown)))
    for connections in CONCURRENCY:
        cells = []
        for name, a, b, target in shown:
            ratio = round_ratios(results, b, a, connections, index=4)
            cells.append('-' if ratio is None else '%.2f%s' % (
                ratio, '' if target is None or ratio >= target else ' (!)'))
        print('| %d | %s |' % (connections, ' | '.join(cells)))
    sys.stdout.flush()


def count_queries(api_key):
    """SQL queries per request, read from a debug_sql log (median of 5 requests each)."""
    server = Server('bench-sql', '--workers=0', '--log-level=debug_sql').wait()
    counts = {}
    try:
        for name, (method, path, headers, body) in targets(Credentials(server.url, BENCH_DB, api_key)).items():
            per_request = []
            for _i in range(6):
                start = os.path.getsize(server.log)
                request = urllib.request.Request(server.url + path, method=method, headers=headers,
                                                 data=body.encode() if body else None)
                urllib.request.urlopen(request, timeout=30).read()
                time.sleep(0.2)
                with open(server.log, errors='replace') as f:
                    f.seek(start)
                    per_request.append(sum(1 for line in f if 'odoo.sql_db: ' in line and 'query:' in line))
            counts[name] = statistics.median(per_request[1:])  # the first one warms caches
    finally:
        server.stop()
    return counts


SIGNAL_RATES = [int(rate) for rate in ENV.get('BENCH_SIGNAL_RATES', '0 2 10').split()]
SIGNAL_CONNECTIONS = 4


def revocation_cost(api_key):
    """What revocations cost the other requests: ``/api/me`` (4 connections)
    while something that moves Odoo's cache signal, as a logout or an archive
    does, happens RATE times a second (a user's partner renamed back and forth
    in SQL). Each one makes every worker forget what it kept and refill Odoo's
    caches (the whole of them up to 16.0). ``{(mode, rate): [(rps, cpu_ms), ...]}``."""
    import threading

    import psycopg2
    results = {}
    connection = psycopg2.connect(host='127.0.0.1', port=ENV['HARNESS_PG_PORT'], user='postgres', dbname=BENCH_DB)
    connection.autocommit = True
    cr = connection.cursor()
    cr.execute("SELECT partner_id FROM res_users WHERE id = (SELECT res_id FROM ir_model_data"
               " WHERE module = 'base' AND name = 'public_user')")
    partner = cr.fetchone()[0]
    try:
        for mode in MODES:
            server = Server('bench-signal-' + mode, *mode_args(mode)).wait()
            try:
                method, path, headers, body = targets(Credentials(server.url, BENCH_DB, api_key))['me']
                wrk(server.url, method, path, headers, body, 2, 1)
                for round_ in range(ROUNDS):
                    for rate in SIGNAL_RATES:
                        stop = threading.Event()

                        def signals(rate=rate, stop=stop):
                            suffix = ''
                            while rate and not stop.wait(1.0 / rate):
                                suffix = '' if suffix else '.'
                                cr.execute("UPDATE res_partner SET name = rtrim(name, '.') || %s WHERE id = %s",
                                           [suffix, partner])
                        thread = threading.Thread(target=signals)
                        thread.start()
                        before = cpu_seconds((server.proc.pid, BENCH_DB))
                        rps, _p50, _p99, errors, requests = wrk(server.url, method, path, headers, body,
                                                                SIGNAL_CONNECTIONS, CELL)
                        cpu_ms = (cpu_seconds((server.proc.pid, BENCH_DB)) - before) * 1000 / max(requests, 1)
                        stop.set()
                        thread.join()
                        assert not errors, '%d non-2xx answers of /api/me' % errors
                        results.setdefault((mode, rate), []).append((rps, cpu_ms))
            finally:
                server.stop()
    finally:
        connection.close()
    return results


def print_revocation_cost(results):
    print('\n## What revocations cost the other requests (/api/me, %d connections)\n' % SIGNAL_CONNECTIONS)
    print('| mode | signals/s | req/s | CPU ms/req | req/s against none |')
    print('|---|---:|---:|---:|---:|')
    for mode in MODES:
        base = statistics.median(r[0] for r in results[(mode, SIGNAL_RATES[0])])
        for rate in SIGNAL_RATES:
            runs = results[(mode, rate)]
            rps = statistics.median(r[0] for r in runs)
            print('| %s | %d | %.0f | %.2f | %.2f |' % (mode, rate, rps, statistics.median(r[1] for r in runs),
                                                        rps / base if base else 0))


def sql_array(names):
    return "ARRAY[%s]" % ', '.join("'%s'" % name for name in names)


THROTTLE_LIMITS = ('login_max_failures', 'account_max_failures', 'ip_max_failures')


def login_timings(rounds=15):
    """Median ms of refusing a wrong password and an unknown email: the unknown
    email must cost what a real password check costs (no account enumeration).
    The throttle's limits are lifted meanwhile (no refusal is a 429), then restored."""
    psql("INSERT INTO ir_config_parameter (key, value) SELECT 'jwt_provider.' || k, '1000000' FROM unnest(%s) k"
         " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value" % sql_array(THROTTLE_LIMITS), db=BENCH_DB)
    server = Server('bench-login', '--workers=0').wait()
    try:
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
        psql("DELETE FROM ir_config_parameter WHERE key IN (SELECT 'jwt_provider.' || k FROM unnest(%s) k);"
             " DELETE FROM jwt_provider_login_attempt" % sql_array(THROTTLE_LIMITS), db=BENCH_DB)
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


def gc_fill(rows, db=BENCH_DB):
    psql('DELETE FROM jwt_provider_token; DELETE FROM jwt_provider_session; DELETE FROM jwt_provider_login_attempt;',
         db=db)
    start = time.monotonic()
    psql(GC_FILL.format(rows=rows, families=(rows + 2) // 3), db=db)
    return time.monotonic() - start


def gc_run(budget):
    kwargs = '' if budget is None else 'time_budget=%s' % budget
    return shell_line(odoo_shell(GC_RUN.format(kwargs=kwargs)), 'GC ')


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


def big_table(rows):
    """``/api/me`` and ``/api/login`` with ``rows`` tokens in the table against
    none: two servers, one on a copy of the database with the rows, interleaved."""
    full = BENCH_DB + '_full'
    psql('DROP DATABASE IF EXISTS "%s"' % full)
    psql('CREATE DATABASE "%s" TEMPLATE "%s" OWNER %s' % (full, BENCH_DB, ENV['HARNESS_PG_ROLE']))
    seconds = gc_fill(rows, db=full)
    print('\n## /api/me and /api/login with %d tokens in the table (filled in %.0f s) against none\n' % (
        rows, seconds))
    servers = {'empty': Server('bench-empty', '--workers=0'),
               'full': Server('bench-full', '--workers=0', db=full)}
    try:
        routes = {}
        for table, server in servers.items():
            server.wait()
            db = full if table == 'full' else BENCH_DB
            routes[table] = (server.url, targets(Credentials(server.url, db, None)))
        login_time = login_seconds(routes['empty'][0], routes['empty'][1]['login'])
        results = {}
        for connections in CONCURRENCY:
            for name in ('me', 'login'):
                cells = {table: (url, found[name], cell_seconds(name, connections, login_time),
                                 (servers[table].proc.pid, full if table == 'full' else BENCH_DB))
                         for table, (url, found) in routes.items()}
                for table, runs in interleaved(cells, connections).items():
                    results[('%s_%s' % (name, table), connections)] = runs
        print('| conns | me, empty | me, %d | ratio | login, empty | login, %d | ratio | non-2xx |' % (rows, rows))
        print('|---:|---:|---:|---:|---:|---:|---:|---:|')
        for connections in CONCURRENCY:
            print('| %d | %.0f | %.0f | %.2f | %.1f | %.1f | %.2f | %d |' % ((connections,) + sum((
                (median_of(results[(name + '_empty', connections)], 0),
                 median_of(results[(name + '_full', connections)], 0),
                 round_ratios(results, name + '_full', name + '_empty', connections)) for name in ('me', 'login')),
                ()) + (sum(run[3] for key, runs in results.items() if key[1] == connections for run in runs),)))
        sys.stdout.flush()
    finally:
        for server in servers.values():
            server.stop()
        psql('DROP DATABASE IF EXISTS "%s"' % full)
        forget_attempts()


def scale():
    import threading
    rows = int(ENV.get('BENCH_GC_ROWS', '1000000'))
    budget = ENV.get('BENCH_GC_BUDGET')
    threads = int(ENV.get('BENCH_GC_LOGINS', '8'))
    os.makedirs(run_tests.LOG_DIR, exist_ok=True)
    prepare_db()
    print('machine: %s, %d cores; Odoo %s; %d tokens (70 %% expired), %d sessions, 100000 stale counters' % (
        os.uname().machine, os.cpu_count(), ENV['HARNESS_SERIES'], rows, (rows + 2) // 3))
    if shutil.which('wrk'):
        big_table(rows)
    print('\n## The daily clean-up\n')
    print('| load | run | tokens removed | ended | sessions | counters | finished | s |')
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
    api_key = prepare_db()
    print('machine: %s, %d cores; Odoo %s; interleaved cells of %gs (logins longer), %d rounds, medians' % (
        os.uname().machine, os.cpu_count(), ENV['HARNESS_SERIES'], CELL, ROUNDS))
    targets_met = []
    for mode in MODES:
        results = bench_mode(mode, api_key)
        print('\n## %s\n' % ('threaded (--workers 0)' if mode == 'threaded' else '--workers 2'))
        print_results(results, targets_met, mode)
    missed = ['%s at %d (%s)' % (name, connections, mode) for mode, name, connections, met in targets_met if not met]
    print('\ntargets: %d of %d met%s' % (
        len(targets_met) - len(missed), len(targets_met), (' (missed: %s)' % ', '.join(missed)) if missed else ''))
    if not ROUTES or 'login' in ROUTES:
        timings = login_timings()
        print('\n## Refusing a login (median ms, threaded)\n')
        for name, ms in timings.items():
            print('- %s: %.1f ms' % (name, ms))
        print('- unknown email / wrong password: %.2f' % (timings['unknown email'] / timings['wrong password']))
    if not ROUTES or 'me' in ROUTES:
        print_revocation_cost(revocation_cost(api_key))
    counts = count_queries(api_key)
    print('\n## SQL queries per request (median)\n')
    for name, count in counts.items():
        print('- %s: %s' % (name, count))
    for floor in ('floor', 'floor_db'):
        print('- token auth beyond %s: me %+d, jwt %+d' % (floor, counts['me'] - counts[floor],
                                                           counts['jwt'] - counts[floor]))


if __name__ == '__main__':
    main()
