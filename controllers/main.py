"""The REST endpoints. Thin: rules live on the models, the envelope in ir.http."""
import base64
import functools

from odoo import SUPERUSER_ID, http
from odoo.exceptions import AccessDenied
from odoo.http import request
from odoo.modules import get_module_resource

from .. import compat
from ..models.jwt_provider_key import KeyConfigError
from ..models.jwt_provider_token import InvalidToken
from ..models.res_users import LoginThrottled, SignupDisabled, SignupRefused


def _envelope(**kwargs):
    return request.env['ir.http']._jwt_response(**kwargs)


def _error(code, message, headers=None):
    return _envelope(success=False, code=code, message=message, headers=headers)


def _sudo(model):
    # Not request.env[model].sudo(): on auth='none' routes the uid is None, and
    # from 13.0 on sudo() keeps it None, which breaks code reading env.user.
    return request.env(user=SUPERUSER_ID)[model]


def _client_address():
    return request.httprequest.remote_addr or ''


def _post_only(endpoint):
    """405 in the envelope for other methods (a ``methods=`` route answers in HTML)."""
    @functools.wraps(endpoint)
    def wrapper(self, **kw):
        if request.httprequest.method != 'POST':
            return _error(405, 'Method not allowed: use POST', headers={'Allow': 'POST, OPTIONS'})
        return endpoint(self, **kw)
    return wrapper


def _image_mimetype(content):
    if content.startswith(b'\xff\xd8'):
        return 'image/jpeg'
    if content.lstrip().startswith((b'<svg', b'<?xml')):
        return 'image/svg+xml'
    if content.startswith(b'GIF8'):
        return 'image/gif'
    return 'image/png'


class JwtController(http.Controller):

    @http.route('/api/login', type='http', auth='none', csrf=False, jwt_api=True)
    @_post_only
    def login(self, **kw):
        try:
            user = _sudo('res.users')._jwt_login(kw.get('email'), kw.get('password'), _client_address())
        except LoginThrottled as e:
            return _error(429, 'Too many failed logins, retry later',
                          headers={'Retry-After': str(e.retry_after)})
        except AccessDenied:
            return _error(400, 'Incorrect login')
        return self._token_answer(user)

    @http.route('/api/register', type='http', auth='none', csrf=False, jwt_api=True)
    @_post_only
    def register(self, **kw):
        try:
            user = _sudo('res.users')._jwt_register(kw.get('email'), kw.get('password'), kw.get('name'))
        except SignupDisabled:
            return _error(501, 'Sign-up is disabled')
        except SignupRefused as e:
            return _error(400, str(e))
        return self._token_answer(user)

    @http.route('/api/refresh', type='http', auth='none', csrf=False, jwt_api=True)
    @_post_only
    def refresh(self, **kw):
        ir_http = request.env['ir.http']
        try:
            user, tokens = _sudo('jwt_provider.token')._refresh(kw.get('refresh_token'))
        except InvalidToken as e:
            return ir_http._jwt_invalid_token(str(e))
        except KeyConfigError as e:
            return ir_http._jwt_misconfigured(e)
        return _envelope(data=dict(user=user._jwt_login_data(), **tokens))

    @http.route('/api/me', type='http', auth='jwt', csrf=False)
    def me(self, **kw):
        return _envelope(data=request.env.user._jwt_profile_data(request.httprequest.host_url))

    @http.route('/api/logout', type='http', auth='jwt', csrf=False)
    def logout(self, **kw):
        everywhere = str(kw.get('all', '')).lower() in ('1', 'true', 'yes')
        token = request.env['ir.http']._jwt_bearer_token()
        _sudo('jwt_provider.token')._logout(token, everywhere=everywhere)
        return _envelope()

    @http.route('/api/ping', type='http', auth='none', csrf=False, jwt_api=True)
    def ping(self, **kw):
        """Unauthenticated health check; the benchmark's floor."""
        return _envelope(data={'pong': True})

    @http.route('/web/avatar/<int:user_id>', type='http', auth='none')
    def avatar(self, user_id, **kw):
        """The user's avatar, or Odoo's placeholder, as the original served it."""
        # The route's int converter accepts any length; ids are PostgreSQL integers.
        user = _sudo('res.users').browse(user_id).exists() if user_id < 2 ** 31 else None
        image = compat.user_image(user) if user else False
        if image:
            content = base64.b64decode(image)
        else:
            with open(get_module_resource('web', 'static/src/img', 'placeholder.png'), 'rb') as f:
                content = f.read()
        return request.make_response(content, headers=[
            ('Content-Type', _image_mimetype(content)), ('Cache-Control', 'public, max-age=3600')])

    def _token_answer(self, user):
        try:
            tokens = _sudo('jwt_provider.token')._issue_pair(user)
        except KeyConfigError as e:
            return request.env['ir.http']._jwt_misconfigured(e)
        return _envelope(data=dict(user=user._jwt_login_data(), **tokens))
