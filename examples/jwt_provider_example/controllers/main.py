"""Two ways to protect a route with jwt_provider."""
from odoo import http
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
