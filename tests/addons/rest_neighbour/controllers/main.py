"""Routes as another REST addon writes them, under the /api/ prefix that
jwt_provider shares: each answers what it received, in its own format, so
that a test sees any field, body or status that jwt_provider would change."""
import json

from odoo import _, http
from odoo.exceptions import UserError
from odoo.http import request


def _echo(**kw):
    httprequest = request.httprequest
    seen = {
        'method': httprequest.method,
        'got': sorted((k, v if isinstance(v, str) else type(v).__name__) for k, v in kw.items()),
        'form': sorted(httprequest.form.items()),
        'content_type': httprequest.mimetype,
    }
    return request.make_response(json.dumps(seen, sort_keys=True), headers=[('Content-Type', 'text/plain')])


class NeighbourController(http.Controller):

    @http.route('/api/v1/echo/public', type='http', auth='public', csrf=False)
    def echo_public(self, **kw):
        return _echo(**kw)

    @http.route('/api/v1/echo/none', type='http', auth='none', csrf=False)
    def echo_none(self, **kw):
        return _echo(**kw)

    @http.route('/api/v1/echo/post-only', type='http', auth='none', csrf=False, methods=['POST'])
    def echo_post_only(self, **kw):
        return _echo(**kw)

    @http.route('/api/v1/fail', type='http', auth='none', csrf=False)
    def fail(self, **kw):
        raise UserError(_('neighbour says no'))

    @http.route('/api/v1/rpc/public', type='json', auth='public')
    def rpc_public(self, **kw):
        return {'got': sorted(kw.items())}

    @http.route('/api/v1/rpc/none', type='json', auth='none')
    def rpc_none(self, **kw):
        return {'got': sorted(kw.items())}
