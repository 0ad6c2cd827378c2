"""Loads the addon's views for this Odoo's era of view syntax.

A manifest cannot list data files per series, and view syntax changed twice:
17.0 dropped ``attrs`` and restructured the settings page, 18.0 renamed
``<tree>`` to ``<list>``. ``views/legacy/`` (11.0-16.0) and ``views/modern/``
(17.0+) hold the two syntaxes; ``data/jwt_provider_data.xml`` calls the loader
at every install and update, so the records are the module's own as if the
manifest listed them.
"""
import io
import os

from odoo import api, models

from .. import compat

# The key store's and the clients' actions first: the settings page opens them.
VIEW_FILES = ('jwt_provider_signing_key_views.xml', 'jwt_provider_client_views.xml',
              'res_config_settings_views.xml', 'res_users_views.xml')
ADDON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class IrUiView(models.Model):
    _inherit = 'ir.ui.view'

    @api.model
    def _jwt_load_era_views(self):
        era = 'modern' if compat.ODOO_VERSION >= 17 else 'legacy'
        for name in VIEW_FILES:
            with open(os.path.join(ADDON_DIR, 'views', era, name), 'rb') as f:
                arch = f.read()
            if compat.ODOO_VERSION >= 18:
                arch = arch.replace(b'<tree ', b'<list ').replace(b'</tree>', b'</list>').replace(
                    b'>tree</field>', b'>list</field>').replace(b'>tree,form<', b'>list,form<')
            xmlfile = io.BytesIO(arch)
            xmlfile.name = os.path.join('views', era, name)  # what Odoo reports errors against
            compat.load_xml(self.env, 'jwt_provider', xmlfile)
        return True
