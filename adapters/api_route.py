"""What both HTTP adapters decide before Odoo's request reaches ``ir.http``:
is this request the addon's, on which database, and how to answer it early.

A request is the addon's when it targets one of the addon's routes or an
``auth='jwt'`` route (``ir.http._jwt_is_api_route``, the one predicate) on a
database whose registry is loaded and has the addon installed. Everything
else goes to Odoo untouched.
"""
import inspect
import threading

import werkzeug.exceptions
import werkzeug.routing
from werkzeug.routing import RequestRedirect

from odoo.modules.registry import Registry

from ..answers import answer_envelope, error_answer, jsonrpc_error
from ..compat import registry_in_test_mode
from ..request_state import JSONRPC_TYPES
from ..tools import bearer_token, token_db_claim


def addon_registry(db):
    """The registry of ``db`` if it is loaded and has this addon, else ``None``.

    A registry being loaded (a server answers while it preloads, or while a
    thread reloads it after another process installed a module) is waited for,
    as Odoo's own ``Registry(db)`` waits: half-built, it lacks the routes of the
    modules not loaded yet, and the route maps built from it are kept. The lock
    is free, and the wait nil, when nothing loads."""
    if not db:
        return None
    registry = Registry.registries.get(db)
    if registry is None or not _loaded(registry):
        with Registry._lock:  # held by the thread that loads it
            registry = Registry.registries.get(db)
    if registry is None or not _loaded(registry) or not hasattr(registry['ir.http'], '_jwt_before_auth'):
        return None
    return registry


def _loaded(registry):
    # Tests that run while their module installs (at_install) use the registry
    # being loaded, on purpose.
    return registry.ready or registry_in_test_mode(registry)


def token_db(httprequest, allowed):
    """The loaded database, with the addon, that the bearer token's ``db``
    claim names and ``allowed(db)`` (Odoo's dbfilter) accepts; else ``None``."""
    db = token_db_claim(bearer_token(httprequest.headers))
    # The claim is unverified: Odoo's dbfilter first, so that it never makes a
    # request wait for a registry the server does not serve.
    if not db or not allowed(db) or addon_registry(db) is None:
        return None
    return db


def _lenient(converter):
    """``converter`` that matches as it does but converts nothing: matching
    happens before a cursor exists, and ``model`` converters browse records."""
    return type('Lenient' + converter.__name__, (converter,), {'to_python': lambda self, value: value})


# Paths are matched as written: Werkzeug 1.0+ merge doubled slashes by
# default, which made ``//api/me`` match ``/api/me`` (older ones never merge).
_MAP_OPTIONS = {'merge_slashes': False} if 'merge_slashes' in inspect.signature(werkzeug.routing.Map).parameters \
    else {}


_BUILDING = threading.RLock()


def _api_map(registry, generate_rules):
    # Kept on the registry: a module install loads a new one, with a new map.
    # Built once: the requests that waited for a registry to load all want it at once.
    api_map = getattr(registry, '_jwt_api_map', None)
    if api_map is None:
        with _BUILDING:
            api_map = getattr(registry, '_jwt_api_map', None)
            if api_map is None:
                api_map = registry._jwt_api_map = _build_api_map(registry, generate_rules)
    return api_map


def _build_api_map(registry, generate_rules):
    # Odoo's model converters look their database up on the current thread,
    # which Odoo names only later in the request: name it for them.
    thread = threading.current_thread()
    unnamed = getattr(thread, 'dbname', None) is None
    if unnamed:
        thread.dbname = registry.db_name
    try:
        ir_http = registry['ir.http']
        converters = ir_http._get_converters()
        api_map = werkzeug.routing.Map(strict_slashes=False, converters={
            name: _lenient(converter) for name, converter in converters.items()}, **_MAP_OPTIONS)
        for url, endpoint in generate_rules(registry):
            routing = endpoint.routing
            if ir_http._jwt_is_api_route(routing):
                methods = routing.get('methods')
                rule = werkzeug.routing.Rule(url, endpoint=endpoint,
                                             methods=list(methods) + ['OPTIONS'] if methods else None)
                api_map.add(rule)
        return api_map
    finally:
        if unnamed:
            del thread.dbname


def api_routing(registry, httprequest, generate_rules):
    """The routing of the addon's route (or ``auth='jwt'`` route) that
    ``httprequest`` targets on ``registry``'s database, ``{}`` when such a
    route is there for other methods only (a 405 in the envelope), else ``None``.

    ``generate_rules(registry)`` yields the ``(url, endpoint)`` of every route
    of the database; only the API routes are kept, once per registry (a module
    install loads a new registry).
    """
    try:
        rule, _args = _api_map(registry, generate_rules).bind_to_environ(httprequest.environ).match(
            return_rule=True)
    except werkzeug.exceptions.MethodNotAllowed:
        return {}
    except (werkzeug.exceptions.HTTPException, RequestRedirect):
        return None
    return rule.endpoint.routing


def api_routings(registry, generate_rules):
    """The routing of every addon route and ``auth='jwt'`` route of ``registry``'s
    database (from the map ``api_routing`` matches against, no request needed)."""
    return [rule.endpoint.routing for rule in _api_map(registry, generate_rules).iter_rules()]


def early_answer(registry, routing, exception):
    """The answer to ``exception`` before ``ir.http`` runs: in the envelope,
    or in JSON-RPC's shape for a ``type='json'`` route, with ``registry``'s CORS."""
    cors = registry['ir.http']._jwt_cors_headers() if registry is not None else None
    answer = error_answer(exception)
    if routing and routing.get('type') in JSONRPC_TYPES:
        return jsonrpc_error(answer, None, cors)
    return answer_envelope(answer, cors)
