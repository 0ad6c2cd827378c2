"""POST /api/register."""
import threading
import time
import uuid

import pytest
import requests

from conftest import TIMEOUT, URL, assert_envelope, bearer


@pytest.fixture
def signup(admin):
    admin.set_signup(True)
    yield
    admin.set_signup(False)


def register(**data):
    return requests.post(URL + '/api/register', data=data, timeout=TIMEOUT)


def new_email():
    return 'reg-%s@example.com' % uuid.uuid4().hex[:12]


def test_register_returns_tokens(signup):
    email = new_email()
    body = assert_envelope(register(email=email, password='pw-123456', name='Your Name'), 200, True)
    assert body['data']['user']['login'] == email
    assert body['data']['user']['name'] == 'Your Name'
    me = requests.get(URL + '/api/me', headers=bearer(body['data']['token']), timeout=TIMEOUT)
    assert me.json()['data']['email'] == email
    login = requests.post(URL + '/api/login', data={'email': email, 'password': 'pw-123456'}, timeout=TIMEOUT)
    assert login.status_code == 200


def test_register_json(signup):
    email = new_email()
    answer = requests.post(URL + '/api/register', json={'email': email, 'password': 'pw-123456', 'name': 'J'},
                           timeout=TIMEOUT)
    assert assert_envelope(answer, 200, True)['data']['user']['login'] == email


@pytest.mark.parametrize('data, message', [
    ({'email': 'not an email', 'password': 'pw', 'name': 'N'}, 'Invalid email address'),
    ({'password': 'pw', 'name': 'N'}, 'Invalid email address'),
    ({'email': 'ok@example.com', 'password': 'pw', 'name': ' '}, 'Name cannot be empty'),
    ({'email': 'ok@example.com', 'password': '', 'name': 'N'}, 'Password cannot be empty'),
    ({'email': 'ok@example.com', 'password': 'x', 'name': 'N'}, 'Password must be at least 8 characters long'),
    ({'email': 'ok@example.com', 'password': 'seven..', 'name': 'N'}, 'Password must be at least 8 characters long'),
])
def test_invalid_input(signup, data, message):
    body = assert_envelope(register(**data), 400, False)
    assert body['message'] == message


def test_duplicate_in_any_case(signup):
    email = new_email()
    assert_envelope(register(email=email, password='pw-123456', name='N'), 200)
    for variant in (email, email.upper(), '  %s ' % email.title()):
        body = assert_envelope(register(email=variant, password='pw-123456', name='N'), 400, False)
        assert body['message'] == 'Email address already existed'


def test_signup_disabled(admin):
    admin.set_signup(False)
    body = assert_envelope(register(email=new_email(), password='pw', name='N'), 501, False)
    assert body['message']


def test_concurrent_registrations_create_one_user(admin, signup):
    email = new_email()
    results = []

    def worker(variant):
        results.append(register(email=variant, password='pw-123456', name='Racer').status_code)

    variants = [email, email.upper(), email, email.capitalize()] * 2
    threads = [threading.Thread(target=worker, args=(v,)) for v in variants]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200] + [400] * (len(variants) - 1)
    count = admin.call('res.users', 'search_count', [('login', '=ilike', email)])
    assert count == 1


def test_register_is_throttled_per_address(admin, signup):
    """Sign-up had no throttle: "Email address already existed" answered
    unlimited probes. Every attempt of an address counts, refused or not."""
    taken = new_email()
    assert_envelope(register(email=taken, password='pw-123456', name='N'), 200)
    admin.set_param('jwt_provider.ip_max_failures', '3')
    admin.set_param('jwt_provider.login_lockout', '3')
    time.sleep(3.5)  # let this address's earlier sign-ups age out of the window
    try:
        for _i in range(3):
            body = assert_envelope(register(email=taken, password='pw-123456', name='N'), 400, False)
            assert body['message'] == 'Email address already existed'
        refused = register(email=new_email(), password='pw-123456', name='N')
        assert_envelope(refused, 429, False)
        assert 1 <= int(refused.headers['Retry-After']) <= 3
    finally:
        admin.set_param('jwt_provider.ip_max_failures', '100000')
        admin.set_param('jwt_provider.login_lockout', '300')
        time.sleep(3.5)
