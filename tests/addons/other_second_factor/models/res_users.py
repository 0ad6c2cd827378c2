"""A second factor as another addon would add one (a security key, SMS...):
Odoo 14.0+ name a user's second factor with ``res.users._mfa_type``; the API
checks TOTP only and must refuse every other with 403, never issue a token."""
from odoo import fields, models


class ResUsers(models.Model):
    _inherit = 'res.users'

    other_second_factor = fields.Boolean(string='Uses another second factor (tests)')

    def _mfa_type(self):
        parent = getattr(super(ResUsers, self), '_mfa_type', None)  # Odoo's, 14.0+
        kind = parent() if parent else None
        return kind or ('other_second_factor' if self.other_second_factor else None)
