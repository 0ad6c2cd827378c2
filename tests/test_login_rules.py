"""Login and sign-up rules on res.users, and the throttling counters."""
from odoo.exceptions import AccessDenied, ValidationError

from .. import compat
from ..exceptions import LoginThrottled, SignupDisabled, SignupRefused
from .common import JwtCase, post_install


@post_install
class TestLoginRules(JwtCase):

    def test_login_ignores_case_and_spaces(self):
        Users = self.env['res.users']
        self.assertEqual(Users._jwt_authenticate_password(' Tester@Example.COM ', 'correct horse battery'), self.user)

    def test_lookalike_logins_are_one_account(self):
        """Fullwidth letters, the Kelvin sign and case fold to one login, whichever was registered first."""
        Users = self.env['res.users']
        name, value = compat.SIGNUP_PARAM
        self.ICP.set_param(name, value)
        ascii_first = Users._jwt_register('kelvin.a@example.com', 'a fine password', 'Kelvin')
        for lookalike in ('\uff4belvin.a@example.com', '\u212aelvin.a@example.com', 'KELVIN.A@example.com'):
            with self.assertRaises(SignupRefused) as caught:
                Users._jwt_register(lookalike, 'another password', 'Lookalike')
            self.assertEqual(caught.exception.message, 'Email address already existed')
            # ...and the typed lookalike logs in to the account that exists.
            self.assertEqual(Users._jwt_authenticate_password(lookalike, 'a fine password'), ascii_first)
        other_first = Users._jwt_register('\uff4belvin.b@example.com', 'a fine password', 'Kelvin B')
        with self.assertRaises(SignupRefused):
            Users._jwt_register('kelvin.b@example.com', 'another password', 'Lookalike')
        self.assertEqual(Users._jwt_authenticate_password('kelvin.b@example.com', 'a fine password'), other_first)

    def test_no_lookalike_login_by_any_other_way(self):
        """The user form, an import or RPC: any create or rename of a login."""
        Users = self.env['res.users'].with_context(no_reset_password=True)
        for login in ('TESTER@example.com', '\uff54ester@example.com', ' tester@example.com'):
            with self.assertRaises(ValidationError):
                Users.create({'name': 'Twin', 'login': login})
        other = Users.create({'name': 'Other', 'login': 'other-login@example.com'})
        with self.assertRaises(ValidationError):
            other.write({'login': 'Tester@Example.com'})
        other.write({'login': 'Other-Login@example.com'})  # its own login, respelled: fine

    def test_wrong_password_unknown_and_archived(self):
        Users = self.env['res.users']
        for email, password in (('tester@example.com', 'wrong'), ('nobody@example.com', 'x'),
                                ('tester@example.com', ''), ('tester@example.com', None), (None, None),
                                (['a'], {'b': 1}), ('tester@example.com', 'correct\x00horse'),
                                ('tester\x00@example.com', 'correct horse battery')):
            with self.assertRaises(AccessDenied):
                Users._jwt_authenticate_password(email, password)
        self.user.active = False
        with self.assertRaises(AccessDenied):
            Users._jwt_authenticate_password('tester@example.com', 'correct horse battery')

    def test_register(self):
        Users = self.env['res.users']
        name, value = compat.SIGNUP_PARAM
        self.ICP.set_param(name, 'False' if value == 'True' else 'b2b')
        with self.assertRaises(SignupDisabled):
            Users._jwt_register('new@example.com', 'pw', 'New')
        self.ICP.set_param(name, value)
        cases = (
            (('not-an-email', 'pw', 'New'), 'Invalid email address'),
            (('new@example.com', 'pw', '  '), 'Name cannot be empty'),
            (('new@example.com', '', 'New'), 'Password cannot be empty'),
            (('tester@example.com', 'pw', 'Dup'), 'Email address already existed'),
            (('nul\x00@example.com', 'pw', 'N'), 'Invalid email address'),
            (('new@example.com', 'p\x00w', 'N'), 'Password contains invalid characters'),
            ((' TESTER@example.com ', 'pw', 'Dup'), 'Email address already existed'),
            (('new@example.com', 'p' * 4097, 'N'), 'Password is too long'),
        )
        for args, message in cases:
            with self.assertRaises(SignupRefused) as caught:
                Users._jwt_register(*args)
            self.assertEqual(caught.exception.message, message)
        user = Users._jwt_register('new@example.com', 'a password', 'New')
        self.assertEqual(user.login, 'new@example.com')
        self.assertEqual(Users._jwt_authenticate_password('new@example.com', 'a password'), user)

    def test_unknown_login_pays_for_a_real_hash(self):
        """An unknown email verifies a dummy hash of this series' own crypt
        context (16.0+ hash with far more rounds than passlib's default), so
        refusing it costs what refusing a wrong password does."""
        Users = self.env['res.users']
        if compat.crypt_context(Users) is None:
            self.skipTest('no crypt context on this series')
        context, dummy = Users._jwt_dummy_hash()
        column = 'password_crypt' if 'password_crypt' in Users._fields else 'password'
        compat.flush(self.env)
        self.env.cr.execute('SELECT %s FROM res_users WHERE id = %%s' % column, [self.user.id])
        real = self.env.cr.fetchone()[0]
        self.assertEqual(context.identify(dummy), context.identify(real))
        # Same scheme and same cost parameters ($scheme$rounds$...).
        self.assertEqual(dummy.split('$')[2], real.split('$')[2])

    def _hashes_verified(self, email, password):
        """The schemes of the hashes a refused login verified, in order. A spy on
        passlib's two entry points (our dummy check's and Odoo's), which calls
        through: the real hashes are checked."""
        from passlib.context import CryptContext
        seen = []
        originals = {name: getattr(CryptContext, name) for name in ('verify', 'verify_and_update')}

        def spy(method):
            def call(context, secret, hashed, *args, **kwargs):
                seen.append(context.identify(hashed) if hashed else None)
                return method(context, secret, hashed, *args, **kwargs)
            return call
        try:
            for name, method in originals.items():
                setattr(CryptContext, name, spy(method))
            with self.assertRaises(AccessDenied):
                self.env['res.users']._jwt_authenticate_password(email, password)
        finally:
            for name, method in originals.items():
                setattr(CryptContext, name, method)
        return seen

    def test_an_account_without_password_pays_for_a_hash_like_an_unknown_one(self):
        """Refusing an account that has no password (created by an
        administrator, invited, signed up through OAuth) verifies the same hash
        as refusing an unknown email: the timing does not reveal the account."""
        self.env['res.users'].create({'name': 'No Password', 'login': 'nopass@example.com'})
        unknown = self._hashes_verified('nobody@example.com', 'a guess')
        self.assertTrue(unknown)
        self.assertEqual(self._hashes_verified('nopass@example.com', 'a guess'), unknown)

    def test_unicode_case_is_one_login(self):
        """PostgreSQL's lower() folds ASCII only under the C locale: É/é and the
        Kelvin sign/k must still be one login, for sign-up and login alike."""
        Users = self.env['res.users']
        name, value = compat.SIGNUP_PARAM
        self.ICP.set_param(name, value)
        user = Users._jwt_register('\u00c9lodie@example.com', 'a password', 'Elodie')
        for spelling in ('\u00e9lodie@example.com', '\u00c9LODIE@EXAMPLE.COM'):
            self.assertEqual(Users._jwt_find_login(spelling), user)
            with self.assertRaises(SignupRefused):
                Users._jwt_register(spelling, 'pw', 'Again')
        kelvin = Users._jwt_register('\u212aelvin@example.com', 'a password', 'Kelvin')
        self.assertEqual(Users._jwt_find_login('kelvin@example.com'), kelvin)

    def _attempts(self, logins, addresses):
        """The counters live in their own transactions (committed at once): clean them up."""
        Attempts = self.env['jwt_provider.login_attempt']
        keys = tuple(k for login in logins for address in addresses for k, _l, _kind in Attempts._keys(login, address))

        def cleanup():
            Attempts._own_transaction(
                lambda cr: cr.execute("DELETE FROM jwt_provider_login_attempt WHERE key IN %s", [keys]))
        self.addCleanup(cleanup)
        return Attempts

    def test_throttle_counts_and_forgives(self):
        Attempts = self._attempts(['tester@example.com'], ['10.0.0.1', '10.0.0.2'])
        self.ICP.set_param('jwt_provider.login_max_failures', '3')
        self.ICP.set_param('jwt_provider.ip_max_failures', '100')
        for login in ('Tester@example.com', 'tester@example.com', ' TESTER@example.com'):
            Attempts._reserve_attempt(login, '10.0.0.1')
        with self.assertRaises(LoginThrottled) as caught:
            Attempts._reserve_attempt('tester@example.com', '10.0.0.2')
        self.assertTrue(0 < caught.exception.retry_after <= 300)
        Attempts._forgive('tester@example.com', '10.0.0.1')
        Attempts._reserve_attempt('tester@example.com', '10.0.0.1')

    def test_throttle_by_address(self):
        Attempts = self._attempts(['user0@example.com', 'user1@example.com', 'user2@example.com',
                                   'someone@example.com'], ['10.0.0.9', '10.0.0.8'])
        self.ICP.set_param('jwt_provider.ip_max_failures', '3')
        for i in range(3):
            Attempts._reserve_attempt('user%d@example.com' % i, '10.0.0.9')
        with self.assertRaises(LoginThrottled):
            Attempts._reserve_attempt('someone@example.com', '10.0.0.9')
        Attempts._reserve_attempt('someone@example.com', '10.0.0.8')

    def test_counters_store_no_clear_login(self):
        Attempts = self._attempts(['secret-login@example.com'], ['10.1.2.3'])
        Attempts._reserve_attempt('secret-login@example.com', '10.1.2.3')

        def dump(cr):
            cr.execute("SELECT * FROM jwt_provider_login_attempt")
            return repr(cr.fetchall())
        rows = Attempts._own_transaction(dump)
        self.assertIn(Attempts._keys('secret-login@example.com', None)[0][0], rows)
        self.assertNotIn('secret-login', rows)
        self.assertNotIn('10.1.2.3', rows)
