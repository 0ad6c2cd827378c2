"""Two ways to protect a route with jwt_provider, and what a protected route may raise."""
from werkzeug.exceptions import NotFound

from odoo import SUPERUSER_ID, _, http
from odoo.exceptions import AccessError, MissingError, UserError, ValidationError
from odoo.http import request

from odoo.addons.jwt_provider import jwt_http, validator


class ExampleController(http.Controller):

    # 1. One line: the route runs as the token's user, or answers 498.
    @http.route('/example/jwt/whoami', type='http', auth='jwt', csrf=False)
    def whoami(self, **kw):
        partners = request.env['res.partner'].search_count([])  # with the user's access rights
        return jwt_http.response(data={'uid': request.env.uid, 'login': request.env.user.login,
                                       'visible_partners': partners})

    # The smallest protected route: what auth='jwt' itself costs (benchmark).
    @http.route('/example/jwt/ping', type='http', auth='jwt', csrf=False)
    def ping(self, **kw):
        return jwt_http.response(data={'uid': request.env.uid})

    # Scopes: a token whose `scope` lacks `partner.read` answers 403 insufficient_scope here;
    # a token without `scope` (today's logins) keeps its user's full rights.
    @http.route('/example/jwt/partners/count', type='http', auth='jwt', jwt_scopes=['partner.read'],
                methods=['GET'])
    def partners_count(self, **kw):
        return jwt_http.response(data={'count': request.env['res.partner'].search_count([])})

    # Odoo's converters work as in any route: the record is read with the token user's rights.
    @http.route('/example/jwt/partner/<model("res.partner"):partner>', type='http', auth='jwt',
                methods=['GET'])
    def partner(self, partner, **kw):
        partner = partner.with_user(request.env.user) if hasattr(partner, 'with_user') \
            else partner.sudo(request.env.uid)  # 11.0-12.0: sudo(uid) switches the user
        return jwt_http.response(data={'id': partner.id, 'name': partner.name, 'uid': partner.env.uid})

    # 2. The original addon's pattern, for code written against it.
    @http.route('/example/helpers/whoami', type='http', auth='none', csrf=False, jwt_api=True, readonly=False)
    def helpers_whoami(self, **kw):
        http_method, body, headers, token = jwt_http.parse_request()
        result = validator.verify_token(token)
        if not result['status']:
            return jwt_http.errcode(code=result['code'], message=result['message'])
        return jwt_http.response(data={'uid': request.env.uid, 'login': request.env.user.login,
                                       'method': http_method, 'body': body})

    # The remaining helpers, as addon developers call them.
    @http.route('/example/helpers/<string:what>', type='http', auth='none', csrf=False, jwt_api=True, readonly=False)
    def helpers(self, what, **kw):
        if what == 'not-found':
            return jwt_http.response_404()
        if what == 'forbidden':
            return jwt_http.response_403()
        if what == 'server-error':
            return jwt_http.response_500()
        if what == 'valid-email':
            return jwt_http.response(data=validator.is_valid_email(kw.get('email')))
        if what == 'new-token':  # a second token for the caller
            http_method, body, headers, token = jwt_http.parse_request()
            result = validator.verify_token(token)
            if not result['status']:
                return jwt_http.errcode(code=result['code'], message=result['message'])
            return jwt_http.response(data={'token': validator.create_token(request.env.user)})
        return jwt_http.errcode(400, 'unknown helper')


class ErrorsController(http.Controller):
    """Odoo's own exceptions in an ``auth='jwt'`` route need no try/except:
    jwt_provider answers them in the envelope (403, 400, 404) and rolls back
    what the route wrote before raising."""

    # csrf left at its default: a request with a bearer token needs no CSRF token.
    @http.route('/example/jwt/rename', type='http', auth='jwt', methods=['POST'])
    def rename(self, name=None, **kw):
        if not name:
            raise UserError(_('A name is required'))
        request.env.user.write({'name': name})  # users may rename themselves
        return jwt_http.response(data={'id': request.env.uid, 'name': request.env.user.name})

    @http.route('/example/jwt/raise/<string:what>', type='http', auth='jwt', csrf=False, readonly=False)
    def raise_error(self, what, **kw):
        # Written first, to show that it is rolled back.
        request.env['res.partner'].sudo().create({'name': 'rolled back: %s' % what})
        if what == 'access':
            self._forbidden()
        if what == 'user':
            raise UserError(_('Nothing to do for %s') % request.env.user.login)
        if what == 'validation':
            raise ValidationError(_('This value is not valid'))
        if what == 'missing':
            raise MissingError(_('That record does not exist'))
        if what == 'not-found':
            raise NotFound()
        if what == 'bug':
            raise ZeroDivisionError('an addon bug')
        return jwt_http.response(data={'what': what})

    @staticmethod
    def _forbidden():
        # What the ORM raises for a user without the right: writing another user.
        admin = request.env['res.users'].browse(SUPERUSER_ID)
        admin.write({'name': 'not mine'})
        raise AccessError(_('Access denied'))  # the superuser's own token: still refused

    # JSON-RPC with a bearer token: JSON-RPC's own params become the arguments.
    @http.route('/example/jwt/rpc', type='json', auth='jwt')
    def rpc(self, id=None, **kw):
        if id == 'user-error':
            raise UserError(_('A JSON-RPC user error'))
        return {'uid': request.env.uid, 'id': id, 'kw': sorted(kw)}
