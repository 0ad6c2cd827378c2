"""/api/me and /api/logout, and every way to present a bad token."""
import base64
import json

import pytest
import requests

from conftest import SERIES, TIMEOUT, URL, WORKERS_URL, assert_envelope, bearer, login


def me(headers=None, method='GET'):
    return requests.request(method, URL + '/api/me', headers=headers or {}, timeout=TIMEOUT)


def test_me(user, tokens):
    for method in ('GET', 'POST', 'PUT', 'DELETE'):
        body = assert_envelope(me(bearer(tokens['token']), method), 200, True)
        data = body['data']
        assert data['id'] == user['id']
        assert data['email'] == user['login']
        assert data['name'] == 'User %s' % user['login']
        assert data['avatar'].endswith('/web/avatar/%d' % user['id'])
        assert isinstance(data['company_id'], list)
        assert set(data) == {'id', 'name', 'email', 'company_id', 'avatar'}


def profile_names(token, calls=4):
    """The names /api/me answers on both servers (several calls: --workers 2 has two processes)."""
    return {assert_envelope(requests.get(url + '/api/me', headers=bearer(token), timeout=TIMEOUT), 200,
                            True)['data']['name'] for url in (URL, WORKERS_URL) for _i in range(calls)}


def test_me_shows_a_rename_at_once(admin, user, tokens):
    """/api/me is read fresh on every call, on every worker: a name the user
    just gave themselves (an auth='jwt' route), or an administrator gave their
    contact, shows in the next answer; nothing keeps the old profile."""
    if not admin.call('ir.module.module', 'search_count', [('name', '=', 'jwt_provider_example'),
                                                           ('state', '=', 'installed')]):
        pytest.skip('the rename route is examples/jwt_provider_example, not installed here (the wheel test)')
    assert profile_names(tokens['token']) == {'User %s' % user['login']}
    answer = requests.post(WORKERS_URL + '/example/jwt/rename', headers=bearer(tokens['token']),
                           data={'name': 'Ada Lovelace'}, timeout=TIMEOUT)
    assert assert_envelope(answer, 200, True)['data']['name'] == 'Ada Lovelace'
    assert profile_names(tokens['token']) == {'Ada Lovelace'}
    partner = admin.call('res.users', 'read', [user['id']], ['partner_id'])[0]['partner_id'][0]
    admin.call('res.partner', 'write', [partner], {'name': 'Grace Hopper', 'email': 'grace@example.com'})
    assert profile_names(tokens['token']) == {'Grace Hopper'}
    data = assert_envelope(me(bearer(tokens['token'])), 200, True)['data']
    assert data['email'] == 'grace@example.com'


INVALID = {'data': None, 'success': False, 'message': 'Token invalid or expired'}


@pytest.mark.parametrize('header', [
    None, '', 'Bearer', 'Bearer ', 'Bearer  ', 'Basic YWRtaW46YWRtaW4=', 'Token abc',
    'Bearer a.b.c', 'Bearer not-a-token', 'Bearer ' + 'x' * 10000, 'Bearer a b',
    'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIyIn0.',
])
def test_bad_authorization_headers(header):
    headers = {} if header is None else {'Authorization': header}
    assert assert_envelope(me(headers), 498) == INVALID


def test_scheme_is_case_insensitive(tokens):
    assert_envelope(me({'Authorization': 'bearer ' + tokens['token']}), 200, True)


def b64(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b'=').decode()


def test_tampered_and_forged_tokens(tokens):
    header, payload, signature = tokens['token'].split('.')
    claims = json.loads(base64.urlsafe_b64decode(payload + '=' * (-len(payload) % 4)))
    claims['sub'] = '1'
    tampered = '.'.join([header, b64(json.dumps(claims).encode()), signature])
    assert assert_envelope(me(bearer(tampered)), 498) == INVALID
    for alg in ('none', 'NONE', 'None'):
        forged = '%s.%s.' % (b64(json.dumps({'alg': alg, 'typ': 'JWT'}).encode()), b64(json.dumps(claims).encode()))
        assert assert_envelope(me(bearer(forged)), 498) == INVALID
    nested = b64(('[' * 15000 + ']' * 15000).encode())  # deep, yet under the 64 KiB header line
    assert assert_envelope(me(bearer('%s.%s.%s' % (nested, payload, signature))), 498) == INVALID
    assert assert_envelope(me(bearer(tokens['token'][:-2])), 498) == INVALID


def test_refresh_token_is_refused_as_access_token(tokens):
    assert assert_envelope(me(bearer(tokens['refresh_token'])), 498) == INVALID


def test_logout_revokes(tokens):
    assert_envelope(me(bearer(tokens['token'])), 200)
    body = assert_envelope(requests.post(URL + '/api/logout', headers=bearer(tokens['token']), timeout=TIMEOUT),
                           200, True)
    assert body['data'] is None
    assert assert_envelope(me(bearer(tokens['token'])), 498) == INVALID
    # ...and its refresh token with it
    refresh = requests.post(URL + '/api/refresh', data={'refresh_token': tokens['refresh_token']}, timeout=TIMEOUT)
    assert_envelope(refresh, 498, False)
    # logging out twice: the token is already invalid
    assert_envelope(requests.get(URL + '/api/logout', headers=bearer(tokens['token']), timeout=TIMEOUT), 498)


def test_two_tokens_of_one_user_are_independent(user):
    first, second = login(user), login(user)
    assert first['token'] != second['token']
    requests.get(URL + '/api/logout', headers=bearer(first['token']), timeout=TIMEOUT)
    assert_envelope(me(bearer(first['token'])), 498)
    assert_envelope(me(bearer(second['token'])), 200)


def test_logout_all(user):
    first, second = login(user), login(user)
    assert_envelope(requests.post(URL + '/api/logout', data={'all': '1'}, headers=bearer(first['token']),
                                  timeout=TIMEOUT), 200)
    assert_envelope(me(bearer(first['token'])), 498)
    assert_envelope(me(bearer(second['token'])), 498)


def test_password_change_and_archive_end_tokens(admin, user):
    tokens = login(user)
    admin.call('res.users', 'write', [user['id']], {'password': 'another password'})
    assert_envelope(me(bearer(tokens['token'])), 498)
    user['password'] = 'another password'
    tokens = login(user)
    admin.call('res.users', 'write', [user['id']], {'active': False})
    assert_envelope(me(bearer(tokens['token'])), 498)


def test_avatar(user):
    answer = requests.get(URL + '/web/avatar/%d' % user['id'], timeout=TIMEOUT)
    assert answer.status_code == 200
    assert answer.headers['Content-Type'].startswith('image/')
    assert len(answer.content) > 0
    for missing_id in ('99999999', '9' * 30):
        missing = requests.get(URL + '/web/avatar/' + missing_id, timeout=TIMEOUT)
        assert missing.status_code == 200 and missing.content[:4] == b'\x89PNG'


PNG_1PX = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=='


def test_avatar_of_an_archived_user_is_not_served(admin, user):
    admin.call('res.users', 'write', [user['id']], {'image' if SERIES < 13 else 'image_1920': PNG_1PX})
    placeholder = requests.get(URL + '/web/avatar/99999999', timeout=TIMEOUT).content
    own = requests.get(URL + '/web/avatar/%d' % user['id'], timeout=TIMEOUT)
    assert own.status_code == 200 and own.content != placeholder  # guards the check below
    admin.call('res.users', 'write', [user['id']], {'active': False})
    archived = requests.get(URL + '/web/avatar/%d' % user['id'], timeout=TIMEOUT)
    assert archived.status_code == 200 and archived.content == placeholder


def test_responses_hold_no_secret(admin, tokens):
    secret = admin.get_param('jwt_provider.secret')
    assert secret and len(secret) >= 32
    for answer in (me(bearer(tokens['token'])), me({'Authorization': 'Bearer x'}),
                   requests.post(URL + '/api/login', data={'email': 'admin', 'password': 'admin'},
                                 timeout=TIMEOUT)):
        assert secret not in answer.text


def test_last_use_is_recorded(admin, user, tokens):
    assert_envelope(me(bearer(tokens['token'])), 200)
    rows = admin.call('jwt_provider.token', 'search_read', [('user_id', '=', user['id'])],
                      fields=['token_type', 'last_used'])
    used = {row['token_type']: row['last_used'] for row in rows}
    assert used['access'] and not used['refresh']
