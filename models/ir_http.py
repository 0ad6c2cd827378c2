"""Request side of the addon: the ``jwt`` route auth type, bearer tokens, the
JSON envelope, CORS, stateless answers and the one mapping of errors to HTTP.

Everything is a classmethod of ``ir.http`` so other addons change it with
``_inherit = 'ir.http'``; ``jwt_http`` is a thin facade over it. What differs
between Odoo's HTTP layers (before and after 16.0) is in ``adapters/``, which
completes this model with the ``_jwt_era_*`` hooks.
"""
import logging
from contextlib import closing

import psycopg2

from odoo import SUPERUSER_ID, api, models
from odoo.http import request
from odoo.sql_db import PoolError

from ..answers import CLIENT_ERRORS, DEFAULT_CORS, JwtAnswer, answer_envelope, envelope, error_answer, jsonrpc_error
from ..exceptions import BodyTooLarge, InsufficientScope, InvalidToken, JwtError, ServiceUnavailable
from ..request_state import jwt_state
from ..tools import bearer_token, check_body_size, check_form_encoding, remember_body_limit
from .jwt_provider_key import DEFAULTS

_logger = logging.getLogger(__name__)

TOKEN_INVALID_MESSAGE = InvalidToken.message


def _no_csrf_needed(csrf):
    return True


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
    def _jwt_error_response(cls, error, log=True):
        """The answer to ``error`` (any exception; see ``answers.py`` for the
        mapping): in the envelope, or in JSON-RPC's shape on a ``type='json'`` route."""
        answer = error_answer(error, log, path=request.httprequest.path)
        state = jwt_state(request, create=False)
        if state is not None and state.jsonrpc:
            return jsonrpc_error(answer, cls._jwt_jsonrpc_id(state), cls._jwt_cors_headers())
        return answer_envelope(answer, cls._jwt_cors_headers())

    @classmethod
    def _jwt_jsonrpc_id(cls, state):
        body = state.json_body if isinstance(state.json_body, dict) else {}
        request_id = body.get('id')
        return request_id if isinstance(request_id, (str, int, float)) or request_id is None else None

    @classmethod
    def _jwt_invalid_token(cls, reason=None):
        return cls._jwt_error_response(InvalidToken(reason))

    @classmethod
    def _jwt_api_exception(cls, exception):
        """The answer to ``exception`` on the addon's requests (its routes,
        ``auth='jwt'`` routes, unrouted paths under ``/api/``), or ``None``
        to leave it to Odoo."""
        if isinstance(exception, JwtAnswer):
            cls._jwt_era_stateless()
            return exception.response
        state = jwt_state(request, create=False)
        if state is None or state.routing is None:
            return None
        cls._jwt_era_stateless()
        length = request.httprequest.content_length
        if length and length > cls._jwt_max_body():  # whatever else is wrong, the body is refused first
            exception = BodyTooLarge('body of %d bytes' % length)
        elif not isinstance(exception, CLIENT_ERRORS) and not cls._jwt_database_reachable():
            # A connection lost mid-request fails in many ways (even cache errors
            # on rollback): the client may retry, this is no bug of its request.
            exception = ServiceUnavailable('database unreachable (%s)' % type(exception).__name__)
        return cls._jwt_error_response(exception, log=not cls._jwt_era_odoo_logs_errors)

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
            limit = cls._jwt_sudo_env()['jwt_provider.key']._param('max_body_size')
        except Exception:  # the database is gone: answering it is someone else's job
            return DEFAULTS['max_body_size']
        # Remembered for the next request's body, read before it has a cursor.
        return remember_body_limit(request.db, limit)

    # -- authentication ------------------------------------------------------
    @classmethod
    def _jwt_verify(cls, token):
        """The user id of a valid access token; ``InvalidToken``/``KeyConfigError`` otherwise.

        Recording the token's use waits for the end of the request: Odoo rolls
        back what authentication writes before it calls the endpoint. The
        token's claims stay on the request's state (``scope``, ``client_id``).
        """
        Token = cls._jwt_sudo_env()['jwt_provider.token']
        (token_id, uid, last_used), claims = Token._lookup_claims(token)
        state = jwt_state(request)
        # Most requests have nothing to record: no environment to build after the endpoint.
        state.token_use = (token_id, last_used) if Token._touch_due(last_used) else None
        state.claims = claims
        return uid

    @classmethod
    def _jwt_check_scopes(cls, routing, claims):
        """``InsufficientScope`` unless the token's ``scope`` grants every scope the
        route requires (``@http.route(..., jwt_scopes=[...])``); a token without
        ``scope`` keeps its user's full rights."""
        if not (routing or {}).get('jwt_scopes'):  # most routes: no environment to build per request
            return
        Token = cls._jwt_sudo_env()['jwt_provider.token']
        required = Token._route_scopes(routing or {})
        if required and not Token._scope_allows(claims, required):
            raise InsufficientScope('scope %r lacks %s' % (claims.get('scope'), ' '.join(required)),
                                    headers={'WWW-Authenticate': cls._jwt_www_authenticate(
                                        'insufficient_scope', scope=' '.join(required))})

    @classmethod
    def _jwt_www_authenticate(cls, error=None, scope=None):
        """The ``WWW-Authenticate`` challenge of a refused bearer request (RFC 6750 3):
        ``Bearer realm="api"`` when no token was sent, with ``error`` (and the
        ``scope`` needed) when one was."""
        parts = ['realm="api"']
        if error:
            parts.append('error="%s"' % error)
        if scope:
            parts.append('scope="%s"' % scope)
        return 'Bearer ' + ', '.join(parts)

    @classmethod
    def _jwt_login_as(cls, uid):
        """Run the rest of the request as ``uid`` without touching the session."""
        jwt_state(request).stateless = True
        cls._jwt_era_set_user(uid)

    @classmethod
    def _auth_method_jwt(cls):
        """``@http.route(..., auth='jwt')``: a valid bearer token or an enveloped 498.

        A bearer token is no credential a browser attaches by itself, so a
        request that carries one cannot be forged cross-site: the route needs
        no CSRF token (as Django REST framework's token authentication).
        """
        state = jwt_state(request)
        state.stateless = True
        token = cls._jwt_bearer_token()
        try:
            uid = cls._jwt_verify(token)
            cls._jwt_check_scopes(state.routing, state.claims)
        except InvalidToken as e:
            e.headers.setdefault('WWW-Authenticate', cls._jwt_www_authenticate('invalid_token' if token else None))
            raise JwtAnswer(cls._jwt_error_response(e))
        except JwtError as e:
            raise JwtAnswer(cls._jwt_error_response(e))
        except (psycopg2.Error, PoolError) as e:
            # Odoo's _authenticate would turn this into AccessDenied: a lost
            # database is a 503, not a refused token.
            raise JwtAnswer(cls._jwt_error_response(ServiceUnavailable(type(e).__name__)))
        state.bearer = True
        request.validate_csrf = _no_csrf_needed  # this request only
        cls._jwt_login_as(uid)

    @classmethod
    def _jwt_is_api_route(cls, routing):
        """The one predicate: is this route the addon's to serve? Its own
        routes (``jwt_api=True``) and ``auth='jwt'`` routes; nothing else."""
        return routing.get('auth') == 'jwt' or bool(routing.get('jwt_api'))

    @classmethod
    def _jwt_before_auth(cls, routing):
        """Checks of an API request before authentication: CORS preflight
        (answered without credentials) and the body (size, encoding, JSON)."""
        if not cls._jwt_is_api_route(routing):
            return
        state = jwt_state(request)
        state.routing = routing
        state.stateless = True
        cls._jwt_era_stateless()
        try:
            limit = cls._jwt_max_body()
            check_body_size(request.httprequest, limit)  # first, whatever the method
            if request.httprequest.method == 'OPTIONS':  # CORS preflight: no credentials
                raise JwtAnswer(cls._jwt_response(code=200))
            if not state.jsonrpc:
                check_form_encoding(request.httprequest, limit)
            cls._jwt_era_read_body(limit)
        except JwtError as e:
            raise JwtAnswer(cls._jwt_error_response(e))

    @classmethod
    def _jwt_after_endpoint(cls, response):
        """Record the token's use (committed with the request) and keep the answer stateless."""
        state = jwt_state(request, create=False)
        if state is None:
            return
        if state.token_use and 200 <= getattr(response, 'status_code', 200) < 400:
            cls._jwt_sudo_env()['jwt_provider.token']._touch(*state.token_use)
        if state.stateless:
            cls._jwt_era_stateless()

    @classmethod
    def _jwt_sudo_env(cls):
        """The superuser's environment on the request's cursor: verifying a token
        happens before the request has a user."""
        return api.Environment(cls._jwt_era_cursor(), SUPERUSER_ID, {})

    # -- era hooks: implemented in adapters/http_legacy.py and http_modern.py --
    # Whether Odoo logs an exception ir.http answered (16.0+ do, in Application.__call__).
    _jwt_era_odoo_logs_errors = False

    @classmethod
    def _jwt_era_cursor(cls):
        """The request's database cursor."""
        raise NotImplementedError

    @classmethod
    def _jwt_era_set_user(cls, uid):
        raise NotImplementedError

    @classmethod
    def _jwt_era_stateless(cls):
        raise NotImplementedError

    @classmethod
    def _jwt_era_read_body(cls, limit):
        raise NotImplementedError

    @classmethod
    def _jwt_era_api_routings(cls):
        """The routing (``@http.route`` arguments) of every route ``_jwt_is_api_route``
        accepts on this database, without a request."""
        raise NotImplementedError
