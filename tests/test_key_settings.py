"""Key and algorithm settings: fail closed, administrators only, environment first."""
import os

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from odoo.exceptions import AccessError, UserError

from .. import compat
from .common import JwtCase, post_install
from ..exceptions import KeyConfigError


def pem(private):
    return private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()).decode()


@post_install
class TestKeySettings(JwtCase):

    def test_short_keys_refused(self):
        for algorithm, size in (('HS256', 32), ('HS384', 48), ('HS512', 64)):
            with self.assertRaises(UserError):
                self.Key._set_key(algorithm=algorithm, secret='s' * (size - 1))
            self.Key._set_key(algorithm=algorithm, secret='s' * size)
            self.assertTrue(self.Token._issue(self.user, 'access'))

    def test_empty_key_fails_closed(self):
        self.ICP.set_param('jwt_provider.secret', '')
        with self.assertRaises(KeyConfigError):
            self.Token._issue(self.user, 'access')

    def test_stored_key_too_short_for_new_algorithm(self):
        self.ICP.set_param('jwt_provider.secret', 's' * 40)
        with self.assertRaises(UserError):
            self.Key._set_key(algorithm='HS512')
        self.assertEqual(self.Key._param('algorithm'), 'HS256')

    def test_rs256_and_es256(self):
        for algorithm, private in (('RS256', rsa.generate_private_key(public_exponent=65537, key_size=2048)),
                                   ('ES256', ec.generate_private_key(ec.SECP256R1()))):
            self.Key._set_key(algorithm=algorithm, private_key=pem(private))
            token = self.Token._issue(self.user, 'access')
            self.assertValid(token)
            self.assertIn('BEGIN PUBLIC KEY', self.Key._public_key_pem())

    def test_bad_pem_refused(self):
        with self.assertRaises(UserError):
            self.Key._set_key(algorithm='RS256', private_key='not a key')
        weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        with self.assertRaises(UserError):
            self.Key._set_key(algorithm='RS256', private_key=pem(weak))
        with self.assertRaises(UserError):  # EC key for RS256
            self.Key._set_key(algorithm='RS256', private_key=pem(ec.generate_private_key(ec.SECP256R1())))

    def test_environment_overrides_settings(self):
        token = self.Token._issue(self.user, 'access')
        os.environ['ODOO_JWT_KEY'] = 'e' * 64
        os.environ['ODOO_JWT_ALGORITHM'] = 'HS512'
        try:
            self.assertInvalid(token)
            self.assertValid(self.Token._issue(self.user, 'access'))
            os.environ['ODOO_JWT_KEY'] = 'short'
            with self.assertRaises(KeyConfigError):
                self.Token._issue(self.user, 'access')
            settings = self.env['res.config.settings'].create({})
            self.assertTrue(settings.jwt_env_override)
        finally:
            del os.environ['ODOO_JWT_KEY']
            del os.environ['ODOO_JWT_ALGORITHM']

    def test_settings_page_never_shows_the_secret(self):
        settings = self.env['res.config.settings'].create({})
        values = repr(settings.read()[0])
        self.assertNotIn('k' * 64, values)
        self.assertTrue(settings.jwt_key_is_set)

    def test_settings_save_and_generate(self):
        settings = self.env['res.config.settings'].create({
            'jwt_algorithm': 'HS384', 'jwt_new_secret': 'n' * 48, 'jwt_access_lifetime': 900})
        settings.execute()
        self.assertEqual(self.Key._param('algorithm'), 'HS384')
        self.assertEqual(self.Key._param('access_lifetime'), 900)
        token = self.Token._issue(self.user, 'access')
        settings.action_jwt_generate_key()
        self.assertNotEqual(self.ICP.get_param('jwt_provider.secret'), 'n' * 48)
        self.assertInvalid(token)

    def test_settings_refuse_short_secret(self):
        settings = self.env['res.config.settings'].create({'jwt_algorithm': 'HS256', 'jwt_new_secret': 'short'})
        with self.assertRaises(UserError):
            settings.execute()
        self.assertEqual(self.ICP.get_param('jwt_provider.secret'), 'k' * 64)

    def test_normal_user_cannot_read_or_write_the_key(self):
        employee = self.env['res.users'].create({
            'name': 'Employee', 'login': 'employee@example.com', 'password': 'x' * 12,
            compat.groups_field(self.env['res.users']): [(6, 0, [self.env.ref('base.group_user').id])]})
        ICP = compat.as_user(self.env['ir.config_parameter'], employee.id)
        with self.assertRaises(AccessError):
            ICP.get_param('jwt_provider.secret')
        with self.assertRaises(AccessError):
            ICP.set_param('jwt_provider.secret', 'x' * 64)
        with self.assertRaises(UserError):  # AccessError is one from 13.0
            compat.as_user(self.env['jwt_provider.key'], employee.id)._rotate_secret()
        with self.assertRaises(AccessError):
            settings = compat.as_user(self.env['res.config.settings'], employee.id).create({'jwt_new_secret': 'x' * 64})
            settings.set_values()
        with self.assertRaises(AccessError):
            compat.as_user(self.env['jwt_provider.token'], employee.id).search([])
        self.assertEqual(self.ICP.get_param('jwt_provider.secret'), 'k' * 64)
