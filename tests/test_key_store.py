"""The key store: key ids, rotation, retirement, migration of databases from before key ids, discovery."""
import base64
import datetime

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from odoo.exceptions import AccessError, UserError

from .. import compat
from ..models.jwt_provider_key import LEGACY_ISSUER
from .common import JwtCase, post_install


def pem(private):
    return private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()).decode()


@post_install
class TestKeyStore(JwtCase):

    def setUp(self):
        super(TestKeyStore, self).setUp()
        self.Store = self.env['jwt_provider.signing.key']

    def kid(self, token):
        return jwt.get_unverified_header(token)['kid']

    def key(self, kid):
        return self.Store.search([('kid', '=', kid)])

    def test_tokens_name_their_key(self):
        token = self.Token._issue(self.user, 'access')
        kid = self.kid(token)
        self.assertEqual(kid, self.Key._kid())
        self.assertEqual(self.key(kid).state, 'signing')
        self.assertEqual(self.Token.search([('user_id', '=', self.user.id)]).key_fp, kid)
        self.assertNotIn('k' * 16, kid)  # an HMAC kid tells nothing of the secret
        self.assertEqual(len(kid), 22)

    def test_rotation_signs_nobody_out(self):
        pair = self.Token._issue_pair(self.user)
        old = self.kid(pair['token'])
        self.Key._rotate()
        new_pair = self.Token._issue_pair(self.user)
        self.assertNotEqual(self.kid(new_pair['token']), old)
        self.assertValid(pair['token'])
        self.assertValid(new_pair['token'])
        self.assertTrue(self.Token._refresh(pair['refresh_token']))  # refresh tokens too
        old_key = self.key(old)
        self.assertEqual(old_key.state, 'verify')
        longest = max(self.Key._param('refresh_lifetime'), self.Key._param('access_lifetime'))
        expected = datetime.datetime.utcnow() + datetime.timedelta(seconds=longest + self.Key._param('leeway'))
        self.assertAlmostEqual(compat.to_datetime(old_key.retire_after), expected, delta=datetime.timedelta(minutes=1))

    def test_retire_now_refuses_at_once(self):
        pair = self.Token._issue_pair(self.user)
        old_key = self.key(self.kid(pair['token']))
        with self.assertRaises(UserError):  # the signing key: rotate first
            old_key.action_retire()
        self.Key._rotate()
        old_key.action_retire()
        self.assertEqual(old_key.state, 'retired')
        self.assertFalse(old_key.material)  # erased
        self.assertInvalid(pair['token'])
        self.assertRefused(self.Token._refresh, pair['refresh_token'])
        self.assertEqual(set(self.Token.search([('key_fp', '=', old_key.kid)]).mapped('revoked_reason')),
                         {'key_retired'})
        self.assertValid(self.Token._issue(self.user, 'access'))

    def test_only_administrators_retire(self):
        token = self.Token._issue(self.user, 'access')
        self.Key._rotate()
        employee = self.env['res.users'].create({
            'name': 'Employee', 'login': 'employee@example.com', 'password': 'x' * 12,
            compat.groups_field(self.env['res.users']): [(6, 0, [self.env.ref('base.group_user').id])]})
        with self.assertRaises(UserError):  # AccessError is one from 13.0
            compat.as_user(self.Store, employee.id).browse(self.key(self.kid(token)).id).action_retire()
        with self.assertRaises(AccessError):
            compat.as_user(self.Store, employee.id).search([]).read(['kid'])
        self.assertValid(token)

    def test_retires_on_its_own_once_its_tokens_expired(self):
        token = self.Token._issue(self.user, 'access')
        self.Key._rotate()
        old_key = self.key(self.kid(token))
        old_key.sudo().write({'retire_after': compat.datetime_value(datetime.datetime(2000, 1, 1))})
        self.Token._gc_expired(commit=False)
        self.assertEqual((old_key.state, old_key.material), ('retired', False))
        self.assertInvalid(token)

    def test_asymmetric_rotation_and_jwks(self):
        self.assertEqual(self.Key._jwks(), {'keys': []})  # HMAC: nothing to publish
        self.Key._set_key(algorithm='RS256', private_key=pem(rsa.generate_private_key(65537, 2048)))
        rs_token = self.Token._issue(self.user, 'access')
        self.Key._rotate('ES256')
        es_token = self.Token._issue(self.user, 'access')
        jwks = self.Key._jwks()
        published = {key['kid']: key for key in jwks['keys']}
        self.assertEqual(set(published), {self.kid(rs_token), self.kid(es_token)})
        self.assertEqual((published[self.kid(rs_token)]['kty'], published[self.kid(es_token)]['crv']), ('RSA', 'P-256'))
        self.assertFalse(any('d' in key for key in jwks['keys']))  # public keys only
        for token in (rs_token, es_token):
            self.assertValid(token)
            jwk = published[self.kid(token)]
            self.assertEqual(jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=[jwk['alg']],
                                        audience=self.Key._audience())['sub'], str(self.user.id))
        self.key(self.kid(rs_token)).action_retire()
        self.assertEqual([key['kid'] for key in self.Key._jwks()['keys']], [self.kid(es_token)])

    def test_ec_coordinates_keep_their_full_length(self):
        """RFC 7518 6.2.1.2: x and y of a P-256 key are 32 bytes, leading zeros included;
        a shorter one makes strict clients (PyJWT's PyJWK) refuse the whole key."""
        while True:  # one key in 128 has a coordinate below 2**248
            public = ec.generate_private_key(ec.SECP256R1()).public_key()
            numbers = public.public_numbers()
            if min(numbers.x, numbers.y) < 2 ** 248:
                break
        jwk = self.Key._public_jwk('ES256', public)
        for member in ('x', 'y'):
            self.assertEqual(len(base64.urlsafe_b64decode(jwk[member] + '=' * (-len(jwk[member]) % 4))), 32)
        self.assertEqual(jwt.PyJWK(dict(jwk, alg='ES256')).key.public_numbers(), numbers)

    def test_rfc7638_thumbprint(self):
        """RFC 7638, section 3.1: the example key's thumbprint."""
        n = ('0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRX'
             'jBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8K'
             'JZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBni'
             'Iqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw')
        private = rsa.generate_private_key(65537, 2048)
        key = jwt.PyJWK({'kty': 'RSA', 'e': 'AQAB', 'n': n}).key
        Key = type(self.Key)
        original = Key._load_pem
        Key._load_pem = lambda self, algorithm, raw: (private, key)  # the key of the RFC's example
        try:
            self.assertEqual(self.Key._kid_of('RS256', 'the example'), 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs')
        finally:
            Key._load_pem = original

    def test_environment_key_has_its_own_kid(self):
        import os
        os.environ['ODOO_JWT_KEY'] = 'e' * 64
        try:
            token = self.Token._issue(self.user, 'access')
            self.assertEqual(self.key(self.kid(token)).source, 'environment')
            with self.assertRaises(UserError):  # rotated where it is set
                self.Key._rotate()
        finally:
            del os.environ['ODOO_JWT_KEY']

    def test_tokens_from_before_key_ids(self):
        """A database from before key ids: its key becomes the first of the store, and its
        tokens (no kid, the old issuer) keep verifying until that key retires."""
        compat.flush(self.env)
        legacy_fp = self.Key._legacy_fingerprint()
        self.env.cr.execute('DELETE FROM jwt_provider_signing_key')
        self.env.cr.execute('UPDATE jwt_provider_token SET key_fp = %s', [legacy_fp])
        compat.clear_cache(self.env)
        claims = self.claims(iss=LEGACY_ISSUER)
        old = jwt.encode(claims, 'k' * 64, algorithm='HS256')  # as tokens were: no kid
        old = old if isinstance(old, str) else old.decode()
        from ..models.jwt_provider_token import _digest
        self.Token.create({
            'user_id': self.user.id, 'jti_hash': _digest(claims['jti']),
            'token_type': 'access', 'key_fp': legacy_fp,
            'issued_at': '2000-01-01 00:00:00', 'expires_at': '2100-01-01 00:00:00'})
        self.Store._ensure_keyring()
        self.Store._ensure_keyring()  # idempotent
        first = self.Store.search([])
        self.assertEqual((len(first), first.legacy, first.kid), (1, True, self.Key._kid()))
        self.assertValid(old)
        self.assertInvalid(self.craft(iss=LEGACY_ISSUER))  # a token with a kid carries the URL issuer
        self.Key._rotate()
        self.assertValid(old)
        first.action_retire()
        self.assertInvalid(old)

    def test_oauth_metadata(self):
        metadata = self.Key._oauth_metadata()
        token = self.Token._issue(self.user, 'access')
        self.assertEqual(metadata['issuer'], jwt.decode(token, options={'verify_signature': False})['iss'])
        self.assertTrue(metadata['issuer'].startswith('http'))
        self.assertEqual(metadata['jwks_uri'], metadata['issuer'] + '/.well-known/jwks.json')
        self.assertEqual(metadata['grant_types_supported'], ['refresh_token'])
        self.assertEqual(metadata['scopes_supported'], self.env['jwt_provider.token']._scopes_supported())

    def test_verification_costs_one_query(self):
        """The per-request path: the key store comes from the registry cache; the one
        query is the token's row (as before key ids), for the previous key's tokens too."""
        token = self.Token._issue(self.user, 'access')
        self.Key._rotate()
        for checked in (token, self.Token._issue(self.user, 'access')):
            self.Token._lookup(checked)  # warms the caches
            compat.flush(self.env)
            before = self.env.cr.sql_log_count
            self.Token._lookup(checked)
            self.assertEqual(self.env.cr.sql_log_count - before, 1)
