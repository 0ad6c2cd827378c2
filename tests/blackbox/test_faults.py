"""PostgreSQL goes away under load, and comes back (issue #9).

The harness's private cluster (dev/harness.py: ``<state>/pg/data``, run by
``pg_ctl`` as the ``postgres`` user) is stopped while both servers are
serving ``/api/me``, kept down a few seconds, then started again with the
options it ran with (``pg_ctl restart`` reads them from ``postmaster.opts``).

- During the outage: 503 in the envelope with ``Retry-After`` (not Odoo's
  404 page or a 500), from both servers.
- After it: the same servers recover without a restart, and the tokens
  issued before the outage still work.

The cluster is found from ``JWT_TEST_PG_DATA``, else ``$HARNESS_STATE/pg/data``,
else ``.state/pg/data`` in the repository; it must be the one on
``HARNESS_PG_PORT`` when that is set. When another database of the cluster
has open sessions (another run, a ``make run``), the test skips rather than
break it, unless ``JWT_TEST_FAULTS_FORCE=1``. PostgreSQL is always started again
(``finally``), and every wait is bounded. When ``JWT_TEST_FAULT_WINDOWS`` names
a file, ``start end`` (epoch seconds, from the stop until both servers
recovered) is appended to it: Odoo itself logs errors meanwhile (``bad query``
as its pooled connections die), which the runner can then tell from real ones;
what the clients got in that window is this test's business.
"""
import collections
import glob
import json
import os
import re
import shlex
import subprocess
import threading
import time

import pytest
import requests

from conftest import DB, TIMEOUT, URL, WORKERS_URL, assert_envelope, bearer, login

SERVERS = {'threaded': URL, 'workers': WORKERS_URL}
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUTAGE = 4            # seconds PostgreSQL stays down
RECOVERY = 60         # seconds the servers get to answer 200 again
PG_CTL_TIMEOUT = 60   # seconds for pg_ctl stop/start
ENVELOPE = {'data', 'success', 'message'}


# -- the cluster -------------------------------------------------------------------------

class Cluster(object):
    """The harness's PostgreSQL cluster, driven with pg_ctl as its owner."""

    def __init__(self, data):
        self.data = data
        self.pg_ctl = self._pg_ctl()
        parent_log = os.path.join(os.path.dirname(data), 'server.log')
        self.log = parent_log if os.path.exists(parent_log) else os.path.join(data, 'restart.log')

    def _pg_ctl(self):
        """The pg_ctl beside the running postgres binary (postmaster.opts), else the
        newest /usr/lib/postgresql/*/bin, as the harness picks it."""
        try:
            with open(os.path.join(self.data, 'postmaster.opts')) as f:
                binary = shlex.split(f.read())[0]
            candidate = os.path.join(os.path.dirname(binary), 'pg_ctl')
            if os.access(candidate, os.X_OK):
                return candidate
        except (OSError, IndexError, ValueError):
            pass

        def version(path):
            return [int(n) for n in re.findall(r'\d+', path)]

        dirs = sorted(glob.glob('/usr/lib/postgresql/*/bin'), key=version)
        if not dirs:
            pytest.skip('no pg_ctl found (postmaster.opts, /usr/lib/postgresql/*/bin)')
        return os.path.join(dirs[-1], 'pg_ctl')

    def _run(self, *args):
        cmd = [self.pg_ctl, '-D', self.data] + list(args)
        if os.geteuid() == 0:  # PostgreSQL refuses root: run as the cluster's owner
            cmd = ['su', 'postgres', '-s', '/bin/sh', '-c', ' '.join(shlex.quote(a) for a in cmd)]
        return subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=PG_CTL_TIMEOUT + 30, universal_newlines=True)

    def port(self):
        with open(os.path.join(self.data, 'postmaster.pid')) as f:
            return f.read().split('\n')[3].strip()

    def other_users(self, own_db):
        """Databases of this cluster with open sessions, other than ours and
        the ones every Odoo server lists (someone else's run, a ``make run``)."""
        done = subprocess.run(
            ['psql', '-X', '-q', '-tA', '-h', '127.0.0.1', '-p', self.port(), '-U', 'postgres', '-d', 'postgres',
             '-c', "SELECT DISTINCT datname FROM pg_stat_activity WHERE datname IS NOT NULL"
                   " AND pid <> pg_backend_pid()"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30,
            universal_newlines=True)
        if done.returncode:
            return []  # cannot tell: go ahead
        names = set(done.stdout.split())
        return sorted(names - {own_db, 'postgres', 'template0', 'template1'})

    def running(self):
        return self._run('status').returncode == 0

    def stop(self):
        done = self._run('stop', '-m', 'fast', '-w', '-t', str(PG_CTL_TIMEOUT))
        assert done.returncode == 0, 'pg_ctl stop failed: %s' % done.stdout

    def start(self):
        """Start it again with the options it last ran with (postmaster.opts)."""
        if self.running():
            return
        done = self._run('restart', '-w', '-t', str(PG_CTL_TIMEOUT), '-l', self.log)
        assert done.returncode == 0 and self.running(), 'pg_ctl restart failed: %s' % done.stdout


def find_cluster():
    candidates = [os.environ.get('JWT_TEST_PG_DATA')]
    if os.environ.get('HARNESS_STATE'):
        candidates.append(os.path.join(os.environ['HARNESS_STATE'], 'pg', 'data'))
    candidates.append(os.path.join(ROOT, '.state', 'pg', 'data'))
    port = os.environ.get('HARNESS_PG_PORT')
    seen = []
    for data in filter(None, candidates):
        try:
            with open(os.path.join(data, 'postmaster.pid')) as f:
                lines = f.read().split('\n')
        except OSError as e:
            seen.append('%s: %s' % (data, e.strerror))
            continue
        if port and len(lines) > 3 and lines[3].strip() != port:
            seen.append('%s: port %s, not %s' % (data, lines[3].strip(), port))
            continue
        return Cluster(data)
    pytest.skip('the running PostgreSQL cluster was not found (set JWT_TEST_PG_DATA): %s' % '; '.join(seen))


# -- load -----------------------------------------------------------------------------

class Load(object):
    """Threads calling /api/me on every server until stopped, each answer
    recorded with the phases it was sent and answered in."""

    def __init__(self, tokens, threads_per_server=2):
        self.tokens = tokens
        self.phase = 'before'
        self.answers = []  # (server, sent phase, answered phase, status or exception name, headers, body)
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.loop, args=(server,), daemon=True)
                        for server in sorted(tokens) for _i in range(threads_per_server)]

    def loop(self, server):
        while not self.stopping.is_set():
            sent = self.phase
            try:
                answer = requests.get(SERVERS[server] + '/api/me', headers=bearer(self.tokens[server]),
                                      timeout=TIMEOUT)
                outcome = (answer.status_code, answer.headers, answer.text)
            except requests.RequestException as e:
                outcome = (type(e).__name__, {}, repr(e)[:300])
            self.answers.append((server, sent, self.phase) + outcome)
            time.sleep(0.05)

    def start(self):
        for thread in self.threads:
            thread.start()

    def stop(self):
        self.stopping.set()
        for thread in self.threads:
            thread.join(TIMEOUT + 5)


def unavailable_problem(status, headers, body):
    """Why an answer is not a proper "service unavailable", or None."""
    if status != 503:
        return 'status %s' % (status,)
    if not headers.get('Content-Type', '').startswith('application/json'):
        return 'not JSON: %s' % headers.get('Content-Type')
    try:
        envelope = json.loads(body)
    except ValueError:
        return 'not JSON'
    if not isinstance(envelope, dict) or set(envelope) != ENVELOPE or envelope['success'] is not False:
        return 'not the envelope'
    if not re.match(r'^\d+$', headers.get('Retry-After', '')) or int(headers['Retry-After']) <= 0:
        return 'no Retry-After'
    if 'Traceback' in body:
        return 'a traceback'
    return None


def record_window(start, end):
    path = os.environ.get('JWT_TEST_FAULT_WINDOWS')
    if path:
        with open(path, 'a') as f:
            f.write('%.3f %.3f\n' % (start, end))


def test_postgres_restart_under_load(admin):
    cluster = find_cluster()
    assert cluster.running(), 'the cluster at %s is not running' % cluster.data
    others = cluster.other_users(DB)
    if others and not os.environ.get('JWT_TEST_FAULTS_FORCE'):
        pytest.skip('the PostgreSQL cluster at %s also serves %s right now: stopping it would break that run '
                    '(JWT_TEST_FAULTS_FORCE=1 stops it all the same)' % (cluster.data, ', '.join(others)))
    user = admin.new_user()
    tokens = {server: login(user, url)['token'] for server, url in SERVERS.items()}
    for server, url in SERVERS.items():
        assert_envelope(requests.get(url + '/api/me', headers=bearer(tokens[server]), timeout=TIMEOUT), 200)

    load = Load(tokens)
    load.start()
    probes, problems, recovered = [], [], {}
    outage = [time.time(), None]
    try:
        try:
            time.sleep(1)
            outage[0] = time.time()
            load.phase = 'stopping'
            cluster.stop()
            load.phase = 'down'
            deadline = time.time() + OUTAGE
            while time.time() < deadline:  # direct probes, besides the load
                for server, url in SERVERS.items():
                    try:
                        answer = requests.get(url + '/api/me', headers=bearer(tokens[server]), timeout=TIMEOUT)
                        probes.append((server, answer.status_code, answer.headers, answer.text))
                    except requests.RequestException as e:
                        probes.append((server, type(e).__name__, {}, repr(e)[:300]))
                time.sleep(0.3)
        finally:
            load.phase = 'starting'
            try:
                cluster.start()
            finally:
                outage[1] = time.time()
                load.phase = 'recovering'

        # Recovery: each server answers 200 ten times in a row with the old
        # token; until then, only a proper 503 will do.
        deadline = time.time() + RECOVERY
        for server, url in SERVERS.items():
            streak = 0
            while streak < 10 and time.time() < deadline:
                try:
                    answer = requests.get(url + '/api/me', headers=bearer(tokens[server]), timeout=TIMEOUT)
                    outcome = (answer.status_code, answer.headers, answer.text)
                except requests.RequestException as e:
                    outcome = (type(e).__name__, {}, repr(e)[:300])
                streak = streak + 1 if outcome[0] == 200 else 0
                problem = outcome[0] != 200 and unavailable_problem(*outcome)
                if problem:
                    problems.append('%s while recovering: %s %s' % (server, problem, outcome[2][:150]))
                time.sleep(0.1)
            recovered[server] = streak >= 10
        load.phase = 'after'
        time.sleep(1)
    finally:
        load.stop()
        # From the stop to the recovery, Odoo itself logs errors (its pooled
        # connections die mid-query): tell the runner when that was.
        record_window(outage[0], time.time())

    for server, status, headers, body in probes:
        problem = unavailable_problem(status, headers, body)
        if problem:
            problems.append('%s during the outage: %s %s' % (server, problem, body[:150]))
    for server, sent, answered, status, headers, body in load.answers:
        if sent == answered == 'down':
            problem = unavailable_problem(status, headers, body)
        elif sent == answered == 'before' or sent == 'after':
            problem = None if status == 200 else 'status %s' % (status,)
        else:  # around the stop or the start: served, or a proper 503
            problem = None if status == 200 else unavailable_problem(status, headers, body)
        if problem:
            problems.append('%s (load, sent %s, answered %s): %s %s' % (server, sent, answered, problem,
                                                                        body[:150]))
    phases = ('before', 'stopping', 'down', 'starting', 'recovering', 'after')
    summary = 'outage %.1f s; %d direct probes; load answers sent per phase %s' % (
        (outage[1] or time.time()) - outage[0], len(probes), {phase: sum(1 for a in load.answers if a[1] == phase)
                                                              for phase in phases})
    for server in SERVERS:
        assert sum(1 for p in probes if p[0] == server) >= 3, summary
    if problems:
        counted = collections.Counter(' '.join(p.split()) for p in problems)
        pytest.fail('%s\n%d bad answers:\n%s' % (summary, len(problems), '\n'.join(
            '%4d x %s' % (n, p) for p, n in counted.most_common(12))), pytrace=False)
    assert all(recovered.values()), 'no recovery within %d s: %s' % (RECOVERY, recovered)
    # The tokens issued before the outage still work, and so does the rest.
    for server, url in SERVERS.items():
        assert_envelope(requests.get(url + '/api/me', headers=bearer(tokens[server]), timeout=TIMEOUT), 200)
        fresh = login(user, url)
        assert_envelope(requests.get(url + '/api/me', headers=bearer(fresh['token']), timeout=TIMEOUT), 200)
