"""GET /api/openapi.json and /api/docs: a valid OpenAPI 3.1 document that lists
every API route of the server and describes the answers they really give."""
import ast
import glob
import json
import os
import re
import shutil
import subprocess
import tempfile
import uuid

import pytest
import requests

import openapi_check
from conftest import TIMEOUT, URL, bearer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ERROR_STATUSES = {'400', '401', '404', '405', '413', '429', '498', '501', '503'}
CONFTEST_LINE = 'from openapi_check import openapi_checker, openapi_checked_answers  # noqa: F401'


@pytest.fixture(scope='module')
def document():
    return openapi_check.fetch_document(URL)


@pytest.fixture(scope='module')
def checker(document):
    return openapi_check.Checker(document)


def test_document_is_valid_openapi_3_1(document):
    assert document['openapi'] == '3.1.0'
    openapi_check.validate_document(document)


def test_document_is_served_raw_with_cors():
    answer = requests.get(URL + '/api/openapi.json', timeout=TIMEOUT)
    assert answer.status_code == 200
    assert answer.headers['Content-Type'].startswith('application/json')
    assert answer.headers['Access-Control-Allow-Origin'] == '*'
    assert 'success' not in answer.json()  # no envelope
    assert not answer.cookies
    preflight = requests.options(URL + '/api/openapi.json', timeout=TIMEOUT, headers={
        'Origin': 'https://app.example.com', 'Access-Control-Request-Method': 'GET'})
    assert preflight.status_code == 200 and preflight.headers['Access-Control-Allow-Origin'] == '*'
    refused = requests.post(URL + '/api/openapi.json', timeout=TIMEOUT)
    assert refused.status_code == 405 and refused.json()['success'] is False


def _declared_routes():
    """The routes the addon and its example declare, read from their source:
    ``(werkzeug path, routing keywords)`` of each ``@http.route``."""
    files = glob.glob(os.path.join(ROOT, 'controllers', '*.py'))
    files += glob.glob(os.path.join(ROOT, 'examples', '*', 'controllers', '*.py'))
    for filename in sorted(files):
        with open(filename) as f:
            tree = ast.parse(f.read(), filename)
        for node in ast.walk(tree):
            name = getattr(node.func, 'attr', getattr(node.func, 'id', None)) if isinstance(node, ast.Call) else None
            if name != 'route':
                continue
            keywords = {}
            for keyword in node.keywords:
                try:
                    keywords[keyword.arg] = ast.literal_eval(keyword.value)
                except Exception:  # e.g. jwt_openapi={...openapi.ok(...)}
                    keywords[keyword.arg] = '<expression>'
            if not node.args:  # @http.route() re-decorating an override: same paths
                continue
            try:
                paths = ast.literal_eval(node.args[0])
            except Exception:
                paths = None
            assert paths, '%s:%d: a route path the test cannot read' % (filename, node.lineno)
            for path in paths if isinstance(paths, list) else [paths]:
                yield path, keywords


def _openapi_path(path):
    return re.sub(r'<(?:[^:>]+:)?([^>]+)>', r'{\1}', path)


def test_lists_every_api_route(document):
    declared = {}
    for path, routing in _declared_routes():
        if routing.get('jwt_openapi') is False:
            continue
        if routing.get('auth') == 'jwt' or routing.get('jwt_api'):  # the addon's; not a neighbour's /api/v1/
            declared[_openapi_path(path)] = routing
    # the contract's routes, whatever the source looks like
    for path in ('/api/login', '/api/register', '/api/refresh', '/api/me', '/api/logout', '/api/ping',
                 '/api/openapi.json', '/api/docs', '/example/jwt/whoami'):
        assert path in declared, 'the addon no longer declares %s' % path
    documented = document['paths']
    missing = sorted(set(declared) - set(documented))
    assert not missing, 'API routes missing from the document: %s' % missing
    assert '/web/avatar/{user_id}' in documented
    # Another addon's routes under /api/ answer their own format: not described (tests/addons/rest_neighbour).
    assert not [p for p in documented if p.startswith('/api/v1/')]
    for path, routing in declared.items():
        for method, operation in documented[path].items():
            if method.startswith('x-'):
                continue
            if routing.get('auth') == 'jwt':
                assert operation.get('security') == [{'bearerAuth': []}], (path, method)
                if routing.get('type') in ('json', 'jsonrpc'):  # errors in JSON-RPC's shape, HTTP 200
                    # (and Odoo's own 400/415 of 16.0+, before the route)
                    assert set(operation['responses']) == {'200', '400', '415'}, (path, method)
                else:
                    assert {'498', '503'} <= set(operation['responses']), (path, method)
            else:  # no bearer token; the OAuth endpoints name their client authentication
                assert not [s for s in operation.get('security') or () if 'bearerAuth' in s], (path, method)
        if routing.get('methods'):
            listed = {m for m in documented[path] if not m.startswith('x-')}
            assert listed == {m.lower() for m in routing['methods']} - {'options', 'head'}, path
    # and nothing the server does not serve
    for path in documented:
        probe = URL + re.sub(r'\{[^}]+\}', '1', path)  # an id, or a string: each converter takes it
        assert requests.options(probe, timeout=TIMEOUT).status_code != 404, path


def test_components(document):
    components = document['components']
    scheme = components['securitySchemes']['bearerAuth']
    assert (scheme['type'], scheme['scheme'], scheme['bearerFormat']) == ('http', 'bearer', 'JWT')
    envelope = components['schemas']['Envelope']
    assert set(envelope['required']) == {'data', 'success', 'message'}
    statuses = set()
    for item in document['paths'].values():
        for key, operation in item.items():
            if key == 'x-other-methods':
                statuses.update(operation)
            elif isinstance(operation, dict):
                statuses.update(operation.get('responses', {}))
    assert ERROR_STATUSES - {'404'} <= statuses, ERROR_STATUSES - statuses
    assert 'NotFound' in components['responses']  # unknown paths under /api/, addon routes
    assert components['responses']['TooManyRequests']['headers']['Retry-After']['required'] is True
    assert 'Retry-After' in components['responses']['ServiceUnavailable']['headers']
    login = document['paths']['/api/login']['post']['responses']
    assert {'200', '400', '401', '429'} <= set(login)
    params = document['paths']['/web/avatar/{user_id}']['get']['parameters']
    assert params == [{'name': 'user_id', 'in': 'path', 'required': True,
                       'schema': {'type': 'integer'}}]  # Odoo's int converter is signed


def test_checker_refuses_what_the_document_does_not_say(checker):
    """The checker itself: an undocumented status, a wrong body, a missing header fail."""
    def answer(method, path, status, body, headers=None):
        response = requests.Response()
        response.status_code = status
        response._content = json.dumps(body).encode() if not isinstance(body, bytes) else body
        response.headers.update(dict({'Content-Type': 'application/json'}, **(headers or {})))
        response.request = requests.Request(method, URL + path).prepare()
        return response

    error = {'data': None, 'success': False, 'message': 'Incorrect login'}
    assert checker.problems(answer('POST', '/api/login', 400, error)) == []
    assert 'status 418 is not documented' in checker.problems(answer('POST', '/api/login', 418, error))[0]
    wrong = checker.problems(answer('POST', '/api/login', 200, {'data': {'user': 1}, 'success': True,
                                                                'message': None}))
    assert wrong and all('/api/login -> 200' in problem for problem in wrong)
    assert checker.problems(answer('POST', '/api/login', 400, dict(error, extra=1)))
    assert checker.problems(answer('POST', '/api/login', 400, b'<html>', {'Content-Type': 'text/html'}))
    assert 'Retry-After is missing' in checker.problems(answer('POST', '/api/login', 429, error))[0]
    assert checker.problems(answer('POST', '/api/login', 429, error, {'Retry-After': '3'})) == []
    assert checker.problems(answer('GET', '/api/login', 405, error)) == []
    assert checker.problems(answer('GET', '/api/login', 200, error))
    assert 'undocumented path' in checker.problems(answer('GET', '/api/nowhere', 200, error))[0]
    assert checker.problems(answer('GET', '/api/nowhere', 404, dict(error, message='Not Found'))) == []
    assert checker.problems(answer('GET', '/api/nowhere', 404, b'<html>', {'Content-Type': 'text/html'}))
    assert checker.problems(answer('GET', '/api/me', 498, dict(error, message='Token invalid or expired'))) == []
    assert checker.problems(answer('GET', '/somewhere/else', 500, error)) == []  # not the API's
    assert checker.problems(answer('GET', '/api/ping', 200, {'data': {'pong': True}, 'success': True,
                                                             'message': None})) == []


def set_signup(admin, enabled):
    if hasattr(admin, 'set_signup'):  # 12.0+ store it as a scope
        admin.set_signup(enabled)
    else:
        admin.set_param('auth_signup.allow_uninvited', 'True' if enabled else 'False')


def test_live_answers_match(admin, checker):
    """One answer of each kind, checked here whether or not conftest checks them all."""
    user = admin.new_user()
    answers = []

    def call(method, path, **kw):
        response = requests.request(method, URL + path, timeout=TIMEOUT, **kw)
        answers.append(response)
        return response

    tokens = call('POST', '/api/login', data={'email': user['login'], 'password': user['password']}).json()['data']
    call('POST', '/api/login', json={'email': user['login'], 'password': user['password']})
    call('POST', '/api/login', data={'email': user['login'], 'password': 'wrong'})
    call('POST', '/api/login', data=b'{nope', headers={'Content-Type': 'application/json'})
    call('POST', '/api/login', data={'email': 'x' * (3 << 20), 'password': 'big'})
    call('GET', '/api/login')
    call('HEAD', '/api/login')
    for method in ('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'):
        call(method, '/api/me', headers=bearer(tokens['token']))
        call(method, '/api/ping')
    call('GET', '/api/me')
    call('GET', '/api/me', headers=bearer('garbage'))
    call('GET', '/example/jwt/whoami', headers=bearer(tokens['token']))
    call('GET', '/example/jwt/whoami')
    new = call('POST', '/api/refresh', data={'refresh_token': tokens['refresh_token']}).json()['data']
    call('POST', '/api/refresh', data={'refresh_token': tokens['refresh_token']})
    call('GET', '/web/avatar/%d' % user['id'])
    call('GET', '/web/avatar/999999999')
    call('GET', '/api/openapi.json')
    call('GET', '/api/docs')
    call('POST', '/api/logout', data={'all': '1'}, headers=bearer(new['token']))
    call('POST', '/api/logout', headers=bearer(new['token']))
    set_signup(admin, False)
    call('POST', '/api/register', data={'email': 'r-%s@example.com' % uuid.uuid4().hex[:8], 'password': 'p',
                                        'name': 'N'})
    set_signup(admin, True)
    try:
        call('POST', '/api/register', json={'email': 'r-%s@example.com' % uuid.uuid4().hex[:8], 'password': 'pw-123456',
                                            'name': 'N'})
        call('POST', '/api/register', data={'email': 'not an email', 'password': 'p', 'name': 'N'})
    finally:
        set_signup(admin, False)
    victim = admin.new_user()
    for _i in range(6):  # the per-login limit is 5 (conftest)
        call('POST', '/api/login', data={'email': victim['login'], 'password': 'wrong'})
    statuses = {(r.request.method, r.request.path_url.split('?')[0], r.status_code) for r in answers}
    assert ('POST', '/api/login', 429) in statuses
    assert ('GET', '/api/login', 405) in statuses
    assert ('POST', '/api/register', 501) in statuses
    problems = [problem for response in answers for problem in checker.problems(response)]
    assert not problems, '\n'.join(problems)


def test_docs_page():
    page = requests.get(URL + '/api/docs', timeout=TIMEOUT)
    assert page.status_code == 200
    assert page.headers['Content-Type'].startswith('text/html')
    assert '<redoc spec-url="/api/openapi.json"' in page.text
    assert 'src="/jwt_provider/static/src/docs/redoc.standalone.js"' in page.text
    assert 'http://' not in page.text and 'https://' not in page.text  # nothing from a CDN
    # Redoc runs on Odoo's origin: only its own script and the live document, never framed.
    policy = page.headers['Content-Security-Policy']
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers['X-Frame-Options'] == 'DENY'
    script = requests.get(URL + '/jwt_provider/static/src/docs/redoc.standalone.js', timeout=TIMEOUT)
    assert script.status_code == 200 and len(script.content) > 500000
    assert b'Version: "2.5.4"' in requests.get(
        URL + '/jwt_provider/static/src/docs/redoc.standalone.js.LICENSE.txt', timeout=TIMEOUT).content


def _browser():
    for name in ('chromium', 'chromium-browser', 'google-chrome'):
        if shutil.which(name):
            return shutil.which(name)
    return None


def test_docs_page_renders_in_a_browser():
    """Redoc renders the live document, offline and under the page's
    Content-Security-Policy (a blocked script or style is a console message)."""
    browser = _browser()
    if browser is None:
        pytest.skip('no headless Chromium on this machine (apt-get install chromium)')
    with tempfile.TemporaryDirectory() as profile:
        run = subprocess.run(
            [browser, '--headless=new', '--no-sandbox', '--disable-gpu', '--user-data-dir=' + profile,
             '--enable-logging=stderr', '--v=0', '--virtual-time-budget=20000', '--dump-dom', URL + '/api/docs'],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=180)
    page = run.stdout
    # Redoc's footer links a logo on its vendor's CDN: the page's policy blocks
    # that load, as it should. Any other console message fails the test.
    console = [line for line in run.stderr.splitlines() if ':CONSOLE' in line
               and not re.search(r"Loading the image 'https://[^']+' violates the following Content Security", line)]
    assert not console, '\n'.join(console[:10])
    for text in ('JWT Provider API', 'Log in with email and password', '/api/login', 'bearerAuth'):
        assert text in page, 'the rendered page lacks %r' % text


def test_every_answer_of_the_suite_is_checked():
    if openapi_check.ACTIVE is None:
        pytest.skip('conftest.py does not install the answer checker; add: ' + CONFTEST_LINE)
    assert sum(openapi_check.ACTIVE.checked.values()) > 0
