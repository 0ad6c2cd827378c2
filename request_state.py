"""What the addon knows of the request being served, in one object.

Stored once on Odoo's request object as ``request.jwt_state``; the adapters
(``adapters/``) and ``ir.http`` (``models/ir_http.py``) read and write it
there instead of loose attributes. A request the addon has nothing to do with
never gets one: ``jwt_state(request, create=False)`` is then ``None``.
"""

JSONRPC_TYPES = ('json', 'jsonrpc')  # 19.0 renamed type='json' to 'jsonrpc'


class JwtRequestState(object):
    """The addon's part of one request.

    ``routing``
        the routing of the route served, when it is the addon's (see
        ``ir.http._jwt_is_api_route``); ``{}`` for a path under ``/api/``
        that no route serves, or an addon's route called with another method.
    ``api``
        the request is the addon's: its errors answer in the envelope (or in
        JSON-RPC's shape on ``type='json'`` routes), never as Odoo's pages.
    ``stateless``
        no session is saved and no ``session_id`` cookie is set.
    ``bearer``
        authenticated by a bearer token (``auth='jwt'``): no CSRF token needed.
    ``token_db``
        the database a bearer token's ``db`` claim routed the request to.
    ``token_use``
        ``(token id, last used)`` of the verified token, recorded after the endpoint.
    ``claims``
        the verified claims of the bearer token (``auth='jwt'``), or ``None``.
    ``json_body``
        a JSON object body of a ``type='http'`` route (16.0+ adds it to the
        route's arguments).
    """
    __slots__ = ('routing', 'api', 'stateless', 'bearer', 'token_db', 'token_use', 'claims', 'json_body')

    def __init__(self, routing=None, token_db=None):
        self.routing = routing
        self.api = routing is not None
        self.stateless = self.bearer = False
        self.token_db = token_db
        self.token_use = None
        self.claims = None
        self.json_body = {}

    @property
    def jsonrpc(self):
        """Whether the route speaks JSON-RPC (``type='json'``): errors answer in its shape."""
        return bool(self.routing) and self.routing.get('type') in JSONRPC_TYPES


def jwt_state(request, create=True):
    """The state of ``request`` (Odoo's request or its proxy), made on first use."""
    state = getattr(request, 'jwt_state', None)
    if state is None and create:
        state = JwtRequestState()
        request.jwt_state = state
    return state
