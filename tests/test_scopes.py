"""Scopes (RFC 6749 3.3, RFC 9068): parsing, claims, narrowing on refresh,
route requirements; registered clients, introspection and revocation."""
import jwt

from .. import compat
from ..exceptions import InvalidScope, OAuthError
from .common import JwtCase, post_install


@post_install
class TestScopes(JwtCase):

    def decode(self, token):
        return jwt.decode(token, 'k' * 64, algorithms=['HS256'], audience=self.Key._audience())

    def test_parse_scope(self):
        self.assertIsNone(self.Token._parse_scope(None))
        self.assertIsNone(self.Token._parse_scope(''))
        self.assertEqual(self.Token._parse_scope('sale.read partner.read sale.read'), ('partner.read', 'sale.read'))
        for bad in ('two  spaces', ' lead', 'quote"d', 'back\\slash', 'tab\there', 'é', 'x' * 2000, ['a'], 5):
            with self.assertRaises(InvalidScope, msg=repr(bad)):
                self.Token._parse_scope(bad)

    def test_scope_and_client_claims(self):
        pair = self.Token._issue_pair(self.user, scope=('a', 'b'), client_id='svc')
        for token in (pair['token'], pair['refresh_token']):
            claims = self.decode(token)
            self.assertEqual(claims['scope'], 'a b')
            self.assertEqual(claims['client_id'], 'svc')
        plain = self.decode(self.Token._issue_pair(self.user)['token'])
        self.assertNotIn('scope', plain)
        self.assertNotIn('client_id', plain)

    def test_refresh_keeps_narrows_never_widens(self):
        pair = self.Token._issue_pair(self.user, scope=('a', 'b'))
        _user, kept = self.Token._refresh(pair['refresh_token'])
        self.assertEqual(self.decode(kept['token'])['scope'], 'a b')
        _user, narrowed = self.Token._refresh(kept['refresh_token'], scope=('a',))
        self.assertEqual(self.decode(narrowed['token'])['scope'], 'a')
        # Wider than granted: refused before the refresh token is spent.
        with self.assertRaises(InvalidScope):
            self.Token._refresh(narrowed['refresh_token'], scope=('a', 'b'))
        _user, again = self.Token._refresh(narrowed['refresh_token'])
        self.assertEqual(self.decode(again['token'])['scope'], 'a')
        # A token without scope (full rights) may narrow to any.
        full = self.Token._issue_pair(self.user)
        _user, some = self.Token._refresh(full['refresh_token'], scope=('x',))
        self.assertEqual(self.decode(some['token'])['scope'], 'x')

    def test_refresh_of_a_client_bound_token_needs_that_client(self):
        pair = self.Token._issue_pair(self.user, client_id='svc')
        self.assertRefused(self.Token._refresh, pair['refresh_token'])
        self.assertRefused(self.Token._refresh, pair['refresh_token'], client_id='other')
        _user, new = self.Token._refresh(pair['refresh_token'], client_id='svc')
        self.assertEqual(self.decode(new['token'])['client_id'], 'svc')
        # An unbound token refreshed by an authenticated client is bound to it.
        _user, bound = self.Token._refresh(self.Token._issue_pair(self.user)['refresh_token'], client_id='svc')
        self.assertEqual(self.decode(bound['refresh_token'])['client_id'], 'svc')

    def test_route_scopes(self):
        self.assertEqual(self.Token._route_scopes({'jwt_scopes': ['b', 'a', 'a']}), ('a', 'b'))
        self.assertEqual(self.Token._route_scopes({'jwt_scopes': 'a b'}), ('a', 'b'))
        self.assertEqual(self.Token._route_scopes({}), ())
        self.assertTrue(self.Token._scope_allows({}, ('a',)))  # no scope claim: full rights
        self.assertTrue(self.Token._scope_allows({'scope': 'a b'}, ('a',)))
        self.assertFalse(self.Token._scope_allows({'scope': 'b'}, ('a',)))
        self.assertFalse(self.Token._scope_allows({'scope': ''}, ('a',)))
        self.assertTrue(self.Token._scope_allows({'scope': 'b'}, ()))

    def test_scopes_supported_are_the_routes(self):
        supported = self.Token._scopes_supported()
        self.assertEqual(supported, sorted(set(supported)))
        example = self.env['ir.module.module'].search([('name', '=', 'jwt_provider_example')])
        if example.state == 'installed':  # /example/jwt/partners/count: jwt_scopes=['partner.read']
            self.assertIn('partner.read', supported)

    def test_malformed_scope_claim_refused(self):
        self.assertDecodeRefused(self.craft(scope=['a']), 'access')
        self.assertDecodeRefused(self.craft(client_id=5), 'access')
        self.assertValid(self.craft(scope='a b', client_id='svc'))


@post_install
class TestClients(JwtCase):

    def setUp(self):
        super(TestClients, self).setUp()
        self.Client = self.env['jwt_provider.client']
        self.client = self.Client.create({'name': 'Resource server'})
        action = self.client.action_generate_secret()
        self.secret = action['context']['default_secret']

    def test_secret_stored_hashed_only(self):
        self.env.cr.execute('SELECT * FROM jwt_provider_client WHERE id = %s', [self.client.id])
        dump = repr(self.env.cr.fetchall())
        self.assertNotIn(self.secret, dump)
        self.assertTrue(self.client.has_secret)
        # The dialog that shows it holds no row.
        self.assertFalse(self.env['jwt_provider.client.secret'].search([]))

    def test_authenticate(self):
        self.assertEqual(self.Client._authenticate(self.client.client_id, self.secret, '10.1.1.1'), self.client)
        for client_id, secret in ((self.client.client_id, 'wrong'), ('unknown', self.secret),
                                  (self.client.client_id, ''), (None, self.secret),
                                  ('\x00' + self.client.client_id, self.secret),  # Schemathesis found a 500
                                  (self.client.client_id, self.secret + '\x00')):
            with self.assertRaises(OAuthError) as caught:
                self.Client._authenticate(client_id, secret, '10.1.1.1')
            self.assertEqual((caught.exception.error, caught.exception.code), ('invalid_client', 401))
            self.assertEqual(caught.exception.headers['WWW-Authenticate'], 'Basic realm="api"')

    def test_new_secret_and_archive_refuse_the_old(self):
        new = self.client.action_generate_secret()['context']['default_secret']
        with self.assertRaises(OAuthError):
            self.Client._authenticate(self.client.client_id, self.secret, '10.1.1.2')
        self.assertEqual(self.Client._authenticate(self.client.client_id, new, '10.1.1.2'), self.client)
        self.client.active = False
        with self.assertRaises(OAuthError):
            self.Client._authenticate(self.client.client_id, new, '10.1.1.2')

    def test_admin_only(self):
        from odoo.exceptions import AccessError
        plain = self.env['res.users'].create({'name': 'Plain', 'login': 'plain@example.com', compat.groups_field(
            self.env['res.users']): [(6, 0, [self.env.ref('base.group_user').id])]})
        with self.assertRaises(AccessError):
            compat.as_user(self.Client, plain.id).search([])
        with self.assertRaises(AccessError):
            compat.as_user(self.client, plain.id).action_generate_secret()

    def test_introspect_and_revoke(self):
        pair = self.Token._issue_pair(self.user, scope=('a',))
        answer = self.Token._introspect(pair['token'])
        self.assertTrue(answer['active'])
        self.assertEqual((answer['sub'], answer['username'], answer['scope'], answer['token_type']),
                         (str(self.user.id), self.user.login, 'a', 'Bearer'))
        self.assertEqual(self.Token._introspect(pair['refresh_token'], 'refresh_token')['token_type'],
                         'refresh_token')
        for garbage in ('x', '', None, 'a.b.c'):
            self.assertEqual(self.Token._introspect(garbage), {'active': False})
        self.assertFalse(self.Token._revoke_token('not a token'))
        self.assertTrue(self.Token._revoke_token(pair['refresh_token'], 'refresh_token'))
        # The whole login: its access token too.
        self.assertEqual(self.Token._introspect(pair['token']), {'active': False})
        self.assertInvalid(pair['token'])

    def test_a_client_revokes_no_other_clients_token(self):
        pair = self.Token._issue_pair(self.user, client_id='svc')
        with self.assertRaises(OAuthError) as caught:
            self.Token._revoke_token(pair['token'], client_id='other')
        self.assertEqual(caught.exception.error, 'unauthorized_client')
        self.assertValid(pair['token'])
        self.assertTrue(self.Token._revoke_token(pair['token'], client_id='svc'))
        self.assertInvalid(pair['token'])
