"""A server answers while it starts: Odoo listens before it has loaded the
database's registry. A token request that arrives then waits for the registry,
as Odoo's own requests do, and leaves nothing half-built behind.

CI's 13.0 run found the contrary: the harness's first /api/ping met a registry
still loading, the route map built from it lacked the modules loaded after
jwt_provider, and Odoo kept that map, so every route of jwt_provider_example
answered 404 until the server stopped.
"""
import datetime
import json
import os
import re
import signal
import subprocess
import threading
import time

import pytest
import requests

from conftest import TIMEOUT, assert_envelope, bearer, report

COMMAND = json.loads(os.environ.get('JWT_TEST_ODOO_CMD') or 'null')
ROUTE = '/example/jwt/whoami'  # an auth='jwt' route of a module loaded after jwt_provider
LOADED = re.compile(r'odoo\.modules\.loading: Modules loaded\.')
# Odoo logs (at DEBUG) each module it loads. From this line on, jwt_provider loads,
# then the example addon, which depends on it: a registry read in between holds
# jwt_provider's ir.http and lacks the example's routes.
OURS = re.compile(r'odoo\.modules\.loading: [Ll]oading module jwt_provider \(')
# Requests waiting at once, as a pool of clients keeps them. Odoo's threaded
# server starts a thread per connection (no bound unless ODOO_MAX_HTTP_THREADS
# is set) under an address-space limit (--limit-memory-hard, 2.5 GiB): with 137
# connections held while 19.0 loaded its registry, the server peaked at 2.49 GB,
# and beyond that its threads could not start (a 500 page once in CI, a SIGSEGV
# once here). This test is about the wait, not about that limit.
IN_FLIGHT = 24
LOG_ENTRY = re.compile(r'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ')


@pytest.fixture
def starting_server(tmp_path):
    """An Odoo server on the test database, just launched: (url, log, process)."""
    if not COMMAND:
        pytest.skip('JWT_TEST_ODOO_CMD is not set: dev/run_tests.py says how to start a server')
    env = dict(os.environ, **json.loads(os.environ.get('JWT_TEST_ODOO_ENV') or '{}'))
    for name in json.loads(os.environ.get('JWT_TEST_ODOO_UNSET') or '[]'):
        env.pop(name, None)
    log = str(tmp_path / 'server.log')
    command = COMMAND + ['--logfile=' + log, '--log-handler=odoo.modules.loading:DEBUG']
    process = subprocess.Popen(command, env=env,
                               start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield os.environ['JWT_TEST_ODOO_URL'], log, process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def log_lines(log):
    try:
        with open(log, errors='replace') as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def logged_at(line):
    """The epoch seconds of an Odoo log line."""
    moment = datetime.datetime.strptime(line[:23], '%Y-%m-%d %H:%M:%S,%f')
    return time.mktime(moment.timetuple()) + moment.microsecond / 1e6


def wait_for_line(log, pattern, process, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert process.poll() is None, 'Odoo exited, see %s' % log
        found = [line for line in log_lines(log) if pattern.search(line)]
        if found:
            return found[0]
        time.sleep(0.002)
    raise AssertionError('no line matching %r in %s within %d s' % (pattern.pattern, log, timeout))


def server_errors(log):
    """The ERROR and CRITICAL entries of the server's log, tracebacks included:
    a failing run shows what the server saw (its log lives in a temporary
    directory that CI does not keep)."""
    entries, keep = [], False
    for line in log_lines(log):
        if LOG_ENTRY.match(line):
            keep = ' ERROR ' in line or ' CRITICAL ' in line
        if keep:
            entries.append(line)
    return '\n'.join(entries[-200:]) or '(no ERROR in %s)' % log


def probe(url, token, answers, in_flight):
    moment = time.time()
    try:
        answer = requests.get(url + ROUTE, headers=bearer(token), timeout=120)
    except requests.ConnectionError:
        return
    finally:
        in_flight.release()
    answers.append((moment, answer))


def test_requests_during_start_wait_for_the_registry(starting_server, tokens):
    """Requests keep arriving from the moment jwt_provider starts loading until
    the first answer; every one is answered as the loaded server answers, and
    so is every request after."""
    url, log, process = starting_server
    if requests.get(os.environ['JWT_TEST_URL'] + ROUTE, timeout=TIMEOUT).status_code != 498:
        pytest.skip('jwt_provider_example is not installed in this database')
    started = logged_at(wait_for_line(log, OURS, process))
    answers, probes, in_flight = [], [], threading.BoundedSemaphore(IN_FLIGHT)
    while not answers and len(probes) < 300:  # until the first answer: the registry is loaded
        if not in_flight.acquire(timeout=0.01):
            continue
        probes.append(threading.Thread(target=probe, args=(url, tokens['token'], answers, in_flight)))
        probes[-1].start()
        time.sleep(0.001)
    for thread in probes:
        thread.join()
    loaded = logged_at(wait_for_line(log, LOADED, process))
    early = sorted(moment for moment, _answer in answers if moment < loaded)
    report('start-up: %d requests to %s sent while jwt_provider and the modules after it loaded (%.0f ms)'
           % (len(early), ROUTE, 1000 * (loaded - started)))
    wrong = ['%d %s' % (answer.status_code, answer.text[:200]) for _moment, answer in answers
             if answer.status_code != 200]
    assert not wrong, '%d of %d answers were not 200: %s\nserver log:\n%s' % (
        len(wrong), len(answers), wrong[:3], server_errors(log))
    for _moment, answer in answers:
        assert_envelope(answer, 200, True)
    # Loaded: the routes of the modules loaded after ours are ours to answer.
    assert_envelope(requests.get(url + ROUTE, headers=bearer(tokens['token']), timeout=TIMEOUT), 200, True)
    answer = requests.get(url + '/example/jwt/rename', headers=bearer(tokens['token']), timeout=TIMEOUT)
    assert_envelope(answer, 405, False)
    # Else this run proved nothing: the server loaded before anything reached it.
    assert early, 'no request reached Odoo while it was loading the modules after jwt_provider'
