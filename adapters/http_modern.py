"""HTTP adapter for Odoo 16.0+ (``odoo.http.Request`` and dispatchers).

The request model of 16.0 offers what the legacy adapter had to patch:
``ir.http._authenticate(endpoint)`` sees the route before the body is read,
``_pre_dispatch(rule, args)`` can add the JSON body to the endpoint's
arguments, and ``session.can_save`` keeps token requests stateless.

Three small patches of ``odoo.http.Request`` remain, for what happens before
a database cursor (and so ``ir.http``) is taken. Each first asks
``api_route.api_routing`` whether the request is for one of the addon's
routes (or an ``auth='jwt'`` route) on a database where it is installed, and
leaves every other request to Odoo untouched:

- ``_get_session_and_dbname``: as in the legacy adapter, a bearer token names
  its database, which spares Odoo's database listing and serves
  multi-database servers without a dbfilter.
- ``_serve_nodb``: when such a database is unreachable, a 503 in the envelope
  instead of a 404 page.
- ``_serve_db``: the body is read first (``tools.prefetch_body``), then the
  request waits for an API slot (``tools.api_slot``), then Odoo takes its cursor.
"""
import psycopg2
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from odoo import http, models
from odoo.http import request
from odoo.sql_db import PoolError

from ..exceptions import JwtError, ServiceUnavailable
from ..models.jwt_provider_key import DEFAULTS
from ..request_state import jwt_state
from ..tools import (
    API_PREFIX, api_slot, body_arguments, check_body_size, check_jsonrpc_params, is_json, known_body_limit,
    prefetch_body, read_json_body
)
from .api_route import addon_registry, api_routing, api_routings, early_answer, token_db

_get_session_and_dbname = http.Request._get_session_and_dbname
_serve_nodb = http.Request._serve_nodb
_serve_db = http.Request._serve_db


def _generate_rules(registry):
    """``(url, endpoint)`` of every route of ``registry``'s modules, as Odoo's ``routing_map`` builds them."""
    from odoo.tools import config
    wide = getattr(getattr(http.odoo, 'conf', None), 'server_wide_modules', None) or config['server_wide_modules']
    modules = sorted(set(registry._init_modules).union(wide))
    return http._generate_routing_rules(modules, False, registry['ir.http']._get_converters())


def _routing(self):
    """The routing of the addon's route this request targets, or ``None``."""
    state = jwt_state(self, create=False)
    if state is not None and state.routing is not None:
        return state.routing
    registry = addon_registry(self.db)
    return api_routing(registry, self.httprequest, _generate_rules) if registry is not None else None


class _NoApiSlot(Exception):
    pass


def get_session_and_dbname(self):
    db = None if 'session_id' in self.httprequest.cookies else token_db(
        self.httprequest, lambda db: http.db_filter([db], host=self.httprequest.environ.get('HTTP_HOST')))
    registry = addon_registry(db)
    routing = api_routing(registry, self.httprequest, _generate_rules) if registry is not None else None
    if routing is None:
        return _get_session_and_dbname(self)
    session = http.root.session_store.new()
    for key, value in http.get_default_session().items():
        session.setdefault(key, value)
    session.db = db
    session.is_dirty = False
    session.can_save = False
    state = jwt_state(self)
    state.routing, state.token_db = routing, db
    return session, db


def serve_nodb(self):
    state = jwt_state(self, create=False)
    if state is not None and state.token_db:
        return early_answer(None, state.routing, ServiceUnavailable('database %s unreachable' % state.token_db))
    return _serve_nodb(self)


def serve_db(self):
    routing = _routing(self)
    if routing is None:
        return _serve_db(self)
    jwt_state(self).routing = routing  # ir.http answers its errors, its exact routing known later
    registry = addon_registry(self.db)
    try:
        # The body first: a slow client must hold neither a slot nor a connection.
        prefetch_body(self.httprequest, known_body_limit(self.db, DEFAULTS['max_body_size']))
        with api_slot(_NoApiSlot):
            return _serve_db(self)
    except JwtError as e:
        return early_answer(registry, routing, e)
    except _NoApiSlot:
        return early_answer(registry, routing, ServiceUnavailable('no free API slot'))
    except (psycopg2.Error, PoolError) as e:
        if hasattr(e, 'error_response'):  # ir.http already answered it
            raise
        # Lost while Odoo checks the registry, before ir.http: a 503, not a 500 page.
        return early_answer(registry, routing, ServiceUnavailable(type(e).__name__))


http.Request._get_session_and_dbname = get_session_and_dbname
http.Request._serve_db = serve_db
http.Request._serve_nodb = serve_nodb


class IrHttp(models.AbstractModel):
    _inherit = 'ir.http'

    @classmethod
    def _match(cls, path_info):
        # A path under /api/ that no route serves is the addon's: a 404 in the
        # envelope, and Werkzeug's redirect of doubled slashes ("/api//me",
        # which 19.0's Werkzeug answers with a 308 page) is one too.
        try:
            return super()._match(path_info)
        except (NotFound, RequestRedirect):
            if not path_info.startswith(API_PREFIX):
                raise
            jwt_state(request).routing = {}
            raise NotFound()
        except MethodNotAllowed as e:  # raised outside ir.http's error handling: answered here
            state = jwt_state(request, create=False)
            if state is not None and state.routing is not None:
                e.error_response = cls._handle_error(e)
            raise

    @classmethod
    def _authenticate(cls, endpoint):
        cls._jwt_before_auth(endpoint.routing)
        return super()._authenticate(endpoint)

    @classmethod
    def _pre_dispatch(cls, rule, args):
        res = super()._pre_dispatch(rule, args)
        state = jwt_state(request, create=False)
        if state is not None and state.routing:
            cls._jwt_era_stateless()  # Dispatcher.pre_dispatch sets it from the route again
            request.httprequest.max_content_length = cls._jwt_max_body()
            # The JSON body of an http route joins its arguments (which keep
            # priority); a JSON-RPC body is Odoo's to read.
            if not state.jsonrpc:
                for key, value in state.json_body.items():
                    args.setdefault(key, value)
        return res

    @classmethod
    def _dispatch(cls, endpoint):
        state = jwt_state(request, create=False)
        if state is not None and state.routing:
            # A client field named "self" would collide with the controller's own argument.
            request.params.pop('self', None)
            request.params.pop('session_id', None)
        return super()._dispatch(endpoint)

    @classmethod
    def _post_dispatch(cls, response):
        state = jwt_state(request, create=False)
        if state is not None and state.stateless:
            cls._jwt_after_endpoint(response)
        return super()._post_dispatch(response)

    @classmethod
    def _serve_fallback(cls):
        # Odoo looks unrouted paths up as attachment URLs; under /api/ there
        # are none (and a NUL in the path would reach PostgreSQL): a 404.
        state = jwt_state(request, create=False)
        if state is not None and state.routing == {}:
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
    def _jwt_era_api_routings(cls):
        return api_routings(cls.pool, _generate_rules)

    _jwt_era_odoo_logs_errors = True

    @classmethod
    def _jwt_era_cursor(cls):
        return request.env.cr  # request.cr is deprecated from 19.0 (a warning per call)

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
        state = jwt_state(request)
        if state.jsonrpc:  # Odoo reads it again; its params must be an object
            state.json_body = read_json_body(request.httprequest, limit)
            check_jsonrpc_params(state.json_body)  # once the id is known, for the error's
        elif is_json(request.httprequest):
            state.json_body = body_arguments(read_json_body(request.httprequest, limit))
