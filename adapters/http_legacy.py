"""HTTP adapter for Odoo 11.0 - 15.0 (``odoo.http.Root`` and request classes).

Two hooks of ``Root`` are needed because they run before any model is
reachable; both first ask ``api_route.api_routing`` whether the request is
for one of the addon's routes (or an ``auth='jwt'`` route) on a database
where it is installed, and leave every other request to Odoo untouched:

- ``get_request``: Odoo reads every ``application/json`` body as JSON-RPC, so
  a plain JSON object sent to a ``type='http'`` API route fails. API routes
  get an ``ApiHttpRequest`` (``ApiJsonRequest`` for ``type='json'``) instead,
  whose body is read before it waits for an API slot, and parsed (bounded)
  once the database is reachable, by ``_jwt_era_read_body``.
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
from odoo.sql_db import PoolError

from ..answers import JwtAnswer, JwtResponse
from ..exceptions import BodyTooLarge, JwtError, ServiceUnavailable
from ..models.jwt_provider_key import DEFAULTS
from ..request_state import JwtRequestState, jwt_state
from ..tools import (
    API_PREFIX, api_slot, body_arguments, check_body_size, check_jsonrpc_params, is_json, known_body_limit,
    prefetch_body, read_json_body
)
from .api_route import addon_registry, api_routing, api_routings, early_answer, token_db

DATABASE_ERRORS = (psycopg2.Error, PoolError)


class _ApiRequest(object):
    """What both API request classes add to Odoo's: the body read before an
    API slot is taken, the slot held until the request ends, early answers."""

    def _jwt_init(self, httprequest, state, registry):
        http.WebRequest.__init__(self, httprequest)
        self.params = collections.OrderedDict(httprequest.args)
        self.params.pop('session_id', None)
        self.jwt_state = state
        self._jwt_registry = registry

    def __enter__(self):
        try:
            # The body first: a slow client must hold neither a slot nor a connection.
            prefetch_body(self.httprequest, known_body_limit(self._jwt_registry.db_name, DEFAULTS['max_body_size']))
        except JwtError as e:
            raise self._jwt_early(e)
        # Wait for an API slot before the first database connection is taken.
        self._jwt_slot = api_slot(lambda: self._jwt_early(ServiceUnavailable('no free API slot')))
        self._jwt_slot.__enter__()
        try:
            return super(_ApiRequest, self).__enter__()
        except BaseException:
            self._jwt_slot.__exit__(None, None, None)
            raise

    def __exit__(self, exc_type, exc_value, traceback):
        try:
            super(_ApiRequest, self).__exit__(exc_type, exc_value, traceback)
        except DATABASE_ERRORS as e:
            # The commit (or closing the cursor) failed on a lost connection:
            # what the endpoint answered did not happen, so the client retries.
            exc_value = exc_value or e
        finally:
            self._jwt_slot.__exit__(None, None, None)
        if isinstance(exc_value, DATABASE_ERRORS):
            # Odoo's dispatch lets these escape as a 500 page (e.g. the
            # connection is lost while it checks the registry): a 503 instead.
            raise self._jwt_early(ServiceUnavailable(type(exc_value).__name__))
        return False  # exceptions propagate

    def _jwt_early(self, exception):
        """A ``JwtAnswer`` to raise from ``__enter__``/``__exit__``, where this
        request is not current: Odoo's ``Response`` reads the current request (15.0)."""
        http._request_stack.push(self)
        try:
            return JwtAnswer(early_answer(self._jwt_registry, self.jwt_state.routing, exception))
        finally:
            http._request_stack.pop()

    def _handle_exception(self, exception):
        if self.endpoint is not None:  # JsonRequest.dispatch: the endpoint raised
            return self._jwt_registry['ir.http']._handle_exception(exception)
        # Reached without ir.http: the database was unreachable (a token named
        # it, so the addon is there) or no database serves the path.
        self._failed = exception
        if self.jwt_state.token_db and isinstance(exception, werkzeug.exceptions.NotFound):
            exception = ServiceUnavailable('database %s unreachable' % self.jwt_state.token_db)
        return early_answer(self._jwt_registry, self.jwt_state.routing, exception)


class ApiHttpRequest(_ApiRequest, http.HttpRequest):
    """A ``type='http'`` API route's request: query parameters now, the body later."""

    def __init__(self, httprequest, state, registry):
        self._jwt_init(httprequest, state, registry)


class ApiJsonRequest(_ApiRequest, http.JsonRequest):
    """A ``type='json'`` API route's request: JSON-RPC read by
    ``_jwt_era_read_body`` once the size limit is known, without JSONP."""

    def __init__(self, httprequest, state, registry):
        self._jwt_init(httprequest, state, registry)
        self.params = {}
        self.jsonrequest = {}
        self.jsonp = self.jsonp_handler = None


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


def _rules(registry):
    return ((rule.rule, rule.endpoint) for rule in _routing_map(registry).iter_rules())


def _routing(registry, httprequest):
    """The routing of the addon's route ``httprequest`` targets, ``{}`` for a
    path under ``/api/`` that no route of the database serves, else ``None``."""
    routing = api_routing(registry, httprequest, _rules)
    if routing is None and httprequest.path.startswith(API_PREFIX):
        try:
            _routing_map(registry).bind_to_environ(httprequest.environ).match()
        except werkzeug.exceptions.NotFound:
            return {}
        except Exception:  # another addon's route, a wrong method: Odoo answers
            return None
    return routing


_setup_db = http.Root.setup_db
_get_request = http.Root.get_request


def setup_db(self, httprequest):
    if not httprequest.session.db:
        db = token_db(httprequest, lambda db: http.db_filter([db], httprequest=httprequest))
        routing = _routing(addon_registry(db), httprequest) if db else None
        if routing is not None:
            httprequest.session.db = db
            httprequest.jwt_state = JwtRequestState(routing, token_db=db)
            return
    _setup_db(self, httprequest)


def get_request(self, httprequest):
    state = getattr(httprequest, 'jwt_state', None)
    registry = addon_registry(httprequest.session.db)
    if state is None and registry is not None:
        routing = _routing(registry, httprequest)
        state = JwtRequestState(routing) if routing is not None else None
    if state is not None and registry is not None:
        cls = ApiJsonRequest if state.jsonrpc else ApiHttpRequest
        return cls(httprequest, state, registry)
    return _get_request(self, httprequest)


http.Root.setup_db = setup_db
http.Root.get_request = get_request


class IrHttp(models.AbstractModel):
    _inherit = 'ir.http'

    @classmethod
    def _authenticate(cls, *args, **kwargs):
        # 11.0-13.0 pass the auth method, 14.0/15.0 the endpoint, and 11.0-13.0
        # set request.endpoint only after authenticating: the routing comes from
        # get_request, which matched Odoo's own map. Checked here rather than in
        # _dispatch: http_routing authenticates in its own _dispatch, before any
        # inner override runs.
        state = jwt_state(request, create=False)
        if state is not None and state.routing:
            cls._jwt_before_auth(state.routing)
        return super(IrHttp, cls)._authenticate(*args, **kwargs)

    @classmethod
    def _dispatch(cls):
        state = jwt_state(request, create=False)
        try:
            response = super(IrHttp, cls)._dispatch()
        except werkzeug.exceptions.MethodNotAllowed as e:  # Odoo lets it escape as a page
            if state is None or state.routing is None:
                raise
            if state.routing and request.httprequest.method == 'OPTIONS':
                # A CORS preflight of a route with methods: 16.0+ route OPTIONS themselves.
                cls._jwt_era_stateless()
                return cls._jwt_stateless_response(cls._jwt_response(code=200))
            return cls._handle_exception(e)
        if (state is not None and state.stateless) or isinstance(response, JwtResponse):
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
    def _jwt_era_api_routings(cls):
        return api_routings(cls.pool, _rules)

    @classmethod
    def _jwt_era_cursor(cls):
        return request.cr

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
        state = jwt_state(request, create=False)
        if state is None or not state.routing:
            return
        check_body_size(httprequest, limit)
        if state.jsonrpc:  # as JsonRequest reads it, once the size is known
            request.jsonrequest = state.json_body = read_json_body(httprequest, limit)
            check_jsonrpc_params(state.json_body)  # once the id is known, for the error's
            request.params = dict(request.jsonrequest.get('params') or {})
            request.params.pop('context', None)
            return
        if is_json(httprequest):
            body = read_json_body(httprequest, limit)
        else:
            try:
                body = collections.OrderedDict(httprequest.form)
                body.update(httprequest.files)
            except werkzeug.exceptions.RequestEntityTooLarge:
                raise BodyTooLarge('form over %d bytes' % limit)
        params.update(body_arguments(body))
