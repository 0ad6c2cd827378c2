"""What ends a token: logout, refresh rotation, user changes, key rotation."""
from .. import compat
from .common import JwtCase, post_install


class _RollBack(Exception):
    pass


@post_install
class TestRevocation(JwtCase):

    def setUp(self):
        super(TestRevocation, self).setUp()
        self.pair = self.Token._issue_pair(self.user)

    def test_logout_revokes_access_and_refresh(self):
        other = self.Token._issue_pair(self.user)
        self.Token._logout(self.pair['token'])
        self.assertInvalid(self.pair['token'])
        from ..exceptions import InvalidToken
        with self.assertRaises(InvalidToken):
            self.Token._refresh(self.pair['refresh_token'])
        self.assertValid(other['token'])  # two logins of one user are independent

    def test_logout_everywhere(self):
        other = self.Token._issue_pair(self.user)
        self.Token._logout(self.pair['token'], everywhere=True)
        self.assertInvalid(self.pair['token'])
        self.assertInvalid(other['token'])

    def test_refresh_retry_within_grace_gets_the_same_pair(self):
        user, new = self.Token._refresh(self.pair['refresh_token'])
        _user, again = self.Token._refresh(self.pair['refresh_token'])  # the answer was lost
        self.assertEqual((again['token'], again['refresh_token']), (new['token'], new['refresh_token']))
        self.assertValid(new['token'])
        _user, newer = self.Token._refresh(new['refresh_token'])
        self.assertValid(newer['token'])

    def test_refreshed_tokens_are_not_derived_from_the_spent_one(self):
        """The signing key and an old refresh token must not tell the tokens its
        refresh issued: refreshing it twice from the same state (the first
        refresh rolled back) gives unrelated identifiers."""
        import jwt
        jtis = []
        for _attempt in range(2):
            try:
                with self.env.cr.savepoint():
                    _user, new = self.Token._refresh(self.pair['refresh_token'])
                    jtis.append([jwt.decode(new[name], options={'verify_signature': False})['jti']
                                 for name in ('token', 'refresh_token')])
                    raise _RollBack()
            except _RollBack:
                compat.invalidate(self.env)
        self.assertNotEqual(jtis[0][0], jtis[1][0])
        self.assertNotEqual(jtis[0][1], jtis[1][1])

    def test_the_pair_kept_for_retries_is_sealed(self):
        """The pair a retry gets back is in the spent row, but nothing of it in clear."""
        import jwt
        _user, new = self.Token._refresh(self.pair['refresh_token'])
        compat.flush(self.env)
        self.env.cr.execute("SELECT * FROM jwt_provider_token WHERE user_id = %s", [self.user.id])
        dump = repr(self.env.cr.fetchall())
        for token in (new['token'], new['refresh_token'], self.pair['refresh_token']):
            self.assertNotIn(token, dump)
            self.assertNotIn(jwt.decode(token, options={'verify_signature': False})['jti'], dump)
        self.env.cr.execute("SELECT count(*) FROM jwt_provider_token WHERE grace_pair IS NOT NULL"
                            " AND user_id = %s", [self.user.id])
        self.assertEqual(self.env.cr.fetchone()[0], 1)

    def test_refresh_rotates_and_detects_reuse(self):
        from ..exceptions import InvalidToken
        self.ICP.set_param('jwt_provider.refresh_grace', '0')
        user, new = self.Token._refresh(self.pair['refresh_token'])
        # Spent a second ago, out of a zero grace window.
        self.env.cr.execute("UPDATE jwt_provider_token SET revoked_at = revoked_at - interval '2 seconds'"
                            " WHERE revoked_reason = 'spent'")
        self.assertEqual(user, self.user)
        self.assertValid(new['token'])
        self.assertValid(self.pair['token'])  # old access token lives until it expires
        self.assertRefused(self.Token._refresh, self.pair['refresh_token'])  # reuse...
        self.assertInvalid(new['token'])  # ...revokes the whole family
        self.assertInvalid(self.pair['token'])
        with self.assertRaises(InvalidToken):
            self.Token._refresh(new['refresh_token'])

    def test_access_token_is_not_a_refresh_token(self):
        from ..exceptions import InvalidToken
        with self.assertRaises(InvalidToken):
            self.Token._refresh(self.pair['token'])
        # The typ claim refuses it before the table's token_type does.
        self.assertDecodeRefused(self.pair['token'], 'refresh')

    def test_password_change(self):
        self.user.write({'password': 'a new password'})
        self.assertInvalid(self.pair['token'])
        fresh = self.Token._issue(self.user, 'access')
        self.assertValid(fresh)

    def test_archived_user(self):
        self.user.write({'active': False})
        self.assertInvalid(self.pair['token'])

    def test_archived_user_stays_revoked_whatever_falsy_value(self):
        # RPC clients often send 0 (or '') for False: the tokens must not come back on reactivation.
        for falsy in (0, False, ''):
            pair = self.Token._issue_pair(self.user)
            self.user.write({'active': falsy})
            self.user.write({'active': True})
            self.assertInvalid(pair['token'])

    def test_a_revoked_family_stays_revoked_within_the_grace_window(self):
        from ..exceptions import InvalidToken
        _user, new = self.Token._refresh(self.pair['refresh_token'])
        self.Token._logout(new['token'])
        with self.assertRaises(InvalidToken):  # replaying the spent token within the grace window
            self.Token._refresh(self.pair['refresh_token'])

    def test_archived_user_even_if_rows_untouched(self):
        # Deactivation through SQL (or a module bypassing write) is caught by the lookup's join.
        self.env.cr.execute("UPDATE res_users SET active = false WHERE id = %s", [self.user.id])
        self.assertInvalid(self.pair['token'])

    def test_deleted_user(self):
        user = self.env['res.users'].create({'name': 'Temp', 'login': 'temp@example.com', 'password': 'x' * 12})
        token = self.Token._issue(user, 'access')
        self.assertEqual(self.authenticate(token), user.id)
        user.unlink()
        self.assertInvalid(token)

    def test_key_rotation(self):
        """Rotation signs nobody out; retiring the previous key does."""
        other_user_token = self.Token._issue(self.env.ref('base.user_root'), 'access')
        old_kid = self.Key._kid()
        self.Key._rotate_secret()
        self.assertValid(self.pair['token'])
        self.assertValid(self.Token._issue(self.user, 'access'))
        self.env['jwt_provider.signing.key'].search([('kid', '=', old_kid)]).action_retire()
        self.assertInvalid(self.pair['token'])
        self.assertInvalid(other_user_token)
        self.assertValid(self.Token._issue(self.user, 'access'))

    def test_admin_revoke_buttons(self):
        self.Token.search([('user_id', '=', self.user.id), ('token_type', '=', 'access')]).action_revoke()
        self.assertInvalid(self.pair['token'])
        other = self.Token._issue(self.user, 'access')
        self.user.action_jwt_revoke_all()
        self.assertInvalid(other)
