"""Clients we did not write verify our tokens from our JWK Set, before and after
a rotation: the npm ``jose`` package's ``createRemoteJWKSet`` + ``jwtVerify``
(pinned in ``tests/blackbox/jose/``, installed with ``npm ci`` under ``.state/``),
and OCA's ``auth_jwt`` (its PyPI wheels, on a server and database of its own
that dev/run_tests.py prepares on 16.0 and 18.0). A heavy module: skipped on
JWT_TEST_LIGHT_SERIES."""
import json
import os
import shutil
import subprocess

import jwt
import pytest
import requests
from test_discovery import hmac_after  # noqa: F401 (a fixture)
from test_discovery import JWKS, METADATA, kid, me, rotate

from conftest import TIMEOUT, login

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
JOSE_SOURCE = os.path.join(ROOT, 'tests', 'blackbox', 'jose')
JOSE_DIR = os.path.join(ROOT, '.state', 'jose')


@pytest.fixture(scope='module')
def jose():
    """``node verify.mjs`` with the pinned jose installed beside it."""
    node, npm = shutil.which('node'), shutil.which('npm')
    if not node or not npm:
        pytest.skip('node and npm are needed for the jose interoperability test')
    os.makedirs(JOSE_DIR, exist_ok=True)
    for name in ('package.json', 'package-lock.json', 'verify.mjs'):
        shutil.copy(os.path.join(JOSE_SOURCE, name), JOSE_DIR)
    if not os.path.isdir(os.path.join(JOSE_DIR, 'node_modules', 'jose')):
        subprocess.run([npm, 'ci', '--no-audit', '--no-fund'], cwd=JOSE_DIR, check=True, timeout=300,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def verify(issuer, audience, *tokens):
        run = subprocess.run([node, 'verify.mjs', JWKS, issuer, audience] + list(tokens), cwd=JOSE_DIR,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                             timeout=120, check=True)
        return [json.loads(line) for line in run.stdout.splitlines()]
    return verify


@pytest.mark.parametrize('algorithm', ['RS256', 'ES256'])
@pytest.mark.usefixtures('hmac_after')
def test_jose_verifies_before_and_after_rotation(admin, user, jose, algorithm):
    rotate(admin, algorithm)
    issuer = requests.get(METADATA, timeout=TIMEOUT).json()['issuer']
    audience = admin.get_param('database.uuid')
    before = login(user)['token']
    assert jose(issuer, audience, before) == [{'ok': True, 'sub': str(user['id']), 'kid': kid(before)}]
    rotate(admin)
    after = login(user)['token']
    assert kid(after) != kid(before)
    assert jose(issuer, audience, before, after) == [
        {'ok': True, 'sub': str(user['id']), 'kid': kid(before)},
        {'ok': True, 'sub': str(user['id']), 'kid': kid(after)}]
    assert me(before).status_code == 200
    # A token of another issuer or audience is refused by jose too: it checks what we claim.
    assert [answer['ok'] for answer in jose(issuer + 'x', audience, after)] == [False]
    assert jwt.get_unverified_header(after)['alg'] == algorithm


OCA_URL = os.environ.get('JWT_TEST_OCA_URL')
OCA_SKIP = os.environ.get('JWT_TEST_OCA_SKIP', 'run by dev/run_tests.py, with its servers')


@pytest.fixture(scope='module')
def oca_validator(admin):
    """A validator of OCA's auth_jwt, on its own server and database, pointed at our
    jwks_uri, issuer and audience, as an administrator of that database would set it."""
    if OCA_SKIP.startswith('failed'):
        pytest.fail(OCA_SKIP)
    if not OCA_URL:
        pytest.skip(OCA_SKIP)
    session = requests.Session()
    answer = session.post(OCA_URL + '/web/session/authenticate', json={'jsonrpc': '2.0', 'method': 'call', 'params': {
        'db': os.environ['JWT_TEST_OCA_DB'], 'login': 'admin', 'password': 'admin'}}, timeout=TIMEOUT).json()
    assert answer.get('result', {}).get('uid'), answer

    def call(model, method, *args, **kw):
        body = session.post('%s/web/dataset/call_kw/%s/%s' % (OCA_URL, model, method), json={
            'jsonrpc': '2.0', 'method': 'call',
            'params': {'model': model, 'method': method, 'args': list(args), 'kwargs': kw}}, timeout=TIMEOUT).json()
        assert 'error' not in body, body['error']
        return body['result']

    def configure(algorithm):
        # The metadata's jwks_uri is under the issuer fixed at install; this test server's URL differs.
        values = {'name': 'demo_keycloak', 'signature_type': 'public_key', 'public_key_jwk_uri': JWKS,
                  'public_key_algorithm': algorithm, 'audience': admin.get_param('database.uuid'),
                  'issuer': requests.get(METADATA, timeout=TIMEOUT).json()['issuer'], 'user_id_strategy': 'static'}
        existing = call('auth.jwt.validator', 'search', [('name', '=', 'demo_keycloak')])
        if existing:
            call('auth.jwt.validator', 'write', existing, values)
        else:
            call('auth.jwt.validator', 'create', values)
    return configure


def oca_whoami(token):
    return requests.get(OCA_URL + '/auth_jwt_demo/keycloak/whoami', headers={'Authorization': 'Bearer ' + token},
                        timeout=TIMEOUT).status_code


@pytest.mark.parametrize('algorithm', ['RS256', 'ES256'])
@pytest.mark.usefixtures('hmac_after')
def test_oca_auth_jwt_accepts_our_tokens_before_and_after_rotation(admin, user, oca_validator, algorithm):
    """OCA's auth_jwt fetches our keys by kid (and caches them per kid, for good)."""
    rotate(admin, algorithm)
    oca_validator(algorithm)
    before = login(user)['token']
    assert oca_whoami(before) == 200
    rotate(admin)
    after = login(user)['token']
    assert kid(after) != kid(before)
    assert oca_whoami(after) == 200  # a kid it had not seen: fetched from our JWK Set
    assert oca_whoami(before) == 200
    assert oca_whoami(after[:-4] + ('AAAA' if not after.endswith('AAAA') else 'BBBB')) == 401
