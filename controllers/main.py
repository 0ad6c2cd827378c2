"""The REST endpoints. Thin: rules live on the models, the envelope and the
mapping of errors to HTTP in ``ir.http`` (``models/ir_http.py``)."""
import base64
import functools
import os

from odoo import SUPERUSER_ID, http
from odoo.http import request
from odoo.modules.module import get_module_path

from .. import compat
from ..exceptions import JwtError, MissingField

# Credentials belong in the body: a query string ends up in access logs.
SECRET_FIELDS = ('password', 'refresh_token', 'ticket', 'code')
RASTER_IMAGES = ((b'\x89PNG\r\n\x1a\n', 'image/png'), (b'\xff\xd8\xff', 'image/jpeg'),
                 (b'GIF87a', 'image/gif'), (b'GIF89a', 'image/gif'))


def _required(kw, *names):
    """The values of ``names`` in the body; MissingField for the first absent or empty one."""
    for name in names:
        if kw.get(name) in (None, ''):
            raise MissingField(message='%s is required' % name)
    return [kw[name] for name in names]


def _requested_scope(kw):
    """The optional ``scope`` of a login (RFC 6749 3.3), parsed; 400 when malformed."""
    return _sudo('jwt_provider.token')._parse_scope(kw.get('scope'))


def _envelope(**kwargs):
    return request.env['ir.http']._jwt_response(**kwargs)


def _sudo(model):
    # Not request.env[model].sudo(): on auth='none' routes the uid is None, and
    # from 13.0 on sudo() keeps it None, which breaks code reading env.user.
    return request.env(user=SUPERUSER_ID)[model]


def _client_address():
    return request.httprequest.remote_addr or ''


def api_endpoint(post_only=False):
    """The API's endpoint wrapper: the addon's errors answered in the envelope
    (returned, not raised, so that what the endpoint wrote, such as a revoked
    token family, is committed); 405 for other methods than POST; secrets in
    the query string refused."""
    def decorate(endpoint):
        @functools.wraps(endpoint)
        def wrapper(self, **kw):
            ir_http = request.env['ir.http']
            if post_only and request.httprequest.method != 'POST':
                return ir_http._jwt_response(success=False, code=405, message='Method not allowed: use POST',
                                             headers={'Allow': 'POST, OPTIONS'})
            if any(name in request.httprequest.args for name in SECRET_FIELDS):
                return ir_http._jwt_response(success=False, code=400,
                                             message='Credentials must be sent in the request body')
            try:
                return endpoint(self, **kw)
            except JwtError as e:
                return ir_http._jwt_error_response(e)
        return wrapper
    return decorate


def _raster_mimetype(content):
    for magic, mimetype in RASTER_IMAGES:
        if content.startswith(magic):
            return mimetype
    return None


class JwtController(http.Controller):
    # readonly=False: from 18.0, auth='none' routes get a read-only cursor by
    # default; these write (tokens, counters). Earlier series ignore the key.

    @http.route('/api/login', type='http', auth='none', csrf=False, jwt_api=True, readonly=False)
    @api_endpoint(post_only=True)
    def login(self, **kw):
        scope = _requested_scope(kw)  # a malformed scope costs no login attempt
        user = _sudo('res.users')._jwt_login(kw.get('email'), kw.get('password'), _client_address())
        return self._token_answer(user, scope)

    @http.route('/api/login/totp', type='http', auth='none', csrf=False, jwt_api=True, readonly=False)
    @api_endpoint(post_only=True)
    def login_totp(self, **kw):
        """Second step of a login with two-factor authentication."""
        ticket, code = _required(kw, 'ticket', 'code')
        scope = _requested_scope(kw)
        user = _sudo('res.users')._jwt_login_totp(ticket, code, _client_address())
        return self._token_answer(user, scope)

    @http.route('/api/register', type='http', auth='none', csrf=False, jwt_api=True, readonly=False)
    @api_endpoint(post_only=True)
    def register(self, **kw):
        scope = _requested_scope(kw)
        user = _sudo('res.users')._jwt_register(kw.get('email'), kw.get('password'), kw.get('name'),
                                                _client_address())
        return self._token_answer(user, scope)

    @http.route('/api/refresh', type='http', auth='none', csrf=False, jwt_api=True, readonly=False)
    @api_endpoint(post_only=True)
    def refresh(self, **kw):
        refresh_token, = _required(kw, 'refresh_token')
        user, tokens = _sudo('jwt_provider.token')._refresh(refresh_token)
        return _envelope(data=dict(user=user._jwt_login_data(), **tokens))

    @http.route('/api/me', type='http', auth='jwt', csrf=False)
    @api_endpoint()
    def me(self, **kw):
        user = request.env.user.with_context(jwt_kept_profile=True)  # nothing written before: may be kept
        return _envelope(data=user._jwt_profile_data(request.httprequest.host_url))

    @http.route('/api/logout', type='http', auth='jwt', csrf=False)
    @api_endpoint()
    def logout(self, **kw):
        everywhere = str(kw.get('all', '')).lower() in ('1', 'true', 'yes')
        token = request.env['ir.http']._jwt_bearer_token()
        _sudo('jwt_provider.token')._logout(token, everywhere=everywhere)
        return _envelope()

    # methods: any other (TRACE, POST, ...) answers 405, as the OpenAPI document says
    # (x-other-methods); HEAD comes with GET, OPTIONS is the CORS preflight.
    @http.route('/api/ping', type='http', auth='none', csrf=False, jwt_api=True, methods=['GET', 'OPTIONS'])
    def ping(self, **kw):
        """Unauthenticated health check; the benchmark's floor."""
        return _envelope(data={'pong': True})

    @staticmethod
    def _avatar_user(user_id):
        """The active user ``user_id``, or None: exists() ignores ``active``, and
        an archived user is nobody. Odoo's int converter is signed and of any
        length; ids are positive PostgreSQL integers."""
        user = _sudo('res.users').browse(user_id).exists() if 0 < user_id < 2 ** 31 else None
        return user if user and user.active else None

    @http.route('/web/avatar/<int:user_id>', type='http', auth='none', jwt_api=True, methods=['GET', 'OPTIONS'])
    def avatar(self, user_id, **kw):
        """The user's picture, or Odoo's placeholder, as the original served it.

        Only raster images are served, with ``nosniff`` and a CSP that forbids
        scripts: an uploaded SVG or HTML must never run under Odoo's origin.
        """
        user = self._avatar_user(user_id)
        image = compat.user_image(user) if user else False
        content = base64.b64decode(image) if image else b''
        mimetype = _raster_mimetype(content)
        if not mimetype:
            with open(self._placeholder_path(), 'rb') as f:
                content, mimetype = f.read(), 'image/png'
        return request.make_response(content, headers=[
            ('Content-Type', mimetype), ('Cache-Control', 'public, max-age=3600'),
            ('X-Content-Type-Options', 'nosniff'),
            ('Content-Security-Policy', "default-src 'none'; sandbox")])

    @staticmethod
    def _placeholder_path():
        # Moved from web/static/src/img (11.0-14.0) to web/static/img (15.0+).
        web = get_module_path('web')
        for folder in ('static/img', 'static/src/img'):
            path = os.path.join(web, folder, 'placeholder.png')
            if os.path.isfile(path):
                return path
        raise FileNotFoundError('web placeholder.png')

    def _token_answer(self, user, scope=None):
        pair = _sudo('jwt_provider.token')._issue_pair(user, scope=scope)
        return _envelope(data=dict(user=user._jwt_login_data(), **pair))
