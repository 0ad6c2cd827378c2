"""Login and sign-up rules on res.users, and the throttling counters."""
from odoo.exceptions import AccessDenied, ValidationError

from .. import compat
from ..exceptions import IncorrectLogin, LoginThrottled, SignupDisabled, SignupRefused
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
            (('tester@example.com', 'a fine password', 'Dup'), 'Email address already existed'),
            (('new@example.com', 'seven..', 'N'), 'Password must be at least 8 characters long'),
            (('nul\x00@example.com', 'pw', 'N'), 'Invalid email address'),
            (('new@example.com', 'p\x00w', 'N'), 'Password contains invalid characters'),
            ((' TESTER@example.com ', 'a fine password', 'Dup'), 'Email address already existed'),
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
        """An unknown email verifies a dummy hash of the crypt context in force
        (the series' own, or an addon's override of it, such as the test
        databases' tests/addons/password_hash_cost), so refusing it costs
        what refusing a wrong password does."""
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
        # And an unknown email does verify one such hash (passlib's verify, seen through a spy).
        self.assertEqual(self._hashes_verified('nobody-at-all@example.com', 'a guess'), [context.identify(dummy)])

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
                Users._jwt_register(spelling, 'a password', 'Again')
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

    def _failed(self, Attempts, login, address, times=1):
        """``times`` wrong passwords for ``login`` from ``address``, through the API's login."""
        for _i in range(times):
            with self.assertRaises(IncorrectLogin):
                self.env['res.users']._jwt_login(login, 'wrong password', address)

    def test_throttle_locks_the_login_from_that_address_only(self):
        """Five wrong passwords from anywhere locked the owner out everywhere:
        the short lock is per (login, address)."""
        Attempts = self._attempts(['tester@example.com'], ['10.0.0.1', '10.0.0.2'])
        self.ICP.set_param('jwt_provider.login_max_failures', '3')
        self.ICP.set_param('jwt_provider.ip_max_failures', '100')
        for login in ('Tester@example.com', 'tester@example.com', ' TESTER@example.com'):
            self._failed(Attempts, login, '10.0.0.1')
        with self.assertRaises(LoginThrottled) as caught:
            self.env['res.users']._jwt_login('tester@example.com', 'correct horse battery', '10.0.0.1')
        self.assertTrue(0 < caught.exception.retry_after <= 300)
        # The owner, elsewhere, logs in; the success resets the login's counters.
        self.assertEqual(self.env['res.users']._jwt_login('tester@example.com', 'correct horse battery',
                                                          '10.0.0.2'), self.user)
        self._failed(Attempts, 'tester@example.com', '10.0.0.2', times=2)
        Attempts._reserve_attempt('tester@example.com', '10.0.0.2')
        Attempts._forgive('tester@example.com', '10.0.0.2')

    def test_ceiling_per_login_from_all_addresses(self):
        Attempts = self._attempts(['tester@example.com'], ['10.0.1.%d' % i for i in range(4)])
        self.ICP.set_param('jwt_provider.login_max_failures', '2')
        self.ICP.set_param('jwt_provider.account_max_failures', '4')
        self.ICP.set_param('jwt_provider.ip_max_failures', '100')
        self._failed(Attempts, 'tester@example.com', '10.0.1.0', times=2)
        self._failed(Attempts, 'tester@example.com', '10.0.1.1', times=1)
        self._failed(Attempts, 'tester@example.com', '10.0.1.2')  # under the ceiling: checked
        with self.assertRaises(LoginThrottled):  # four failures of the login: everyone waits
            self.env['res.users']._jwt_login('tester@example.com', 'correct horse battery', '10.0.1.3')

    def test_failed_login_is_settled_as_a_failure(self):
        """The login path settles its reservation: a wrong password counts, a right one resets."""
        self._attempts(['tester@example.com'], ['10.0.2.1'])
        self.ICP.set_param('jwt_provider.login_max_failures', '2')
        self.ICP.set_param('jwt_provider.ip_max_failures', '100')
        Users = self.env['res.users']
        for _i in range(3):  # a success between failures starts the count again
            with self.assertRaises(IncorrectLogin):
                Users._jwt_login('tester@example.com', 'wrong', '10.0.2.1')
            self.assertEqual(Users._jwt_login('tester@example.com', 'correct horse battery', '10.0.2.1'), self.user)
        for _i in range(2):
            with self.assertRaises(IncorrectLogin):
                Users._jwt_login('tester@example.com', 'wrong', '10.0.2.1')
        with self.assertRaises(LoginThrottled):
            Users._jwt_login('tester@example.com', 'correct horse battery', '10.0.2.1')

    def test_throttle_by_address(self):
        Attempts = self._attempts(['user0@example.com', 'user1@example.com', 'user2@example.com',
                                   'someone@example.com'], ['10.0.0.9', '10.0.0.8'])
        self.ICP.set_param('jwt_provider.ip_max_failures', '3')
        for i in range(3):
            self._failed(Attempts, 'user%d@example.com' % i, '10.0.0.9')
        with self.assertRaises(LoginThrottled):
            Attempts._reserve_attempt('someone@example.com', '10.0.0.9')
        Attempts._reserve_attempt('someone@example.com', '10.0.0.8')
        Attempts._forgive('someone@example.com', '10.0.0.8')

    def test_ipv6_addresses_count_per_64(self):
        """Rotating addresses within one /64 (one subscriber's) was never limited."""
        inside = ['2001:db8:1:2::a', '2001:db8:1:2::b', '2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:DB8:1:2::1']
        outside = '2001:db8:1:3::a'
        logins = ['v6-%d@example.com' % i for i in range(4)]
        Attempts = self._attempts(logins, inside + [outside])
        self.ICP.set_param('jwt_provider.ip_max_failures', '3')
        for login, address in zip(logins, inside[:3]):
            self._failed(Attempts, login, address)
        with self.assertRaises(LoginThrottled):
            Attempts._reserve_attempt(logins[3], inside[3])
        Attempts._reserve_attempt(logins[3], outside)  # the next /64 is someone else
        Attempts._forgive(logins[3], outside)

    def test_ipv4_mapped_addresses_are_their_ipv4(self):
        Attempts = self._attempts(['mapped-%d@example.com' % i for i in range(2)], ['10.0.3.1', '::ffff:10.0.3.1'])
        self.ICP.set_param('jwt_provider.ip_max_failures', '1')
        self._failed(Attempts, 'mapped-0@example.com', '10.0.3.1')
        with self.assertRaises(LoginThrottled):
            Attempts._reserve_attempt('mapped-1@example.com', '::ffff:10.0.3.1')

    def test_register_refuses_short_passwords(self):
        """A one-character password was accepted: the addon's setting (8 by
        default), or Odoo's own policy where auth_password_policy is installed."""
        Users = self.env['res.users']
        name, value = compat.SIGNUP_PARAM
        self.ICP.set_param(name, value)
        policy = self.env['ir.module.module'].search_count(
            [('name', '=', 'auth_password_policy'), ('state', '=', 'installed')])
        param = 'auth_password_policy.minlength' if policy else 'jwt_provider.password_min_length'
        self.ICP.set_param(param, '12')
        with self.assertRaises(SignupRefused) as caught:
            Users._jwt_register('short-pw@example.com', 'x' * 11, 'Short')
        self.assertEqual(caught.exception.message, 'Password must be at least 12 characters long')
        self.assertEqual(Users._jwt_register('short-pw@example.com', 'x' * 12, 'Long').login,
                         'short-pw@example.com')

    def test_register_is_throttled_per_address(self):
        """Unlimited probes answered "Email address already existed": every
        sign-up attempt of an address counts, refused or not."""
        Users = self.env['res.users']
        Attempts = self.env['jwt_provider.login_attempt']
        name, value = compat.SIGNUP_PARAM
        self.ICP.set_param(name, value)
        self.ICP.set_param('jwt_provider.ip_max_failures', '3')
        keys = tuple(k for address in ('10.0.4.1', '10.0.4.2') for k, _l, _kind in Attempts._signup_keys(address))
        self.addCleanup(lambda: Attempts._own_transaction(
            lambda cr: cr.execute("DELETE FROM jwt_provider_login_attempt WHERE key IN %s", [keys])))
        for email in ('tester@example.com', 'TESTER@example.com', 'not an email'):
            with self.assertRaises(SignupRefused):
                Users._jwt_register(email, 'a fine password', 'Probe', '10.0.4.1')
        with self.assertRaises(LoginThrottled) as caught:
            Users._jwt_register('fresh-probe@example.com', 'a fine password', 'Probe', '10.0.4.1')
        self.assertTrue(0 < caught.exception.retry_after <= 300)
        self.assertTrue(Users._jwt_register('fresh-probe@example.com', 'a fine password', 'Probe', '10.0.4.2'))

    def test_counters_store_no_clear_login(self):
        Attempts = self._attempts(['secret-login@example.com'], ['10.1.2.3'])
        self._failed(Attempts, 'secret-login@example.com', '10.1.2.3')

        def dump(cr):
            cr.execute("SELECT * FROM jwt_provider_login_attempt")
            return repr(cr.fetchall())
        rows = Attempts._own_transaction(dump)
        for key, _limit, _kind in Attempts._keys('secret-login@example.com', '10.1.2.3'):
            self.assertIn(key, rows)
        self.assertNotIn('secret-login', rows)
        self.assertNotIn('10.1.2.3', rows)
