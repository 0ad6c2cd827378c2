"""Login and sign-up rules of the API, and revocation when a user changes."""
import logging
import re

from passlib.context import CryptContext

from odoo import _, api, fields, models
from odoo.exceptions import AccessDenied

from .. import compat

_logger = logging.getLogger(__name__)

EMAIL_RE = re.compile(r'^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s.\x00-\x1f\x7f]+$')
# A hash of the same cost as real ones, verified when the login is unknown so
# that unknown and known logins take the same time to refuse.
_DUMMY_CONTEXT = CryptContext(['pbkdf2_sha512'])
_DUMMY_HASH = _DUMMY_CONTEXT.hash('jwt_provider timing equaliser')


class SignupRefused(Exception):
    """Registration input refused; the message is the API's 400 message."""


class LoginThrottled(Exception):
    """Too many recent failures for this login or address (the API answers 429)."""

    def __init__(self, retry_after):
        super(LoginThrottled, self).__init__(retry_after)
        self.retry_after = retry_after


class SignupDisabled(Exception):
    """Free sign-up is off (the API answers 501)."""


class ResUsers(models.Model):
    _inherit = 'res.users'

    jwt_token_ids = fields.One2many('jwt_provider.token', 'user_id', string='API tokens',
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
    def _jwt_find_login(self, email):
        """The user whose login is ``email``, ignoring case and surrounding spaces.

        An exact match wins over a case-insensitive one; archived users are
        returned too, so that refusing them costs the same as the others.
        """
        email = self._jwt_normalize_email(email)
        if not email:
            return self.browse()
        compat.flush(self.env)
        self.env.cr.execute(
            "SELECT id FROM res_users WHERE lower(login) = lower(%s) ORDER BY login = %s DESC, id LIMIT 1",
            [email, email])
        row = self.env.cr.fetchone()
        return self.sudo().with_context(active_test=False).browse(row and row[0])

    @api.model
    def _jwt_login(self, email, password, address):
        """The user an API login identifies, with throttling.

        Raises ``LoginThrottled`` while the login or the client address is
        locked out, ``AccessDenied`` (and counts a failure) on bad credentials;
        a success clears the login's counter.
        """
        Attempts = self.env['jwt_provider.login_attempt'].sudo()
        retry_after = Attempts._retry_after(email, address)
        if retry_after:
            _logger.info('API login throttled for %s', address)
            raise LoginThrottled(retry_after)
        try:
            user = self._jwt_authenticate_password(email, password)
        except AccessDenied:
            Attempts._record_failure(email, address)
            _logger.info('API login failed from %s', address)
            raise
        Attempts._reset(email)
        return user

    @api.model
    def _jwt_authenticate_password(self, email, password):
        """The active user that ``email``/``password`` identify; ``AccessDenied`` otherwise.

        Unknown emails and archived users still pay for one hash verification,
        so the answer's timing does not tell which accounts exist.
        """
        user = self._jwt_find_login(email)
        if not isinstance(password, str) or '\x00' in password:
            password = ''
        if not user or not user.active or not password:
            _DUMMY_CONTEXT.verify(password or 'x', _DUMMY_HASH)
            raise AccessDenied()
        compat.check_password(user, password)
        return user

    # -- sign-up -------------------------------------------------------------
    @api.model
    def _jwt_signup_enabled(self):
        ICP = self.env['ir.config_parameter'].sudo()
        return ICP.get_param('auth_signup.allow_uninvited', 'False').lower() == 'true'

    @api.model
    def _jwt_register(self, email, password, name):
        """Create a user through auth_signup's free sign-up; raises SignupRefused/SignupDisabled.

        Two concurrent registrations of one email (in any case) create one
        user: an advisory lock serializes them, and the existence check runs
        in a fresh transaction that sees the other one's commit.
        """
        if not self._jwt_signup_enabled():
            raise SignupDisabled()
        email = self._jwt_normalize_email(email)
        name = name.replace('\x00', '').strip() if isinstance(name, str) else ''
        if not self.env['res.users']._jwt_is_valid_email(email):
            raise SignupRefused(_('Invalid email address'))
        if not name:
            raise SignupRefused(_('Name cannot be empty'))
        if not isinstance(password, str) or not password:
            raise SignupRefused(_('Password cannot be empty'))
        if '\x00' in password:
            raise SignupRefused(_('Password contains invalid characters'))
        self.env.cr.execute("SELECT pg_advisory_xact_lock(hashtext(%s))",
                            ['jwt_provider.signup:' + email.lower()])
        with self.pool.cursor() as fresh:
            fresh.execute("SELECT 1 FROM res_users WHERE lower(login) = lower(%s)", [email])
            exists = fresh.fetchone()
        if exists or self._jwt_find_login(email):
            raise SignupRefused(_('Email address already existed'))
        values = {'login': email, 'email': email, 'name': name, 'password': password}
        self.sudo().signup(values)
        return self._jwt_find_login(email)

    @api.model
    def _jwt_is_valid_email(self, email):
        return isinstance(email, str) and len(email) <= 254 and bool(EMAIL_RE.match(email))

    # -- API views of a user -------------------------------------------------
    def _jwt_login_data(self):
        """The ``user`` object of the login and register answers (the original's fields)."""
        self.ensure_one()
        return self.sudo().read(['id', 'login', 'name', 'company_id'])[0]

    def _jwt_profile_data(self, base_url):
        """The ``/api/me`` user object (one read: it runs on every call)."""
        self.ensure_one()
        user = self.sudo().read(['name', 'email', 'company_id'])[0]
        return {
            'id': self.id,
            'name': user['name'],
            'email': user['email'],
            'company_id': list(user['company_id']) if user['company_id'] else False,
            'avatar': '%s/web/avatar/%d' % (base_url.rstrip('/'), self.id),
        }

    # -- revocation ----------------------------------------------------------
    def write(self, vals):
        res = super(ResUsers, self).write(vals)
        if 'password' in vals:
            self.env['jwt_provider.token']._revoke_users(self, 'password')
        if vals.get('active') is False:
            self.env['jwt_provider.token']._revoke_users(self, 'archived')
        return res

    def action_jwt_revoke_all(self):
        self.env['jwt_provider.token']._revoke_users(self, 'admin')
        return True
