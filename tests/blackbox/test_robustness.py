"""Client mistakes never become a 500: every API path against a matrix of bad input.

dev/run_tests.py also fails the run on any ERROR the server logs meanwhile.
"""
import itertools
import json
import urllib.parse
import uuid

import pytest
import requests

from conftest import TIMEOUT, URL, assert_envelope

PATHS = ['/api/login', '/api/register', '/api/refresh', '/api/me', '/api/logout', '/api/ping',
         '/example/jwt/whoami', '/example/helpers/whoami', '/web/avatar/1']
# The emails are this run's own: each counts toward the login throttle, which
# must not refuse them with 429 when the module runs again within the lock-out.
RUN = uuid.uuid4().hex[:8]
BODIES = [
    {},
    {'data': {'email': '\x00' + RUN, 'password': '\udcff'.encode('utf-8', 'surrogatepass')}},
    {'data': {'email': 'a' * 100000 + RUN, 'password': 'b', 'name': 'c', 'refresh_token': 'x' * 100000}},
    {'data': b'{"email": ', 'headers': {'Content-Type': 'application/json'}},
    {'data': b'[[[[[[[[[[', 'headers': {'Content-Type': 'application/json'}},
    {'data': b'{"email": {"$ne": 1}, "password": [1], "all": {}, "name": null}',
     'headers': {'Content-Type': 'application/json'}},
    {'data': b'\xff\xfe\x00', 'headers': {'Content-Type': 'application/json; charset=utf-8'}},
    {'files': {'email': ('e.txt', b'x'), 'password': ('p.txt', b'y')}},
    {'data': 'email=%ZZ' + RUN + '&password=%', 'headers': {'Content-Type': 'application/x-www-form-urlencoded'}},
]
AUTH = [None, 'Bearer \u00e9\u00e9', 'Bearer a.b', 'bearer  ' + 'A' * 5000]


# The bodies that are not JSON a parser accepts (truncated, unbalanced, not UTF-8).
MALFORMED_JSON = {3, 4, 6}
# What each path answers to a request of the matrix whose body is well-formed:
# the methods its route declares (None: the route reads the method itself, or
# takes any), and the documented status. The tokens of AUTH are all invalid.
ANSWERS = {
    '/api/login': (None, 400),        # POST only; no valid email and password in any body
    '/api/register': (None, 501),     # POST only; sign-up is disabled in the test database
    '/api/refresh': (None, 400),      # POST only; no refresh_token (the one oversized one: 498)
    '/api/me': (None, 498),
    '/api/logout': (None, 498),
    '/example/jwt/whoami': (None, 498),
    '/example/helpers/whoami': (None, 498),
    '/api/ping': (('GET', 'HEAD'), 200),
    '/web/avatar/1': (('GET', 'HEAD'), 200),
}
POST_ONLY = ('/api/login', '/api/register', '/api/refresh')


def documented_status(path, method, body_index):
    """The status the contract gives this request: a route that declares its
    methods answers 405 to the others before it reads the body; a body that is
    not JSON answers 400 before the token is checked; the API's POST endpoints
    read the body first, then refuse another method with 405."""
    methods, status = ANSWERS[path]
    if methods is not None and method not in methods:
        return 405
    if body_index in MALFORMED_JSON:
        return 400
    if path in POST_ONLY and method != 'POST':
        return 405
    data = BODIES[body_index].get('data')
    if path == '/api/refresh' and isinstance(data, dict) and 'refresh_token' in data:
        return 498  # present, but far over the token size limit
    return status


@pytest.mark.usefixtures('admin')  # which lifts the per-address login limit: 36 wrong logins come from here
@pytest.mark.parametrize('path, method', list(itertools.product(PATHS, ['GET', 'POST', 'PUT', 'DELETE', 'HEAD'])))
def test_no_server_error(path, method):
    """Each request of the matrix gets its documented status, never a 500."""
    wrong = []
    for (index, body), auth in itertools.product(enumerate(BODIES), AUTH):
        kwargs = dict(body)
        headers = dict(kwargs.pop('headers', {}))
        if auth:
            headers['Authorization'] = auth.encode('utf-8').decode('latin-1')
        answer = requests.request(method, URL + path, headers=headers, timeout=TIMEOUT, **kwargs)
        assert 'Traceback' not in answer.text
        expected = documented_status(path, method, index)
        if answer.status_code != expected:
            wrong.append((index, auth and auth[:12], answer.status_code, expected, answer.text[:120]))
    assert not wrong, '%s %s: (body, auth, status, documented, answer) %s' % (path, method, wrong[:6])


@pytest.mark.parametrize('path', ['/api//me', '/api/%2fme', '/api//login/', '//api/me'])
def test_doubled_slashes_are_not_redirected(path):
    """Werkzeug redirects paths with doubled slashes (19.0's does): under /api/
    they are a JSON 404, as on every series, and a too large body still a 413."""
    answer = requests.get(URL + path, timeout=TIMEOUT, allow_redirects=False)
    if path.startswith('//'):  # outside /api/: Odoo's business, and Odoo's Werkzeug either
        # serves it as /api/me (leading slashes stripped, before 1.0) or redirects there.
        same = requests.get(URL + path[1:], timeout=TIMEOUT, allow_redirects=False)
        redirected = answer.status_code in (301, 308) and \
            urllib.parse.urlsplit(answer.headers.get('Location', '')).path == path[1:]
        assert redirected or (answer.status_code, answer.text) == (same.status_code, same.text), \
            (answer.status_code, answer.headers.get('Location'), answer.text[:200])
        return
    assert answer.status_code == 404, (answer.status_code, answer.text[:200])
    assert answer.json()['success'] is False
    big = requests.put(URL + path, data=b'x' * (2 << 20), timeout=TIMEOUT, allow_redirects=False)
    assert big.status_code == 413, (big.status_code, big.text[:200])


@pytest.mark.parametrize('csrf_token', [True, 1, None, [], {}])
def test_csrf_token_of_another_json_type(csrf_token):
    """Odoo's CSRF check reads ``csrf_token`` as a string; a JSON body merged
    into the arguments could hand it anything (found by make fuzz on 19.0)."""
    for method in ('PUT', 'POST'):
        answer = requests.request(method, URL + '/web/avatar/1', json={'csrf_token': csrf_token}, timeout=TIMEOUT)
        assert_envelope(answer, 405, success=False)  # the route serves GET only, whatever the body holds


@pytest.mark.parametrize('depth', [32, 33])
def test_json_nested_deeper_than_32_is_a_bad_request(user, depth):
    """The same login, its body holding one more level: 32 logs in, 33 is refused
    before the parser recurses."""
    nested = '[' * (depth - 1) + ']' * (depth - 1)  # the body's own object is the first level
    body = '{"email": %s, "password": %s, "padding": %s}' % (
        json.dumps(user['login']), json.dumps(user['password']), nested)
    answer = requests.post(URL + '/api/login', data=body.encode(), timeout=TIMEOUT,
                           headers={'Content-Type': 'application/json'})
    if depth <= 32:
        assert answer.status_code == 200, answer.text
    else:
        body = assert_envelope(answer, 400, success=False)
        assert 'token' not in (body['data'] or {})
