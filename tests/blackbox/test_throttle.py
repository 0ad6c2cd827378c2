"""Login throttling, shared between worker processes (run against --workers 2)."""
import time

import requests

from conftest import TIMEOUT, WORKERS_URL, assert_envelope


def attempt(user, password, url=WORKERS_URL):
    return requests.post(url + '/api/login', data={'email': user['login'], 'password': password}, timeout=TIMEOUT)


def test_repeated_failures_get_429_then_recover(admin, user):
    admin.set_param('jwt_provider.login_max_failures', '4')
    admin.set_param('jwt_provider.login_lockout', '3')
    try:
        for _i in range(4):  # spread over both workers
            assert_envelope(attempt(user, 'wrong'), 400, False)
        locked = attempt(user, user['password'])  # even the right password waits
        body = assert_envelope(locked, 429, False)
        assert 1 <= int(locked.headers['Retry-After']) <= 3
        assert body['message']
        time.sleep(3.5)
        assert_envelope(attempt(user, user['password']), 200, True)
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
    admin.set_param('jwt_provider.login_lockout', '3')
    time.sleep(3.5)  # let earlier tests' failures from this address age out
    try:
        for user in users:
            assert_envelope(attempt(user, 'wrong'), 400)
        fresh = admin.new_user()
        assert_envelope(attempt(fresh, fresh['password']), 429)
    finally:
        admin.set_param('jwt_provider.ip_max_failures', '100000')
        admin.set_param('jwt_provider.login_lockout', '300')
        time.sleep(3.5)


def test_tokens_work_across_workers(admin, user):
    from conftest import bearer
    tokens = attempt(user, user['password']).json()['data']
    for _i in range(6):
        assert_envelope(requests.get(WORKERS_URL + '/api/me', headers=bearer(tokens['token']), timeout=TIMEOUT), 200)
    requests.post(WORKERS_URL + '/api/logout', headers=bearer(tokens['token']), timeout=TIMEOUT)
    for _i in range(4):
        assert_envelope(requests.get(WORKERS_URL + '/api/me', headers=bearer(tokens['token']), timeout=TIMEOUT), 498)
