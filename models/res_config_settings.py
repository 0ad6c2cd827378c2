"""The "JWT" block of General Settings (administrators only).

The secret is never read back into the form: the page shows whether one is
set, accepts a new one, or generates one.
"""
import os

from odoo import _, api, fields, models
from odoo.exceptions import AccessError

from .jwt_provider_key import ALGORITHMS, ASYMMETRIC, ENV_ALGORITHM, ENV_KEY

NUMERIC_SETTINGS = ('access_lifetime', 'refresh_lifetime', 'leeway',
                    'login_max_failures', 'ip_max_failures', 'login_lockout')


class ResConfigSettings(models.TransientModel):
    _inherit = 'res.config.settings'

    jwt_algorithm = fields.Selection([(a, a) for a in ALGORITHMS], string='JWT algorithm')
    jwt_key_is_set = fields.Boolean(string='JWT key set', readonly=True)
    jwt_env_override = fields.Boolean(readonly=True)
    jwt_new_secret = fields.Char(string='New HMAC secret')
    jwt_new_private_key = fields.Text(string='New PEM private key')
    jwt_public_key = fields.Text(string='Public key (derived)', readonly=True)
    jwt_access_lifetime = fields.Integer(string='Access token lifetime (s)')
    jwt_refresh_lifetime = fields.Integer(string='Refresh token lifetime (s)')
    jwt_leeway = fields.Integer(string='Clock leeway (s)')
    jwt_login_max_failures = fields.Integer(string='Failed logins per email before lock-out')
    jwt_ip_max_failures = fields.Integer(string='Failed logins per address before lock-out')
    jwt_login_lockout = fields.Integer(string='Lock-out window (s)')

    def _jwt_check_access(self):
        if not self.env.user._is_system():
            raise AccessError(_('Only administrators can read or change the JWT settings.'))

    @api.model
    def get_values(self):
        res = super(ResConfigSettings, self).get_values()
        if not self.env.user._is_system():
            return res
        Key = self.env['jwt_provider.key']
        try:
            key_is_set = bool(Key._raw_key())
        except Exception:
            key_is_set = False
        res.update(
            jwt_algorithm=Key._param('algorithm'),
            jwt_key_is_set=key_is_set,
            jwt_env_override=bool(os.environ.get(ENV_KEY) or os.environ.get(ENV_ALGORITHM)),
            jwt_public_key=Key._public_key_pem() or False,
            **{'jwt_' + name: Key._param(name) for name in NUMERIC_SETTINGS})
        return res

    def set_values(self):
        super(ResConfigSettings, self).set_values()
        self._jwt_check_access()
        Key = self.env['jwt_provider.key']
        ICP = self.env['ir.config_parameter'].sudo()
        for name in NUMERIC_SETTINGS:
            value = self['jwt_' + name]
            if value and value > 0:
                ICP.set_param('jwt_provider.' + name, str(value))
        algorithm = self.jwt_algorithm or Key._param('algorithm')
        Key._set_key(
            algorithm=algorithm,
            secret=self.jwt_new_secret or None,
            private_key=(self.jwt_new_private_key or None) if algorithm in ASYMMETRIC else None)

    def action_jwt_generate_key(self):
        """Button: a new random HMAC secret; every token issued so far stops working."""
        self._jwt_check_access()
        self.env['jwt_provider.key']._rotate_secret()
        return {'type': 'ir.actions.client', 'tag': 'reload'}
