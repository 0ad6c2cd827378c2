"""Request side of the addon: the ``jwt`` route auth type, bearer-token
parsing, the JSON envelope, CORS and stateless responses.

Everything is a classmethod of ``ir.http`` so other addons change it with
``_inherit = 'ir.http'``; ``jwt_http`` is a thin facade over it.
"""
import json
import logging

import werkzeug.exceptions
import werkzeug.wrappers

from odoo import SUPERUSER_ID, api, http, models
from odoo.http import request

from .. import compat
from ..http_hooks import JsonBodyHttpRequest, bearer_token
from ..models.jwt_provider_key import KeyConfigError
from ..models.jwt_provider_token import InvalidToken

_logger = logging.getLogger(__name__)

TOKEN_INVALID_MESSAGE = 'Token invalid or expired'
CORS_HEADERS = 'Authorization, Content-Type, Accept, Origin, X-Requested-With'
CORS_METHODS = 'GET, POST, PUT, PATCH, DELETE, OPTIONS'


class JwtResponse(http.Response):
    """A response that keeps the request stateless: it never sets the
    ``session_id`` cookie, which Odoo otherwise adds to every response."""

    def set_cookie(self, key, *args, **kwargs):
        if key == 'session_id':
            return
        return super(JwtResponse, self).set_cookie(key, *args, **kwargs)


class JwtAnswer(werkzeug.exceptions.HTTPException):
    """Ends a request early with an enveloped answer: 498 from the ``jwt`` auth
    type, a CORS preflight, a 400 for an undecodable body."""

    def __init__(self, response):
        super(JwtAnswer, self).__init__(response=response)
        self.code = response.status_code


class IrHttp(models.AbstractModel):
    _inherit = 'ir.http'

    # -- responses -----------------------------------------------------------
    @classmethod
    def _jwt_response(cls, data=None, success=True, message=None, code=200, headers=None):
        """The addon's JSON envelope ``{"data", "success", "message"}``."""
        body = json.dumps({'data': data, 'success': success, 'message': message}, default=str)
        response = JwtResponse(body, status=code, mimetype='application/json')
        for name, value in cls._jwt_cors_headers().items():
            response.headers[name] = value
        for name, value in (headers or {}).items():
            response.headers[name] = value
        return response

    @classmethod
    def _jwt_cors_headers(cls):
        """CORS for browser apps. Tokens travel in a header, not a cookie, so a
        wildcard origin exposes nothing; override to restrict it."""
        return {
            'Access-Control-Allow-Origin': '*',
            'Access-Control-Allow-Headers': CORS_HEADERS,
            'Access-Control-Allow-Methods': CORS_METHODS,
            'Access-Control-Max-Age': '86400',
        }

    @classmethod
    def _jwt_invalid_token(cls, reason=None):
        _logger.info('JWT refused on %s: %s', request.httprequest.path, reason or 'invalid')
        return cls._jwt_response(success=False, message=TOKEN_INVALID_MESSAGE, code=498)

    @classmethod
    def _jwt_misconfigured(cls, error):
        _logger.error('JWT signing is not configured: %s', error)
        return cls._jwt_response(success=False, code=503,
                                 message='The token service is not configured')

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
        request.uid = uid
        request.jwt_stateless = True
        context = dict(request.context)
        context.update(request.env['res.users'].context_get())
        request.context = context

    @classmethod
    def _auth_method_jwt(cls):
        """``@http.route(..., auth='jwt')``: a valid bearer token or an enveloped 498."""
        request.jwt_stateless = True
        try:
            uid = cls._jwt_verify(cls._jwt_bearer_token())
        except InvalidToken as e:
            raise JwtAnswer(cls._jwt_invalid_token(str(e)))
        except KeyConfigError as e:
            raise JwtAnswer(cls._jwt_misconfigured(e))
        cls._jwt_login_as(uid)

    # -- dispatch ------------------------------------------------------------
    @classmethod
    def _jwt_is_api_route(cls, routing):
        return routing.get('auth') == 'jwt' or bool(routing.get('jwt_api'))

    @classmethod
    def _jwt_api_request(cls):
        """Whether the current request targets an API route (decided once per request)."""
        if not hasattr(request, 'jwt_api_route'):
            try:
                routing = compat.current_rule(cls).endpoint.routing
                request.jwt_api_route = cls._jwt_is_api_route(routing)
            except Exception:  # no route (404) or wrong method: Odoo answers as usual
                request.jwt_api_route = False
        return request.jwt_api_route

    @classmethod
    def _authenticate(cls, auth_method='user'):
        # Checked here rather than in _dispatch: modules such as http_routing
        # authenticate in their own _dispatch, before any inner override runs.
        if cls._jwt_api_request():
            request.jwt_stateless = True
            if request.httprequest.method == 'OPTIONS':  # CORS preflight: no credentials
                raise JwtAnswer(cls._jwt_response(code=200))
            error = getattr(request, 'jwt_body_error', None)
            if error:
                raise JwtAnswer(cls._jwt_response(success=False, message=error, code=400))
            # A client field named "self" would collide with the controller's
            # own argument and turn the request into a 500.
            getattr(request, 'params', {}).pop('self', None)
        return super(IrHttp, cls)._authenticate(auth_method)

    @classmethod
    def _dispatch(cls):
        response = super(IrHttp, cls)._dispatch()
        token_use = getattr(request, 'jwt_token_use', None)
        if token_use and not request._failed:
            api.Environment(request.cr, SUPERUSER_ID, {})['jwt_provider.token']._touch(*token_use)
        if getattr(request, 'jwt_stateless', False) or isinstance(response, JwtResponse):
            response = cls._jwt_stateless(response)
        return response

    @classmethod
    def _handle_exception(cls, exception):
        # Early answers are already in the envelope, for json routes too.
        if isinstance(exception, JwtAnswer):
            return cls._jwt_stateless(exception.response)
        return super(IrHttp, cls)._handle_exception(exception)

    @classmethod
    def _jwt_json_request(cls, httprequest, body):
        """The request object for a non-JSON-RPC JSON body, or ``None`` for Odoo's default.

        ``body`` is the decoded JSON, or ``JSON_BODY_INVALID``.
        """
        return JsonBodyHttpRequest(httprequest, body)

    @classmethod
    def _jwt_stateless(cls, response):
        """No session file, no ``session_id`` cookie for token requests."""
        request.session.modified = False
        if isinstance(response, werkzeug.wrappers.BaseResponse) and not isinstance(response, JwtResponse):
            response = JwtResponse.force_type(response)
        return response
