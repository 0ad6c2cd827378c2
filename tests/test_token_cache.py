"""Rows kept between requests (token_cache.py): only where the triggers that
move Odoo's cache signal exist, and those triggers move it. The behaviour
over HTTP, on every worker, is in tests/blackbox/test_token_cache.py."""
from odoo import sql_db

from .. import compat, token_cache
from .common import JwtCase, post_install


@post_install
class TestTokenCache(JwtCase):

    def setUp(self):
        super(TestTokenCache, self).setUp()
        self.Token = self.env['jwt_provider.token']
        self.db = self.env.registry.db_name

    def signal_value(self):
        """The signal in the database, as Odoo's check_signaling reads it."""
        relation, _statement = compat.cache_signal_sql()
        if relation.startswith('orm_signaling_'):
            self.env.cr.execute('SELECT max(id) FROM %s' % relation)
        else:
            self.env.cr.execute('SELECT last_value FROM %s' % relation)
        return self.env.cr.fetchone()[0]

    def test_rows_are_kept_only_where_the_triggers_exist(self):
        self.Token._register_hook()
        self.assertIn(self.db, token_cache._rows)
        self.env.cr.execute('DROP TRIGGER jwt_provider_signal_partner ON res_partner')
        self.Token._register_hook()  # code newer than its database: nothing kept
        self.assertNotIn(self.db, token_cache._rows)
        self.Token._init_signal_triggers()  # what updating the module runs
        self.Token._register_hook()
        self.assertIn(self.db, token_cache._rows)

    def moves(self, query, params=()):
        """Whether running ``query`` moves the signal."""
        compat.flush(self.env)
        before = self.signal_value()
        self.env.cr.execute(query, list(params))
        return self.signal_value() != before

    def test_what_ends_a_token_or_changes_a_profile_moves_the_signal(self):
        user = self.user
        access = "SELECT count(*) FROM jwt_provider_token WHERE user_id = %s AND token_type = 'access'"
        self.Token._issue_pair(user)
        self.assertTrue(self.moves("DELETE FROM jwt_provider_token WHERE user_id = %s AND token_type = 'access'",
                                   [user.id]), 'a live access token deleted')
        self.Token._issue_pair(user)
        self.env.cr.execute(access, [user.id])
        self.assertEqual(self.env.cr.fetchone()[0], 1)
        self.assertTrue(self.moves("UPDATE jwt_provider_token SET revoked = true WHERE user_id = %s"
                                   " AND token_type = 'access'", [user.id]), 'an access token revoked')
        self.assertTrue(self.moves('UPDATE res_users SET active = false WHERE id = %s', [user.id]), 'a user archived')
        self.assertTrue(self.moves("UPDATE res_partner SET name = 'Ada' WHERE id = %s", [user.partner_id.id]),
                        "a user's partner renamed")
        self.assertTrue(self.moves("UPDATE res_company SET name = name || '.' WHERE id = %s", [user.company_id.id]),
                        'a company renamed')
        # ...and what ends no token and changes no profile does not
        self.assertFalse(self.moves("UPDATE jwt_provider_token SET last_used = now() AT TIME ZONE 'UTC'"),
                         'a use recorded')
        self.assertFalse(self.moves("DELETE FROM jwt_provider_token WHERE user_id = %s AND revoked", [user.id]),
                         'revoked rows cleaned up')
        nobody = self.env['res.partner'].create({'name': 'Nobody'})
        self.assertFalse(self.moves("UPDATE res_partner SET name = 'Bob' WHERE id = %s", [nobody.id]),
                         "a partner that is nobody's user renamed")

    def test_uninstalling_leaves_nothing_on_odoo_tables(self):
        """The triggers on res_users, res_partner and res_company, their
        functions and the index on res_users.partner_id the addon may add go
        with the uninstall hook (the token table's go with the table)."""
        from ..hooks import uninstall_hook
        uninstall_hook(self.env if compat.ODOO_VERSION >= 17 else self.env.cr)
        self.env.cr.execute("""
            SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgname LIKE 'jwt%%'
               AND tgrelid IN ('res_users'::regclass, 'res_partner'::regclass, 'res_company'::regclass)
             UNION ALL SELECT proname FROM pg_proc WHERE proname LIKE 'jwt\\_provider%%'
             UNION ALL SELECT relname FROM pg_class WHERE relname = 'jwt_provider_res_users_partner_id_idx'
        """)
        self.assertEqual(self.env.cr.fetchall(), [])

    def test_a_row_changed_since_the_snapshot_is_read_without_its_lock(self):
        """Odoo's transactions are REPEATABLE READ: locking a row another
        transaction changed and committed since the snapshot began fails. The
        kept read then answers None (read without the lock, not kept), and the
        request's transaction goes on (``--workers`` at 16 connections met
        it: a use recorded by a parallel request made a 503)."""
        from ..models.res_users import PROFILE_LOCKED
        admin = self.env.ref('base.user_root')  # any committed user
        first = sql_db.db_connect(self.env.cr.dbname).cursor()
        second = sql_db.db_connect(self.env.cr.dbname).cursor()
        try:
            first.execute('SELECT 1')  # the snapshot begins
            second.execute('UPDATE res_partner SET name = name WHERE id = %s', [admin.partner_id.id])
            second.commit()  # a new version of the row, same content
            self.assertIsNone(token_cache.read_locked(first, PROFILE_LOCKED, [admin.id]))
            first.execute('SELECT login FROM res_users WHERE id = %s', [admin.id])
            self.assertEqual(first.fetchone()[0], admin.login)
        finally:
            first.rollback()
            first.close()
            second.close()
