"""API login sessions: what an administrator sees and revokes on the user form.

A session is one login (``/api/login``, ``/api/login/totp``, ``/api/register``
or ``validator.create_token``) and every token it leads to: its access and
refresh tokens and those of its refreshes share a ``family``. The row records
who logged in from where (the User-Agent and address of the login); when it was
last used, when it expires and whether it is still alive are read from its
tokens, so revocation stays a property of the tokens alone and the request
path (``jwt_provider.token._lookup``) never touches this table.
"""
import re

from odoo import api, fields, models

from .. import compat
from .batches import BATCH_SIZE, Budget, run_in_batches
from .jwt_provider_token import _utcnow

USER_AGENT_LENGTH = 200
CONTROL_CHARS = re.compile(r'[\x00-\x1f\x7f]+')
REVOKED_REASONS = [
    ('logout', 'Logout'),
    ('reuse', 'Refresh token reused'),
    ('password', 'Password changed'),
    ('archived', 'User archived'),
    ('key_rotated', 'Signing key changed'),
    ('key_retired', 'Signing key retired'),
    ('admin', 'Revoked by an administrator'),
    ('second_factor', 'Two-factor authentication changed'),
]


def _field_datetime(value):
    """A timestamp read with SQL (a string on 11.0, a ``datetime`` after) as the field wants it."""
    return compat.datetime_value(compat.to_datetime(value)) if value else False


class JwtProviderSession(models.Model):
    _name = 'jwt_provider.session'
    _description = 'API login session'
    _order = 'issued_at desc, id desc'
    _rec_name = 'user_agent'

    user_id = fields.Many2one('res.users', string='User', required=True, ondelete='cascade', index=True,
                              readonly=True)
    family = fields.Char(required=True, readonly=True, groups='base.group_system',
                         help='The token family of this login (technical).')
    user_agent = fields.Char(string='Device / app', readonly=True,
                             help="The User-Agent the app sent when it logged in.")
    address = fields.Char(readonly=True, help='The IP address the login came from.')
    issued_at = fields.Datetime(string='Signed in', required=True, readonly=True)
    last_used = fields.Datetime(string='Last used', compute='_compute_from_tokens',
                                help='Last request with one of its tokens, or last refresh.')
    expires_at = fields.Datetime(string='Expires', compute='_compute_from_tokens',
                                 help='When the session ends unless it is refreshed.')
    state = fields.Selection([('active', 'Active'), ('revoked', 'Revoked'), ('expired', 'Expired')],
                             compute='_compute_from_tokens')
    revoked_at = fields.Datetime(string='Revoked on', compute='_compute_from_tokens')
    revoked_reason = fields.Selection(REVOKED_REASONS, string='Revoked because', compute='_compute_from_tokens')

    def init(self):
        compat.ensure_unique_index(self, 'family')
        self._backfill()

    def _backfill(self):
        """Sessions for the token families issued before sessions existed (an update)."""
        cr = self.env.cr
        cr.execute("SELECT to_regclass('jwt_provider_token') IS NOT NULL")
        if not cr.fetchone()[0]:
            return
        cr.execute("""
            INSERT INTO jwt_provider_session (user_id, family, issued_at, create_date, write_date)
            SELECT min(t.user_id), t.family, min(t.issued_at), now() at time zone 'UTC', now() at time zone 'UTC'
              FROM jwt_provider_token t
             WHERE t.family IS NOT NULL AND t.token_type IN ('access', 'refresh')
               AND NOT EXISTS (SELECT 1 FROM jwt_provider_session s WHERE s.family = t.family)
             GROUP BY t.family
        """)

    # -- opening -------------------------------------------------------------
    @api.model
    def _open(self, user, family, issued_at=None):
        """Record a new login of ``user`` (token family ``family``) and count it
        as a connection of the user, as a login to the web client does."""
        user_agent, address = self._client()
        session = self.sudo().create({
            'user_id': user.id,
            'family': family,
            'user_agent': user_agent,
            'address': address,
            'issued_at': compat.datetime_value(issued_at or _utcnow()),
        })
        self._log_connection(user)
        return session

    @api.model
    def _client(self):
        """``(user agent, address)`` of the current HTTP request, or ``(False, False)``."""
        try:
            from odoo.http import request
            httprequest = request.httprequest
        except Exception:  # no request: a test, a cron, a shell
            return False, False
        return self._describe_client(httprequest.headers.get('User-Agent'), httprequest.remote_addr)

    @api.model
    def _describe_client(self, user_agent, address):
        """What the session list shows of a client: its User-Agent on one line,
        at most ``USER_AGENT_LENGTH`` characters, and its address."""
        agent = CONTROL_CHARS.sub(' ', user_agent if isinstance(user_agent, str) else '').strip()
        if len(agent) > USER_AGENT_LENGTH:
            agent = agent[:USER_AGENT_LENGTH - 1] + '\u2026'
        return agent or False, (address or False) if isinstance(address, str) else False

    @api.model
    def _log_connection(self, user):
        """"Latest connection" of the user: a ``res.users.log`` row, written as
        Odoo's own login writes it (``_update_last_login``, as the user)."""
        users = compat.as_user(self.env['res.users'], user.id)
        if hasattr(users, '_update_last_login'):
            users._update_last_login()
        else:
            users.env['res.users.log'].sudo().create({})

    # -- reading -------------------------------------------------------------
    def _compute_from_tokens(self):
        now = _utcnow()
        rows = {}
        families = [f for f in self.sudo().mapped('family') if f]
        if families:
            compat.flush(self.env)
            self.env.cr.execute("""
                SELECT s.family,
                       max(GREATEST(t.last_used, CASE WHEN t.issued_at > s.issued_at THEN t.issued_at END)),
                       max(t.expires_at) FILTER (WHERE t.revoked IS NOT TRUE AND t.expires_at >= %(now)s),
                       max(t.expires_at),
                       max(t.revoked_at) FILTER (WHERE t.revoked AND t.revoked_reason IS DISTINCT FROM 'spent'),
                       (array_agg(t.revoked_reason ORDER BY t.revoked_at DESC NULLS LAST)
                            FILTER (WHERE t.revoked AND t.revoked_reason IS DISTINCT FROM 'spent'))[1]
                  FROM jwt_provider_session s
                  JOIN jwt_provider_token t ON t.family = s.family AND t.token_type IN ('access', 'refresh')
                 WHERE s.family IN %(families)s
                 GROUP BY s.family
            """, {'now': now, 'families': tuple(families)})
            rows = {row[0]: row[1:] for row in self.env.cr.fetchall()}
        for session in self:
            last_used, live_until, last_expiry, revoked_at, reason = rows.get(
                session.sudo().family, (None, None, None, None, None))
            if live_until:
                state = 'active'
            elif reason:
                state = 'revoked'
            else:
                state = 'expired'
            session.last_used = _field_datetime(last_used)
            session.expires_at = _field_datetime(live_until if state == 'active' else
                                                 last_expiry if state == 'expired' else None)
            session.state = state
            session.revoked_at = _field_datetime(revoked_at) if state == 'revoked' else False
            session.revoked_reason = reason if state == 'revoked' else False

    # -- revoking ------------------------------------------------------------
    def action_revoke(self):
        """Button: signs these logins out, access and refresh tokens alike.

        Callable over RPC by whoever can read the rows, hence the check.
        """
        self.env['jwt_provider.token']._jwt_check_admin()
        self._revoke_families(self.sudo().mapped('family'), 'admin')
        return True

    @api.model
    def _revoke_families(self, families, reason):
        """Revoke every token of the logins ``families``. Their spent refresh
        tokens are marked too: within the refresh grace window a spent token
        would otherwise get its (now revoked) pair again with a 200."""
        families = [f for f in families if f]
        if not families:
            return 0
        Token = self.env['jwt_provider.token'].sudo()
        count = Token._revoke_domain([('family', 'in', families)], reason)
        Token.search([('family', 'in', families), ('revoked_reason', '=', 'spent')]).write(
            {'revoked_reason': reason, 'grace_pair': False})
        return count

    @api.model
    def _gc(self, batch_size=BATCH_SIZE, time_budget=None, commit=True):
        """Sessions none of whose tokens is left (the token clean-up removed them),
        in committed batches that skip rows other transactions hold (see
        ``batches``). Returns ``(sessions removed, finished)``."""
        budget = time_budget if isinstance(time_budget, Budget) else Budget(time_budget)
        compat.flush(self.env)
        removed, finished = run_in_batches(self.env.cr, """
            WITH doomed AS (
                SELECT s.id FROM jwt_provider_session s
                 WHERE s.id > %(after)s
                   AND NOT EXISTS (SELECT 1 FROM jwt_provider_token t WHERE t.family = s.family)
                 ORDER BY s.id LIMIT %(limit)s FOR UPDATE OF s SKIP LOCKED)
            DELETE FROM jwt_provider_session s USING doomed WHERE s.id = doomed.id RETURNING s.id
        """, {}, batch_size, budget, commit)
        compat.invalidate(self.env)
        return removed, finished


class ResUsers(models.Model):
    _inherit = 'res.users'

    jwt_session_ids = fields.One2many('jwt_provider.session', 'user_id', string='API sessions',
                                      groups='base.group_system')
