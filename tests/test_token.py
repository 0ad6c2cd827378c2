"""Issuing tokens: claims, uniqueness, and what is (not) stored."""
import logging

import jwt

from odoo.sql_db import db_connect

from .. import compat
from .common import JwtCase, post_install


@post_install
class TestToken(JwtCase):

    def test_pair_claims(self):
        pair = self.Token._issue_pair(self.user)
        claims = jwt.decode(pair['token'], 'k' * 64, algorithms=['HS256'], audience=self.Key._audience())
        self.assertEqual(claims['sub'], str(self.user.id))  # RFC 7519: a string
        self.assertEqual(claims['lgn'], 'tester@example.com')
        self.assertEqual(claims['typ'], 'access')
        self.assertEqual(claims['exp'] - claims['iat'], 30 * 24 * 3600)
        refresh = jwt.decode(pair['refresh_token'], 'k' * 64, algorithms=['HS256'], audience=self.Key._audience())
        self.assertEqual(refresh['typ'], 'refresh')
        self.assertValid(pair['token'])

    def test_tokens_of_the_same_second_differ(self):
        first = self.Token._issue(self.user, 'access')
        second = self.Token._issue(self.user, 'access')
        self.assertNotEqual(first, second)
        self.assertValid(first)
        self.assertValid(second)

    def test_token_never_stored_in_clear(self):
        token = self.Token._issue(self.user, 'access')
        jti = jwt.decode(token, options={'verify_signature': False})['jti']
        self.env.cr.execute("SELECT * FROM jwt_provider_token WHERE user_id = %s", [self.user.id])
        dump = repr(self.env.cr.fetchall())
        self.assertNotIn(token, dump)
        self.assertNotIn(jti, dump)
        self.assertNotIn('k' * 64, dump)

    def test_last_used_is_recorded(self):
        token = self.Token._issue(self.user, 'access')
        row = self.Token.search([('user_id', '=', self.user.id)])
        self.assertFalse(row.last_used)
        self.authenticate(token)
        compat.invalidate(self.env)
        self.assertTrue(row.last_used)

    def test_bookkeeping_conflict_is_skipped_quietly(self):
        """A row another transaction holds: the bookkeeping write is skipped,
        nothing is logged, and Odoo's SQL logger is left as it was (muting it
        process-wide is not safe under concurrent requests)."""
        from ..models.tolerant_sql import execute_or_skip
        sql_logger = logging.getLogger('odoo.sql_db')
        before = (list(sql_logger.handlers), sql_logger.propagate, sql_logger.disabled)
        records = []
        handler = logging.Handler(logging.DEBUG)
        handler.emit = records.append
        logging.getLogger().addHandler(handler)
        lock = 0x6a7774  # an advisory lock of this test's own
        other = db_connect(self.env.cr.dbname).cursor()
        try:
            other.execute("SELECT pg_advisory_xact_lock(%s)", [lock])
            result = execute_or_skip(self.env.cr, "SET LOCAL lock_timeout = '50ms';"
                                                  " SELECT pg_advisory_xact_lock(%s)", [lock])
        finally:
            other.rollback()
            other.close()
            logging.getLogger().removeHandler(handler)
        self.assertIsNone(result)
        self.assertEqual([r.getMessage() for r in records if r.levelno >= logging.ERROR], [])
        self.assertEqual((list(sql_logger.handlers), sql_logger.propagate, sql_logger.disabled), before)
        self.env.cr.execute("SELECT 1")  # the transaction is still usable

    def test_access_lifetime_setting(self):
        self.ICP.set_param('jwt_provider.access_lifetime', '60')
        token = self.Token._issue(self.user, 'access')
        claims = jwt.decode(token, options={'verify_signature': False})
        self.assertEqual(claims['exp'] - claims['iat'], 60)
