"""POST /api/login."""
import requests

from conftest import TIMEOUT, URL, assert_envelope, bearer, expected_error


def post(data=None, **kw):
    return requests.post(URL + '/api/login', data=data, timeout=TIMEOUT, **kw)


def test_login_returns_user_and_tokens(user):
    body = assert_envelope(post({'email': user['login'], 'password': user['password']}), 200, True)
    assert body['message'] is None
    data = body['data']
    assert data['user']['id'] == user['id']
    assert data['user']['login'] == user['login']
    assert data['user']['name'] == 'User %s' % user['login']
    assert isinstance(data['user']['company_id'], list) and len(data['user']['company_id']) == 2
    assert set(data['user']) == {'id', 'login', 'name', 'company_id'}
    assert data['token'].count('.') == 2 and data['refresh_token'].count('.') == 2
    assert data['expires_in'] > 0


def test_admin_admin_works_out_of_the_box(admin):
    body = assert_envelope(post({'email': 'admin', 'password': 'admin'}), 200, True)
    me = requests.get(URL + '/api/me', headers=bearer(body['data']['token']), timeout=TIMEOUT)
    assert me.json()['data']['id'] == admin.uid


def test_login_accepts_json_body(user):
    body = assert_envelope(post(json={'email': user['login'], 'password': user['password']}), 200, True)
    assert body['data']['user']['id'] == user['id']


def test_login_ignores_email_case(user):
    body = assert_envelope(post({'email': '  ' + user['login'].upper(), 'password': user['password']}), 200)
    assert body['data']['user']['id'] == user['id']


def test_wrong_password(user):
    body = assert_envelope(post({'email': user['login'], 'password': 'nope'}), 400, False)
    assert body['message'] == 'Incorrect login'
    assert body['data'] is None


def test_unknown_email_same_answer(user):
    wrong = post({'email': user['login'], 'password': 'nope'})
    unknown = post({'email': 'nobody-%s' % user['login'], 'password': 'nope'})
    assert unknown.status_code == wrong.status_code == 400
    assert unknown.json() == wrong.json()


def test_archived_user_same_answer(admin, user):
    admin.call('res.users', 'write', [user['id']], {'active': False})
    body = assert_envelope(post({'email': user['login'], 'password': user['password']}), 400, False)
    assert body['message'] == 'Incorrect login'


def test_missing_fields():
    for data in ({}, {'email': 'admin'}, {'password': 'admin'}, {'email': '', 'password': ''}):
        assert_envelope(post(data), 400, False)


def test_malformed_json_bodies():
    for raw in ('{not json', '[1, 2]', '"a string"', '[' * 50000, '\xff'):
        answer = requests.post(URL + '/api/login', data=raw.encode('latin-1', 'replace'),
                               headers={'Content-Type': 'application/json'}, timeout=TIMEOUT)
        body = assert_envelope(answer, 400, False)
        assert 'JSON' in body['message']


def test_json_values_of_wrong_type():
    answer = post(json={'email': ['admin'], 'password': {'a': 1}})
    assert_envelope(answer, 400, False)


def test_get_is_refused_in_the_envelope():
    body = assert_envelope(requests.get(URL + '/api/login', timeout=TIMEOUT), 405, False)
    assert 'POST' in body['message']


def test_password_not_logged(user):
    import os
    secret = 'a-secret-password-%s' % user['id']
    post({'email': user['login'], 'password': secret})
    requests.post(URL + '/api/login', data='{"email": "x", "password": "%s"' % secret,
                  headers={'Content-Type': 'application/json'}, timeout=TIMEOUT)
    with open(os.environ['JWT_TEST_SERVER_LOG'], errors='replace') as f:
        log = f.read()
    assert user['login'] in log or 'API login failed' in log  # the log is the server's
    assert secret not in log


def test_tokens_not_logged(user):
    import os
    tokens = post({'email': user['login'], 'password': user['password']}).json()['data']
    requests.get(URL + '/api/me', headers=bearer(tokens['token']), timeout=TIMEOUT)
    requests.get(URL + '/api/me', headers=bearer(tokens['token'] + 'x'), timeout=TIMEOUT)
    with open(os.environ['JWT_TEST_SERVER_LOG'], errors='replace') as f:
        log = f.read()
    assert 'GET /api/me' in log
    for secret in (tokens['token'], tokens['refresh_token'], tokens['token'].split('.')[2]):
        assert secret not in log


def test_field_named_self_is_ignored(user):
    form = post({'self': 'x', 'email': user['login'], 'password': user['password']})
    assert_envelope(form, 200, True)
    body = post(json={'self': 1, 'email': user['login'], 'password': user['password']})
    assert_envelope(body, 200, True)


def test_an_unusable_signing_key_answers_503(admin, user, tokens):
    """No token is issued with a key that cannot sign (RS256 without its private
    key): 503 in the envelope, and an ERROR for the administrator. Tokens already
    issued keep working: their own key, in the key store, verifies them."""
    algorithm = admin.get_param('jwt_provider.algorithm')
    with expected_error(r'JWT service unavailable'):
        admin.set_param('jwt_provider.algorithm', 'RS256')  # no RSA key is stored
        try:
            login = post({'email': user['login'], 'password': user['password']})
            me = requests.get(URL + '/api/me', headers=bearer(tokens['token']), timeout=TIMEOUT)
        finally:
            admin.set_param('jwt_provider.algorithm', algorithm or False)
    body = assert_envelope(login, 503, success=False)
    assert body['message'] == 'The token service is not configured' and not body['data']
    assert_envelope(me, 200)
    # The key back, the same token is still good: nothing was revoked meanwhile.
    assert_envelope(requests.get(URL + '/api/me', headers=bearer(tokens['token']), timeout=TIMEOUT), 200)
