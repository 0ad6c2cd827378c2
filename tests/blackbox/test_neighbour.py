"""A good neighbour: another addon's routes under /api/ answer exactly as
Odoo answers them without jwt_provider (issue #15).

``tests/addons/rest_neighbour`` is installed in the test database beside
jwt_provider, and alone in a second database (``JWT_TEST_PLAIN_DB``). The
same calls go to three servers, and their answers (status, content type,
body) must be the same:

- the reference: Odoo serving the plain database; jwt_provider is never imported;
- the mixed server: jwt_provider loaded (for the test database) but serving
  the plain database, where it is not installed;
- the test server: jwt_provider installed beside the neighbour.
"""
import json
import os
import re

import pytest
import requests

from conftest import DB, TIMEOUT, URL, bearer, report

REFERENCE = os.environ.get('JWT_TEST_REFERENCE_URL')
MIXED = os.environ.get('JWT_TEST_MIXED_URL')
MIXED_LOG = os.environ.get('JWT_TEST_MIXED_LOG', '')
PLAIN_DB_ERROR = os.environ.get('JWT_TEST_PLAIN_DB_ERROR')

pytestmark = pytest.mark.skipif(not (REFERENCE and MIXED), reason='run by dev/run_tests.py, with its servers')

RPC = {'jsonrpc': '2.0', 'method': 'call', 'id': 7, 'params': {'id': 42, 'name': 'x'}}
CALLS = [  # (name, method, path, requests keyword arguments)
    ('query', 'GET', '/api/v1/echo/public?x=1&y=%C3%A9', {}),
    ('form public', 'POST', '/api/v1/echo/public', {'data': {'a': '1', 'b': 'é'}}),
    ('form none', 'POST', '/api/v1/echo/none', {'data': {'a': '1', 'self': 's', 'session_id': 'x'}}),
    ('multipart', 'POST', '/api/v1/echo/none', {'files': {'f': ('f.txt', b'hello')}, 'data': {'a': '1'}}),
    ('JSON body to an http route', 'POST', '/api/v1/echo/none', {'json': {'a': 1}}),
    ('form with a bearer token of ours', 'POST', '/api/v1/echo/none', {'data': {'a': '1'}, 'token': True}),
    ('undecodable form', 'POST', '/api/v1/echo/none', {
        'data': b'a=%FF&b=\xff', 'headers': {'Content-Type': 'application/x-www-form-urlencoded'}}),
    ('form over our body limit', 'POST', '/api/v1/echo/none', {'data': {'big': 'x' * (1024 * 1024 + 10)}}),
    ('wrong method', 'GET', '/api/v1/echo/post-only', {}),
    ('preflight', 'OPTIONS', '/api/v1/echo/none', {'headers': {
        'Origin': 'https://app.example.com', 'Access-Control-Request-Method': 'POST'}}),
    ('an Odoo error', 'POST', '/api/v1/fail', {'data': {'a': '1'}}),
    ('JSON-RPC public', 'POST', '/api/v1/rpc/public', {'json': RPC}),
    ('JSON-RPC none', 'POST', '/api/v1/rpc/none', {'json': RPC}),
    ('JSON-RPC with a bearer token of ours', 'POST', '/api/v1/rpc/none', {'json': RPC, 'token': True}),
    ('JSON-RPC, not JSON', 'POST', '/api/v1/rpc/none', {
        'data': b'{nope', 'headers': {'Content-Type': 'application/json'}}),
]
# Parts of an answer that differ from one request to the next, whoever serves it.
VOLATILE = re.compile(r'\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d[.\d]*|\b[0-9a-f]{40}\b|\b0x[0-9a-f]+\b')


def answer(base, method, path, kw, token=None):
    kw = dict(kw)
    headers = dict(kw.pop('headers', {}))
    if kw.pop('token', False):
        headers.update(bearer(token))
    response = requests.request(method, base + path, headers=headers, timeout=TIMEOUT, allow_redirects=False, **kw)
    body = VOLATILE.sub('-', response.content.decode('utf-8', 'replace'))
    try:  # Odoo's JSON-RPC errors carry a traceback: its frames name the code it ran through
        rpc = json.loads(body)
        rpc['error']['data'].pop('debug')
        body = json.dumps(rpc, sort_keys=True)
    except (ValueError, KeyError, TypeError, AttributeError):
        pass
    return response.status_code, response.headers.get('Content-Type'), body


@pytest.fixture(scope='module')
def token(admin):
    user = admin.new_user()
    answer = requests.post(URL + '/api/login', data={'email': user['login'], 'password': user['password']},
                           timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    return answer.json()['data']['token']


def test_the_servers_are_what_they_claim():
    assert not PLAIN_DB_ERROR, PLAIN_DB_ERROR
    # jwt_provider answers /api/ping where it is installed, and nowhere else.
    assert requests.get(URL + '/api/ping', timeout=TIMEOUT).json()['data'] == {'pong': True}
    for base in (REFERENCE, MIXED):
        answer = requests.get(base + '/api/ping', timeout=TIMEOUT)
        assert answer.status_code == 404 and 'pong' not in answer.text
    # The mixed server did load jwt_provider, for the test database.
    with open(MIXED_LOG, errors='replace') as f:
        log = f.read()
    assert re.search(r' %s odoo\.modules\.loading: (\d+ modules loaded|Modules loaded)' % re.escape(DB), log), \
        'the mixed server did not load %s' % DB


@pytest.mark.parametrize('name,method,path,kw', CALLS, ids=[c[0] for c in CALLS])
def test_neighbour_routes_answer_as_without_jwt_provider(token, name, method, path, kw):
    expected = answer(REFERENCE, method, path, kw, token)
    assert answer(MIXED, method, path, kw, token) == expected, 'jwt_provider loaded, not installed'
    assert answer(URL, method, path, kw, token) == expected, 'jwt_provider installed beside it'
    report('neighbour: %-36s %d %s, the same on the three servers'
           % (name, expected[0], (expected[1] or '-').split(';')[0]))


def test_neighbour_form_fields_arrive():
    # Guards the comparison: the reference itself passes the fields on.
    status, _type, body = answer(REFERENCE, 'POST', '/api/v1/echo/public', {'data': {'a': '1', 'b': 'é'}})
    assert status == 200 and json.loads(body)['got'] == [['a', '1'], ['b', 'é']]
    status, _type, body = answer(REFERENCE, 'POST', '/api/v1/rpc/none', {'json': RPC})
    assert json.loads(body)['result'] == {'got': [['id', 42], ['name', 'x']]}
