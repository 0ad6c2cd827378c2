"""Key and algorithm settings: fail closed, administrators only, environment first."""
import os

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from odoo.exceptions import AccessError, UserError

from .. import compat
from ..exceptions import KeyConfigError
from .common import JwtCase, post_install


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
        """The environment key is a key like the others: it signs from now on, the
        stored key's tokens keep working until they expire."""
        token = self.Token._issue(self.user, 'access')
        os.environ['ODOO_JWT_KEY'] = 'e' * 64
        os.environ['ODOO_JWT_ALGORITHM'] = 'HS512'
        try:
            self.assertValid(self.Token._issue(self.user, 'access'))
            self.assertValid(token)
            self.assertEqual(self.Key._source(), 'environment')
            os.environ['ODOO_JWT_KEY'] = 'short'
            with self.assertRaises(KeyConfigError):
                self.Token._issue(self.user, 'access')
            settings = self.env['res.config.settings'].create({})
            self.assertTrue(settings.jwt_env_override)
        finally:
            del os.environ['ODOO_JWT_KEY']
            del os.environ['ODOO_JWT_ALGORITHM']

    def test_a_key_that_comes_back_does_not_revive_its_tokens(self):
        """Removing ODOO_JWT_KEY falls back to the database key; putting it back
        must not make the tokens it signed valid again."""
        os.environ['ODOO_JWT_KEY'] = 'e' * 64
        try:
            token = self.Token._issue(self.user, 'access')
            self.assertValid(token)
            del os.environ['ODOO_JWT_KEY']
            self.assertInvalid(token)
            self.assertValid(self.Token._issue(self.user, 'access'))  # a login with the database key
            os.environ['ODOO_JWT_KEY'] = 'e' * 64
            self.assertInvalid(token)
            self.assertEqual(self.Token.search([('user_id', '=', self.user.id)], order='id', limit=1)
                             .revoked_reason, 'key_rotated')
        finally:
            os.environ.pop('ODOO_JWT_KEY', None)

    def test_a_key_change_noticed_at_start_up_is_for_good(self):
        """The environment key went away while the server was down and nothing was
        issued since: the start-up check retires it all the same, for good."""
        os.environ['ODOO_JWT_KEY'] = 'e' * 64
        try:
            self.Token._register_hook()  # a server started with the environment key
            token = self.Token._issue(self.user, 'access')
        finally:
            del os.environ['ODOO_JWT_KEY']
        self.Token._register_hook()  # restarted without it
        self.assertInvalid(token)
        os.environ['ODOO_JWT_KEY'] = 'e' * 64
        try:
            self.Token._register_hook()  # and with it again
            self.assertInvalid(token)
        finally:
            del os.environ['ODOO_JWT_KEY']

    def test_a_row_of_another_key_is_refused(self):
        """A genuine signature is not enough: the row must say the current key signed it."""
        token = self.Token._issue(self.user, 'access')
        self.assertValid(token)
        compat.flush(self.env)
        self.env.cr.execute("UPDATE jwt_provider_token SET key_fp = '0123456789abcdef' WHERE user_id = %s",
                            [self.user.id])
        compat.invalidate(self.env)
        self.assertInvalid(token)
        self.env.cr.execute("SELECT key_fp FROM jwt_provider_token")
        self.assertTrue(all(len(fp or '') <= 43 for fp, in self.env.cr.fetchall()))  # a kid

    def test_settings_page_never_shows_the_secret(self):
        settings = self.env['res.config.settings'].create({})
        values = repr(settings.read()[0])
        self.assertNotIn('k' * 64, values)
        self.assertTrue(settings.jwt_key_is_set)

    def test_settings_save_and_generate(self):
        settings = self.env['res.config.settings'].create({
            'jwt_algorithm': 'HS384', 'jwt_new_secret': 'n' * 48,
            'jwt_access_lifetime_value': 15, 'jwt_access_lifetime_unit': 'minutes'})
        settings.execute()
        self.assertEqual(self.Key._param('algorithm'), 'HS384')
        self.assertEqual(self.Key._param('access_lifetime'), 900)
        token = self.Token._issue(self.user, 'access')
        settings = self.env['res.config.settings'].create({})
        settings.action_jwt_generate_key()  # Rotate key: nobody is signed out
        self.assertNotEqual(self.ICP.get_param('jwt_provider.secret'), 'n' * 48)
        self.assertValid(token)
        self.assertNotEqual(jwt.get_unverified_header(self.Token._issue(self.user, 'access'))['kid'],
                            jwt.get_unverified_header(token)['kid'])

    # -- the page: units, validation, a truthful key status -----------------------
    def settings(self, **values):
        return self.env['res.config.settings'].create(values)

    def test_durations_shown_in_human_units(self):
        for seconds, shown in ((30 * 86400, (30, 'days')), (7200, (2, 'hours')), (900, (15, 'minutes')),
                               (61, (61, 'seconds')), (90 * 86400, (90, 'days'))):
            self.ICP.set_param('jwt_provider.access_lifetime', str(seconds))
            settings = self.settings()
            self.assertEqual((settings.jwt_access_lifetime_value, settings.jwt_access_lifetime_unit), shown)
        self.ICP.set_param('jwt_provider.login_lockout', '300')
        settings = self.settings()
        self.assertEqual((settings.jwt_login_lockout_value, settings.jwt_login_lockout_unit), (5, 'minutes'))

    def test_durations_saved_in_seconds(self):
        self.settings(jwt_access_lifetime_value=2, jwt_access_lifetime_unit='hours',
                      jwt_refresh_lifetime_value=45, jwt_refresh_lifetime_unit='days',
                      jwt_login_lockout_value=90, jwt_login_lockout_unit='seconds').execute()
        self.assertEqual(self.ICP.get_param('jwt_provider.access_lifetime'), '7200')
        self.assertEqual(self.ICP.get_param('jwt_provider.refresh_lifetime'), str(45 * 86400))
        self.assertEqual(self.ICP.get_param('jwt_provider.login_lockout'), '90')

    def test_leeway_zero_is_saved(self):
        self.ICP.set_param('jwt_provider.leeway', '10')
        self.settings(jwt_leeway=0).execute()
        self.assertEqual(self.ICP.get_param('jwt_provider.leeway'), '0')
        self.assertEqual(self.Key._param('leeway'), 0)
        self.assertEqual(self.settings().jwt_leeway, 0)

    def test_values_out_of_range_are_refused_with_a_message(self):
        self.ICP.set_param('jwt_provider.access_lifetime', '900')
        cases = (
            ({'jwt_access_lifetime_value': 0}, 'access token lifetime must be at least 1 second'),
            ({'jwt_access_lifetime_value': -5}, 'access token lifetime must be at least 1 second'),
            ({'jwt_refresh_lifetime_value': 0}, 'refresh token lifetime must be at least 1 second'),
            ({'jwt_refresh_lifetime_value': 3651, 'jwt_refresh_lifetime_unit': 'days'}, 'cannot exceed 10 years'),
            ({'jwt_login_lockout_value': 0}, 'lock-out window must be at least 1 second'),
            ({'jwt_leeway': -1}, 'clock leeway must be between 0 and 3600'),
            ({'jwt_leeway': 3601}, 'clock leeway must be between 0 and 3600'),
            ({'jwt_login_max_failures': 0}, 'failed logins per email and address must be between 1'),
            ({'jwt_ip_max_failures': -2}, 'failed logins per address must be between 1'),
        )
        for values, message in cases:
            settings = self.settings(jwt_new_secret='z' * 64, **values)
            with self.assertRaises(UserError) as caught:
                settings.execute()
            self.assertIn(message, str(caught.exception.args[0]), values)
            # Nothing was written, the key included.
            self.assertEqual(self.ICP.get_param('jwt_provider.access_lifetime'), '900')
            self.assertEqual(self.ICP.get_param('jwt_provider.secret'), 'k' * 64)

    def test_unchanged_defaults_write_no_parameter(self):
        for name in ('access_lifetime', 'refresh_lifetime', 'leeway', 'login_lockout'):
            self.ICP.set_param('jwt_provider.' + name, False)
        self.settings().execute()
        for name in ('access_lifetime', 'refresh_lifetime', 'leeway', 'login_lockout'):
            self.assertFalse(self.ICP.get_param('jwt_provider.' + name), name)

    def test_key_status_is_truthful(self):
        settings = self.settings()
        self.assertTrue(settings.jwt_key_is_set)
        self.assertIn('HS256 key stored in the database', settings.jwt_key_status)
        self.assertTrue(settings.jwt_key_changed)
        self.assertFalse(settings.jwt_key_problem)
        # A stored key too short for the algorithm (set behind the page's back).
        self.ICP.set_param('jwt_provider.secret', 's' * 40)
        self.ICP.set_param('jwt_provider.algorithm', 'HS384')
        settings = self.settings()
        self.assertFalse(settings.jwt_key_is_set)
        self.assertIn('at least 48 bytes', settings.jwt_key_problem)
        # RS256 without a PEM key.
        self.ICP.set_param('jwt_provider.algorithm', 'RS256')
        self.ICP.set_param('jwt_provider.private_key', False)
        settings = self.settings()
        self.assertFalse(settings.jwt_key_is_set)
        self.assertIn('not a readable', settings.jwt_key_problem)
        self.ICP.set_param('jwt_provider.algorithm', 'HS256')

    def test_key_status_reports_an_unusable_environment_key(self):
        os.environ['ODOO_JWT_KEY'] = 'short'
        try:
            settings = self.settings()
            self.assertFalse(settings.jwt_key_is_set)
            self.assertTrue(settings.jwt_env_override)
            self.assertIn('ODOO_JWT_KEY', settings.jwt_key_problem)
            self.assertIn('at least 32 bytes', settings.jwt_key_problem)
            self.assertIn('503', settings.jwt_key_problem)
            os.environ['ODOO_JWT_ALGORITHM'] = 'RS256'  # and no PEM in the environment
            self.assertFalse(self.settings().jwt_key_is_set)
            os.environ['ODOO_JWT_KEY'] = 'e' * 32
            os.environ['ODOO_JWT_ALGORITHM'] = 'HS256'
            settings = self.settings()
            self.assertTrue(settings.jwt_key_is_set)
            self.assertIn('ODOO_JWT_KEY', settings.jwt_key_status)
        finally:
            os.environ.pop('ODOO_JWT_KEY', None)
            os.environ.pop('ODOO_JWT_ALGORITHM', None)

    def test_generate_key_applies_the_edits_of_the_page(self):
        """The web client saves the form before calling a button: the edits
        reach the button's record and are applied, not dropped."""
        settings = self.settings(jwt_refresh_lifetime_value=45, jwt_refresh_lifetime_unit='days')
        settings.action_jwt_generate_key()
        self.assertEqual(self.ICP.get_param('jwt_provider.refresh_lifetime'), str(45 * 86400))
        self.assertNotEqual(self.ICP.get_param('jwt_provider.secret'), 'k' * 64)
        self.assertFalse(settings.jwt_new_secret)

    def test_generate_key_refuses_bad_edits_first(self):
        settings = self.settings(jwt_leeway=-1)
        with self.assertRaises(UserError):
            settings.action_jwt_generate_key()
        self.assertEqual(self.ICP.get_param('jwt_provider.secret'), 'k' * 64)

    def test_generate_key_for_another_hmac_size(self):
        settings = self.settings(jwt_algorithm='HS512')
        settings.action_jwt_generate_key()
        self.assertEqual(self.Key._param('algorithm'), 'HS512')
        self.assertGreaterEqual(len(self.ICP.get_param('jwt_provider.secret')), 64)
        self.assertValid(self.Token._issue(self.user, 'access'))
        self.settings(jwt_algorithm='RS256').action_jwt_generate_key()  # Rotate key makes an RSA key too
        self.assertIn('BEGIN PUBLIC KEY', self.Key._public_key_pem())
        self.assertValid(self.Token._issue(self.user, 'access'))

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
