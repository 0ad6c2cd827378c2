"""Clients we did not write verify our tokens from our JWK Set, before and after
a rotation: the npm ``jose`` package's ``createRemoteJWKSet`` + ``jwtVerify``
(pinned in ``tests/blackbox/jose/``, installed with ``npm ci`` under ``.state/``).
A heavy module: skipped on JWT_TEST_LIGHT_SERIES."""
import json
import os
import shutil
import subprocess

import jwt
import pytest
import requests

from conftest import TIMEOUT, login
from test_discovery import JWKS, METADATA, hmac_after, kid, me, rotate  # noqa: F401 (fixture)

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
def test_jose_verifies_before_and_after_rotation(admin, user, hmac_after, jose, algorithm):
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
