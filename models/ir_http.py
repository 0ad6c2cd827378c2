"""Request side of the addon: the ``jwt`` route auth type, bearer tokens, the
JSON envelope, CORS, stateless answers and the one mapping of errors to HTTP.

Everything is a classmethod of ``ir.http`` so other addons change it with
``_inherit = 'ir.http'``; ``jwt_http`` is a thin facade over it. What differs
between Odoo's HTTP layers (before and after 16.0) is in ``adapters/``, which
completes this model with the ``_jwt_era_*`` hooks.
"""
import json
import logging
from contextlib import closing

import psycopg2
import werkzeug.exceptions

from odoo import SUPERUSER_ID, api, http, models
from odoo.exceptions import AccessDenied
from odoo.http import request
from odoo.sql_db import PoolError

from ..exceptions import BodyTooLarge, IncorrectLogin, InvalidToken, JwtError, ServiceUnavailable
from ..tools import bearer_token, check_body_size
from .jwt_provider_key import DEFAULTS

_logger = logging.getLogger(__name__)

TOKEN_INVALID_MESSAGE = InvalidToken.message
CORS_HEADERS = 'Authorization, Content-Type, Accept, Origin, X-Requested-With'
CORS_METHODS = 'GET, POST, PUT, PATCH, DELETE, OPTIONS'
DEFAULT_CORS = {
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Allow-Headers': CORS_HEADERS,
    'Access-Control-Allow-Methods': CORS_METHODS,
    'Access-Control-Max-Age': '86400',
}
API_PREFIX = '/api/'


class JwtResponse(http.Response):
    """A response that keeps the request stateless: it never sets the
    ``session_id`` cookie, which Odoo otherwise adds to every response."""

    def set_cookie(self, key, *args, **kwargs):
        if key == 'session_id':
            return
        return super(JwtResponse, self).set_cookie(key, *args, **kwargs)


def envelope(data=None, success=True, message=None, code=200, headers=None, cors=None):
    """The addon's JSON envelope ``{"data", "success", "message"}``.

    A plain function so that the adapters can answer when no database (and so
    no ``ir.http``) is reachable.
    """
    body = json.dumps({'data': data, 'success': success, 'message': message}, default=str)
    response = JwtResponse(body, status=code, mimetype='application/json')
    for name, value in dict(cors or DEFAULT_CORS, **(headers or {})).items():
        response.headers[name] = value
    response.headers['X-Content-Type-Options'] = 'nosniff'
    return response


def exception_envelope(exception):
    """The envelope for any exception raised while serving an API request.

    Client mistakes keep their status; a lost database connection is a 503
    the client may retry; anything else is a 500 without details.
    """
    if isinstance(exception, JwtError):
        return envelope(success=False, code=exception.code, message=exception.message,
                        data=exception.data, headers=exception.headers)
    if isinstance(exception, AccessDenied):
        return exception_envelope(IncorrectLogin())
    if isinstance(exception, werkzeug.exceptions.HTTPException) and exception.code:
        if exception.code >= 500:
            _logger.error('API request failed: %s', exception)
        return envelope(success=False, code=exception.code, message=exception.name)
    if isinstance(exception, (psycopg2.OperationalError, psycopg2.InterfaceError, PoolError)):
        _logger.warning('API request: database unavailable (%s)', type(exception).__name__)
        return exception_envelope(ServiceUnavailable())
    _logger.error('API request failed', exc_info=exception)
    return envelope(success=False, code=500, message='Internal Server Error')


class JwtAnswer(werkzeug.exceptions.HTTPException):
    """Ends a request early with an enveloped answer (498 from the ``jwt``
    auth type, a CORS preflight, a refused body)."""

    def __init__(self, response):
        super(JwtAnswer, self).__init__(response=response)
        self.code = response.status_code


class IrHttp(models.AbstractModel):
    _inherit = 'ir.http'

    # -- responses -----------------------------------------------------------
    @classmethod
    def _jwt_response(cls, data=None, success=True, message=None, code=200, headers=None):
        """The addon's JSON envelope ``{"data", "success", "message"}``."""
        return envelope(data=data, success=success, message=message, code=code, headers=headers,
                        cors=cls._jwt_cors_headers())

    @classmethod
    def _jwt_cors_headers(cls):
        """CORS for browser apps. Tokens travel in a header, not a cookie, so a
        wildcard origin exposes nothing; override to restrict it."""
        return dict(DEFAULT_CORS)

    @classmethod
    def _jwt_error_response(cls, error):
        """The one mapping of the API's errors (``exceptions.py``) to HTTP."""
        if isinstance(error, InvalidToken):
            _logger.info('JWT refused on %s: %s', request.httprequest.path, error)
        elif error.code == 503:
            _logger.error('JWT service unavailable: %s', error)
        return cls._jwt_response(success=False, code=error.code, message=error.message,
                                 data=error.data, headers=error.headers)

    @classmethod
    def _jwt_invalid_token(cls, reason=None):
        return cls._jwt_error_response(InvalidToken(reason))

    @classmethod
    def _jwt_api_exception(cls, exception):
        """The enveloped answer to ``exception`` on API requests (and any path
        under ``/api/``), or ``None`` to leave it to Odoo."""
        if isinstance(exception, JwtAnswer):
            cls._jwt_era_stateless()
            return exception.response
        if not (getattr(request, 'jwt_api', False) or request.httprequest.path.startswith(API_PREFIX)):
            return None
        cls._jwt_era_stateless()
        length = request.httprequest.content_length
        if length and length > cls._jwt_max_body():  # whatever else is wrong, the body is refused first
            exception = BodyTooLarge('body of %d bytes' % length)
        elif not isinstance(exception, (JwtError, werkzeug.exceptions.HTTPException)) \
                and not cls._jwt_database_reachable():
            # A connection lost mid-request fails in many ways (even cache errors
            # on rollback): the client may retry, this is no bug of its request.
            exception = ServiceUnavailable('database unreachable (%s)' % type(exception).__name__)
        if isinstance(exception, JwtError):
            return cls._jwt_error_response(exception)
        return exception_envelope(exception)

    @classmethod
    def _jwt_database_reachable(cls):
        """Whether a new connection to this database answers (error paths only)."""
        try:
            with closing(request.env.registry.cursor()) as cr:
                cr.execute('SELECT 1')
            return True
        except Exception:
            return False

    # -- request parsing -----------------------------------------------------
    @classmethod
    def _jwt_bearer_token(cls):
        """The token of an ``Authorization: Bearer <token>`` header, or ``''``."""
        return bearer_token(request.httprequest.headers)

    @classmethod
    def _jwt_parse_request(cls):
        """``(http_method, body, headers, token)`` as the original helper returned."""
        headers = dict(request.httprequest.headers.items())
        return request.httprequest.method, dict(request.params), headers, cls._jwt_bearer_token()

    @classmethod
    def _jwt_max_body(cls):
        """Largest API request body accepted, in bytes (413 beyond)."""
        try:
            return api.Environment(request.cr, SUPERUSER_ID, {})['jwt_provider.key']._param('max_body_size')
        except Exception:  # the database is gone: answering it is someone else's job
            return DEFAULTS['max_body_size']

    # -- authentication ------------------------------------------------------
    @classmethod
    def _jwt_verify(cls, token):
        """The user id of a valid access token; ``InvalidToken``/``KeyConfigError`` otherwise.

        Recording the token's use waits for the end of the request: Odoo rolls
        back what authentication writes before it calls the endpoint.
        """
        env = api.Environment(request.cr, SUPERUSER_ID, {})
        token_id, uid, last_used = env['jwt_provider.token']._lookup(token)
        request.jwt_token_use = (token_id, last_used)
        return uid

    @classmethod
    def _jwt_login_as(cls, uid):
        """Run the rest of the request as ``uid`` without touching the session."""
        request.jwt_stateless = True
        cls._jwt_era_set_user(uid)

    @classmethod
    def _auth_method_jwt(cls):
        """``@http.route(..., auth='jwt')``: a valid bearer token or an enveloped 498."""
        request.jwt_stateless = True
        try:
            uid = cls._jwt_verify(cls._jwt_bearer_token())
        except JwtError as e:
            raise JwtAnswer(cls._jwt_error_response(e))
        except (psycopg2.Error, PoolError) as e:
            # Odoo's _authenticate would turn this into AccessDenied: a lost
            # database is a 503, not a refused token.
            raise JwtAnswer(exception_envelope(ServiceUnavailable(type(e).__name__)))
        cls._jwt_login_as(uid)

    @classmethod
    def _jwt_is_api_route(cls, routing):
        return routing.get('auth') == 'jwt' or bool(routing.get('jwt_api'))

    @classmethod
    def _jwt_before_auth(cls, routing):
        """Checks of an API request before authentication: CORS preflight
        (answered without credentials) and the body (size, JSON)."""
        if not cls._jwt_is_api_route(routing):
            return
        request.jwt_api = request.jwt_stateless = True
        cls._jwt_era_stateless()
        try:
            check_body_size(request.httprequest, cls._jwt_max_body())  # first, whatever the method
            if request.httprequest.method == 'OPTIONS':  # CORS preflight: no credentials
                raise JwtAnswer(cls._jwt_response(code=200))
            cls._jwt_era_read_body(cls._jwt_max_body())
        except JwtError as e:
            raise JwtAnswer(cls._jwt_error_response(e))

    @classmethod
    def _jwt_after_endpoint(cls, response):
        """Record the token's use (committed with the request) and keep the answer stateless."""
        token_use = getattr(request, 'jwt_token_use', None)
        if token_use and 200 <= getattr(response, 'status_code', 200) < 400:
            api.Environment(request.cr, SUPERUSER_ID, {})['jwt_provider.token']._touch(*token_use)
        if getattr(request, 'jwt_stateless', False):
            cls._jwt_era_stateless()

    # -- era hooks: implemented in adapters/http_legacy.py and http_modern.py --
    @classmethod
    def _jwt_era_set_user(cls, uid):
        raise NotImplementedError

    @classmethod
    def _jwt_era_stateless(cls):
        raise NotImplementedError

    @classmethod
    def _jwt_era_read_body(cls, limit):
        raise NotImplementedError
