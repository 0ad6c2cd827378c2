"""Through Odoo's own HTTP server: a token is never a password."""
import xmlrpc.client

from odoo.tests import common

from .common import http_port, post_install


@post_install
class TestTokenIsNotAPassword(common.HttpCase):
    # Uses admin/admin: on 11.0 the server's test cursor does not see records
    # the test case creates, so the test needs no fixtures of its own. Requests
    # go through the case's own opener and XML-RPC proxy, which carry the
    # test-cursor cookie that 19.0 requires.

    def setUp(self):
        super(TestTokenIsNotAPassword, self).setUp()
        self.base = 'http://127.0.0.1:%s' % http_port()
        answer = self.opener.post(self.base + '/api/login', data={'email': 'admin', 'password': 'admin'},
                                  timeout=30)
        self.assertEqual(answer.status_code, 200, answer.text)
        self.tokens = answer.json()['data']

    def test_xmlrpc_refuses_token(self):
        try:
            self.xmlrpc_common.version()
        except xmlrpc.client.ProtocolError as e:
            if e.errcode != 404:
                raise
            self.skipTest('no XML-RPC on this server (19.0 serves it with the rpc module only)')
        for secret in (self.tokens['token'], self.tokens['refresh_token']):
            self.assertFalse(self.xmlrpc_common.authenticate(self.env.cr.dbname, 'admin', secret, {}))
        self.assertTrue(self.xmlrpc_common.authenticate(self.env.cr.dbname, 'admin', 'admin', {}))

    def test_web_session_refuses_token(self):
        def authenticate(password):
            return self.opener.post(self.base + '/web/session/authenticate', json={
                'jsonrpc': '2.0', 'method': 'call',
                'params': {'db': self.env.cr.dbname, 'login': 'admin', 'password': password}},
                timeout=30).json().get('result') or {}
        self.assertFalse(authenticate(self.tokens['token']).get('uid'))
        self.assertTrue(authenticate('admin').get('uid'))
