"""The two places the addon hooks Odoo's WSGI application (``odoo.http.Root``).

Both run before any model is reachable, which is why they cannot live on
``ir.http``; both hand over to ``ir.http`` as soon as they can, and leave
databases where the addon is not installed untouched.

1. JSON bodies for ``type='http'`` routes (``get_request``).

Odoo treats every ``application/json`` request as JSON-RPC: a plain JSON
object such as ``{"email": ..., "password": ...}`` sent to an ``http`` route
fails with a 400 (after logging the whole body, password included), and a JSON
array crashes with a 500. Mobile apps send exactly such bodies, so on
databases where this addon is installed a JSON body that is not JSON-RPC is
read as the route's parameters, like a form. JSON-RPC calls (bodies with a
``jsonrpc``, ``method`` or ``params`` key) are untouched.

2. The database of a bearer token (``setup_db``).

A request without a session makes Odoo list the server's databases (a new
PostgreSQL connection each time) to pick one, and fails on multi-database
servers without a dbfilter. Tokens name their database in a ``db`` claim:
when that database is already loaded in this process, passes the dbfilter
and has the addon, the request goes there directly. The claim only routes
the request; the token is verified there as usual (signature, audience).
"""
import base64
import json

import odoo
from odoo import http
from odoo.modules.registry import Registry

from .models.jwt_provider_token import MAX_TOKEN_LENGTH

JSON_MIMETYPES = ('application/json', 'application/json-rpc')
JSON_RPC_KEYS = ('jsonrpc', 'method', 'params')
# Sentinel for a body that is not valid JSON (or not an object).
JSON_BODY_INVALID = object()


class JsonBodyHttpRequest(http.HttpRequest):
    """An ``http`` request whose parameters come from a JSON object body.

    An undecodable body leaves ``jwt_body_error`` set: API routes answer it
    with a 400 in the envelope; other routes see no parameters.
    """

    def __init__(self, httprequest, body):
        super(JsonBodyHttpRequest, self).__init__(httprequest)
        self.jwt_body_error = None
        if body is JSON_BODY_INVALID:
            self.jwt_body_error = 'Invalid JSON body: a JSON object is expected'
        else:
            self.params.update(body)


def _decode(httprequest):
    try:
        body = json.loads(httprequest.get_data().decode(httprequest.charset or 'utf-8') or '{}')
    except (ValueError, RecursionError, UnicodeDecodeError):
        return JSON_BODY_INVALID
    return body if isinstance(body, dict) else JSON_BODY_INVALID


def _addon_ir_http(db):
    """The ``ir.http`` of ``db`` if this addon is installed there, else ``None``."""
    try:
        ir_http = odoo.registry(db)['ir.http']
    except Exception:  # unknown or broken database: Odoo's own dispatch reports it
        return None
    return ir_http if hasattr(ir_http, '_jwt_json_request') else None


def bearer_token(headers):
    """The token of an ``Authorization: Bearer <token>`` header, or ``''``.

    The one parser of the header: ``ir.http`` uses it too.
    """
    scheme, _sep, token = headers.get('Authorization', '').strip().partition(' ')
    if scheme.lower() != 'bearer':
        return ''
    token = token.strip()
    return token if token and ' ' not in token else ''


def _bearer_token_db(httprequest):
    """The ``db`` claim of the request's bearer token, when it can be used as is."""
    token = bearer_token(httprequest.headers)
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        payload = token.split('.')[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + '=' * (-len(payload) % 4)))
        db = claims.get('db')
    except Exception:  # not a JWT: the auth method will answer 498
        return None
    if not isinstance(db, str) or db not in Registry.registries:
        return None
    if not hasattr(Registry.registries[db]['ir.http'], '_jwt_json_request'):
        return None
    return db if http.db_filter([db], httprequest=httprequest) else None


_setup_db = http.Root.setup_db


def setup_db(self, httprequest):
    if not httprequest.session.db:
        db = _bearer_token_db(httprequest)
        if db:
            httprequest.session.db = db
            return
    _setup_db(self, httprequest)


_get_request = http.Root.get_request


def get_request(self, httprequest):
    if httprequest.mimetype in JSON_MIMETYPES and not httprequest.args.get('jsonp'):
        db = httprequest.session.db
        ir_http = _addon_ir_http(db) if db else None
        if ir_http is not None:
            body = _decode(httprequest)
            if body is JSON_BODY_INVALID or not any(key in body for key in JSON_RPC_KEYS):
                result = ir_http._jwt_json_request(httprequest, body)
                if result is not None:
                    return result
    return _get_request(self, httprequest)


http.Root.get_request = get_request
http.Root.setup_db = setup_db
