"""An OAuth 2.0 client library we did not write (requests-oauthlib, on
oauthlib) refreshes through /api/oauth/token, as it would against any
authorization server, and uses the new access token."""
import uuid

import pytest
import requests
from requests.auth import HTTPBasicAuth

from conftest import TIMEOUT, URL, login

requests_oauthlib = pytest.importorskip('requests_oauthlib')
TOKEN_URL = URL + '/api/oauth/token'


@pytest.fixture(autouse=True)
def plain_http(monkeypatch):
    # oauthlib refuses http:// URLs unless told; the test servers listen on loopback without TLS.
    monkeypatch.setenv('OAUTHLIB_INSECURE_TRANSPORT', '1')


def as_oauth_token(pair, expired=False):
    return {'access_token': pair['token'], 'refresh_token': pair['refresh_token'], 'token_type': 'Bearer',
            'expires_in': -30 if expired else pair['expires_in']}


def test_public_client_refreshes_on_its_own(user):
    """An expired token: the session refreshes by itself (auto_refresh_url), then calls /api/me."""
    pair = login(user)
    updates = []
    session = requests_oauthlib.OAuth2Session(client_id='mobile-app', token=as_oauth_token(pair, expired=True),
                                              auto_refresh_url=TOKEN_URL, token_updater=updates.append)
    answer = session.get(URL + '/api/me', timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    assert answer.json()['data']['id'] == user['id']
    assert len(updates) == 1
    new = updates[0]
    assert new['access_token'] != pair['token'] and new['refresh_token'] != pair['refresh_token']
    assert new['token_type'] == 'Bearer'


def test_confidential_client_refreshes_with_basic_auth_and_scope(admin, user):
    client_id = admin.call('jwt_provider.client', 'create', {'name': 'lib %s' % uuid.uuid4().hex[:6]})
    action = admin.call('jwt_provider.client', 'action_generate_secret', [client_id])
    client, secret = action['context']['default_client_id'], action['context']['default_secret']
    answer = requests.post(URL + '/api/login', data={'email': user['login'], 'password': user['password'],
                                                     'scope': 'partner.read sale.read'}, timeout=TIMEOUT)
    pair = answer.json()['data']
    session = requests_oauthlib.OAuth2Session(client_id=client, token=as_oauth_token(pair),
                                              scope=['partner.read'])
    token = session.refresh_token(TOKEN_URL, auth=HTTPBasicAuth(client, secret), timeout=TIMEOUT)
    assert token['scope'] == ['partner.read']  # oauthlib reads the narrowed scope back
    answer = session.get(URL + '/example/jwt/partners/count', timeout=TIMEOUT)  # jwt_scopes=['partner.read']
    assert answer.status_code == 200, answer.text
    # A wrong secret: the library raises the server's invalid_client (401).
    from oauthlib.oauth2.rfc6749.errors import InvalidClientError
    with pytest.raises(InvalidClientError):
        session.refresh_token(TOKEN_URL, auth=HTTPBasicAuth(client, 'wrong'), timeout=TIMEOUT)
    # A spent (not retried) refresh token: invalid_grant.
    from oauthlib.oauth2.rfc6749.errors import InvalidGrantError
    with pytest.raises(InvalidGrantError):
        session.refresh_token(TOKEN_URL, refresh_token='not-a-token', auth=HTTPBasicAuth(client, secret),
                              timeout=TIMEOUT)
