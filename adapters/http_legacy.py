"""HTTP adapter for Odoo 11.0 - 15.0 (``odoo.http.Root`` and request classes).

Two hooks of ``Root`` are needed because they run before any model is
reachable; both act only on requests for this addon's routes on databases
where it is installed, and leave every other request to Odoo untouched:

- ``get_request``: Odoo reads every ``application/json`` body as JSON-RPC, so
  a plain JSON object sent to a ``type='http'`` API route fails. API routes
  get an ``ApiHttpRequest`` instead, whose body is read (bounded) once the
  database is reachable, by ``_jwt_era_read_body``.
- ``setup_db``: a bearer token names its database (``db`` claim), which saves
  Odoo's database listing and serves multi-database servers without a
  dbfilter; the token is then verified there as usual.
"""
import collections

import psycopg2
import werkzeug.exceptions
import werkzeug.wrappers

from odoo import http, models
from odoo.http import request
from odoo.modules.registry import Registry
from odoo.sql_db import PoolError

from ..exceptions import BodyTooLarge, ServiceUnavailable
from ..models.ir_http import API_PREFIX, JwtAnswer, JwtResponse, exception_envelope
from ..tools import api_slot, bearer_token, body_arguments, check_body_size, is_json, read_json_body, token_db_claim


class ApiHttpRequest(http.HttpRequest):
    """The request of an API route: query parameters now, the body later."""

    def __init__(self, httprequest, routing, token_db=None):
        http.WebRequest.__init__(self, httprequest)
        self.params = collections.OrderedDict(httprequest.args)
        self.params.pop('session_id', None)
        self.jwt_routing = routing
        self.jwt_token_db = token_db

    def __enter__(self):
        # Wait for an API slot before the first database connection is taken.
        self._jwt_slot = api_slot(lambda: self._jwt_unavailable('no free API slot'))
        self._jwt_slot.__enter__()
        try:
            return super(ApiHttpRequest, self).__enter__()
        except BaseException:
            self._jwt_slot.__exit__(None, None, None)
            raise

    def __exit__(self, exc_type, exc_value, traceback):
        try:
            super(ApiHttpRequest, self).__exit__(exc_type, exc_value, traceback)
        except DATABASE_ERRORS as e:
            # The commit (or closing the cursor) failed on a lost connection:
            # what the endpoint answered did not happen, so the client retries.
            exc_value = exc_value or e
        finally:
            self._jwt_slot.__exit__(None, None, None)
        if isinstance(exc_value, DATABASE_ERRORS):
            # Odoo's dispatch lets these escape as a 500 page (e.g. the
            # connection is lost while it checks the registry): a 503 instead.
            raise self._jwt_unavailable(type(exc_value).__name__)
        return False  # exceptions propagate

    def _jwt_unavailable(self, reason):
        """A 503 to raise from ``__enter__``/``__exit__``, where this request
        is not current: Odoo's ``Response`` reads the current request (15.0)."""
        http._request_stack.push(self)
        try:
            return JwtAnswer(exception_envelope(ServiceUnavailable(reason)))
        finally:
            http._request_stack.pop()

    def _handle_exception(self, exception):
        # Reached without ir.http: the database was unreachable (a token named
        # it, so the addon is there) or no database serves the path.
        self._failed = exception
        if self.jwt_token_db and isinstance(exception, werkzeug.exceptions.NotFound):
            exception = ServiceUnavailable('database %s unreachable' % self.jwt_token_db)
        return exception_envelope(exception)


DATABASE_ERRORS = (psycopg2.Error, PoolError)


def _addon_registry(db):
    """The registry of ``db`` if it is loaded and has this addon, else ``None``."""
    registry = Registry.registries.get(db) if db else None
    if registry is None or not hasattr(registry['ir.http'], '_jwt_before_auth'):
        return None
    return registry


class _RoutingMapRequest(object):
    """What ``ir.http.routing_map()`` reads of ``request`` the first time it
    builds the map (then cached): ``get_request`` runs before Odoo's request exists."""

    def __init__(self, registry):
        self.registry = registry
        self.db = registry.db_name


def _routing_map(registry):
    http._request_stack.push(_RoutingMapRequest(registry))
    try:
        return registry['ir.http'].routing_map()
    finally:
        http._request_stack.pop()


def _api_routing(registry, httprequest):
    """The routing of the API route ``httprequest`` targets, ``{}`` for an
    unrouted path under ``/api/``, ``None`` for anything else."""
    ir_http = registry['ir.http']
    try:
        rule, _args = _routing_map(registry).bind_to_environ(httprequest.environ).match(return_rule=True)
        routing = rule.endpoint.routing
    except Exception:  # no route, wrong method, redirect: Odoo answers as usual
        return {} if httprequest.path.startswith(API_PREFIX) else None
    if ir_http._jwt_is_api_route(routing) or httprequest.path.startswith(API_PREFIX):
        return routing
    return None


def _token_db(httprequest):
    db = token_db_claim(bearer_token(httprequest.headers))
    if _addon_registry(db) is None:
        return None
    return db if http.db_filter([db], httprequest=httprequest) else None


_setup_db = http.Root.setup_db
_get_request = http.Root.get_request


def setup_db(self, httprequest):
    if not httprequest.session.db:
        db = _token_db(httprequest)
        if db:
            httprequest.session.db = db
            httprequest.jwt_token_db = db
            return
    _setup_db(self, httprequest)


def get_request(self, httprequest):
    registry = _addon_registry(httprequest.session.db)
    if registry is not None:
        routing = _api_routing(registry, httprequest)
        if routing is not None:
            return ApiHttpRequest(httprequest, routing, getattr(httprequest, 'jwt_token_db', None))
    return _get_request(self, httprequest)


http.Root.setup_db = setup_db
http.Root.get_request = get_request


class IrHttp(models.AbstractModel):
    _inherit = 'ir.http'

    @classmethod
    def _authenticate(cls, *args, **kwargs):
        # 11.0-13.0 pass the auth method, 14.0/15.0 the endpoint. Checked here
        # rather than in _dispatch: http_routing authenticates in its own
        # _dispatch, before any inner override runs.
        routing = getattr(request, 'jwt_routing', None)  # request is a proxy: no isinstance()
        if routing is not None:
            cls._jwt_before_auth(routing)
        return super(IrHttp, cls)._authenticate(*args, **kwargs)

    @classmethod
    def _dispatch(cls):
        response = super(IrHttp, cls)._dispatch()
        if getattr(request, 'jwt_stateless', False) or isinstance(response, JwtResponse):
            if not request._failed:
                cls._jwt_after_endpoint(response)
            response = cls._jwt_stateless_response(response)
        return response

    @classmethod
    def _handle_exception(cls, exception):
        response = cls._jwt_api_exception(exception)
        if response is None:
            return super(IrHttp, cls)._handle_exception(exception)
        if not isinstance(exception, JwtAnswer):
            request._failed = exception  # roll back what the failed endpoint wrote
        return cls._jwt_stateless_response(response)

    @classmethod
    def _jwt_stateless_response(cls, response):
        """No ``session_id`` cookie on a token request's answer."""
        if isinstance(response, werkzeug.wrappers.BaseResponse) and not isinstance(response, JwtResponse):
            response = JwtResponse.force_type(response)
        return response

    # -- era hooks of models/ir_http.py ----------------------------------------
    @classmethod
    def _jwt_era_set_user(cls, uid):
        request.uid = uid
        context = dict(request.context)
        context.update(request.env['res.users'].context_get())
        request.context = context

    @classmethod
    def _jwt_era_stateless(cls):
        request.session.modified = False

    @classmethod
    def _jwt_era_read_body(cls, limit):
        httprequest = request.httprequest
        params = request.params
        # A client field named "self" would collide with the controller's own argument.
        params.pop('self', None)
        if getattr(request, 'jwt_routing', None) is None:
            return
        check_body_size(httprequest, limit)
        if is_json(httprequest):
            body = read_json_body(httprequest, limit)
        else:
            try:
                body = collections.OrderedDict(httprequest.form)
                body.update(httprequest.files)
            except werkzeug.exceptions.RequestEntityTooLarge:
                raise BodyTooLarge('form over %d bytes' % limit)
        params.update(body_arguments(body))
