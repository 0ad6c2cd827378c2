"""The example clients of clients/: Python (here) and JavaScript (Node's test
runner, started from here), against the live server."""
import os
import re
import shutil
import subprocess
import sys
import threading
import uuid

import pytest
import requests

from conftest import SERIES, TIMEOUT, URL, bearer, enable_totp, rotate, totp_code

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'clients', 'python'))

from jwt_provider_client import ApiError, JwtProviderClient  # noqa: E402

JS_TEST = os.path.join(ROOT, 'clients', 'js', 'jwt_provider_client.test.js')


def raw_me(token):
    return requests.get(URL + '/api/me', headers=bearer(token), timeout=TIMEOUT).status_code


def tampered(token):
    return token[:-4] + ('AAAA' if not token.endswith('AAAA') else 'BBBB')


def test_login_me_logout(user):
    saved = []
    client = JwtProviderClient(URL, on_tokens=saved.append)
    tokens = client.login(user['login'], user['password'])
    assert tokens['user']['id'] == user['id'] and client.logged_in
    me = client.me()
    assert me['id'] == user['id'] and me['email'] == user['login']
    client.logout()
    assert client.tokens is None and saved == [tokens, None]
    assert raw_me(tokens['token']) == 498


def test_scoped_login(user):
    client = JwtProviderClient(URL)
    client.login(user['login'], user['password'], scope='sale.read')
    with pytest.raises(ApiError) as refused:  # examples/jwt_provider_example: requires partner.read
        client.request('GET', '/example/jwt/partners/count')
    assert refused.value.status == 403
    client.login(user['login'], user['password'], scope='partner.read')
    assert isinstance(client.request('GET', '/example/jwt/partners/count')['count'], int)


def test_refused_token_is_refreshed_and_the_call_retried(user):
    client = JwtProviderClient(URL)
    first = client.login(user['login'], user['password'])
    client.tokens = dict(first, token=tampered(first['token']))  # refused, as an expired token would be
    assert client.me()['id'] == user['id']
    assert client.tokens['token'] != first['token']
    assert client.tokens['refresh_token'] != first['refresh_token']
    assert raw_me(client.tokens['token']) == 200
    client.logout()


def test_threads_share_one_refresh(user):
    """Two refreshes with one refresh token would be a reuse, which ends the session."""
    client = JwtProviderClient(URL)
    first = client.login(user['login'], user['password'])
    client.tokens = dict(first, token=tampered(first['token']))
    results, errors = [], []

    def call():
        try:
            results.append(client.me()['id'])
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=call) for _i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and results == [user['id']] * 4
    assert raw_me(client.tokens['token']) == 200
    client.logout()


def test_logout_everywhere_ends_the_other_sessions(user):
    client, other = JwtProviderClient(URL), JwtProviderClient(URL)
    client.login(user['login'], user['password'])
    other.login(user['login'], user['password'])
    other.logout(everywhere=True)
    with pytest.raises(ApiError) as refused:
        client.me()  # 498, then the refresh token is refused too
    assert refused.value.status == 498
    assert not client.logged_in


def set_signup(admin, enabled):
    if hasattr(admin, 'set_signup'):  # 12.0+ store it as a scope
        admin.set_signup(enabled)
    else:
        admin.set_param('auth_signup.allow_uninvited', 'True' if enabled else 'False')


def test_register(admin):
    email = 'client-%s@example.com' % uuid.uuid4().hex[:12]
    client = JwtProviderClient(URL)
    set_signup(admin, False)
    with pytest.raises(ApiError) as disabled:
        client.register(email, 'a fine password', 'Client')
    assert disabled.value.status == 501
    set_signup(admin, True)
    try:
        tokens = client.register(email, 'a fine password', 'Client')
    finally:
        set_signup(admin, False)
    assert tokens['user']['login'] == email and client.me()['email'] == email
    client.logout()


def test_errors(admin, user):
    client = JwtProviderClient(URL)
    with pytest.raises(ApiError) as wrong:
        client.login(user['login'], 'wrong')
    assert (wrong.value.status, wrong.value.message) == (400, 'Incorrect login')
    for _i in range(5):  # conftest's per-login limit
        with pytest.raises(ApiError):
            client.login(user['login'], 'wrong')
    assert wrong.value.retry_after is None
    with pytest.raises(ApiError) as throttled:
        client.login(user['login'], user['password'])
    assert throttled.value.status == 429 and throttled.value.retry_after > 0
    with pytest.raises(ApiError) as no_token:
        client.me()
    assert no_token.value.status == 498


def test_two_factor_login_asks_for_the_code(admin):
    """A user with a real TOTP secret (enabled as in Preferences): the client
    asks its callback for the code and sends it with the ticket."""
    user = admin.new_user()
    secret = enable_totp(user)
    asked = []

    def on_totp_required(challenge):
        asked.append(challenge)
        return totp_code(secret)  # this time step's: the set-up spent the previous one

    client = JwtProviderClient(URL, on_totp_required=on_totp_required)
    tokens = client.login(user['login'], user['password'])
    assert tokens['user']['id'] == user['id'] and client.logged_in
    assert len(asked) == 1 and set(asked[0]) == {'ticket', 'expires_in'} and asked[0]['expires_in'] > 0
    assert client.me()['id'] == user['id']
    with pytest.raises(ApiError) as no_callback:
        JwtProviderClient(URL).login(user['login'], user['password'])
    assert no_callback.value.status == 401 and no_callback.value.data['totp_required'] is True
    assert no_callback.value.data['ticket'] and 'token' not in no_callback.value.data
    client.logout()


def _node():
    node = shutil.which('node')
    if not node:
        return None, 'node is not installed (the JavaScript client needs Node 18+)'
    version = subprocess.run([node, '--version'], stdout=subprocess.PIPE, universal_newlines=True).stdout.strip()
    major = int(re.match(r'v(\d+)', version).group(1)) if re.match(r'v(\d+)', version) else 0
    if major < 18:
        return None, 'node %s is too old (the JavaScript client needs fetch and node:test, Node 18+)' % version
    return node, None


def test_javascript_client(admin):
    node, reason = _node()
    if node is None:
        pytest.skip(reason)
    user = admin.new_user()
    env = dict(os.environ, JWT_TEST_URL=URL, JWT_TEST_LOGIN=user['login'], JWT_TEST_PASSWORD=user['password'])
    two_factor = 2  # the two-factor tests, which need auth_totp (14.0+)
    if SERIES >= 14:
        totp_user = admin.new_user()
        env.update(JWT_TEST_TOTP_LOGIN=totp_user['login'], JWT_TEST_TOTP_PASSWORD=totp_user['password'],
                   JWT_TEST_TOTP_SECRET=enable_totp(totp_user))
        two_factor = 0
    # Tokens a service can verify offline (verify()): the server signs with RS256 meanwhile.
    rotate(admin, 'RS256')
    env.update(JWT_TEST_OFFLINE='1')
    try:
        run = subprocess.run([node, '--test', JS_TEST], cwd=os.path.dirname(JS_TEST), env=env, timeout=300,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    finally:
        rotate(admin, 'HS256')  # as the other modules expect
    output = run.stdout
    assert run.returncode == 0, output[-6000:]
    counts = dict(re.findall(r'^# (pass|fail|skipped) (\d+)$', output, re.M))
    assert int(counts.get('pass', 0)) >= 11 - two_factor and counts.get('fail') == '0', output[-3000:]
    assert counts.get('skipped') == str(two_factor), 'live tests were skipped:\n' + output[-3000:]
