"""What the addon answers: the envelope, its JSON-RPC twin, and the one
mapping of exceptions to HTTP statuses.

Plain functions, no model: the adapters (``adapters/``) also answer before a
database, and so ``ir.http``, is reachable. ``ir.http`` (``models/ir_http.py``)
calls them with its own ``_jwt_cors_headers()``, so an ``_inherit`` that
restricts CORS applies to every answer.

=====================================  ======  =========================================
exception                              status  logged
=====================================  ======  =========================================
``JwtError`` (``exceptions.py``)       its own 498 INFO, 503 WARNING (ERROR: no key)
``AccessError``, ``AccessDenied``      403     WARNING, no traceback (as Odoo does)
``MissingError``                       404     WARNING, no traceback
``UserError``, ``ValidationError``     400     INFO, no traceback: written for users
werkzeug ``HTTPException``             its own ERROR only for 5xx
lost database connection               503     WARNING
anything else                          500     ERROR with traceback: a bug
=====================================  ======  =========================================
"""
import json
import logging

import psycopg2
import werkzeug.exceptions

from odoo import http
from odoo.exceptions import AccessDenied, AccessError, MissingError
from odoo.sql_db import PoolError

from .compat import USER_ERRORS
from .exceptions import InvalidToken, JwtError, KeyConfigError, ServiceUnavailable

_logger = logging.getLogger(__name__)

CORS_HEADERS = 'Authorization, Content-Type, Accept, Origin, X-Requested-With'
CORS_METHODS = 'GET, POST, PUT, PATCH, DELETE, OPTIONS'
DEFAULT_CORS = {
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Allow-Headers': CORS_HEADERS,
    'Access-Control-Allow-Methods': CORS_METHODS,
    'Access-Control-Max-Age': '86400',
}
DATABASE_ERRORS = (psycopg2.OperationalError, psycopg2.InterfaceError, PoolError)
# Raised on purpose, for the client: never a sign that the database went away.
CLIENT_ERRORS = (JwtError, werkzeug.exceptions.HTTPException, AccessError, AccessDenied, MissingError) + USER_ERRORS


class JwtResponse(http.Response):
    """A response that keeps the request stateless: it never sets the
    ``session_id`` cookie, which Odoo otherwise adds to every response."""

    def set_cookie(self, key, *args, **kwargs):
        if key == 'session_id':
            return
        return super(JwtResponse, self).set_cookie(key, *args, **kwargs)


class JwtAnswer(werkzeug.exceptions.HTTPException):
    """Ends a request early with a ready answer (498 from the ``jwt`` auth
    type, a CORS preflight, a refused body)."""

    def __init__(self, response):
        super(JwtAnswer, self).__init__(response=response)
        self.code = response.status_code


class Answer(object):
    """An error as the client gets it: status, message, data and headers."""
    __slots__ = ('code', 'message', 'data', 'headers', 'name')

    def __init__(self, code, message, data=None, headers=None, name=None):
        self.code, self.message, self.data, self.headers, self.name = code, message, data, headers or {}, name


def _odoo_message(exception):
    """The text an Odoo exception was raised with (11.0 keeps a second, empty ``value``)."""
    message = exception.args[0] if exception.args else ''
    return str(message) if message else type(exception).__name__


def _name(exception):
    cls = type(exception)
    return '%s.%s' % (cls.__module__, cls.__name__)


def log_safe(text, limit=300):
    """``text`` (a client's path, say) as one printable line: a ``%0A`` in a
    path must not forge a line of the log."""
    return text[:limit].encode('unicode_escape').decode('ascii')


def error_answer(exception, log=True, path=None):
    """The one mapping of an exception raised while serving an API request to
    what the client gets (see the module's table); logs it accordingly, unless
    ``log`` is false for an exception Odoo goes on to log itself (16.0+)."""
    if isinstance(exception, JwtError):
        if isinstance(exception, InvalidToken) and path is not None:
            _logger.info('JWT refused on %s: %s', log_safe(path), exception)
        elif isinstance(exception, KeyConfigError):
            _logger.error('JWT service unavailable: %s', exception)  # the administrator must act
        elif exception.code >= 500:
            _logger.warning('JWT service unavailable: %s', exception)
        elif isinstance(exception, InvalidToken):
            _logger.info('JWT refused: %s', exception)
        return Answer(exception.code, exception.message, exception.data, exception.headers, _name(exception))
    if isinstance(exception, (AccessError, AccessDenied, MissingError) + USER_ERRORS):
        if isinstance(exception, (AccessError, AccessDenied)):
            code = 403
        elif isinstance(exception, MissingError):
            code = 404
        else:
            code = 400
        message = _odoo_message(exception)
        if log:
            (_logger.warning if code != 400 else _logger.info)(
                'API request refused (%d, %s): %s', code, type(exception).__name__, message)
        return Answer(code, message, name=_name(exception))
    if isinstance(exception, werkzeug.exceptions.HTTPException) and exception.code:
        if exception.code >= 500 and log:
            _logger.error('API request failed: %s', exception)
        allowed = getattr(exception, 'valid_methods', None)  # a 405 says which methods are
        return Answer(exception.code, exception.name, headers={'Allow': ', '.join(allowed)} if allowed else None,
                      name=_name(exception))
    if isinstance(exception, DATABASE_ERRORS):
        _logger.warning('API request: database unavailable (%s)', type(exception).__name__)
        return error_answer(ServiceUnavailable())
    if log:
        _logger.error('API request failed', exc_info=exception)
    return Answer(500, 'Internal Server Error', name='builtins.Exception')


def envelope(data=None, success=True, message=None, code=200, headers=None, cors=None):
    """The addon's JSON envelope ``{"data", "success", "message"}``."""
    body = json.dumps({'data': data, 'success': success, 'message': message}, default=str)
    return _json(body, code, headers, cors)


def oauth_json(body, code=200, headers=None, cors=None):
    """An answer of the OAuth endpoints (RFC 6749 5.1/5.2, RFC 7662): plain JSON,
    not the envelope, never cached (``Cache-Control: no-store``)."""
    headers = dict(headers or {}, **{'Cache-Control': 'no-store', 'Pragma': 'no-cache'})
    return _json(json.dumps(body, default=str), code, headers, cors)


def jsonrpc_error(answer, request_id=None, cors=None):
    """``answer`` in JSON-RPC 2.0's shape, for ``type='json'`` routes.

    As Odoo's own JSON-RPC errors: HTTP 200, the error object in the body,
    ``data.name`` the exception's class; ``code`` is the status the envelope
    would carry (498 for a refused token) and ``data.http_status`` repeats it.
    No ``debug`` traceback, unlike Odoo's.
    """
    error = {'code': answer.code, 'message': answer.message, 'data': {
        'name': answer.name, 'message': answer.message, 'arguments': [answer.message],
        'http_status': answer.code, 'data': answer.data}}
    body = json.dumps({'jsonrpc': '2.0', 'id': request_id, 'error': error}, default=str)
    return _json(body, 200, answer.headers, cors)


def _json(body, code, headers, cors):
    response = JwtResponse(body, status=code, mimetype='application/json')
    for name, value in dict(cors or DEFAULT_CORS, **(headers or {})).items():
        response.headers[name] = value
    response.headers['X-Content-Type-Options'] = 'nosniff'
    return response


def answer_envelope(answer, cors=None):
    return envelope(success=False, code=answer.code, message=answer.message, data=answer.data,
                    headers=answer.headers, cors=cors)
