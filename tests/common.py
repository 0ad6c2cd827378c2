"""Shared fixtures of the Odoo tests: users, and tokens crafted with the real key."""
import datetime
import secrets

import jwt

from odoo.tests.common import TransactionCase


class JwtCase(TransactionCase):
    # Each concrete class carries @compat.post_install: 12.0+ reset test tags
    # on every subclass.

    def setUp(self):
        super(JwtCase, self).setUp()
        self.Token = self.env['jwt_provider.token']
        self.Key = self.env['jwt_provider.key']
        self.ICP = self.env['ir.config_parameter'].sudo()
        self.ICP.set_param('jwt_provider.secret', 'k' * 64)
        self.ICP.set_param('jwt_provider.algorithm', 'HS256')
        self.user = self.env['res.users'].create({
            'name': 'Token Tester', 'login': 'tester@example.com', 'email': 'tester@example.com',
            'password': 'correct horse battery',
        })

    def claims(self, **override):
        now = datetime.datetime.utcnow()
        claims = {
            'iss': self.Key._issuer(), 'aud': self.Key._audience(), 'sub': str(self.user.id),
            'lgn': self.user.login, 'typ': 'access', 'iat': now,
            'exp': now + datetime.timedelta(hours=1), 'jti': secrets.token_urlsafe(24),
        }
        claims.update(override)
        return {k: v for k, v in claims.items() if v is not None}

    def craft(self, key=None, algorithm='HS256', headers=None, register=True, **override):
        """A token signed like the addon's, with ``override`` claims; registered
        in the token table unless ``register`` is false, so only the claim under
        test can make it fail."""
        claims = self.claims(**override)
        token = jwt.encode(claims, key or 'k' * 64, algorithm=algorithm, headers=headers)
        if register and 'jti' in claims and isinstance(claims['jti'], str):
            from ..models.jwt_provider_token import _digest
            self.Token.create({
                'user_id': self.user.id, 'jti_hash': _digest(claims['jti']),
                'token_type': claims.get('typ') if claims.get('typ') in ('access', 'refresh') else 'access',
                'issued_at': '2000-01-01 00:00:00', 'expires_at': '2100-01-01 00:00:00',
            })
        return token if isinstance(token, str) else token.decode()

    def assertValid(self, token):
        self.assertEqual(self.Token._authenticate(token), self.user.id)

    def assertRefused(self, method, *args, **kwargs):
        """``method`` raises InvalidToken, keeping what it wrote first (13.0's
        assertRaises rolls back a savepoint, which would hide a revocation)."""
        from ..models.jwt_provider_token import InvalidToken
        try:
            method(*args, **kwargs)
        except InvalidToken:
            return
        self.fail('%s did not raise InvalidToken' % method.__name__)

    def assertInvalid(self, token):
        from ..models.jwt_provider_token import InvalidToken
        with self.assertRaises(InvalidToken):
            self.Token._authenticate(token)
