"""The key store: every key that signed tokens, by key id (``kid``).

One key signs (the one in effect: ``ODOO_JWT_KEY``, else the key stored in
the settings, see ``jwt_provider.key``); the keys it replaced keep verifying
the tokens they signed (*verify-only*) until the last of them has expired
(``retire_after``), then retire on their own in the daily clean-up. *Retire
now* refuses a key's tokens at once. A retired key's material is erased.

The material of the settings' keys is kept on their rows, in a field of the
Settings group that no view shows (the environment's key never is: a key of
``ODOO_JWT_KEY`` retires when it leaves the environment). The per-request
path reads the store from a registry cache (``_keyring``); only a kid the
cache does not know is looked up in the database (a cache that a concurrent
rotation left stale heals itself) before the token is refused.
"""
import datetime
import logging

from odoo import _, api, fields, models, tools
from odoo.exceptions import UserError

from .. import compat
from ..exceptions import KeyConfigError

_logger = logging.getLogger(__name__)

STATES = [('signing', 'Signing'), ('verify', 'Verify only'), ('retired', 'Retired')]


class JwtProviderSigningKey(models.Model):
    _name = 'jwt_provider.signing.key'
    _description = 'JWT signing key'
    _order = 'created desc, id desc'
    _rec_name = 'kid'

    kid = fields.Char(string='Key id', required=True, readonly=True, index=True,
                      help='Written in the header of every token the key signs (RFC 7638 thumbprint for'
                           ' RS256/ES256; for HMAC a digest that reveals nothing of the secret).')
    algorithm = fields.Char(required=True, readonly=True)
    source = fields.Selection([('database', 'Settings'), ('environment', 'ODOO_JWT_KEY')],
                              required=True, readonly=True, default='database')
    state = fields.Selection(STATES, required=True, readonly=True, default='signing', index=True)
    created = fields.Datetime(required=True, readonly=True, default=fields.Datetime.now)
    superseded_at = fields.Datetime(string='Replaced', readonly=True)
    retire_after = fields.Datetime(readonly=True,
                                   help='When the last token this key signed expires: it retires then.')
    retired_at = fields.Datetime(readonly=True)
    legacy = fields.Boolean(readonly=True,
                            help='Verifies the tokens issued before keys had ids (no kid in their header).')
    material = fields.Text(readonly=True, groups='base.group_system', copy=False,
                           help='The secret or PEM private key of a key of the settings; never shown.')

    def init(self):
        compat.ensure_unique_index(self, 'kid')

    # -- the registry-cached view of the store (the hot path) ---------------------
    @api.model
    @tools.ormcache()
    def _keyring(self):
        """``{kid: (algorithm, state, legacy, material, source)}`` of the keys not retired
        (``material`` is ``None`` for the environment's key)."""
        return self._read_keys("state != 'retired'", [])

    @api.model
    def _fresh_entry(self, kid):
        """The keyring entry of ``kid`` read from the database, or ``None``: a rotation
        clears the cache before it commits, so a concurrent request may have cached
        the keys from before it; that cache is dropped when it misses a kid that exists."""
        entry = self._read_keys("state != 'retired' AND kid = %s", [kid]).get(kid)
        if entry is not None:
            compat.clear_cache(self.env)
        return entry

    @api.model
    def _read_keys(self, condition, params):
        self.env.cr.execute("SELECT kid, algorithm, state, legacy, material, source FROM jwt_provider_signing_key"
                            " WHERE " + condition, params)
        return {kid: (algorithm, state, bool(legacy), material or None, source)
                for kid, algorithm, state, legacy, material, source in self.env.cr.fetchall()}

    @api.model
    def _changed(self):
        compat.flush(self.env)
        compat.clear_cache(self.env)

    # -- following the key in effect -------------------------------------------------
    @api.model
    def _is_signing(self, kid, algorithm):
        entry = self._keyring().get(kid)
        return entry is not None and entry[1] == 'signing' and entry[0] == algorithm

    @api.model
    def _make_signing(self, kid, algorithm, source):
        """Make ``kid`` the signing key (a rotation, or a key that changed under us:
        ``ODOO_JWT_KEY`` set, removed or replaced, a key written to the settings
        directly); the signing key it replaces verifies its tokens until they expire
        (the environment's, gone from the environment, retires). Concurrent calls
        conflict on the signing row's lock, and Odoo retries the request that lost."""
        self.env.cr.execute("SELECT id FROM jwt_provider_signing_key WHERE state = 'signing' FOR UPDATE")
        now = compat.datetime_value(datetime.datetime.utcnow().replace(microsecond=0))
        Store = self.sudo()
        for previous in Store.search([('state', '=', 'signing'), ('kid', '!=', kid)]):
            if previous.material:
                previous.write({'state': 'verify', 'superseded_at': now,
                                'retire_after': compat.datetime_value(self._retire_after())})
            else:  # the environment's key, gone from the environment: nothing verifies its tokens
                previous._retire('key_rotated')
        current = Store.search([('kid', '=', kid)], limit=1)
        Key = self.env['jwt_provider.key']
        values = {'state': 'signing', 'algorithm': algorithm, 'source': source,  # the key, never the environment's
                  'material': Key._raw_key(algorithm) if source == 'database' else False,
                  'superseded_at': False, 'retire_after': False, 'retired_at': False}
        if current:
            current.write(values)
        else:
            Store.create(dict(values, kid=kid, created=now, legacy=not Store.search_count([])))
        _logger.info('JWT signing key is now %s (%s, %s)', kid, algorithm, source)
        self._changed()
        return kid

    @api.model
    def _retire_after(self):
        """When every token signed until now has expired: the longest lifetime and the leeway from now."""
        Key = self.env['jwt_provider.key']
        longest = max(Key._param('%s_lifetime' % kind) for kind in ('access', 'refresh', 'mfa'))
        return datetime.datetime.utcnow().replace(microsecond=0) + datetime.timedelta(
            seconds=longest + Key._param('leeway'))

    # -- retiring --------------------------------------------------------------------
    def _retire(self, reason):
        """Refuse these keys' tokens from now on (their rows are revoked) and erase the material."""
        now = compat.datetime_value(datetime.datetime.utcnow().replace(microsecond=0))
        self.sudo().write({'state': 'retired', 'material': False, 'retired_at': now})
        if self:
            self.env['jwt_provider.token']._revoke_where('key_fp IN %s', [tuple(self.mapped('kid'))], reason)
        self._changed()

    def action_retire(self):
        """Button *Retire now* (a leaked key): its tokens are refused at once. The signing key
        cannot be retired: rotate first."""
        if not compat.is_admin(self.env):
            raise UserError(_('Only administrators can retire JWT signing keys.'))
        if any(key.state == 'signing' for key in self):
            raise UserError(_('The signing key cannot be retired: rotate the key first.'))
        self.filtered(lambda key: key.state == 'verify')._retire('key_retired')
        return True

    @api.model
    def _retire_due(self):
        """Cron: verify-only keys whose last token has expired retire."""
        now = compat.datetime_value(datetime.datetime.utcnow().replace(microsecond=0))
        due = self.sudo().search([('state', '=', 'verify'), ('retire_after', '<', now)])
        if due:
            due._retire('key_rotated')
        return len(due)

    # -- install and update ------------------------------------------------------------
    @api.model
    def _ensure_keyring(self):
        """Install and update (idempotent): the key in effect becomes the first key of the
        store; the tokens it signed before keys had ids are re-labelled with its kid and
        keep verifying (``legacy``) until they expire. The issuer is fixed once."""
        ICP = self.env['ir.config_parameter'].sudo()
        if not ICP.get_param('jwt_provider.issuer'):
            base = (ICP.get_param('web.base.url') or 'http://localhost:8069').rstrip('/')
            ICP.set_param('jwt_provider.issuer', base)
        if self.sudo().search_count([]):
            return True
        Key = self.env['jwt_provider.key']
        try:
            legacy_fingerprint = Key._legacy_fingerprint()
            kid = Key._kid()
        except KeyConfigError as e:
            _logger.info('No usable JWT key to start the key store with: %s', e)
            return True
        self._make_signing(kid, Key._algorithm(), Key._source())
        self.env.cr.execute('UPDATE jwt_provider_token SET key_fp = %s WHERE key_fp = %s',
                            [kid, legacy_fingerprint])
        return True
