"""Discovery documents for services that verify our tokens themselves: the
JWK Set (RFC 7517) and the authorization server metadata (RFC 8414).

Served on the database Odoo chooses for the request, as for ``/api/login``
(the dbfilter, the only database, or the session's), and only where the addon
is installed. The content is built on ``jwt_provider.key`` (``_jwks``,
``_oauth_metadata``).
"""
import json

from odoo import SUPERUSER_ID, http
from odoo.http import request

# Short: a consumer picks up a rotation's new key within minutes (and fetches
# an unknown kid at once anyway), while a burst of verifiers costs one answer each.
CACHE_CONTROL = 'public, max-age=300'


def _document(content):
    headers = dict(request.env['ir.http']._jwt_cors_headers())
    headers.update({'Content-Type': 'application/json', 'Cache-Control': CACHE_CONTROL})
    return request.make_response(json.dumps(content, sort_keys=True), headers=list(headers.items()))


class JwtDiscovery(http.Controller):

    @http.route('/.well-known/jwks.json', type='http', auth='none', csrf=False, jwt_api=True,
                methods=['GET', 'OPTIONS'])
    def jwks(self, **kw):
        return _document(request.env(user=SUPERUSER_ID)['jwt_provider.key']._jwks())

    @http.route('/.well-known/oauth-authorization-server', type='http', auth='none', csrf=False, jwt_api=True,
                methods=['GET', 'OPTIONS'])
    def oauth_metadata(self, **kw):
        return _document(request.env(user=SUPERUSER_ID)['jwt_provider.key']._oauth_metadata())
