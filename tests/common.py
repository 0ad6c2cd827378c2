"""Shared fixtures of the Odoo tests: users, and tokens crafted with the real key."""
import datetime
import io
import secrets

import jwt

from odoo.tests.common import TransactionCase

from .. import compat


def post_install(cls):
    """Run an Odoo test class after every module is loaded.

    11.0 runs at-install tests only in databases with demo data, so the suite
    runs post-install everywhere: ``at_install``/``post_install`` decorators
    before 12.0, tags after. Decorate each concrete class: from 12.0 on, a
    subclass does not inherit its parent's tags.
    """
    from odoo.tests import common
    if hasattr(common, 'tagged') and compat.ODOO_VERSION >= 12:
        return common.tagged('post_install', '-at_install')(cls)
    return common.at_install(False)(common.post_install(True)(cls))


def export_pot(env, module):
    """The translation template of ``module`` as Odoo exports it, as bytes
    (``trans_export`` takes a cursor up to 18.0, an env from 19.0), as
    ``make pot`` writes it (dev/harness.py, which does not import the tests)."""
    from odoo.tools.translate import trans_export
    buffer = io.BytesIO()
    trans_export(None, [module], buffer, 'po', env if compat.ODOO_VERSION >= 19 else env.cr)
    return buffer.getvalue()


def http_port():
    """The port of the server the HTTP tests talk to (13.0 dropped ``common.PORT``)."""
    from odoo.tools import config
    return config['http_port']


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
        self.Key._signing_key()  # the key set above signs (a key written to the settings directly)
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
        headers = dict({'kid': self.Key._kid()}, **(headers or {}))  # the key in effect's id
        token = jwt.encode(claims, key or 'k' * 64, algorithm=algorithm, headers=headers)
        if register and 'jti' in claims and isinstance(claims['jti'], str):
            from ..models.jwt_provider_token import _digest
            self.Token.create({
                'user_id': self.user.id, 'jti_hash': _digest(claims['jti']),
                'token_type': claims.get('typ') if claims.get('typ') in ('access', 'refresh') else 'access',
                'key_fp': self.Key._fingerprint(),  # the key in effect: only the claim under test fails
                'issued_at': '2000-01-01 00:00:00', 'expires_at': '2100-01-01 00:00:00',
            })
        return token if isinstance(token, str) else token.decode()

    def authenticate(self, token):
        """The user id of ``token``, recording its use, as a request does."""
        token_id, uid, last_used = self.Token._lookup(token)
        self.Token._touch(token_id, last_used)
        return uid

    def assertValid(self, token):
        self.assertEqual(self.authenticate(token), self.user.id)

    def assertRefused(self, method, *args, **kwargs):
        """``method`` raises InvalidToken, keeping what it wrote first (13.0's
        assertRaises rolls back a savepoint, which would hide a revocation)."""
        from ..exceptions import InvalidToken
        try:
            method(*args, **kwargs)
        except InvalidToken:
            return
        self.fail('%s did not raise InvalidToken' % method.__name__)

    def assertDecodeRefused(self, token, token_type):
        """The signature and claims check alone refuses ``token`` as ``token_type``."""
        from ..exceptions import InvalidToken
        with self.assertRaises(InvalidToken):
            self.Token._decode(token, token_type)

    def assertInvalid(self, token):
        from ..exceptions import InvalidToken
        with self.assertRaises(InvalidToken):
            self.authenticate(token)
