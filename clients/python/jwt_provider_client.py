"""A client for the jwt_provider Odoo addon's API. Needs only ``requests``;
Python 3.7+. Copy this file into your program; the API is described at
``/api/openapi.json`` and ``/api/docs``::

    from jwt_provider_client import ApiError, JwtProviderClient

    client = JwtProviderClient(
        'https://odoo.example.com',
        # Asked only when the user has two-factor authentication:
        on_totp_required=lambda challenge: input('Authenticator code: '),
        # Persist the tokens to survive a restart:
        on_tokens=save,
    )
    client.login('me@example.com', 'secret')
    me = client.me()                           # {id, name, email, company_id, avatar}
    orders = client.request('GET', '/api/my/orders')   # any auth='jwt' route
    client.logout()

An answer of 498 (token invalid or expired) makes the client spend the
refresh token once and retry the call once; threads sharing a client share
that one refresh (a refresh token works once: reusing it ends the session).
"""
import threading

import requests

__all__ = ['ApiError', 'JwtProviderClient']


class ApiError(Exception):
    """An answer with ``success: false``, or a non-JSON error answer."""

    def __init__(self, status, message, data=None, retry_after=None):
        super(ApiError, self).__init__(message or 'HTTP %d' % status)
        self.status = status
        self.message = message
        self.data = data
        self.retry_after = retry_after  # seconds, from Retry-After (429, 503)


class JwtProviderClient(object):
    """Tokens of one user on one server.

    :param base_url: the Odoo server, e.g. ``https://odoo.example.com``
    :param on_totp_required: ``f({'ticket', 'expires_in'}) -> code``, asked when a
        login needs a second factor
    :param on_tokens: ``f(tokens or None)``, called with new tokens, or None once logged out
    :param tokens: tokens saved earlier (``{'token', 'refresh_token', 'expires_in', ...}``)
    :param session: a ``requests.Session`` (default: a new one)
    """

    def __init__(self, base_url, on_totp_required=None, on_tokens=None, tokens=None, session=None, timeout=30):
        self.base_url = base_url.rstrip('/')
        self.on_totp_required = on_totp_required
        self.on_tokens = on_tokens
        self.tokens = tokens
        self.session = session or requests.Session()
        self.timeout = timeout
        self._refresh_lock = threading.Lock()

    @property
    def logged_in(self):
        """Whether the client holds tokens (they may still have expired)."""
        return bool(self.tokens and self.tokens.get('token'))

    def login(self, email, password, scope=None):
        """Log in; a 401 with a ticket asks ``on_totp_required`` for the code
        and sends it to ``/api/login/totp``. Returns the tokens. ``scope``
        (space-separated) limits them to the routes whose ``jwt_scopes`` it grants."""
        extra = {'scope': scope} if scope else {}
        try:
            body = self._call('POST', '/api/login', dict(extra, email=email, password=password))
        except ApiError as error:
            challenge = error.data if error.status == 401 and isinstance(error.data, dict) else None
            if not challenge or not challenge.get('totp_required'):
                raise
            if self.on_totp_required is None:
                raise ApiError(401, 'Two-factor code required but no on_totp_required callback', challenge)
            code = self.on_totp_required({'ticket': challenge['ticket'], 'expires_in': challenge.get('expires_in')})
            body = self._call('POST', '/api/login/totp', dict(extra, ticket=challenge['ticket'], code=str(code)))
        return self._set_tokens(body['data'])

    def register(self, email, password, name, scope=None):
        """Sign up (when the server allows free sign-up) and log in. Returns the tokens."""
        extra = {'scope': scope} if scope else {}
        body = self._call('POST', '/api/register', dict(extra, email=email, password=password, name=name))
        return self._set_tokens(body['data'])

    def refresh(self, refused_token=None):
        """Exchange the refresh token for a new pair; on 498 the tokens are
        dropped and the error raised (log in again).

        ``refused_token``: the access token a call was refused with; when
        another thread has replaced it meanwhile, its refresh is reused.
        """
        with self._refresh_lock:
            if refused_token is not None and self.tokens and self.tokens.get('token') != refused_token:
                return self.tokens
            refresh_token = (self.tokens or {}).get('refresh_token')
            if not refresh_token:
                raise ApiError(498, 'Not logged in')
            try:
                body = self._call('POST', '/api/refresh', {'refresh_token': refresh_token})
            except ApiError as error:
                if error.status == 498:
                    self._set_tokens(None)
                raise
            return self._set_tokens(body['data'])

    def request(self, method, path, body=None, params=None, headers=None):
        """Call a route with the access token; on 498 refresh once and retry once.
        Returns the envelope's ``data``."""
        token = (self.tokens or {}).get('token')
        try:
            return self._call(method, path, body, params, token, headers)['data']
        except ApiError as error:
            if error.status != 498 or not self.tokens:
                raise
        tokens = self.refresh(refused_token=token)
        return self._call(method, path, body, params, tokens['token'], headers)['data']

    def me(self):
        """The user of the token: ``{id, name, email, company_id, avatar}``."""
        return self.request('GET', '/api/me')

    def logout(self, everywhere=False):
        """Revoke the token (and its refresh token); ``everywhere`` ends every
        session of the user. The local tokens are dropped even if the server refuses."""
        token = (self.tokens or {}).get('token')
        try:
            if token:
                self._call('POST', '/api/logout', {'all': '1'} if everywhere else {}, token=token)
        except ApiError as error:
            if error.status != 498:
                raise
        finally:
            self._set_tokens(None)

    def _set_tokens(self, tokens):
        self.tokens = tokens
        if self.on_tokens is not None:
            self.on_tokens(tokens)
        return tokens

    def _call(self, method, path, body=None, params=None, token=None, headers=None):
        """One HTTP call; returns the envelope, raises ApiError."""
        headers = dict({'Accept': 'application/json'}, **(headers or {}))
        if token:
            headers['Authorization'] = 'Bearer %s' % token
        json_body = body if body is not None and method.upper() not in ('GET', 'HEAD') else None
        response = self.session.request(method, self.base_url + path, json=json_body, params=params,
                                        headers=headers, timeout=self.timeout)
        retry_after = response.headers.get('Retry-After')
        retry_after = int(retry_after) if retry_after and retry_after.isdigit() else None
        try:
            envelope = response.json() if 'json' in response.headers.get('Content-Type', '') else None
        except ValueError:
            envelope = None
        if not isinstance(envelope, dict) or 'success' not in envelope:
            raise ApiError(response.status_code, 'Unexpected answer (HTTP %d)' % response.status_code,
                           retry_after=retry_after)
        if response.status_code >= 400 or envelope.get('success') is False:
            raise ApiError(response.status_code, envelope.get('message'), envelope.get('data'), retry_after)
        return envelope
