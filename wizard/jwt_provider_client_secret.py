"""The dialog that shows a new API client secret once (``jwt_provider.client``)."""
from odoo import fields, models


class JwtProviderClientSecret(models.TransientModel):
    """The dialog that shows a new client secret once. Opened with the secret
    in its defaults and closed without saving: no row holds the secret."""
    _name = 'jwt_provider.client.secret'
    _description = 'New API client secret'

    client_id = fields.Char(string='Client ID', readonly=True)
    secret = fields.Char(string='Client secret', readonly=True,
                         help='Shown once: copy it now. Only its hash is kept.')
