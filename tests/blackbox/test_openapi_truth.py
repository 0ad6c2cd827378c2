"""What Schemathesis found the OpenAPI document promising and the server not
doing (issue #15), pinned on every series (tests/blackbox/test_schemathesis.py
itself is a heavy module, skipped on JWT_TEST_LIGHT_SERIES)."""
import requests

from conftest import TIMEOUT, URL, assert_envelope


def test_missing_fields_answer_400_and_present_bad_tokens_498():
    """What Schemathesis found on 11.0: a call without its required field answered 498."""
    cases = [('/api/refresh', {}, 'refresh_token is required'),
             ('/api/refresh', {'refresh_token': ''}, 'refresh_token is required'),
             ('/api/login/totp', {}, 'ticket is required'),
             ('/api/login/totp', {'ticket': 'x'}, 'code is required'),
             ('/api/login/totp', {'ticket': '', 'code': '123456'}, 'ticket is required')]
    for path, body, message in cases:
        for kw in ({'data': body}, {'json': body}):
            answer = requests.post(URL + path, timeout=TIMEOUT, **kw)
            assert assert_envelope(answer, 400, False)['message'] == message, (path, kw)
    assert_envelope(requests.post(URL + '/api/refresh', data={'refresh_token': 'x'}, timeout=TIMEOUT), 498, False)
    assert_envelope(requests.post(URL + '/api/login/totp', data={'ticket': 'x', 'code': '123456'},
                                  timeout=TIMEOUT), 498, False)


def test_ping_is_get_only():
    """TRACE /api/ping answered 200; the document lists GET only."""
    assert_envelope(requests.get(URL + '/api/ping', timeout=TIMEOUT), 200, True)
    assert requests.head(URL + '/api/ping', timeout=TIMEOUT).status_code == 200
    for method in ('TRACE', 'POST', 'PUT', 'DELETE'):
        answer = requests.request(method, URL + '/api/ping', timeout=TIMEOUT)
        assert answer.status_code == 405, (method, answer.text[:200])
        assert 'GET' in answer.headers.get('Allow', ''), method
    preflight = requests.options(URL + '/api/ping', timeout=TIMEOUT, headers={
        'Origin': 'https://app.example.com', 'Access-Control-Request-Method': 'GET'})
    assert preflight.status_code == 200 and preflight.headers['Access-Control-Allow-Origin'] == '*'


def test_avatar_paths():
    """An id that is not an integer: Odoo's 404 page, documented; a negative one: the placeholder."""
    assert requests.get(URL + '/web/avatar/abc', timeout=TIMEOUT).status_code == 404
    answer = requests.get(URL + '/web/avatar/-1', timeout=TIMEOUT)
    assert answer.status_code == 200 and answer.headers['Content-Type'] == 'image/png'
    assert requests.request('TRACE', URL + '/web/avatar/1', timeout=TIMEOUT).status_code == 405
