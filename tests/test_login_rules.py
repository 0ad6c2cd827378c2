"""Login and sign-up rules on res.users, and the throttling counters."""
from odoo.exceptions import AccessDenied

from .. import compat
from .common import JwtCase
from ..models.res_users import SignupDisabled, SignupRefused


@compat.post_install
class TestLoginRules(JwtCase):

    def test_login_ignores_case_and_spaces(self):
        Users = self.env['res.users']
        self.assertEqual(Users._jwt_authenticate_password(' Tester@Example.COM ', 'correct horse battery'), self.user)

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
        self.ICP.set_param('auth_signup.allow_uninvited', 'False')
        with self.assertRaises(SignupDisabled):
            Users._jwt_register('new@example.com', 'pw', 'New')
        self.ICP.set_param('auth_signup.allow_uninvited', 'True')
        cases = (
            (('not-an-email', 'pw', 'New'), 'Invalid email address'),
            (('new@example.com', 'pw', '  '), 'Name cannot be empty'),
            (('new@example.com', '', 'New'), 'Password cannot be empty'),
            (('tester@example.com', 'pw', 'Dup'), 'Email address already existed'),
            (('nul\x00@example.com', 'pw', 'N'), 'Invalid email address'),
            (('new@example.com', 'p\x00w', 'N'), 'Password contains invalid characters'),
            ((' TESTER@example.com ', 'pw', 'Dup'), 'Email address already existed'),
        )
        for args, message in cases:
            with self.assertRaises(SignupRefused) as caught:
                Users._jwt_register(*args)
            self.assertEqual(str(caught.exception), message)
        user = Users._jwt_register('new@example.com', 'a password', 'New')
        self.assertEqual(user.login, 'new@example.com')
        self.assertEqual(Users._jwt_authenticate_password('new@example.com', 'a password'), user)

    def _attempts(self, logins, addresses):
        """The counters live in their own transactions (committed at once): clean them up."""
        Attempts = self.env['jwt_provider.login_attempt']
        keys = tuple(k for login in logins for address in addresses for k, _l in Attempts._keys(login, address))
        self.addCleanup(Attempts._own_transaction,
                        "DELETE FROM jwt_provider_login_attempt WHERE key IN %s", [keys])
        return Attempts

    def test_throttle_counts_and_resets(self):
        Attempts = self._attempts(['tester@example.com'], ['10.0.0.1', '10.0.0.2'])
        self.ICP.set_param('jwt_provider.login_max_failures', '3')
        self.ICP.set_param('jwt_provider.ip_max_failures', '100')
        for _i in range(2):
            Attempts._record_failure('Tester@example.com', '10.0.0.1')
        self.assertEqual(Attempts._retry_after('tester@example.com', '10.0.0.1'), 0)
        Attempts._record_failure('tester@example.com', '10.0.0.1')
        wait = Attempts._retry_after(' TESTER@example.com', '10.0.0.2')
        self.assertGreater(wait, 0)
        self.assertLessEqual(wait, 300)
        Attempts._reset('tester@example.com')
        self.assertEqual(Attempts._retry_after('tester@example.com', '10.0.0.1'), 0)

    def test_throttle_by_address(self):
        Attempts = self._attempts(['user0@example.com', 'user1@example.com', 'user2@example.com'],
                                  ['10.0.0.9'])
        self.ICP.set_param('jwt_provider.ip_max_failures', '3')
        for i in range(3):
            Attempts._record_failure('user%d@example.com' % i, '10.0.0.9')
        self.assertGreater(Attempts._retry_after('someone@example.com', '10.0.0.9'), 0)
        self.assertEqual(Attempts._retry_after('someone@example.com', '10.0.0.8'), 0)

    def test_counters_store_no_clear_login(self):
        Attempts = self._attempts(['secret-login@example.com'], ['10.1.2.3'])
        Attempts._record_failure('secret-login@example.com', '10.1.2.3')
        dump = repr(Attempts._own_transaction("SELECT * FROM jwt_provider_login_attempt", []))
        self.assertIn(Attempts._keys('secret-login@example.com', None)[0][0], dump)
        self.assertNotIn('secret-login', dump)
        self.assertNotIn('10.1.2.3', dump)
