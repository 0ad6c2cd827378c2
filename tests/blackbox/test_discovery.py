"""Key ids, rotation and discovery over HTTP: the JWK Set (RFC 7517) and the
authorization server metadata (RFC 8414), checked with PyJWT's own JWKS client
(``jwt.PyJWKClient``), which we did not write, before and after a rotation."""
import os
import threading

import jwt
import pytest
import requests

from conftest import TIMEOUT, URL, WORKERS_URL, assert_envelope, bearer, login, rotate

JWKS = URL + '/.well-known/jwks.json'
METADATA = URL + '/.well-known/oauth-authorization-server'


@pytest.fixture
def hmac_after(admin):
    """Each test leaves the server signing with HMAC, as the other modules expect."""
    yield
    rotate(admin, 'HS256')


def me(token, url=URL):
    return requests.get(url + '/api/me', headers=bearer(token), timeout=TIMEOUT)


def kid(token):
    return jwt.get_unverified_header(token)['kid']


def test_documents_are_cacheable_json(admin):
    for url in (JWKS, METADATA):
        answer = requests.get(url, timeout=TIMEOUT)
        assert answer.status_code == 200, answer.text
        assert answer.headers['Content-Type'].startswith('application/json')
        assert answer.headers['Cache-Control'] == 'public, max-age=300'


def test_metadata_names_our_issuer_and_endpoints(user):
    metadata = requests.get(METADATA, timeout=TIMEOUT).json()
    token = login(user)['token']
    assert metadata['issuer'] == jwt.decode(token, options={'verify_signature': False})['iss']
    for name, path in (('jwks_uri', '/.well-known/jwks.json'), ('token_endpoint', '/api/oauth/token'),
                       ('revocation_endpoint', '/api/oauth/revoke'),
                       ('introspection_endpoint', '/api/oauth/introspect')):
        assert metadata[name] == metadata['issuer'] + path
    assert metadata['grant_types_supported'] == ['refresh_token']
    # examples/jwt_provider_example's /example/jwt/partners/count requires partner.read
    assert 'partner.read' in metadata['scopes_supported']


def test_hmac_keys_are_never_published(admin, user):
    token = login(user)['token']
    assert kid(token)
    published = requests.get(JWKS, timeout=TIMEOUT).json()['keys']
    # Only public RSA/EC keys (those of earlier RS256/ES256 keys still verifying
    # their tokens); the HMAC key in effect never, nor any symmetric member.
    assert kid(token) not in [key['kid'] for key in published]
    assert all(key['kty'] in ('RSA', 'EC') and 'k' not in key and 'd' not in key for key in published), published


def test_unknown_kid_answers_498(admin, user):
    """The very claims of a live token, signed with the key in effect, under a kid it does not have."""
    token = login(user)['token']
    claims = jwt.decode(token, options={'verify_signature': False})
    secret = admin.get_param('jwt_provider.secret')
    assert me(jwt.encode(claims, secret, algorithm='HS256', headers={'kid': kid(token)})).status_code == 200
    assert_envelope(me(jwt.encode(claims, secret, algorithm='HS256', headers={'kid': 'unknown'})), 498,
                    success=False)


@pytest.mark.parametrize('algorithm', ['RS256', 'ES256'])
def test_pyjwkclient_verifies_before_and_after_rotation(admin, user, hmac_after, algorithm):
    rotate(admin, algorithm)
    metadata = requests.get(METADATA, timeout=TIMEOUT).json()
    audience = admin.get_param('database.uuid')
    client = jwt.PyJWKClient(JWKS, cache_keys=True)

    def verify(token):
        key = client.get_signing_key_from_jwt(token)
        return jwt.decode(token, key.key, algorithms=[algorithm], audience=audience, issuer=metadata['issuer'])

    before = login(user)['token']
    assert verify(before)['sub'] == str(user['id'])
    rotate(admin)
    after = login(user)['token']
    assert kid(after) != kid(before)
    assert verify(after)['sub'] == str(user['id'])  # a new kid: the client fetches the set again
    assert verify(before)['sub'] == str(user['id'])
    assert me(before).status_code == 200 and me(after).status_code == 200  # nobody signed out
    published = [key['kid'] for key in requests.get(JWKS, timeout=TIMEOUT).json()['keys']]
    assert kid(before) in published and kid(after) in published

    # Retire now: its tokens are refused at once, its key leaves the set.
    old = admin.call('jwt_provider.signing.key', 'search', [('kid', '=', kid(before))])
    admin.call('jwt_provider.signing.key', 'action_retire', old)
    assert_envelope(me(before), 498, success=False)
    assert me(after).status_code == 200
    assert kid(before) not in [key['kid'] for key in requests.get(JWKS, timeout=TIMEOUT).json()['keys']]


def test_rotation_under_load_loses_no_request(admin, hmac_after):
    """Requests with tokens of the previous key, on both servers, while the key is
    rotated three times: none is refused."""
    users = [admin.new_user() for _ in range(3)]
    tokens = [login(user)['token'] for user in users]
    statuses = []
    done = threading.Event()

    def hammer(token, url):
        while not done.is_set():
            statuses.append(me(token, url).status_code)

    threads = [threading.Thread(target=hammer, args=(token, url)) for token in tokens for url in (URL, WORKERS_URL)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(3):
            rotate(admin)
            tokens.append(login(users[0])['token'])
    finally:
        done.set()
        for thread in threads:
            thread.join()
    assert statuses and set(statuses) == {200}, {status: statuses.count(status) for status in set(statuses)}
    for token in tokens:  # the old keys' tokens and the new ones, on both servers
        assert me(token).status_code == 200 and me(token, WORKERS_URL).status_code == 200


@pytest.mark.skipif(not (os.environ.get('JWT_TEST_REFERENCE_URL') and os.environ.get('JWT_TEST_MIXED_URL')),
                    reason='run by dev/run_tests.py, with its servers')
def test_answered_only_where_the_addon_is_installed():
    """A database without the addon (the mixed server serves one, beside ours) answers
    the discovery paths as Odoo alone does: 404."""
    for url in (os.environ['JWT_TEST_REFERENCE_URL'], os.environ['JWT_TEST_MIXED_URL']):
        for path in ('/.well-known/jwks.json', '/.well-known/oauth-authorization-server'):
            assert requests.get(url + path, timeout=TIMEOUT).status_code == 404, url + path
