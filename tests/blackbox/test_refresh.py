"""POST /api/refresh: rotation, reuse detection, type confusion."""
import requests

from conftest import TIMEOUT, URL, assert_envelope, bearer


def refresh(token, **kw):
    return requests.post(URL + '/api/refresh', data={'refresh_token': token}, timeout=TIMEOUT, **kw)


def me(token):
    return requests.get(URL + '/api/me', headers=bearer(token), timeout=TIMEOUT)


def test_refresh_rotates(user, tokens):
    body = assert_envelope(refresh(tokens['refresh_token']), 200, True)
    new = body['data']
    assert new['user']['id'] == user['id']
    assert new['token'] != tokens['token'] and new['refresh_token'] != tokens['refresh_token']
    assert_envelope(me(new['token']), 200)


def test_reuse_revokes_the_family(admin, tokens):
    # A negative window: a spent token presented again is reuse at once, in the
    # same second too (no waiting for a zero window to pass).
    admin.set_param('jwt_provider.refresh_grace', '-1')
    try:
        new = refresh(tokens['refresh_token']).json()['data']
        assert_envelope(refresh(tokens['refresh_token']), 498, False)  # the spent one, again
    finally:
        admin.set_param('jwt_provider.refresh_grace', '30')
    assert_envelope(me(new['token']), 498)
    assert_envelope(refresh(new['refresh_token']), 498)


def test_access_token_cannot_refresh(tokens):
    assert_envelope(refresh(tokens['token']), 498, False)


def test_refresh_json_body(tokens):
    answer = requests.post(URL + '/api/refresh', json={'refresh_token': tokens['refresh_token']}, timeout=TIMEOUT)
    assert_envelope(answer, 200, True)


def test_refresh_garbage():
    for value in ('x', 'a.b.c', 'x' * 20000):
        assert_envelope(refresh(value), 498, False)
    # No refresh token at all: a malformed request (400), as the OpenAPI document's `required` says.
    for answer in (refresh(''), requests.post(URL + '/api/refresh', timeout=TIMEOUT),
                   requests.post(URL + '/api/refresh', json={}, timeout=TIMEOUT)):
        body = assert_envelope(answer, 400, False)
        assert body['message'] == 'refresh_token is required'
