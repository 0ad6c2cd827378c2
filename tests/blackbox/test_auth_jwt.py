"""auth='jwt' routes, the helper pattern, statelessness and CORS."""
import os

import pytest
import requests

from conftest import DB, TIMEOUT, URL, assert_envelope, bearer, login

SESSIONS = os.environ.get('JWT_TEST_SESSIONS', '')


def session_files():
    if not os.path.isdir(SESSIONS):
        return set()
    return {os.path.join(d, f) for d, _dirs, files in os.walk(SESSIONS) for f in files}


@pytest.mark.parametrize('path', ['/example/jwt/whoami', '/example/helpers/whoami'])
def test_protected_route_runs_as_token_user(user, tokens, path):
    body = assert_envelope(requests.post(URL + path, headers=bearer(tokens['token']), data={'x': '1'},
                                         timeout=TIMEOUT), 200, True)
    assert body['data']['uid'] == user['id']
    assert body['data']['login'] == user['login']


@pytest.mark.parametrize('path', ['/example/jwt/whoami', '/example/helpers/whoami'])
def test_protected_route_refuses_missing_and_bad_tokens(path, tokens):
    for headers in ({}, {'Authorization': 'Bearer nope'}, bearer(tokens['refresh_token'])):
        body = assert_envelope(requests.get(URL + path, headers=headers, timeout=TIMEOUT), 498, False)
        assert body['message'] == 'Token invalid or expired'


def test_protected_route_refuses_revoked_token(user):
    tokens = login(user)
    requests.post(URL + '/api/logout', headers=bearer(tokens['token']), timeout=TIMEOUT)
    for path in ('/example/jwt/whoami', '/example/helpers/whoami'):
        assert_envelope(requests.get(URL + path, headers=bearer(tokens['token']), timeout=TIMEOUT), 498)


def test_helper_parse_request_sees_method_and_body(tokens):
    body = requests.put(URL + '/example/helpers/whoami?q=1', headers=bearer(tokens['token']),
                        data={'field': 'value'}, timeout=TIMEOUT).json()
    assert body['data']['method'] == 'PUT'
    assert body['data']['body'] == {'q': '1', 'field': 'value'}


def test_token_requests_are_stateless(tokens):
    before = session_files()
    for method, path in (('GET', '/api/me'), ('POST', '/example/jwt/whoami'), ('GET', '/example/helpers/whoami'),
                         ('GET', '/api/me?bad=1')):
        answer = requests.request(method, URL + path, headers=bearer(tokens['token']), timeout=TIMEOUT)
        assert answer.status_code == 200
        assert 'session_id' not in answer.headers.get('Set-Cookie', '')
        assert not answer.cookies
    for path in ('/api/me', '/example/jwt/whoami'):  # refusals too
        answer = requests.get(URL + path, headers={'Authorization': 'Bearer x'}, timeout=TIMEOUT)
        assert answer.status_code == 498 and not answer.cookies
    answer = requests.post(URL + '/api/login', data={'email': 'admin', 'password': 'admin'}, timeout=TIMEOUT)
    assert answer.status_code == 200 and not answer.cookies
    assert session_files() == before


def test_session_directory_is_the_servers():
    # Guards the test above: an ordinary Odoo login does create a session file and cookie
    # (16.0+ write a session file only once it holds something).
    before = session_files()
    answer = requests.post(URL + '/web/session/authenticate', json={
        'jsonrpc': '2.0', 'method': 'call',
        'params': {'db': DB, 'login': 'admin', 'password': 'admin'}}, timeout=TIMEOUT)
    assert 'session_id' in answer.cookies
    assert session_files() - before


@pytest.mark.parametrize('path', ['/api/me', '/api/logout', '/api/login', '/api/register', '/api/refresh',
                                  '/example/jwt/whoami'])
def test_cors_preflight(path):
    answer = requests.options(URL + path, headers={
        'Origin': 'https://app.example.com', 'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization, content-type'}, timeout=TIMEOUT)
    assert answer.status_code == 200
    assert answer.headers['Access-Control-Allow-Origin'] == '*'
    assert 'Authorization' in answer.headers['Access-Control-Allow-Headers']
    assert 'POST' in answer.headers['Access-Control-Allow-Methods']
    assert not answer.cookies


def test_cors_on_answers(tokens):
    for answer in (requests.get(URL + '/api/me', headers=bearer(tokens['token']), timeout=TIMEOUT),
                   requests.get(URL + '/api/me', timeout=TIMEOUT)):
        assert answer.headers['Access-Control-Allow-Origin'] == '*'


def test_other_helpers(tokens):
    for what, status in (('not-found', 404), ('forbidden', 403), ('server-error', 500)):
        body = assert_envelope(requests.get(URL + '/example/helpers/' + what, timeout=TIMEOUT), status, False)
        assert body['message']
    good = requests.get(URL + '/example/helpers/valid-email', params={'email': 'a@b.co'}, timeout=TIMEOUT).json()
    bad = requests.get(URL + '/example/helpers/valid-email', params={'email': 'a@b'}, timeout=TIMEOUT).json()
    assert good['data'] is True and bad['data'] is False
    minted = requests.get(URL + '/example/helpers/new-token', headers=bearer(tokens['token']),
                          timeout=TIMEOUT).json()['data']['token']
    assert minted != tokens['token']
    assert_envelope(requests.get(URL + '/api/me', headers=bearer(minted), timeout=TIMEOUT), 200)
    assert_envelope(requests.get(URL + '/example/helpers/new-token', timeout=TIMEOUT), 498)
