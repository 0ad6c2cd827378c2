"""HTTP adapter for Odoo 16.0+ (``odoo.http.Request`` and dispatchers).

The request model of 16.0 offers what the legacy adapter had to patch:
``ir.http._authenticate(endpoint)`` sees the route before the body is read,
``_pre_dispatch(rule, args)`` can add the JSON body to the endpoint's
arguments, and ``session.can_save`` keeps token requests stateless.

Three small patches of ``odoo.http.Request`` remain, for what happens before
a database (and so ``ir.http``) is reachable; each acts only on this addon's
requests:

- ``_get_session_and_dbname``: as in the legacy adapter, a bearer token names
  its database, which spares Odoo's database listing and serves
  multi-database servers without a dbfilter. Only requests without a session
  cookie whose token names a loaded database that has this addon.
- ``_serve_nodb``: when such a database is unreachable, a 503 in the envelope
  instead of a 404 page.
- ``_serve_db``: requests under ``/api/`` or routed by a token wait for an
  API slot (``tools.api_slot``) before taking a database connection.
"""
import psycopg2
from werkzeug.exceptions import NotFound
from werkzeug.routing import RequestRedirect

from odoo import http, models
from odoo.http import request
from odoo.modules.registry import Registry
from odoo.sql_db import PoolError

from ..exceptions import ServiceUnavailable
from ..models.ir_http import API_PREFIX, exception_envelope
from ..tools import api_slot, bearer_token, body_arguments, check_body_size, is_json, read_json_body, token_db_claim


def _token_db(httprequest):
    if 'session_id' in httprequest.cookies:
        return None
    db = token_db_claim(bearer_token(httprequest.headers))
    registry = Registry.registries.get(db) if db else None
    if registry is None or not hasattr(registry['ir.http'], '_jwt_before_auth'):
        return None
    return db if http.db_filter([db], host=httprequest.environ.get('HTTP_HOST')) else None


_get_session_and_dbname = http.Request._get_session_and_dbname
_serve_nodb = http.Request._serve_nodb
_serve_db = http.Request._serve_db


class _NoApiSlot(Exception):
    pass


def get_session_and_dbname(self):
    db = _token_db(self.httprequest)
    if db is None:
        return _get_session_and_dbname(self)
    session = http.root.session_store.new()
    for key, value in http.get_default_session().items():
        session.setdefault(key, value)
    session.db = db
    session.is_dirty = False
    session.can_save = False
    self.jwt_token_db = db
    return session, db


def serve_nodb(self):
    if getattr(self, 'jwt_token_db', None):
        return exception_envelope(ServiceUnavailable('database %s unreachable' % self.jwt_token_db))
    return _serve_nodb(self)


def serve_db(self):
    # API calls wait for a slot before the request takes its database connection.
    if not (getattr(self, 'jwt_token_db', None) or self.httprequest.path.startswith(API_PREFIX)):
        return _serve_db(self)
    try:
        with api_slot(_NoApiSlot):
            return _serve_db(self)
    except _NoApiSlot:
        return exception_envelope(ServiceUnavailable('no free API slot'))
    except (psycopg2.Error, PoolError) as e:
        if hasattr(e, 'error_response'):  # ir.http already answered it
            raise
        # Lost while Odoo checks the registry, before ir.http: a 503, not a 500 page.
        return exception_envelope(ServiceUnavailable(type(e).__name__))


http.Request._get_session_and_dbname = get_session_and_dbname
http.Request._serve_db = serve_db
http.Request._serve_nodb = serve_nodb


class IrHttp(models.AbstractModel):
    _inherit = 'ir.http'

    @classmethod
    def _match(cls, path_info):
        # Werkzeug's map answers a path with doubled slashes ("/api//me",
        # "/api/%2fme") with a 308 redirect page (19.0's Werkzeug does); under
        # /api/ a path that is not a route is a 404 in the envelope, on every series.
        try:
            return super()._match(path_info)
        except RequestRedirect:
            if path_info.startswith(API_PREFIX):
                raise NotFound()
            raise

    @classmethod
    def _authenticate(cls, endpoint):
        cls._jwt_before_auth(endpoint.routing)
        return super()._authenticate(endpoint)

    @classmethod
    def _pre_dispatch(cls, rule, args):
        res = super()._pre_dispatch(rule, args)
        if getattr(request, 'jwt_api', False):
            cls._jwt_era_stateless()  # Dispatcher.pre_dispatch sets it from the route again
            request.httprequest.max_content_length = cls._jwt_max_body()
            # The JSON body joins the route's arguments (which keep priority).
            for key, value in getattr(request, 'jwt_json_body', {}).items():
                args.setdefault(key, value)
        return res

    @classmethod
    def _dispatch(cls, endpoint):
        if getattr(request, 'jwt_api', False):
            # A client field named "self" would collide with the controller's own argument.
            request.params.pop('self', None)
            request.params.pop('session_id', None)
        return super()._dispatch(endpoint)

    @classmethod
    def _post_dispatch(cls, response):
        if getattr(request, 'jwt_stateless', False):
            cls._jwt_after_endpoint(response)
        return super()._post_dispatch(response)

    @classmethod
    def _serve_fallback(cls):
        # Odoo looks unrouted paths up as attachment URLs; under /api/ there
        # are none (and a NUL in the path would reach PostgreSQL): a 404.
        if request.httprequest.path.startswith(API_PREFIX):
            return None
        return super()._serve_fallback()

    @classmethod
    def _handle_error(cls, exception):
        response = cls._jwt_api_exception(exception)
        if response is None:
            return super()._handle_error(exception)
        return response

    # -- era hooks of models/ir_http.py ----------------------------------------
    @classmethod
    def _jwt_era_set_user(cls, uid):
        request.update_env(user=uid)
        request.update_context(**request.env['res.users'].context_get())

    @classmethod
    def _jwt_era_stateless(cls):
        request.session.can_save = False

    @classmethod
    def _jwt_era_read_body(cls, limit):
        check_body_size(request.httprequest, limit)
        if is_json(request.httprequest):
            request.jwt_json_body = body_arguments(read_json_body(request.httprequest, limit))
