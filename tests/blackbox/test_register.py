"""POST /api/register."""
import threading
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
    answer = requests.post(URL + '/api/register', json={'email': email, 'password': 'pw', 'name': 'J'},
                           timeout=TIMEOUT)
    assert assert_envelope(answer, 200, True)['data']['user']['login'] == email


@pytest.mark.parametrize('data, message', [
    ({'email': 'not an email', 'password': 'pw', 'name': 'N'}, 'Invalid email address'),
    ({'password': 'pw', 'name': 'N'}, 'Invalid email address'),
    ({'email': 'ok@example.com', 'password': 'pw', 'name': ' '}, 'Name cannot be empty'),
    ({'email': 'ok@example.com', 'password': '', 'name': 'N'}, 'Password cannot be empty'),
])
def test_invalid_input(signup, data, message):
    body = assert_envelope(register(**data), 400, False)
    assert body['message'] == message


def test_duplicate_in_any_case(signup):
    email = new_email()
    assert_envelope(register(email=email, password='pw', name='N'), 200)
    for variant in (email, email.upper(), '  %s ' % email.title()):
        body = assert_envelope(register(email=variant, password='pw', name='N'), 400, False)
        assert body['message'] == 'Email address already existed'


def test_signup_disabled(admin):
    admin.set_signup(False)
    body = assert_envelope(register(email=new_email(), password='pw', name='N'), 501, False)
    assert body['message']


def test_concurrent_registrations_create_one_user(admin, signup):
    email = new_email()
    results = []

    def worker(variant):
        results.append(register(email=variant, password='pw', name='Racer').status_code)

    variants = [email, email.upper(), email, email.capitalize()] * 2
    threads = [threading.Thread(target=worker, args=(v,)) for v in variants]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200] + [400] * (len(variants) - 1)
    count = admin.call('res.users', 'search_count', [('login', '=ilike', email)])
    assert count == 1
