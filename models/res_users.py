"""Login and sign-up rules of the API, and revocation when a user changes."""
import logging
import re

from passlib.context import CryptContext

from odoo import _, api, fields, models
from odoo.exceptions import AccessDenied, ValidationError

from .. import compat, token_cache
from ..exceptions import (
    IncorrectCode, IncorrectLogin, SecondFactorRequired, SecondFactorUnsupported, SignupDisabled, SignupRefused
)
from ..tools import fold_login

_logger = logging.getLogger(__name__)

EMAIL_RE = re.compile(r'^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s.\x00-\x1f\x7f]+$')
TOTP_CODE_RE = re.compile(r'^[0-9]{6}$')
# A user's profile (``_jwt_user_fields``): the partner and the company as
# subqueries, which PostgreSQL plans in a fraction of a join's time.
PROFILE = """
    SELECT u.login, p.name, p.email, u.company_id, (SELECT c.name FROM res_company c WHERE c.id = u.company_id)
      FROM res_users u, LATERAL (SELECT name, email FROM res_partner WHERE id = u.partner_id) p
     WHERE u.id = %s
"""
# The same under a share lock on the three rows, skipped when another
# transaction is changing one of them: what token_cache may keep.
PROFILE_LOCKED = """
    SELECT u.login, p.name, p.email, u.company_id, c.name
      FROM res_users u JOIN res_partner p ON p.id = u.partner_id JOIN res_company c ON c.id = u.company_id
     WHERE u.id = %s
       FOR SHARE OF u, p, c SKIP LOCKED
"""
# passlib refuses longer passwords (and hashing them would be a cheap DoS).
MAX_PASSWORD_LENGTH = 4096
# Unknown logins verify a dummy hash of the series' own crypt context, so that
# they take as long to refuse as a wrong password: {id(context): (context, hash)}.
_DUMMY_HASHES = {}
_FALLBACK_CONTEXT = CryptContext(['pbkdf2_sha512'])  # 11.0 without auth_crypt


class ResUsers(models.Model):
    _inherit = 'res.users'

    jwt_token_ids = fields.One2many('jwt_provider.token', 'user_id', string='API tokens',
                                    groups='base.group_system')
    # The time step of the last TOTP code an API login accepted: a code opens one
    # login only (19.0's auth_totp keeps its own totp_last_counter).
    jwt_totp_last_counter = fields.Integer(string='Last API two-factor time step', copy=False, readonly=True,
                                           groups='base.group_system')

    # -- login ---------------------------------------------------------------
    @api.model
    def _jwt_normalize_email(self, email):
        """``email`` stripped, or ``''`` for anything that is not a usable string
        (PostgreSQL refuses NUL characters: they must never reach a query)."""
        if not isinstance(email, str) or '\x00' in email:
            return ''
        return email.strip()

    @api.model
    def _jwt_find_login(self, email, cr=None):
        """The user whose login is ``email`` once both are folded (``fold_login``).

        An exact match wins; archived users are returned too, so that refusing
        them costs the same as the others. PostgreSQL's ``lower()`` folds only
        ASCII under the C locale, so non-ASCII logins are compared in Python.
        ``cr``: another transaction to look in (pending ORM writes are not
        flushed there).
        """
        email = self._jwt_normalize_email(email)
        if not email:
            return self.browse()
        if cr is None:
            compat.flush(self.env)
            cr = self.env.cr
        matches = sorted((login != email, uid) for uid, login in self._jwt_same_login(email, cr))
        return self.sudo().with_context(active_test=False).browse(matches[0][1] if matches else [])

    @api.model
    def _jwt_same_login(self, login, cr):
        """``(id, login)`` of every user, archived too, whose login folds as ``login`` does.

        The folded form of a typed login can be ASCII although the login is not
        (a fullwidth ``ｋ``, the Kelvin sign): stored ASCII logins are looked up
        by it too, not only by the typed text.
        """
        folded = fold_login(login)
        cr.execute(r"""
            SELECT id, login FROM res_users
             WHERE lower(login) IN (lower(%s), %s) OR login ~ '[^\x01-\x7f]'
        """, [login, folded])
        return [(uid, stored) for uid, stored in cr.fetchall() if fold_login(stored) == folded]

    @api.constrains('login')
    def _jwt_check_login_unique_folded(self):
        """One account per login however it is spelled (case, width, compatibility
        characters): wherever a user is created or renamed (sign-up, the user
        form, an import, RPC), a login that folds like another user's is refused."""
        compat.flush(self.env)
        for user in self:
            others = [stored for uid, stored in self._jwt_same_login(user.login or '', self.env.cr) if uid != user.id]
            if others:
                raise ValidationError(_('Another user already has the login %s (compared ignoring case '
                                        'and lookalike characters).') % others[0])

    def init(self):
        """Report (never merge) logins that already fold alike, at install and update."""
        res = super(ResUsers, self).init()
        self.env.cr.execute(r"SELECT id, login FROM res_users WHERE login IS NOT NULL")
        groups = {}
        for uid, login in self.env.cr.fetchall():
            groups.setdefault(fold_login(login), []).append('%s (id %s)' % (login, uid))
        for logins in groups.values():
            if len(logins) > 1:
                _logger.warning('Logins that differ only in case or lookalike characters: %s; API logins '
                                'pick the exact spelling first. Rename all but one.', ', '.join(logins))
        return res

    @api.model
    def _jwt_login(self, email, password, address):
        """The user an API login identifies, with throttling and a second factor.

        Raises ``LoginThrottled`` while the login or the client address is
        locked out, ``IncorrectLogin`` (and counts a failure) on bad
        credentials, ``SecondFactorRequired`` with a ticket for users with
        two-factor authentication; a success releases the attempt and clears
        the login's counters (``jwt_provider.login_attempt``).
        """
        Attempts = self.env['jwt_provider.login_attempt'].sudo()
        with Attempts._attempt(email, address) as attempt:  # an error counts as a failure
            try:
                user = self._jwt_authenticate_password(email, password)
            except AccessDenied:
                _logger.info("API login failed from %s", address)
                raise IncorrectLogin()
            factor = compat.second_factor(user)
            if factor:
                # The attempt counts as a failure until the code is right: fresh
                # tickets must not reset the count of wrong codes. The right code
                # gives it back (_jwt_login_totp).
                if factor != 'totp':
                    raise SecondFactorUnsupported('second factor %s' % factor)
                Token = self.env['jwt_provider.token'].sudo()
                raise SecondFactorRequired(data={
                    'totp_required': True,
                    'ticket': Token._issue(user, 'mfa'),
                    'expires_in': self.env['jwt_provider.key']._param('mfa_lifetime'),
                })
            attempt.succeeded = True
        return user

    @api.model
    def _jwt_login_totp(self, ticket, code, address):
        """The user of a two-factor ``ticket`` once ``code`` is right.

        Wrong codes count as failed logins of that user (same lock-out as
        passwords); the ticket can be used once. The right code releases both
        attempts of the login: the password's and its own.
        """
        Token = self.env['jwt_provider.token'].sudo()
        user = Token._ticket_user(ticket)
        Attempts = self.env['jwt_provider.login_attempt'].sudo()
        with Attempts._attempt(user.login, address, earlier=1) as attempt:
            try:
                if not isinstance(code, str) or not TOTP_CODE_RE.match(code.strip()):
                    raise AccessDenied()
                compat.check_totp(user, code.strip())
                self._jwt_spend_totp_code(user, code.strip())
            except AccessDenied:
                _logger.info('API two-factor code refused from %s', address)
                raise IncorrectCode()
            Token._spend_ticket(ticket)
            attempt.succeeded = True
        return user

    @api.model
    def _jwt_spend_totp_code(self, user, code):
        """Refuse (``AccessDenied``) a right code whose time step was already used,
        and record this one: a code seen once cannot open a second login within its
        30 s window. One atomic statement, so two requests racing with one code
        conflict and the second is retried and refused."""
        if compat.totp_counts_reuse(user):
            return  # Odoo's own check refused a reused code already
        counter = compat.totp_counter(user, code)
        if counter is None:  # accepted at the edge of the window, refused now
            raise AccessDenied()
        self.env.cr.execute("""
            UPDATE res_users SET jwt_totp_last_counter = %(counter)s
             WHERE id = %(uid)s AND (jwt_totp_last_counter IS NULL OR jwt_totp_last_counter < %(counter)s)
            RETURNING id
        """, {'counter': counter, 'uid': user.id})
        if not self.env.cr.fetchall():
            _logger.warning('API two-factor code reused for user %s', user.id)
            raise AccessDenied()
        compat.invalidate(self.env)

    @api.model
    def _jwt_authenticate_password(self, email, password):
        """The active user that ``email``/``password`` identify; ``AccessDenied`` otherwise.

        Unknown emails, archived users and accounts without a password still
        pay for one hash verification of the same cost, so the answer's timing
        does not tell which accounts exist.
        """
        user = self._jwt_find_login(email)
        if not isinstance(password, str) or '\x00' in password or len(password) > MAX_PASSWORD_LENGTH:
            password = ''
        if not user or not user.active or not password or not compat.has_password(user):
            self._jwt_dummy_password_check(password)
            raise AccessDenied()
        compat.check_password(user, password)
        return user

    @api.model
    def _jwt_dummy_password_check(self, password):
        """Verify ``password`` against a dummy hash as costly as a real one."""
        context, dummy = self._jwt_dummy_hash()
        context.verify(password or 'x', dummy)

    @api.model
    def _jwt_dummy_hash(self):
        """``(crypt context, dummy hash)``: the hash is made once per context,
        with that context's scheme and rounds."""
        context = compat.crypt_context(self) or _FALLBACK_CONTEXT
        if id(context) not in _DUMMY_HASHES:  # the context is kept too: its id stays unique
            _DUMMY_HASHES[id(context)] = (context, context.hash('jwt_provider timing equaliser'))
        return _DUMMY_HASHES[id(context)]

    # -- sign-up -------------------------------------------------------------
    @api.model
    def _jwt_signup_enabled(self):
        """Free sign-up, as the administrator set it in Settings (11.0 and 12.0+
        store it differently, see ``compat.SIGNUP_PARAM``)."""
        name, value = compat.SIGNUP_PARAM
        return (self.env['ir.config_parameter'].sudo().get_param(name) or '').lower() == value.lower()

    @api.model
    def _jwt_password_min_length(self):
        """The shortest password sign-up accepts: Odoo's own policy
        (``auth_password_policy.minlength``) when auth_password_policy is
        installed (12.0+), else the addon's ``jwt_provider.password_min_length``."""
        ICP = self.env['ir.config_parameter'].sudo()
        policy = self.env['ir.module.module'].sudo().search_count(
            [('name', '=', 'auth_password_policy'), ('state', '=', 'installed')])
        if policy:
            try:
                return max(1, int(ICP.get_param('auth_password_policy.minlength') or 0))
            except ValueError:  # Odoo's own check refuses it too; fall back to the addon's
                _logger.warning('Ignoring non-numeric system parameter auth_password_policy.minlength')
        return max(1, self.env['jwt_provider.key']._param('password_min_length'))

    @api.model
    def _jwt_register(self, email, password, name, address=None):
        """Create a user through auth_signup's free sign-up; raises SignupRefused/SignupDisabled,
        or LoginThrottled when ``address`` made too many sign-up attempts (every
        attempt counts, refused or not: existing emails cannot be probed at will).

        Two concurrent registrations of one email (in any case) create one
        user: an advisory lock serializes them, and the existence check runs
        in a fresh transaction that sees the other one's commit.
        """
        if not self._jwt_signup_enabled():
            raise SignupDisabled()
        self.env['jwt_provider.login_attempt'].sudo()._count_signup(address)
        email = self._jwt_normalize_email(email)
        name = name.replace('\x00', '').strip() if isinstance(name, str) else ''
        if not self.env['res.users']._jwt_is_valid_email(email):
            raise SignupRefused(message=_('Invalid email address'))
        if not name:
            raise SignupRefused(message=_('Name cannot be empty'))
        if not isinstance(password, str) or not password:
            raise SignupRefused(message=_('Password cannot be empty'))
        if '\x00' in password:
            raise SignupRefused(message=_('Password contains invalid characters'))
        if len(password) > MAX_PASSWORD_LENGTH:
            raise SignupRefused(message=_('Password is too long'))
        minimum = self._jwt_password_min_length()
        if len(password) < minimum:
            raise SignupRefused(message=_('Password must be at least %s characters long') % minimum)
        self.env.cr.execute("SELECT pg_advisory_xact_lock(hashtext(%s))",
                            ['jwt_provider.signup:' + fold_login(email)])
        if self._jwt_find_login(email):
            raise SignupRefused(message=_('Email address already existed'))
        with self.pool.cursor() as fresh:
            exists = self._jwt_find_login(email, cr=fresh)
        if exists:
            raise SignupRefused(message=_('Email address already existed'))
        values = {'login': email, 'email': email, 'name': name, 'password': password}
        self.sudo().signup(values)
        return self._jwt_find_login(email)

    @api.model
    def _jwt_is_valid_email(self, email):
        return isinstance(email, str) and len(email) <= 254 and bool(EMAIL_RE.match(email))

    # -- API views of a user -------------------------------------------------
    # Read on every /api/me call and every login, so with one query of their own,
    # fresh from the tables (a rename shows at once): the ORM's ``read`` of these
    # few fields fetched every column of the user, partner and company and
    # computed the company's display name, twice the cost of the token check.
    def _jwt_user_fields(self):
        """``{id, login, name, email, company_id}`` as ``read`` gives them (the
        name and email are the partner's, the company ``[id, name]``). Read
        fresh, or, in a request that wrote nothing before (context
        ``jwt_kept_profile``: ``/api/me``), kept between requests as token rows
        are: every change of these fields moves Odoo's cache signal
        (``jwt_provider.token._init_signal_triggers``)."""
        self.ensure_one()
        if self.env.context.get('jwt_kept_profile'):  # /api/me: a request that wrote nothing
            row = token_cache.read(self.env, ('profile', self.id), PROFILE_LOCKED, PROFILE, [self.id])
        else:
            compat.flush(self.env)  # a write earlier in this request (an overriding method's)
            self.env.cr.execute(PROFILE, [self.id])
            row = self.env.cr.fetchone()
        login, name, email, company_id, company_name = row
        return {
            'id': self.id,
            'login': login or False,
            'name': name or False,
            'email': email or False,
            'company_id': [company_id, company_name] if company_id else False,
        }

    def _jwt_login_data(self):
        """The ``user`` object of the login and register answers (the original's fields)."""
        user = self._jwt_user_fields()
        return {name: user[name] for name in ('id', 'login', 'name', 'company_id')}

    def _jwt_profile_data(self, base_url):
        """The ``/api/me`` user object."""
        user = self._jwt_user_fields()
        return {
            'id': self.id,
            'name': user['name'],
            'email': user['email'],
            'company_id': user['company_id'],
            'avatar': '%s/web/avatar/%d' % (base_url.rstrip('/'), self.id),
        }

    # -- revocation ----------------------------------------------------------
    def write(self, vals):
        res = super(ResUsers, self).write(vals)
        Token = self.env['jwt_provider.token']
        if 'password' in vals:
            Token._revoke_users(self, 'password')
        if 'totp_secret' in vals and self.ids:  # two-factor authentication turned on or off
            Token._revoke_users(self, 'second_factor')
            compat.flush(self.env)  # a new secret starts its own count
            self.env.cr.execute('UPDATE res_users SET jwt_totp_last_counter = NULL WHERE id IN %s',
                                [tuple(self.ids)])
            compat.invalidate(self.env)
        if 'active' in vals and not vals['active']:  # RPC clients send 0 as often as False
            Token._revoke_users(self, 'archived')
        return res

    def action_jwt_revoke_all(self):
        """Button on the user form: signs every app of these users out.

        Callable over RPC by whoever can read the user, hence the check.
        """
        Token = self.env['jwt_provider.token']
        Token._jwt_check_admin()
        Token._revoke_users(self, 'admin')
        return True
