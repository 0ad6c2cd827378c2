"""OAuth 2.0 beside the API: /api/oauth/token (RFC 6749 6), /api/oauth/revoke
(RFC 7009), /api/oauth/introspect (RFC 7662), registered clients, scopes
(RFC 6749 3.3, RFC 9068) and bearer challenges (RFC 6750 3)."""
import base64
import time
import uuid

import jwt
import pytest
import requests

from conftest import TIMEOUT, URL, assert_envelope, bearer

TOKEN_URL = URL + '/api/oauth/token'
SCOPED_ROUTE = URL + '/example/jwt/partners/count'  # jwt_scopes=['partner.read']


def login(user, scope=None):
    data = {'email': user['login'], 'password': user['password']}
    if scope is not None:
        data['scope'] = scope
    answer = requests.post(URL + '/api/login', data=data, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    return answer.json()['data']


def claims(token):
    return jwt.decode(token, options={'verify_signature': False})


def assert_oauth_error(answer, status, error):
    assert answer.status_code == status, answer.text
    assert answer.headers['Content-Type'].startswith('application/json')
    assert answer.headers['Cache-Control'] == 'no-store'
    assert answer.json()['error'] == error, answer.text
    return answer.json()


@pytest.fixture(scope='module')
def client(admin):
    client_id = admin.call('jwt_provider.client', 'create', {'name': 'RS %s' % uuid.uuid4().hex[:6]})
    action = admin.call('jwt_provider.client', 'action_generate_secret', [client_id])
    return {'id': client_id, 'client_id': action['context']['default_client_id'],
            'secret': action['context']['default_secret']}


def basic(client, secret=None):
    raw = '%s:%s' % (client['client_id'], client['secret'] if secret is None else secret)
    return {'Authorization': 'Basic ' + base64.b64encode(raw.encode()).decode()}


# -- bearer challenges (RFC 6750 3) ------------------------------------------
def test_bearer_challenges(tokens):
    for path in ('/api/me', '/example/jwt/whoami'):
        answer = requests.get(URL + path, timeout=TIMEOUT)
        assert_envelope(answer, 498, False)
        assert answer.headers['WWW-Authenticate'] == 'Bearer realm="api"'  # no token: no error code
        answer = requests.get(URL + path, headers={'Authorization': 'Bearer x.y.z'}, timeout=TIMEOUT)
        assert_envelope(answer, 498, False)
        assert answer.headers['WWW-Authenticate'] == 'Bearer realm="api", error="invalid_token"'
        answer = requests.get(URL + path, headers=bearer(tokens['token']), timeout=TIMEOUT)
        assert answer.status_code == 200 and 'WWW-Authenticate' not in answer.headers


# -- scopes ------------------------------------------------------------------
def test_scope_required_by_route(user):
    # Without scope: today's full rights.
    assert_envelope(requests.get(SCOPED_ROUTE, headers=bearer(login(user)['token']), timeout=TIMEOUT), 200, True)
    granted = login(user, 'partner.read other')
    assert set(claims(granted['token'])['scope'].split()) == {'partner.read', 'other'}
    assert_envelope(requests.get(SCOPED_ROUTE, headers=bearer(granted['token']), timeout=TIMEOUT), 200, True)
    lacking = login(user, 'sale.read')
    answer = requests.get(SCOPED_ROUTE, headers=bearer(lacking['token']), timeout=TIMEOUT)
    body = assert_envelope(answer, 403, False)
    assert body['message'] == 'Insufficient scope'
    assert answer.headers['WWW-Authenticate'] == \
        'Bearer realm="api", error="insufficient_scope", scope="partner.read"'
    # Routes without jwt_scopes stay open to a scoped token.
    assert_envelope(requests.get(URL + '/api/me', headers=bearer(lacking['token']), timeout=TIMEOUT), 200, True)


def test_malformed_scope_refused(user):
    for scope in ('a  b', 'quote"d', 'x' * 2000):
        answer = requests.post(URL + '/api/login', data={'email': user['login'], 'password': user['password'],
                                                         'scope': scope}, timeout=TIMEOUT)
        assert assert_envelope(answer, 400, False)['message'] == 'Invalid scope'


# -- /api/oauth/token ----------------------------------------------------------
def test_token_refresh_grant(user):
    pair = login(user, 'partner.read sale.read')
    answer = requests.post(TOKEN_URL, data={'grant_type': 'refresh_token',
                                            'refresh_token': pair['refresh_token']}, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    assert answer.headers['Cache-Control'] == 'no-store'
    body = answer.json()
    assert set(body) == {'access_token', 'token_type', 'expires_in', 'refresh_token'}
    assert body['token_type'] == 'Bearer' and isinstance(body['expires_in'], int)
    assert set(claims(body['access_token'])['scope'].split()) == {'partner.read', 'sale.read'}
    assert_envelope(requests.get(SCOPED_ROUTE, headers=bearer(body['access_token']), timeout=TIMEOUT), 200, True)
    # Narrowed: the new token loses partner.read.
    narrowed = requests.post(TOKEN_URL, data={'grant_type': 'refresh_token', 'scope': 'sale.read',
                                              'refresh_token': body['refresh_token']}, timeout=TIMEOUT).json()
    assert narrowed['scope'] == 'sale.read'
    assert_envelope(requests.get(SCOPED_ROUTE, headers=bearer(narrowed['access_token']), timeout=TIMEOUT), 403)
    # Widening back is refused, and does not spend the refresh token.
    assert_oauth_error(requests.post(TOKEN_URL, data={'grant_type': 'refresh_token', 'scope': 'sale.read partner.read',
                                                      'refresh_token': narrowed['refresh_token']},
                                     timeout=TIMEOUT), 400, 'invalid_scope')
    answer = requests.post(TOKEN_URL, json={'grant_type': 'refresh_token',
                                            'refresh_token': narrowed['refresh_token']}, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text


def test_token_errors(tokens):
    assert_oauth_error(requests.post(TOKEN_URL, data={'grant_type': 'refresh_token', 'refresh_token': 'x'},
                                     timeout=TIMEOUT), 400, 'invalid_grant')
    assert_oauth_error(requests.post(TOKEN_URL, data={'grant_type': 'refresh_token',
                                                      'refresh_token': tokens['token']},  # an access token
                                     timeout=TIMEOUT), 400, 'invalid_grant')
    for grant in ('password', 'client_credentials', 'authorization_code'):
        assert_oauth_error(requests.post(TOKEN_URL, data={'grant_type': grant, 'username': 'admin',
                                                          'password': 'admin'}, timeout=TIMEOUT),
                           400, 'unsupported_grant_type')
    assert_oauth_error(requests.post(TOKEN_URL, data={}, timeout=TIMEOUT), 400, 'invalid_request')
    assert_oauth_error(requests.post(TOKEN_URL, data={'grant_type': 'refresh_token'}, timeout=TIMEOUT),
                       400, 'invalid_request')
    assert_oauth_error(requests.post(TOKEN_URL + '?refresh_token=x', data={'grant_type': 'refresh_token'},
                                     timeout=TIMEOUT), 400, 'invalid_request')
    assert_envelope(requests.get(TOKEN_URL, timeout=TIMEOUT), 405, False)


def test_token_reuse_detection_applies(admin, user):
    pair = login(user)
    admin.set_param('jwt_provider.refresh_grace', '0')
    try:
        first = requests.post(TOKEN_URL, data={'grant_type': 'refresh_token', 'refresh_token': pair['refresh_token']},
                              timeout=TIMEOUT).json()
        time.sleep(1.1)  # out of the (zero) grace window, as test_refresh.py
        # Replayed: refused, and the whole login with it.
        assert_oauth_error(requests.post(TOKEN_URL, data={'grant_type': 'refresh_token',
                                                          'refresh_token': pair['refresh_token']},
                                         timeout=TIMEOUT), 400, 'invalid_grant')
    finally:
        admin.set_param('jwt_provider.refresh_grace', '30')
    assert_envelope(requests.get(URL + '/api/me', headers=bearer(first['access_token']), timeout=TIMEOUT), 498)


def test_token_with_client_binds_the_pair(client, user):
    pair = login(user)
    answer = requests.post(TOKEN_URL, headers=basic(client),
                           data={'grant_type': 'refresh_token', 'refresh_token': pair['refresh_token']},
                           timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    bound = answer.json()
    assert claims(bound['access_token'])['client_id'] == client['client_id']
    # Only that client refreshes it now.
    assert_oauth_error(requests.post(TOKEN_URL, data={'grant_type': 'refresh_token', 'client_id': client['client_id'],
                                                      'refresh_token': bound['refresh_token']},
                                     timeout=TIMEOUT), 400, 'invalid_grant')
    answer = requests.post(TOKEN_URL, data={'grant_type': 'refresh_token', 'client_id': client['client_id'],
                                            'client_secret': client['secret'],
                                            'refresh_token': bound['refresh_token']}, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text


# -- registered clients: introspection and revocation -------------------------
def test_client_authentication(client, tokens):
    url = URL + '/api/oauth/introspect'
    for headers, data in (({}, {'token': tokens['token']}),
                          (basic(client, 'wrong'), {'token': tokens['token']}),
                          ({}, {'token': tokens['token'], 'client_id': client['client_id'], 'client_secret': 'no'}),
                          ({'Authorization': 'Basic !!!'}, {'token': tokens['token']})):
        answer = requests.post(url, headers=headers, data=data, timeout=TIMEOUT)
        assert_oauth_error(answer, 401, 'invalid_client')
        assert answer.headers['WWW-Authenticate'] == 'Basic realm="api"'
    both = dict(basic(client))
    answer = requests.post(url, headers=both, data={'token': tokens['token'], 'client_id': client['client_id'],
                                                    'client_secret': client['secret']}, timeout=TIMEOUT)
    assert_oauth_error(answer, 400, 'invalid_request')  # one method only (RFC 6749 2.3)


def test_introspect(client, user):
    pair = login(user, 'partner.read')
    url = URL + '/api/oauth/introspect'
    answer = requests.post(url, headers=basic(client), data={'token': pair['token']}, timeout=TIMEOUT)
    assert answer.status_code == 200 and answer.headers['Cache-Control'] == 'no-store'
    body = answer.json()
    assert body['active'] is True
    assert body['sub'] == str(user['id']) and body['username'] == user['login']
    assert body['scope'] == 'partner.read' and body['token_type'] == 'Bearer'
    assert {'exp', 'iat', 'iss', 'aud'} <= set(body)
    # client_secret_post authenticates too.
    answer = requests.post(url, data={'token': pair['refresh_token'], 'token_type_hint': 'refresh_token',
                                      'client_id': client['client_id'], 'client_secret': client['secret']},
                           timeout=TIMEOUT)
    assert answer.json()['active'] is True and answer.json()['token_type'] == 'refresh_token'
    for token in ('x', 'a.b.c', pair['token'] + 'x'):
        answer = requests.post(url, headers=basic(client), data={'token': token}, timeout=TIMEOUT)
        assert answer.status_code == 200 and answer.json() == {'active': False}
    assert_oauth_error(requests.post(url, headers=basic(client), data={}, timeout=TIMEOUT), 400, 'invalid_request')


def test_revoke(client, user):
    pair = login(user)
    url = URL + '/api/oauth/revoke'
    for token in ('unknown', pair['refresh_token']):  # 200 for an unknown token too (RFC 7009 2.2)
        answer = requests.post(url, headers=basic(client), data={'token': token,
                                                                 'token_type_hint': 'refresh_token'},
                               timeout=TIMEOUT)
        assert answer.status_code == 200, answer.text
    assert_envelope(requests.get(URL + '/api/me', headers=bearer(pair['token']), timeout=TIMEOUT), 498)
    introspected = requests.post(URL + '/api/oauth/introspect', headers=basic(client),
                                 data={'token': pair['token']}, timeout=TIMEOUT).json()
    assert introspected == {'active': False}
    assert_oauth_error(requests.post(url, data={'token': 'x'}, timeout=TIMEOUT), 401, 'invalid_client')


def test_bad_client_secrets_are_throttled(admin, client):
    url = URL + '/api/oauth/introspect'
    admin.set_param('jwt_provider.login_max_failures', '2')
    try:
        statuses = [requests.post(url, headers=basic(client, 'wrong-%d' % i), data={'token': 'x'},
                                  timeout=TIMEOUT).status_code for i in range(4)]
        assert statuses[:2] == [401, 401] and statuses[-1] == 429, statuses
        answer = requests.post(url, headers=basic(client), data={'token': 'x'}, timeout=TIMEOUT)
        assert_oauth_error(answer, 429, 'invalid_client')  # the right secret waits too
        assert int(answer.headers['Retry-After']) > 0
    finally:
        admin.set_param('jwt_provider.login_max_failures', '5')
        ids = admin.call('jwt_provider.login_attempt', 'search', [])
        admin.call('jwt_provider.login_attempt', 'unlink', ids)
