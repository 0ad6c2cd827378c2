"""Login sessions: one per login, revoked as a whole, cleaned up, counted as connections."""
import contextlib
import datetime
import secrets

from odoo import SUPERUSER_ID, api
from odoo.exceptions import AccessError
from odoo.sql_db import db_connect

from .. import compat
from ..exceptions import InvalidToken
from .common import JwtCase, post_install


@post_install
class TestSessions(JwtCase):

    def setUp(self):
        super(TestSessions, self).setUp()
        self.Session = self.env['jwt_provider.session']

    def sessions(self, user=None):
        compat.invalidate(self.env)  # computed from the tokens: read them afresh
        return self.Session.search([('user_id', '=', (user or self.user).id)])

    def age(self, sql, *args):
        """Move timestamps back with SQL (the clean-up compares them with now)."""
        compat.flush(self.env)
        self.env.cr.execute(sql, args)
        compat.invalidate(self.env)

    def test_a_login_is_one_session_whatever_its_refreshes(self):
        pair = self.Token._issue_pair(self.user)
        self.Token._issue_pair(self.user)  # another login
        sessions = self.sessions()
        self.assertEqual(len(sessions), 2)
        session = sessions.filtered(lambda s: s.family == self.Token.search(
            [('user_id', '=', self.user.id)], order='id', limit=1).family)
        self.age("UPDATE jwt_provider_session SET issued_at = issued_at - interval '1 hour' WHERE id = %s",
                 session.id)
        _user, new = self.Token._refresh(pair['refresh_token'])
        self.assertEqual(len(self.sessions()), 2, 'a refresh opened a session')
        session = self.sessions().filtered(lambda s: s.id == session.id)
        self.assertEqual(session.state, 'active')
        self.assertTrue(session.last_used, 'a refresh is a use')
        self.assertEqual(len(self.Token.search([('family', '=', session.family)])), 4)
        refresh = self.Token.search([('family', '=', session.family), ('token_type', '=', 'refresh'),
                                     ('revoked', '=', False)])
        self.assertEqual(compat.to_datetime(session.expires_at), compat.to_datetime(refresh.expires_at))

    def test_a_token_issued_alone_is_a_session(self):
        """validator.create_token(user) is a login of the original addon's pattern."""
        self.Token._issue(self.user, 'access')
        self.assertEqual(len(self.sessions()), 1)

    def test_a_two_factor_ticket_is_no_session(self):
        self.Token._issue(self.user, 'mfa')
        self.assertFalse(self.sessions())

    def test_use_is_last_used(self):
        pair = self.Token._issue_pair(self.user)
        self.assertFalse(self.sessions().last_used)
        self.authenticate(pair['token'])
        self.assertTrue(self.sessions().last_used)

    def test_user_agent_is_one_short_line(self):
        agent, address = self.Session._describe_client('App/1.0\r\nX-Injected: 1\x00' + 'x' * 500, '10.1.2.3')
        self.assertNotIn('\n', agent)
        self.assertNotIn('\x00', agent)
        self.assertTrue(agent.startswith('App/1.0 X-Injected: 1'))
        self.assertLessEqual(len(agent), 200)
        self.assertEqual(address, '10.1.2.3')
        self.assertEqual(self.Session._describe_client(None, None), (False, False))
        self.assertEqual(self.Session._describe_client('  ', ''), (False, False))

    def test_revoking_a_session_signs_its_app_out(self):
        pair = self.Token._issue_pair(self.user)
        other = self.Token._issue_pair(self.user)
        _user, new = self.Token._refresh(pair['refresh_token'])
        session = self.sessions().filtered(lambda s: s.family == self.Token.search(
            [('user_id', '=', self.user.id)], order='id', limit=1).family)
        session.action_revoke()
        for token in (pair['token'], new['token']):
            self.assertInvalid(token)
        # The current refresh token, and the spent one even within the retry window.
        for refresh_token in (new['refresh_token'], pair['refresh_token']):
            with self.assertRaises(InvalidToken):
                self.Token._refresh(refresh_token)
        self.assertValid(other['token'])
        session = self.sessions().filtered(lambda s: s.id == session.id)
        self.assertEqual((session.state, session.revoked_reason), ('revoked', 'admin'))
        self.assertTrue(session.revoked_at)

    def test_revoking_the_access_row_revokes_its_refresh_token(self):
        pair = self.Token._issue_pair(self.user)
        self.Token.search([('user_id', '=', self.user.id), ('token_type', '=', 'access')]).action_revoke()
        with self.assertRaises(InvalidToken):
            self.Token._refresh(pair['refresh_token'])

    def test_logout_and_key_rotation_end_sessions(self):
        pair = self.Token._issue_pair(self.user)
        self.Token._logout(pair['token'])
        self.assertEqual((self.sessions().state, self.sessions().revoked_reason), ('revoked', 'logout'))
        self.Token._issue_pair(self.user)
        old_kid = self.Key._kid()
        self.Key._rotate_secret()
        self.assertIn('active', self.sessions().mapped('state'))  # a rotation signs nobody out
        self.env['jwt_provider.signing.key'].search([('kid', '=', old_kid)]).action_retire()
        self.assertEqual(set(self.sessions().mapped('state')), {'revoked'})

    def test_only_administrators_revoke(self):
        self.Token._issue_pair(self.user)
        employee = self.env['res.users'].create({
            'name': 'Employee', 'login': 'employee@example.com', 'password': 'x' * 12,
            compat.groups_field(self.env['res.users']): [(6, 0, [self.env.ref('base.group_user').id])]})
        session = self.sessions()
        with self.assertRaises(AccessError):
            compat.as_user(session, employee.id).action_revoke()
        with self.assertRaises(AccessError):
            compat.as_user(self.Session, employee.id).search([])
        with self.assertRaises(AccessError):
            compat.as_user(self.env['res.users'], employee.id).browse(self.user.id).read(['jwt_session_ids'])
        self.assertEqual(self.sessions().state, 'active')

    def test_an_api_login_counts_as_a_connection(self):
        compat.invalidate(self.env)
        self.assertFalse(self.user.login_date)
        self.Token._issue_pair(self.user)
        compat.invalidate(self.env)
        self.assertTrue(self.user.login_date)
        log = self.env['res.users.log'].search([('create_uid', '=', self.user.id)])
        self.assertEqual(len(log), 1)
        self.Token._refresh(self.Token._issue_pair(self.user)['refresh_token'])
        self.assertEqual(len(self.env['res.users.log'].search([('create_uid', '=', self.user.id)])), 2,
                         'a login is a connection, a refresh is not')

    def test_clean_up(self):
        now = datetime.datetime.utcnow()
        ended_long_ago = self.Token._issue_pair(self.user)
        ended_recently = self.Token._issue_pair(self.user)
        live = self.Token._issue_pair(self.user)
        self.Token._issue_pair(self.user)  # expires below
        self.ICP.set_param('jwt_provider.refresh_grace', '0')
        _user, live_new = self.Token._refresh(live['refresh_token'])
        self.Token._logout(ended_long_ago['token'])
        self.Token._logout(ended_recently['token'])
        family = {name: self.Token.search([('jti_hash', '!=', False), ('user_id', '=', self.user.id)],
                                          order='id').mapped('family')[index]
                  for index, name in ((0, 'ended_long_ago'), (2, 'ended_recently'), (4, 'live'), (6, 'expired'))}
        self.age("UPDATE jwt_provider_token SET revoked_at = %s WHERE family = %s",
                 now - datetime.timedelta(days=2), family['ended_long_ago'])
        self.age("UPDATE jwt_provider_token SET revoked_at = %s WHERE family = %s AND revoked_reason = 'spent'",
                 now - datetime.timedelta(days=2), family['live'])
        self.age("UPDATE jwt_provider_token SET expires_at = %s WHERE family = %s",
                 now - datetime.timedelta(seconds=1), family['expired'])
        self.Token._gc_expired(commit=False)
        compat.invalidate(self.env)
        self.env.cr.execute("SELECT count(*) FROM jwt_provider_token WHERE family = %s AND grace_pair IS NOT NULL",
                            [family['live']])
        self.assertEqual(self.env.cr.fetchone()[0], 0, 'the pair sealed for retries outlived the grace window')
        left = set(self.Token.search([('user_id', '=', self.user.id)]).mapped('family'))
        self.assertEqual(left, {family['ended_recently'], family['live']})
        self.assertEqual(set(self.sessions().mapped('family')), {family['ended_recently'], family['live']})
        # The live login kept its spent refresh token: presenting it again still revokes the family.
        self.assertRefused(self.Token._refresh, live['refresh_token'])
        self.assertInvalid(live_new['token'])

    def test_sessions_for_tokens_issued_before_sessions_existed(self):
        pair = self.Token._issue_pair(self.user)
        compat.flush(self.env)
        self.env.cr.execute("DELETE FROM jwt_provider_session")
        self.Session._backfill()
        compat.invalidate(self.env)
        session = self.sessions()
        self.assertEqual(len(session), 1)
        self.assertEqual(session.state, 'active')
        self.assertTrue(pair)

    def test_the_user_form_shows_sessions_not_tokens(self):
        def form_arch(model, view_id=False):
            if hasattr(model, 'get_views'):
                return model.get_views([(view_id, 'form')])['views']['form']['arch']
            return model.fields_view_get(view_id=view_id, view_type='form')['arch']
        arch = form_arch(self.env['res.users'], self.env.ref('base.view_users_form').id)
        self.assertIn('jwt_session_ids', arch)
        self.assertNotIn('jwt_token_ids', arch)
        form = form_arch(self.Session)
        for technical in ('jti_hash', 'family'):
            self.assertNotIn(technical, arch)
            self.assertNotIn(technical, form)


@contextlib.contextmanager
def _committed_env(dbname):
    """An environment on a connection of its own, whose commits are real (the
    clean-up commits each batch), and 11.0's environment bookkeeping."""
    cr = db_connect(dbname).cursor()
    manage = getattr(api.Environment, 'manage', None)
    try:
        with (manage() if manage else contextlib.ExitStack()):
            yield api.Environment(cr, SUPERUSER_ID, {})
    finally:
        cr.rollback()
        cr.close()


@post_install
class TestCleanUpBatches(JwtCase):
    """The cron's clean-up on committed rows, as in production: other
    connections see each batch's commit, and rows a login holds are skipped."""

    def setUp(self):
        super(TestCleanUpBatches, self).setUp()
        self.tag = 'gc-test-' + secrets.token_hex(6)
        self.writer = db_connect(self.env.cr.dbname).cursor()
        self.addCleanup(self._drop_rows)

    def _drop_rows(self):
        self.writer.rollback()
        self.writer.execute("DELETE FROM jwt_provider_token WHERE family = %s", [self.tag])
        self.writer.execute("DELETE FROM jwt_provider_session WHERE family = %s", [self.tag])
        self.writer.commit()
        self.writer.close()

    def insert_expired(self, count):
        past = datetime.datetime.utcnow() - datetime.timedelta(days=1)
        self.writer.execute("INSERT INTO jwt_provider_session (user_id, family, issued_at) VALUES (%s, %s, %s)",
                            [SUPERUSER_ID, self.tag, past])
        for _i in range(count):
            self.writer.execute("""
                INSERT INTO jwt_provider_token (user_id, jti_hash, token_type, family, issued_at, expires_at)
                VALUES (%s, %s, 'access', %s, %s, %s)
            """, [SUPERUSER_ID, secrets.token_hex(32), self.tag, past, past])
        self.writer.commit()

    def left(self):
        self.writer.rollback()  # a new snapshot: what the clean-up committed
        self.writer.execute("SELECT id FROM jwt_provider_token WHERE family = %s ORDER BY id", [self.tag])
        tokens = [row[0] for row in self.writer.fetchall()]
        self.writer.execute("SELECT count(*) FROM jwt_provider_session WHERE family = %s", [self.tag])
        return tokens, self.writer.fetchone()[0]

    def test_each_batch_is_committed_and_the_next_run_continues(self):
        self.insert_expired(5)
        with _committed_env(self.env.cr.dbname) as env:
            result = env['jwt_provider.token']._gc_expired(batch_size=2, time_budget=0)
            env.cr.rollback()  # what was not committed batch by batch is lost here
        self.assertFalse(result['finished'])
        tokens, sessions = self.left()
        self.assertEqual(len(tokens), 3)  # one batch of two, committed; then the budget was spent
        with _committed_env(self.env.cr.dbname) as env:
            result = env['jwt_provider.token']._gc_expired(batch_size=2)
        self.assertTrue(result['finished'])
        self.assertEqual(self.left(), ([], 0))

    def test_rows_other_transactions_hold_are_skipped(self):
        """A login holding some rows neither makes the clean-up wait nor fail:
        those rows are left for the next run, the others removed."""
        self.insert_expired(7)
        tokens, _sessions = self.left()
        holder = db_connect(self.env.cr.dbname).cursor()
        try:
            holder.execute("SELECT id FROM jwt_provider_token WHERE id IN %s FOR UPDATE", [tuple(tokens[1:3])])
            with _committed_env(self.env.cr.dbname) as env:
                # A clean-up that waited for the holder would fail here instead of hanging
                # (committed: a rolled-back SET is undone).
                env.cr.execute("SET lock_timeout = '5s'")
                env.cr.commit()
                result = env['jwt_provider.token']._gc_expired(batch_size=2)
        finally:
            holder.rollback()
            holder.close()
        self.assertTrue(result['finished'])
        self.assertEqual(self.left(), (tokens[1:3], 1))  # the session keeps its two tokens
