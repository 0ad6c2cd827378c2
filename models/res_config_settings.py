"""The "JWT" block of General Settings (administrators only).

The secret is never read back into the form: the page shows whether a usable
key is in place (the key the server would really sign with, the environment's
included), accepts a new one, or generates one. Durations are shown in human
units and stored in seconds (``jwt_provider.access_lifetime`` etc.); values
that make no sense are refused on Save with a message, never dropped.
"""
import os

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError

from ..exceptions import KeyConfigError
from .jwt_provider_key import ALGORITHMS, ASYMMETRIC, DEFAULTS, ENV_ALGORITHM, ENV_KEY, PARAM

UNITS = [('seconds', 'seconds'), ('minutes', 'minutes'), ('hours', 'hours'), ('days', 'days')]
UNIT_SECONDS = {'seconds': 1, 'minutes': 60, 'hours': 3600, 'days': 86400}
# Durations shown as a number and a unit: (parameter, what the messages call it, minimum seconds).
DURATIONS = (
    ('access_lifetime', 'access token lifetime', 1),
    ('refresh_lifetime', 'refresh token lifetime', 1),
    ('login_lockout', 'lock-out window', 1),
)
MAX_DURATION = 10 * 365 * 86400   # ten years: beyond, a typo rather than a choice
# Plain integers: (parameter, what the messages call it, minimum, maximum).
INTEGERS = (
    ('leeway', 'clock leeway', 0, 3600),
    ('login_max_failures', 'number of failed logins per email and address', 1, 10 ** 6),
    ('account_max_failures', 'number of failed logins per email from all addresses', 1, 10 ** 6),
    ('ip_max_failures', 'number of failed logins per address', 1, 10 ** 6),
    ('password_min_length', 'minimum password length', 1, 4096),
)


def split_duration(seconds):
    """``(value, unit)`` with the largest unit that divides ``seconds`` exactly."""
    for unit in ('days', 'hours', 'minutes'):
        if seconds and seconds % UNIT_SECONDS[unit] == 0:
            return seconds // UNIT_SECONDS[unit], unit
    return seconds, 'seconds'


class ResConfigSettings(models.TransientModel):
    _inherit = 'res.config.settings'

    jwt_algorithm = fields.Selection([(a, a) for a in ALGORITHMS], string='JWT signing algorithm')
    # Whether the key the server would sign with right now is usable (environment first):
    # false for a missing, short or unreadable key, whatever the database holds.
    jwt_key_is_set = fields.Boolean(string='JWT signing key usable', readonly=True)
    jwt_key_status = fields.Char(string='JWT signing key status', readonly=True)
    jwt_key_problem = fields.Char(string='JWT signing key problem', readonly=True)
    jwt_key_changed = fields.Datetime(string='JWT signing key last changed', readonly=True)
    jwt_env_override = fields.Boolean(readonly=True)
    jwt_new_secret = fields.Char(string='New JWT HMAC secret')
    jwt_new_private_key = fields.Text(string='New JWT PEM private key')
    jwt_public_key = fields.Text(string='JWT public key (PEM)', readonly=True)
    jwt_access_lifetime_value = fields.Integer(string='JWT access token lifetime')
    jwt_access_lifetime_unit = fields.Selection(UNITS, string='JWT access token lifetime unit')
    jwt_refresh_lifetime_value = fields.Integer(string='JWT refresh token lifetime')
    jwt_refresh_lifetime_unit = fields.Selection(UNITS, string='JWT refresh token lifetime unit')
    jwt_leeway = fields.Integer(string='JWT clock leeway (seconds)')
    jwt_login_max_failures = fields.Integer(string='JWT failed logins per email and address before lock-out')
    jwt_account_max_failures = fields.Integer(string='JWT failed logins per email from all addresses before lock-out')
    jwt_ip_max_failures = fields.Integer(string='JWT failed logins per address before lock-out')
    jwt_password_min_length = fields.Integer(string='JWT sign-up minimum password length')
    jwt_login_lockout_value = fields.Integer(string='JWT lock-out window')
    jwt_login_lockout_unit = fields.Selection(UNITS, string='JWT lock-out window unit')

    def _jwt_check_access(self):
        if not self.env.user._is_system():
            raise AccessError(_('Only administrators can read or change the JWT settings.'))

    @api.model
    def _jwt_key_state(self):
        """Values of the key status fields, from the key the server would use now."""
        Key = self.env['jwt_provider.key']
        env_key = os.environ.get(ENV_KEY) is not None
        values = {'jwt_key_is_set': False, 'jwt_key_status': False, 'jwt_key_problem': False,
                  'jwt_key_changed': False}
        try:
            algorithm = Key._signing_keys()[0]
        except KeyConfigError as e:
            where = _('ODOO_JWT_KEY in the server environment') if env_key else _('the stored key')
            values['jwt_key_problem'] = _(
                'Unusable signing key (%(where)s): %(problem)s.'
                ' API logins answer 503 until it is fixed; tokens already issued keep working.'
            ) % {'where': where, 'problem': e}
            return values
        except Exception as e:  # a key store of another addon (vault, KMS) failing
            values['jwt_key_problem'] = _('The signing key cannot be read: %s') % type(e).__name__
            return values
        values['jwt_key_is_set'] = True
        if env_key:
            values['jwt_key_status'] = _('%s key from ODOO_JWT_KEY (server environment)') % algorithm
            return values
        name = 'private_key' if algorithm in ASYMMETRIC else 'secret'
        param = self.env['ir.config_parameter'].sudo().search([('key', '=', PARAM % name)], limit=1)
        values['jwt_key_status'] = _('%s key stored in the database') % algorithm
        values['jwt_key_changed'] = param.write_date or False
        return values

    @api.model
    def get_values(self):
        res = super(ResConfigSettings, self).get_values()
        if not self.env.user._is_system():
            return res
        Key = self.env['jwt_provider.key']
        res.update(self._jwt_key_state())
        res.update(
            jwt_algorithm=Key._param('algorithm'),
            jwt_env_override=bool(os.environ.get(ENV_KEY) or os.environ.get(ENV_ALGORITHM)),
            jwt_public_key=Key._public_key_pem() or False,
            **{'jwt_' + name: Key._param(name) for name, _label, _min, _max in INTEGERS})
        for name, _label, _minimum in DURATIONS:
            value, unit = split_duration(Key._param(name))
            res.update({'jwt_%s_value' % name: value, 'jwt_%s_unit' % name: unit})
        return res

    def _jwt_numeric_values(self):
        """``{parameter: value}`` of the numeric settings; raises ``UserError`` on a
        value out of range, naming it (checked before anything is written)."""
        self.ensure_one()
        values = {}
        for name, label, minimum in DURATIONS:
            amount = self['jwt_%s_value' % name] or 0
            unit = self['jwt_%s_unit' % name] or 'seconds'
            seconds = amount * UNIT_SECONDS[unit]
            if seconds < minimum:
                raise UserError(_('JWT settings: the %(setting)s must be at least 1 second'
                                  ' (it is %(amount)s %(unit)s).')
                                % {'setting': _(label), 'amount': amount, 'unit': _(unit)})
            if seconds > MAX_DURATION:
                raise UserError(_('JWT settings: the %(setting)s cannot exceed 10 years (it is %(amount)s %(unit)s).')
                                % {'setting': _(label), 'amount': amount, 'unit': _(unit)})
            values[name] = seconds
        for name, label, minimum, maximum in INTEGERS:
            value = self['jwt_' + name] or 0
            if not minimum <= value <= maximum:
                raise UserError(_('JWT settings: the %(setting)s must be between %(minimum)s and %(maximum)s'
                                  ' (it is %(value)s).')
                                % {'setting': _(label), 'minimum': minimum, 'maximum': maximum, 'value': value})
            values[name] = value
        return values

    def set_values(self):
        res = super(ResConfigSettings, self).set_values()
        self._jwt_check_access()
        numbers = self._jwt_numeric_values()
        Key = self.env['jwt_provider.key']
        ICP = self.env['ir.config_parameter'].sudo()
        algorithm = self.jwt_algorithm or Key._param('algorithm')
        # The key first: a refused key (UserError) leaves everything as it was.
        Key._set_key(
            algorithm=algorithm,
            secret=self.jwt_new_secret or None,
            private_key=(self.jwt_new_private_key or None) if algorithm in ASYMMETRIC else None)
        for name, value in numbers.items():
            current = ICP.get_param(PARAM % name)
            if current in (False, None, '') and value == DEFAULTS[name]:
                continue  # keep following the default: no parameter for an unchanged one
            if str(value) != current:
                ICP.set_param(PARAM % name, str(value))
        return res

    def action_jwt_generate_key(self):
        """Button *Rotate key*: a new random key of the selected algorithm signs from now
        on; the previous one keeps verifying its tokens until they expire (nobody is
        signed out), then retires on its own.

        The web client saves the form before calling a button, so the record
        holds what the administrator changed on the page: those changes are
        applied too (13.0+ clients ask first), never silently dropped.
        """
        self.ensure_one()
        self._jwt_check_access()
        self._jwt_numeric_values()  # refuse bad values before the key changes
        algorithm = self.jwt_algorithm or self.env['jwt_provider.key']._param('algorithm')
        self.env['jwt_provider.key']._rotate(algorithm)
        self.write({'jwt_new_secret': False, 'jwt_new_private_key': False, 'jwt_algorithm': algorithm})
        self.execute()
        return {'type': 'ir.actions.client', 'tag': 'reload'}
