"""Clients registered in Odoo: resource servers (and confidential OAuth
clients) that authenticate to ``/api/oauth/introspect``, ``/api/oauth/revoke``
and ``/api/oauth/token`` with a client id and secret (RFC 6749 2.3.1).

Only a hash of the secret is stored, made with the passlib context Odoo hashes
passwords with; the secret itself is shown once, when an administrator
generates it, in a dialog that is never saved. Archiving a client, or
generating a new secret, refuses the old secret at once. Failed secrets are
throttled like failed logins (``jwt_provider.login_attempt``).
"""
import logging
import secrets

from odoo import _, api, fields, models
from odoo.exceptions import AccessError

from .. import compat
from ..exceptions import OAuthError

_logger = logging.getLogger(__name__)

# The throttle's login key of a client: no user login looks like it.
THROTTLE_PREFIX = 'oauth-client:'
MAX_CREDENTIAL_LENGTH = 256


def _new_client_id(_records=None):
    return secrets.token_urlsafe(16)


class JwtProviderClient(models.Model):
    _name = 'jwt_provider.client'
    _description = 'API client (resource server)'
    _order = 'name, id'

    name = fields.Char(required=True, help='Who uses these credentials (a service, a resource server).')
    client_id = fields.Char(string='Client ID', required=True, readonly=True, copy=False, default=_new_client_id)
    secret_hash = fields.Char(readonly=True, copy=False, groups='base.group_system',
                              help='Hash of the client secret (never the secret).')
    has_secret = fields.Boolean(compute='_compute_has_secret', string='Secret set')
    secret_date = fields.Datetime(string='Secret generated', readonly=True, copy=False)
    active = fields.Boolean(default=True, help='Archived clients are refused (401 invalid_client).')

    def init(self):
        compat.ensure_unique_index(self, 'client_id')

    def _compute_has_secret(self):
        for client in self:
            client.has_secret = bool(client.sudo().secret_hash)

    def _check_admin(self):
        # Public methods are callable over RPC: the group is checked here, not only in the view.
        if not compat.is_admin(self.env):
            raise AccessError(_('Only administrators can manage API clients.'))

    def action_generate_secret(self):
        """Button: a new secret for the client (the old one is refused from now on),
        shown once in a dialog; only its hash is stored."""
        self._check_admin()
        self.ensure_one()
        secret = secrets.token_urlsafe(32)
        self.sudo().write({'secret_hash': self._crypt().hash(secret), 'secret_date': fields.Datetime.now()})
        return {
            'type': 'ir.actions.act_window',
            'name': _('Client secret'),
            'res_model': 'jwt_provider.client.secret',
            'view_mode': 'form',
            'target': 'new',
            # Defaults of a dialog that is never saved: the secret reaches the
            # administrator's browser once and is stored nowhere.
            'context': {'default_client_id': self.client_id, 'default_secret': secret},
        }

    @api.model
    def _crypt(self):
        """Odoo's password context (11.0 without auth_crypt: the same fallback as logins)."""
        return self.env['res.users']._jwt_dummy_hash()[0]

    @api.model
    def _authenticate(self, client_id, secret, address):
        """The active client whose id and secret these are; ``OAuthError``
        ``invalid_client`` (401, ``WWW-Authenticate: Basic``) otherwise.
        Throttled like logins: ``LoginThrottled`` while locked out."""
        if not isinstance(client_id, str) or not isinstance(secret, str) or not client_id or not secret \
                or len(client_id) > MAX_CREDENTIAL_LENGTH or len(secret) > MAX_CREDENTIAL_LENGTH \
                or '\x00' in client_id or '\x00' in secret:  # PostgreSQL refuses NUL: never in a query
            raise self._invalid_client('malformed client credentials')
        Attempts = self.env['jwt_provider.login_attempt'].sudo()
        with Attempts._attempt(THROTTLE_PREFIX + client_id, address) as attempt:
            client = self.sudo().search([('client_id', '=', client_id)], limit=1)
            stored = client.secret_hash if client else None
            if stored:
                attempt.succeeded = self._crypt().verify(secret, stored)
            else:  # as long as a wrong secret: the answer's time does not tell registered ids
                self.env['res.users']._jwt_dummy_password_check(secret)
        if not attempt.succeeded:
            raise self._invalid_client('wrong client credentials from %s' % address)
        return client

    @api.model
    def _invalid_client(self, reason):
        """The 401 ``invalid_client`` answer (RFC 6749 5.2); ``reason`` is for the log only."""
        _logger.info('OAuth client refused: %s', reason)
        return OAuthError('invalid_client', 'Client authentication failed', code=401,
                          headers={'WWW-Authenticate': 'Basic realm="api"'})
