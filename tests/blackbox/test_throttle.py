"""Login throttling, shared between worker processes (run against --workers 2)."""
import concurrent.futures
import os
import re
import time

import pytest
import requests

from conftest import TIMEOUT, URL, WORKERS_URL, assert_envelope

WORKERS_LOG = os.environ.get('JWT_TEST_WORKERS_SERVER_LOG')
# Odoo's log line: date time PID LEVEL database logger: message
ACCESS_LINE = re.compile(r'^\S+ \S+ (\d+) INFO \S+ werkzeug: .*"POST /api/login HTTP/1\.[01]" (\d{3}) ')


def attempt(user, password, url=WORKERS_URL):
    return requests.post(url + '/api/login', data={'email': user['login'], 'password': password}, timeout=TIMEOUT)


def log_size():
    return os.path.getsize(WORKERS_LOG) if WORKERS_LOG and os.path.exists(WORKERS_LOG) else 0


def login_workers(since):
    """The processes of the workers server that answered a login since ``since`` (a log offset)."""
    if not WORKERS_LOG or not os.path.exists(WORKERS_LOG):
        return set()
    with open(WORKERS_LOG, errors='replace') as f:
        f.seek(since)
        return {m.group(1) for m in map(ACCESS_LINE.match, f) if m}


def forget_failures(admin):
    """Earlier tests' failures from this address, cleared on the server (the
    address cannot change: every test logs in from 127.0.0.1)."""
    ids = admin.call('jwt_provider.login_attempt', 'search', [])
    if ids:
        admin.call('jwt_provider.login_attempt', 'unlink', ids)


def until_not_throttled(user, password, deadline=15):
    """Attempts until the lock-out ends (a refused attempt counts nothing): the answer after it."""
    end = time.monotonic() + deadline
    while True:
        answer = attempt(user, password)
        if answer.status_code != 429 or time.monotonic() > end:
            return answer
        time.sleep(max(0.2, min(1.0, int(answer.headers.get('Retry-After', '1')) / 2)))


def test_repeated_failures_get_429_then_recover(admin, user):
    admin.set_param('jwt_provider.login_max_failures', '4')
    admin.set_param('jwt_provider.login_lockout', '3')
    start = log_size()
    try:
        # Two at a time, so that both worker processes answer some (one after
        # the other, one process tends to take them all).
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            for _i in range(2):
                for answer in list(pool.map(lambda _n: attempt(user, 'wrong'), range(2))):
                    assert_envelope(answer, 400, False)
        locked = attempt(user, user['password'])  # even the right password waits
        body = assert_envelope(locked, 429, False)
        assert 1 <= int(locked.headers['Retry-After']) <= 3
        assert body['message']
        workers = login_workers(start)
        if WORKERS_URL != URL and WORKERS_LOG and len(workers) < 2:  # a --workers server, not one process
            pytest.skip('every login reached one worker process (%s): nothing shown across workers' % workers)
        assert_envelope(until_not_throttled(user, user['password']), 200, True)
        # the success reset the counter: three more failures are allowed
        for _i in range(3):
            assert_envelope(attempt(user, 'wrong'), 400)
        assert_envelope(attempt(user, user['password']), 200)
    finally:
        admin.set_param('jwt_provider.login_max_failures', '5')
        admin.set_param('jwt_provider.login_lockout', '300')


def test_failures_per_address(admin):
    users = [admin.new_user() for _i in range(3)]
    admin.set_param('jwt_provider.ip_max_failures', '3')
    forget_failures(admin)
    try:
        for user in users:
            assert_envelope(attempt(user, 'wrong'), 400)
        fresh = admin.new_user()
        assert_envelope(attempt(fresh, fresh['password']), 429)
    finally:
        admin.set_param('jwt_provider.ip_max_failures', '100000')
        forget_failures(admin)


def test_tokens_work_across_workers(admin, user):
    from conftest import bearer
    tokens = attempt(user, user['password']).json()['data']
    for _i in range(6):
        assert_envelope(requests.get(WORKERS_URL + '/api/me', headers=bearer(tokens['token']), timeout=TIMEOUT), 200)
    requests.post(WORKERS_URL + '/api/logout', headers=bearer(tokens['token']), timeout=TIMEOUT)
    for _i in range(4):
        assert_envelope(requests.get(WORKERS_URL + '/api/me', headers=bearer(tokens['token']), timeout=TIMEOUT), 498)
