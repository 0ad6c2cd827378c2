"""OAuth 2.0 endpoints beside the API's own (thin: the rules are on the models).

- ``POST /api/oauth/token``: ``grant_type=refresh_token`` only (RFC 6749 6), so
  standard OAuth client libraries can refresh; logins stay on ``/api/login``
  (no password grant: RFC 9700).
- ``POST /api/oauth/revoke`` (RFC 7009) and ``POST /api/oauth/introspect``
  (RFC 7662), for clients registered in Odoo (``jwt_provider.client``).

Answers and errors are RFC 6749's plain JSON (``{"error": "invalid_grant"}``),
not the envelope; what the whole API refuses before an endpoint runs (405,
413, a 503 without a database) keeps the envelope.
"""
import functools

from odoo import SUPERUSER_ID, http
from odoo.http import request

from ..answers import oauth_json
from ..exceptions import InvalidScope, InvalidToken, LoginThrottled, OAuthError
from ..tools import basic_credentials

# Credentials belong in the body or the Authorization header, never the query string.
OAUTH_SECRET_FIELDS = ('refresh_token', 'token', 'client_secret')


def _model(name):
    return request.env(user=SUPERUSER_ID)[name]


def _answer(body, code=200, headers=None):
    return oauth_json(body, code, headers, request.env['ir.http']._jwt_cors_headers())


def _error_answer(error):
    body = {'error': error.error}
    if error.description:
        body['error_description'] = error.description
    return _answer(body, error.code, error.headers)


def oauth_endpoint(endpoint):
    """POST only (405 in the envelope otherwise), no secrets in the query string,
    and the models' errors answered as RFC 6749 5.2 says."""
    @functools.wraps(endpoint)
    def wrapper(self, **kw):
        ir_http = request.env['ir.http']
        if request.httprequest.method != 'POST':
            return ir_http._jwt_response(success=False, code=405, message='Method not allowed: use POST',
                                         headers={'Allow': 'POST, OPTIONS'})
        try:
            if any(name in request.httprequest.args for name in OAUTH_SECRET_FIELDS):
                raise OAuthError('invalid_request', 'Credentials must be sent in the request body')
            return endpoint(self, **kw)
        except OAuthError as e:
            return _error_answer(e)
        except LoginThrottled as e:
            return _error_answer(OAuthError('invalid_client', 'Too many failed attempts, retry later', code=429,
                                            headers=e.headers))
    return wrapper


def _field(kw, name, required=True):
    value = kw.get(name)
    if value in (None, ''):
        if required:
            raise OAuthError('invalid_request', '%s is required' % name)
        return None
    if not isinstance(value, str):
        raise OAuthError('invalid_request', '%s must be a string' % name)
    return value


def _client(kw, required):
    """The registered client the request authenticates as (HTTP Basic or
    ``client_id``/``client_secret`` in the body, RFC 6749 2.3.1), or ``None``
    when it sends no secret and ``required`` is false."""
    try:
        basic = basic_credentials(request.httprequest.headers)
    except ValueError:
        raise _model('jwt_provider.client')._invalid_client('malformed Basic credentials')
    posted = kw.get('client_secret') not in (None, '')
    if basic and posted:
        raise OAuthError('invalid_request', 'Use one client authentication method only')
    if basic:
        client_id, secret = basic
    elif posted:
        client_id, secret = kw.get('client_id'), kw.get('client_secret')
    elif required:
        raise _model('jwt_provider.client')._invalid_client('no client credentials')
    else:
        return None  # a public client: a bare client_id authenticates nothing
    return _model('jwt_provider.client')._authenticate(client_id, secret, request.httprequest.remote_addr or '')


class OAuthController(http.Controller):

    @http.route('/api/oauth/token', type='http', auth='none', csrf=False, jwt_api=True, readonly=False)
    @oauth_endpoint
    def token(self, **kw):
        grant_type = _field(kw, 'grant_type')
        if grant_type != 'refresh_token':
            raise OAuthError('unsupported_grant_type', 'Only grant_type=refresh_token is supported; '
                                                       'log in with /api/login')
        refresh_token = _field(kw, 'refresh_token')
        client = _client(kw, required=False)
        Token = _model('jwt_provider.token')
        try:
            scope = Token._parse_scope(kw.get('scope'))
            _user, pair = Token._refresh(refresh_token, scope=scope, client_id=client.client_id if client else None)
        except InvalidScope:
            raise OAuthError('invalid_scope', 'The scope is malformed or wider than the one granted')
        except InvalidToken:
            raise OAuthError('invalid_grant', 'The refresh token is invalid, expired, spent or revoked')
        body = {'access_token': pair['token'], 'token_type': 'Bearer', 'expires_in': pair['expires_in'],
                'refresh_token': pair['refresh_token']}
        if scope is not None:
            body['scope'] = ' '.join(scope)
        return _answer(body)

    @http.route('/api/oauth/revoke', type='http', auth='none', csrf=False, jwt_api=True, readonly=False)
    @oauth_endpoint
    def revoke(self, **kw):
        client = _client(kw, required=True)
        token = _field(kw, 'token')
        _model('jwt_provider.token')._revoke_token(token, kw.get('token_type_hint'), client.client_id)
        return _answer({})

    @http.route('/api/oauth/introspect', type='http', auth='none', csrf=False, jwt_api=True, readonly=False)
    @oauth_endpoint
    def introspect(self, **kw):
        _client(kw, required=True)
        token = _field(kw, 'token')
        return _answer(_model('jwt_provider.token')._introspect(token, kw.get('token_type_hint')))
