"""Two-factor authentication (auth_totp, 14.0+): a password alone gets no token.

Uses a real TOTP secret and auth_totp's own check; skipped where the series
has no auth_totp or it is not installed.
"""
import base64
import hashlib
import hmac
import secrets
import struct
import time

from odoo.tests import common

from .. import compat
from ..exceptions import IncorrectCode, InvalidToken, SecondFactorRequired
from .common import JwtCase, http_port, post_install


def totp_code(secret, at=None):
    """RFC 6238 code (SHA-1, 30 s, 6 digits), as authenticator apps compute it."""
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(base64.b32decode(secret), struct.pack('>Q', counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return '%06d' % ((struct.unpack('>I', digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1000000)


class TotpMixin(object):

    def require_model_level_check(self):
        if not hasattr(self.env['res.users'], '_totp_check'):
            self.skipTest("19.0 checks TOTP codes only within an HTTP request (auth_totp's rate limit): "
                          "TestSecondFactorHttp covers it")

    def enable_totp(self, user):
        if 'totp_secret' not in user._fields:
            self.skipTest('auth_totp is not installed on Odoo %s' % compat.ODOO_VERSION)
        secret = base64.b32encode(secrets.token_bytes(20)).decode('ascii')
        user.sudo().write({'totp_secret': secret})
        compat.flush(self.env)  # HTTP requests read the database, not this test's cache
        return secret


@post_install
class TestSecondFactor(TotpMixin, JwtCase):

    def setUp(self):
        super(TestSecondFactor, self).setUp()
        self.Users = self.env['res.users'].sudo()
        self.addCleanup(self._clear_counters)

    def _clear_counters(self):
        Attempts = self.env['jwt_provider.login_attempt']
        keys = tuple(k for k, _l, _kind in Attempts._keys('tester@example.com', '10.9.9.9'))
        Attempts._own_transaction(
            lambda cr: cr.execute("DELETE FROM jwt_provider_login_attempt WHERE key IN %s", [keys]))

    def login(self):
        # Not assertRaises: from 13.0 it rolls back a savepoint, and the ticket with it.
        try:
            self.Users._jwt_login('tester@example.com', 'correct horse battery', '10.9.9.9')
        except SecondFactorRequired as e:
            data = e.data
        else:
            self.fail('a password alone opened a login with two-factor authentication')
        self.assertTrue(data['totp_required'])
        self.assertGreater(data['expires_in'], 0)
        return data['ticket']

    def test_password_alone_gets_a_ticket_not_a_token(self):
        self.enable_totp(self.user)
        ticket = self.login()
        with self.assertRaises(InvalidToken):  # a ticket is no access token
            self.Token._lookup(ticket)

    def test_ticket_and_code_open_one_login(self):
        self.require_model_level_check()
        secret = self.enable_totp(self.user)
        self.ICP.set_param('jwt_provider.login_max_failures', '100')
        ticket = self.login()
        with self.assertRaises(IncorrectCode):
            self.Users._jwt_login_totp(ticket, '000000' if totp_code(secret) != '000000' else '111111',
                                       '10.9.9.9')
        for bad in (None, '', 'abcdef', ['1'], '1' * 5000):
            with self.assertRaises(IncorrectCode):
                self.Users._jwt_login_totp(ticket, bad, '10.9.9.9')
        user = self.Users._jwt_login_totp(ticket, totp_code(secret), '10.9.9.9')
        self.assertEqual(user, self.user)
        with self.assertRaises(InvalidToken):  # single use
            self.Users._jwt_login_totp(ticket, totp_code(secret), '10.9.9.9')

    def test_a_code_opens_one_login_only(self):
        """A right code accepted once is refused with a second ticket inside its
        30 s window (someone who saw it over the user's shoulder, or replays it)."""
        self.require_model_level_check()
        secret = self.enable_totp(self.user)
        self.ICP.set_param('jwt_provider.login_max_failures', '100')
        code = totp_code(secret)
        self.assertEqual(self.Users._jwt_login_totp(self.login(), code, '10.9.9.9'), self.user)
        with self.assertRaises(IncorrectCode):
            self.Users._jwt_login_totp(self.login(), code, '10.9.9.9')

    def test_wrong_codes_are_throttled_like_passwords(self):
        from ..exceptions import LoginThrottled
        self.require_model_level_check()
        secret = self.enable_totp(self.user)
        self.ICP.set_param('jwt_provider.login_max_failures', '3')
        ticket = self.login()  # the password's attempt counts until the code is right
        for _i in range(2):
            with self.assertRaises(IncorrectCode):
                self.Users._jwt_login_totp(ticket, 'x', '10.9.9.9')
        with self.assertRaises(LoginThrottled):  # even with the right code
            self.Users._jwt_login_totp(ticket, totp_code(secret), '10.9.9.9')

    def test_two_factor_logins_give_back_both_attempts(self):
        """Each two-factor login left the address counter one higher (two
        reservations, one release): an address with a few users locked itself out."""
        self.require_model_level_check()
        secret = self.enable_totp(self.user)
        self.ICP.set_param('jwt_provider.ip_max_failures', '2')
        for step in (-1, 0, 1):  # three time steps Odoo accepts now: each code opens one login only
            ticket = self.login()
            code = totp_code(secret, at=time.time() + 30 * step)
            self.assertEqual(self.Users._jwt_login_totp(ticket, code, '10.9.9.9'), self.user)
        with self.assertRaises(SecondFactorRequired):  # still allowed: the address counts nothing
            self.Users._jwt_login('tester@example.com', 'correct horse battery', '10.9.9.9')

    def test_forged_or_foreign_tickets(self):
        self.enable_totp(self.user)
        pair = self.Token._issue_pair(self.user)
        for ticket in (pair['token'], pair['refresh_token'], 'x', None, self.craft(typ='mfa', register=False)):
            with self.assertRaises(InvalidToken):
                self.Users._jwt_login_totp(ticket, '123456', '10.9.9.9')

    def test_enabling_or_disabling_revokes_tokens(self):
        if 'totp_secret' not in self.user._fields:
            self.skipTest('auth_totp is not installed on Odoo %s' % compat.ODOO_VERSION)
        pair = self.Token._issue_pair(self.user)
        self.enable_totp(self.user)
        self.assertInvalid(pair['token'])
        pair = self.Token._issue_pair(self.user)
        self.user.sudo().write({'totp_secret': False})
        self.assertInvalid(pair['token'])


@post_install
class TestSecondFactorHttp(TotpMixin, common.HttpCase):
    """The two HTTP steps. 14.0+ serve HttpCase requests on the test's cursor."""

    def test_login_in_two_steps(self):
        if compat.ODOO_VERSION < 14:
            self.skipTest('no auth_totp before 14.0')
        self.env['ir.config_parameter'].sudo().set_param('jwt_provider.secret', 'k' * 64)
        user = self.env['res.users'].create({'name': 'Two Factor', 'login': 'tfa@example.com',
                                             'email': 'tfa@example.com', 'password': 'correct horse battery'})
        secret = self.enable_totp(user)
        base = 'http://127.0.0.1:%s' % http_port()
        answer = self.opener.post(base + '/api/login', data={'email': 'tfa@example.com',
                                                             'password': 'correct horse battery'}, timeout=30)
        self.assertEqual(answer.status_code, 401, answer.text)
        body = answer.json()
        self.assertEqual(set(body), {'data', 'success', 'message'})
        self.assertFalse(body['success'])
        self.assertNotIn('token', body['data'])
        ticket = body['data']['ticket']
        wrong = '000000' if totp_code(secret) != '000000' else '111111'
        answer = self.opener.post(base + '/api/login/totp', data={'ticket': ticket, 'code': wrong}, timeout=30)
        self.assertEqual(answer.status_code, 400, answer.text)
        code = totp_code(secret)
        answer = self.opener.post(base + '/api/login/totp', json={'ticket': ticket, 'code': code}, timeout=30)
        self.assertEqual(answer.status_code, 200, answer.text)
        token = answer.json()['data']['token']
        me = self.opener.get(base + '/api/me', headers={'Authorization': 'Bearer ' + token}, timeout=30)
        self.assertEqual(me.json()['data']['id'], user.id)
        again = self.opener.post(base + '/api/login/totp', data={'ticket': ticket, 'code': code},
                                 timeout=30)
        self.assertEqual(again.status_code, 498, again.text)
        # The same code with a new ticket: refused, it was used (19.0's own counter, ours before).
        ticket = self.opener.post(base + '/api/login', data={'email': 'tfa@example.com',
                                                             'password': 'correct horse battery'},
                                  timeout=30).json()['data']['ticket']
        answer = self.opener.post(base + '/api/login/totp', data={'ticket': ticket, 'code': code}, timeout=30)
        self.assertEqual(answer.status_code, 400, answer.text)

    def test_wrong_codes_are_throttled_over_http(self):
        """Wrong codes count like wrong passwords, over HTTP too: a few 400s,
        then 429 with Retry-After, the right code included, for the window."""
        if compat.ODOO_VERSION < 14:
            self.skipTest('no auth_totp before 14.0')
        ICP = self.env['ir.config_parameter'].sudo()
        ICP.set_param('jwt_provider.secret', 'k' * 64)
        ICP.set_param('jwt_provider.login_max_failures', '3')
        user = self.env['res.users'].create({'name': 'Two Factor', 'login': 'tfa-throttle@example.com',
                                             'email': 'tfa-throttle@example.com',
                                             'password': 'correct horse battery'})
        secret = self.enable_totp(user)
        base = 'http://127.0.0.1:%s' % http_port()
        answer = self.opener.post(base + '/api/login', data={'email': 'tfa-throttle@example.com',
                                                             'password': 'correct horse battery'}, timeout=30)
        self.assertEqual(answer.status_code, 401, answer.text)
        ticket = answer.json()['data']['ticket']
        wrong = '000000' if totp_code(secret) != '000000' else '111111'
        statuses = []
        for _attempt in range(6):
            answer = self.opener.post(base + '/api/login/totp', data={'ticket': ticket, 'code': wrong}, timeout=30)
            statuses.append(answer.status_code)
            if answer.status_code == 429:
                break
        self.assertIn(429, statuses, statuses)
        self.assertTrue(1 <= statuses.index(429) <= 3, statuses)  # the limit, the password step counted
        self.assertEqual(set(statuses[:statuses.index(429)]), {400}, statuses)
        self.assertTrue(int(answer.headers['Retry-After']) > 0)
        right = self.opener.post(base + '/api/login/totp', data={'ticket': ticket, 'code': totp_code(secret)},
                                 timeout=30)
        self.assertEqual(right.status_code, 429, right.text)

    def test_a_second_factor_the_api_cannot_check_answers_403(self):
        """Another addon's second factor (tests/addons/other_second_factor): the
        right password gets 403 in the envelope, neither a token nor a ticket."""
        if compat.ODOO_VERSION < 14:
            self.skipTest('Odoo names second factors (res.users._mfa_type) from 14.0')
        Users = self.env['res.users']
        self.assertIn('other_second_factor', Users._fields,
                      'tests/addons/other_second_factor must be installed (dev/run_tests.py MODULES)')
        self.env['ir.config_parameter'].sudo().set_param('jwt_provider.secret', 'k' * 64)
        user = Users.create({'name': 'Other Factor', 'login': 'other-factor@example.com',
                             'email': 'other-factor@example.com', 'password': 'correct horse battery',
                             'other_second_factor': True})
        self.assertEqual(user._mfa_type(), 'other_second_factor')
        compat.flush(self.env)
        answer = self.opener.post('http://127.0.0.1:%s/api/login' % http_port(), timeout=30, data={
            'email': 'other-factor@example.com', 'password': 'correct horse battery'})
        self.assertEqual(answer.status_code, 403, answer.text)
        body = answer.json()
        self.assertEqual(set(body), {'data', 'success', 'message'})
        self.assertFalse(body['success'])
        self.assertEqual(body['message'], 'This account uses a two-factor method the API does not support')
        self.assertNotIn('token', answer.text)
        self.assertNotIn('ticket', answer.text)
