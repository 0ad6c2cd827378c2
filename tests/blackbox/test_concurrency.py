"""Bursts and races (issue #9), against the threaded and the --workers 2 server.

The servers run with Odoo's default database pool (``db_maxconn`` 64): a burst
must not exhaust it, a flood of wrong passwords must not check more passwords
than the throttle allows, and a client that retries a refresh (its answer was
lost) must keep its session.
"""
import collections
import concurrent.futures
import random
import threading
import time

import pytest
import requests

from conftest import TIMEOUT, URL, WORKERS_URL, assert_envelope, bearer, login, report

SERVERS = {'threaded': URL, 'workers': WORKERS_URL}
BURST_TIMEOUT = 120


RETRIES = collections.Counter()
RETRIES_LOCK = threading.Lock()
# Connections lost before any answer, retried in one test, are the kernel's
# when a burst overflows the listen backlog (see burst()): the --workers server
# listens with 8 per worker, 16 in all, the smallest backlog of the servers
# under test. A burst of n connections may so lose n - 16; more would mean the
# server drops connections it accepted, which no retry should hide.
LISTEN_BACKLOG = 16
# How a connection lost before any answer shows in requests: reset by the
# kernel, or closed by an Odoo worker that accepted it but did not receive the
# request within its socket timeout (2 s; werkzeug then closes it silently).
LOST_BEFORE_ANSWER = ('reset by peer', 'closed connection without response')


@pytest.fixture(autouse=True)
def connections_lost(request):
    """Counts the connections ``burst`` retried in the test, lost before any
    answer: printed, recorded as the junit property ``connections_retried``
    (and in the run's figures when there were any, by kind), and bounded by
    what the listen backlog explains."""
    RETRIES.clear()
    yield
    kinds = {kind: RETRIES[kind] for kind in LOST_BEFORE_ANSWER if RETRIES[kind]}
    lost, allowed = sum(kinds.values()), RETRIES['backlog overflow']
    request.node.user_properties.append(('connections_retried', lost))
    print('connections lost before an answer and retried: %d (at most %d) %s' % (lost, allowed, kinds))
    if lost:
        report('%s: connections lost before an answer, retried: %d (at most %d): %s' % (
            request.node.name, lost, allowed, ', '.join('%d %s' % (n, kind) for kind, n in kinds.items())))
    assert lost <= allowed, '%d connections lost before an answer, more than the %d a full backlog explains' % (
        lost, allowed)


def burst(count, call):
    """``call(i)`` in ``count`` threads released at once; the results (exceptions as values).

    A connection lost before any answer is retried after a random back-off
    (four times at most, counted in ``RETRIES``), as a client would: with
    ``--workers``, Odoo listens with a backlog of 8 per worker, and 50 SYNs at
    once overflow it. The kernel then resets a few connections before Odoo
    ever sees them, or drops the client's first packets, so that a worker
    accepts the connection but its request arrives (retransmitted) after the
    worker's 2-second socket timeout, and the worker closes it unanswered.
    Retrying them all at once would only overflow the backlog again. A loss
    that persists, or any other error, is reported; the fixture
    ``connections_lost`` reports and bounds the retries.
    """
    barrier = threading.Barrier(count)
    results = [None] * count
    with RETRIES_LOCK:
        RETRIES['backlog overflow'] += max(0, count - LISTEN_BACKLOG)

    def worker(i):
        try:
            barrier.wait(30)
        except threading.BrokenBarrierError:
            pass
        for attempt in range(5):
            if attempt:
                time.sleep(random.uniform(0.5, 1.5) * attempt)
            try:
                results[i] = call(i)
                return
            except requests.ConnectionError as e:
                results[i] = e
                kind = next((kind for kind in LOST_BEFORE_ANSWER if kind in str(e)), None)
                if kind is None:
                    return
                with RETRIES_LOCK:
                    RETRIES[kind] += 1
            except Exception as e:  # a timeout is an answer we report, not a crash of the test
                results[i] = e
                return

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.time() + BURST_TIMEOUT + 30
    for thread in threads:
        thread.join(max(0, deadline - time.time()))
    return results


def outcome(answer):
    if isinstance(answer, Exception):
        return type(answer).__name__
    if answer is None:
        return 'no answer'
    return answer.status_code


def statuses(answers):
    return collections.Counter(outcome(a) for a in answers)


def server_errors(answers):
    """Answers that are 5xx or no answer at all, with a sample of their bodies."""
    bad = [a for a in answers if not isinstance(a, requests.Response) or a.status_code >= 500]
    return len(bad), [a.text[:200] if isinstance(a, requests.Response) else repr(a)[:200] for a in bad[:3]]


@pytest.fixture
def params(admin):
    """Set system parameters for one test; the previous values come back after it."""
    saved = {}

    def set_params(**values):
        for key, value in values.items():
            name = 'jwt_provider.' + key
            if name not in saved:
                saved[name] = admin.get_param(name)
            admin.set_param(name, value)

    yield set_params
    for name, value in saved.items():
        admin.set_param(name, value)


@pytest.mark.parametrize('server', sorted(SERVERS))
def test_fifty_parallel_logins(admin, params, server):
    """Issue #9: 15 of 50 answered 500 "The Connection Pool Is Full" (the
    throttle took a second connection per request).

    Ten logins per user run at once: the throttle may count attempts in
    flight against the limit, so the limit is lifted here; this test is about
    the database pool, the flood test below about the throttle.
    """
    url = SERVERS[server]
    params(login_max_failures='1000')
    users = [admin.new_user() for _i in range(5)]

    def one(i):
        user = users[i % len(users)]
        return requests.post(url + '/api/login', data={'email': user['login'], 'password': user['password']},
                             timeout=BURST_TIMEOUT)

    answers = burst(50, one)
    errors, samples = server_errors(answers)
    assert errors == 0, '%d of 50 logins without a proper answer: %s %s' % (errors, statuses(answers), samples)
    assert statuses(answers) == {200: 50}
    for answer in answers:
        assert_envelope(answer, 200, True)


@pytest.mark.parametrize('server,count', [('threaded', 200), ('workers', 100)])
def test_parallel_me_beyond_the_pool(admin, server, count):
    """Issue #9: 5 of 100 answered 500. The threaded server gets 200 at once, three
    times Odoo's pool of 64 connections (without the API slots, 19.0 served 100 within
    the pool on a 2-core machine, and 67 of 200 met 503); each --workers process
    serves one request at a time."""
    url = SERVERS[server]
    users = [admin.new_user() for _i in range(4)]
    tokens = [login(user, url)['token'] for user in users]

    def one(i):
        return requests.get(url + '/api/me', headers=bearer(tokens[i % len(tokens)]), timeout=BURST_TIMEOUT)

    answers = burst(count, one)
    errors, samples = server_errors(answers)
    assert errors == 0, '%d of %d without a proper answer: %s %s' % (errors, count, statuses(answers), samples)
    assert statuses(answers) == {200: count}


# The sequential contract (test_throttle) is exact: with a limit of N, the
# first N wrong passwords are checked and answered 400, then 429. Serialising
# the attempts of one login (a row or advisory lock) or reserving the attempt
# before hashing keeps it exact under concurrency, so no slack is granted:
# each check beyond the limit is one more free guess for an attacker.
LIMIT = 5
SLACK = 1


@pytest.mark.parametrize('server', sorted(SERVERS))
def test_wrong_password_flood_checks_at_most_the_limit(admin, params, server):
    """Issue #9: 50 parallel wrong passwords for one email, limit 5 -> 34 checked."""
    url = SERVERS[server]
    params(login_max_failures=str(LIMIT), login_lockout='300', ip_max_failures='100000')
    user = admin.new_user()

    def one(i):
        return requests.post(url + '/api/login', data={'email': user['login'], 'password': 'wrong-%d' % i},
                             timeout=BURST_TIMEOUT)

    answers = burst(50, one)
    counts = statuses(answers)
    checked = sum(1 for a in answers if isinstance(a, requests.Response) and a.status_code == 400
                  and a.json().get('message') == 'Incorrect login')
    assert checked <= LIMIT * SLACK, '%d passwords checked for a limit of %d: %s' % (checked, LIMIT, counts)
    assert checked >= 1, counts
    assert set(counts) <= {400, 429}, counts
    for answer in answers:
        body = assert_envelope(answer, answer.status_code, False)
        if answer.status_code == 429:
            assert int(answer.headers['Retry-After']) > 0
            assert body['message']
    # Locked out now, even with the right password.
    assert_envelope(requests.post(url + '/api/login', data={'email': user['login'], 'password': user['password']},
                                  timeout=TIMEOUT), 429)


@pytest.mark.parametrize('server', sorted(SERVERS))
def test_parallel_correct_logins_are_never_refused(admin, params, server):
    """Issue #13: 32 logins with the right password, 16 at a time, default
    limits: 27 answered 429 "Too many failed logins" on 19.0 (an attempt in
    flight counted as a failure while its hash ran). App start-ups and shared
    integration accounts log in like this."""
    url = SERVERS[server]
    params(login_max_failures='5', login_lockout='300')
    user = admin.new_user()

    def one(_i):
        try:
            return requests.post(url + '/api/login', data={'email': user['login'], 'password': user['password']},
                                 timeout=BURST_TIMEOUT)
        except Exception as e:  # reported with the others, not a crash of the test
            return e

    started = time.time()
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(one, range(32)))
    elapsed = time.time() - started
    print('32 correct logins, 16 at a time (%s): %s in %.1f s' % (server, dict(statuses(answers)), elapsed))
    assert statuses(answers) == {200: 32}, statuses(answers)
    for answer in answers:
        assert_envelope(answer, 200, True)


GRACE = 3  # seconds: short, so the test waits it out


@pytest.mark.parametrize('server', sorted(SERVERS))
def test_parallel_refresh_retries_within_the_grace_window(admin, params, server):
    """Issue #9: a client that retries a refresh (its answer was lost) revoked
    its whole session, and the race logged "could not serialize access".

    Within ``jwt_provider.refresh_grace`` seconds the same spent refresh token
    gets the same new pair back; after it, presenting it again is reuse and
    revokes the family.
    """
    url = SERVERS[server]
    params(refresh_grace=str(GRACE))
    user = admin.new_user()
    first = login(user, url)

    def refresh(_i=None, token=first['refresh_token']):
        return requests.post(url + '/api/refresh', data={'refresh_token': token}, timeout=BURST_TIMEOUT)

    started = time.time()
    answers = burst(10, refresh)
    answers.append(refresh())  # one more retry, after the others
    within = time.time() - started
    assert within < GRACE, 'the retries took %.1f s, longer than the window: the test proves nothing' % within
    assert statuses(answers) == {200: 11}, [a.text[:200] if isinstance(a, requests.Response) else a
                                            for a in answers]
    pairs = {(a.json()['data']['token'], a.json()['data']['refresh_token']) for a in answers}
    assert len(pairs) == 1, 'the retries got %d different pairs' % len(pairs)
    token, refresh_token = pairs.pop()
    assert token != first['token'] and refresh_token != first['refresh_token']

    # The session goes on: the new token works, the new refresh token rotates.
    assert_envelope(requests.get(url + '/api/me', headers=bearer(token), timeout=TIMEOUT), 200, True)
    rotated = assert_envelope(refresh(token=refresh_token), 200, True)['data']
    assert_envelope(requests.get(url + '/api/me', headers=bearer(rotated['token']), timeout=TIMEOUT), 200)

    # After the window, the first refresh token again: reuse, the family is revoked.
    time.sleep(max(0, started + GRACE + 1.5 - time.time()))
    assert_envelope(refresh(), 498, False)
    for access in (first['token'], token, rotated['token']):
        assert_envelope(requests.get(url + '/api/me', headers=bearer(access), timeout=TIMEOUT), 498)
    for spent in (refresh_token, rotated['refresh_token']):
        assert_envelope(refresh(token=spent), 498)
