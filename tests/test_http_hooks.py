"""The WSGI hooks: which database a bearer token routes to."""
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from odoo.tests.common import TransactionCase

from .. import compat
from ..http_hooks import _bearer_token_db


def http_request(authorization):
    builder = EnvironBuilder(path='/api/me', headers={'Authorization': authorization})
    return Request(builder.get_environ())


@compat.post_install
class TestBearerTokenDb(TransactionCase):

    def test_token_names_its_database(self):
        self.env['ir.config_parameter'].sudo().set_param('jwt_provider.secret', 'k' * 64)
        token = self.env['jwt_provider.token']._issue(self.env.ref('base.user_root'), 'access')
        self.assertEqual(_bearer_token_db(http_request('Bearer ' + token)), self.env.cr.dbname)

    def test_unusable_claims_fall_back_to_odoo(self):
        import base64
        import json

        def fake(claims):
            body = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip('=')
            return 'Bearer eyJhbGciOiJIUzI1NiJ9.%s.sig' % body

        for header in ('', 'Basic abc', 'Bearer', 'Bearer x', 'Bearer a.b.c', 'Bearer a.!!!.c',
                       fake({'db': 'no_such_database'}), fake({'db': ['x']}), fake(['x']),
                       'Bearer ' + 'x' * 5000):
            self.assertIsNone(_bearer_token_db(http_request(header)), header[:40])
