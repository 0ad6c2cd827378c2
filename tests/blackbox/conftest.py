"""Black-box fixtures: a running Odoo (started by dev/run_tests.py), real HTTP.

Setup that the API itself does not offer (creating users, switching sign-up
on) goes through the web client's JSON-RPC as the admin, like an administrator would.
Every answer under /api/ is checked against the live OpenAPI document
(openapi_check.py).
"""
import base64
import contextlib
import hashlib
import hmac
import os
import struct
import time
import uuid

import pytest
import requests

from openapi_check import openapi_checked_answers, openapi_checker  # noqa: F401

URL = os.environ.get('JWT_TEST_URL', 'http://127.0.0.1:8069')
WORKERS_URL = os.environ.get('JWT_TEST_WORKERS_URL', URL)
DB = os.environ.get('JWT_TEST_DB', 'jwt_provider')
ADMIN = ('admin', 'admin')
SERIES = float(os.environ.get('JWT_TEST_SERIES', '11.0'))
TIMEOUT = 30


class Admin(object):
    """Odoo's JSON-RPC of the web client (``/web/dataset/call_kw``), as the
    administrator: every series serves it (19.0 serves XML-RPC only with the
    ``rpc`` module)."""

    def __init__(self, login=ADMIN[0], password=ADMIN[1]):
        self.session = requests.Session()
        answer = self.session.post(URL + '/web/session/authenticate', json={
            'jsonrpc': '2.0', 'method': 'call',
            'params': {'db': DB, 'login': login, 'password': password}}, timeout=TIMEOUT)
        self.uid = (answer.json().get('result') or {}).get('uid')
        assert self.uid, '%s must log in: %s' % (login, answer.text[:300])

    def call(self, model, method, *args, **kw):
        answer = self.session.post('%s/web/dataset/call_kw/%s/%s' % (URL, model, method), json={
            'jsonrpc': '2.0', 'method': 'call',
            'params': {'model': model, 'method': method, 'args': list(args), 'kwargs': kw}}, timeout=TIMEOUT)
        body = answer.json()
        if 'error' in body:
            raise RuntimeError('%s.%s: %s' % (model, method, body['error'].get('data', {}).get('message')
                                              or body['error'].get('message')))
        return body.get('result')

    def set_param(self, key, value):
        self.call('ir.config_parameter', 'set_param', key, value)

    def set_signup(self, enabled):
        """Free sign-up on or off, as Settings store it (11.0: a boolean, 12.0+: a scope)."""
        if SERIES < 12:
            self.set_param('auth_signup.allow_uninvited', 'True' if enabled else 'False')
        else:
            self.set_param('auth_signup.invitation_scope', 'b2c' if enabled else 'b2b')

    def get_param(self, key):
        return self.call('ir.config_parameter', 'get_param', key)

    def new_user(self, password='a fine password', **values):
        login = values.pop('login', None) or 'u-%s@example.com' % uuid.uuid4().hex[:12]
        vals = dict(name='User %s' % login, login=login, email=login, password=password,
                    **values)
        uid = self.call('res.users', 'create', vals)
        return {'id': uid, 'login': login, 'password': password}


def totp_code(secret, counter=None):
    """RFC 6238 (SHA-1, 30 s, 6 digits), as authenticator apps compute it, at
    time step ``counter`` (default: now)."""
    counter = int(time.time() // 30) if counter is None else counter
    digest = hmac.new(base64.b32decode(secret), struct.pack('>Q', counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return '%06d' % ((struct.unpack('>I', digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1000000)


def enable_totp(user):
    """Two-factor authentication for ``user``, enabled as the user does it in
    Preferences: an identity check, auth_totp's wizard, a code of its new
    secret. Returns the secret. Skips where auth_totp is not installed (before
    14.0). The code it spends is the previous time step's, so that a login may
    use the current step and the next one (a code opens one login only)."""
    if SERIES < 14:
        pytest.skip('no auth_totp before Odoo 14.0')
    me = Admin(user['login'], user['password'])
    try:
        action = me.call('res.users', 'action_totp_enable_wizard', [me.uid])
    except RuntimeError as e:
        if 'action_totp_enable_wizard' in str(e) or 'has no attribute' in str(e):
            pytest.skip('auth_totp is not installed on Odoo %s: %s' % (SERIES, e))
        raise
    if action.get('res_model') == 'res.users.identitycheck':  # the password again
        check = action['res_id']
        me.call('res.users.identitycheck', 'write', [check], {'password': user['password']})  # 14.0-18.0
        action = me.call('res.users.identitycheck', 'run_check', [check],
                         context={'password': user['password']})  # 19.0
    assert action.get('res_model') == 'auth_totp.wizard', action
    wizard = action['res_id']
    secret = me.call('auth_totp.wizard', 'read', [wizard], ['secret'])[0]['secret'].replace(' ', '').upper()
    code = totp_code(secret, int(time.time() // 30) - 1)
    if 'code' in me.call('auth_totp.wizard', 'fields_get', [], attributes=['type']):  # 14.0-18.0
        me.call('auth_totp.wizard', 'write', [wizard], {'code': code})
    me.call('auth_totp.wizard', 'enable', [wizard], context={'code': code})  # 19.0 reads the context
    return secret


@pytest.fixture(scope='session')
def admin():
    admin = Admin()
    # Every test logs in from 127.0.0.1: keep the per-address limit out of the
    # way except where a test sets it on purpose.
    admin.set_param('jwt_provider.ip_max_failures', '100000')
    admin.set_param('jwt_provider.login_max_failures', '5')
    admin.set_param('jwt_provider.login_lockout', '300')
    return admin


@pytest.fixture
def user(admin):
    return admin.new_user()


def login(user, url=URL):
    answer = requests.post(url + '/api/login', data={'email': user['login'], 'password': user['password']},
                           timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    return answer.json()['data']


def bearer(token):
    return {'Authorization': 'Bearer %s' % token}


@pytest.fixture
def tokens(user):
    return login(user)


FIGURES = os.path.join(os.path.dirname(os.environ.get('JWT_FUZZ_REPORT') or '.'), 'figures.txt')


def report(line):
    """A measured figure for the run's summary (dev/run_tests.py prints them); never asserted."""
    with open(FIGURES, 'a') as f:
        f.write(line + '\n')


@contextlib.contextmanager
def expected_error(pattern):
    """The server may log an ERROR matching ``pattern`` while the block runs
    (a documented answer whose cause the administrator must see, a 503 say):
    dev/run_tests.py excuses that one, then, and nothing else."""
    start = time.time()
    try:
        yield
    finally:
        path = os.environ.get('JWT_TEST_FAULT_WINDOWS')
        if path:
            with open(path, 'a') as f:
                f.write('%.3f %.3f %s\n' % (start, time.time(), pattern))


def assert_envelope(answer, status, success=None):
    assert answer.status_code == status, answer.text
    assert answer.headers['Content-Type'].startswith('application/json')
    body = answer.json()
    assert set(body) == {'data', 'success', 'message'}
    if success is not None:
        assert body['success'] is success
    assert 'Traceback' not in answer.text
    return body


# The long, timing-driven modules (generated fuzz slice, bursts, a PostgreSQL
# restart, the Node/Python clients, the interoperability tests with jose and
# OCA's auth_jwt) exercise the HTTP adapters, of which there are two
# (11.0-15.0, 16.0-19.0). `make test-all` names in JWT_TEST_LIGHT_SERIES the
# series between each era's first and last, where they are skipped to keep CI
# within its time; `make test` on any one series runs everything. Schemathesis'
# fixed-seed slice (about 20 s) runs on every series.
HEAVY_MODULES = ('test_concurrency', 'test_faults', 'test_fuzz', 'test_clients', 'test_interop')
LIGHT_SERIES = os.environ.get('JWT_TEST_LIGHT_SERIES', '').split()


def pytest_collection_modifyitems(config, items):
    if os.environ.get('JWT_TEST_SERIES', '11.0') not in LIGHT_SERIES:
        return
    skip = pytest.mark.skip(reason='heavy module: test-all runs it on the first and last series of each '
                                   'HTTP era (JWT_TEST_LIGHT_SERIES)')
    for item in items:
        if item.module.__name__.rsplit('.', 1)[-1] in HEAVY_MODULES:
            item.add_marker(skip)


def settings(admin, **values):
    """A settings record, as the page creates one when it opens."""
    return admin.call('res.config.settings', 'create', values)


def rotate(admin, algorithm=None):
    """The *Rotate key* button of the settings page."""
    values = {'jwt_algorithm': algorithm} if algorithm else {}
    admin.call('res.config.settings', 'action_jwt_generate_key', [settings(admin, **values)])
