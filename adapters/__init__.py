"""The one place that chooses between Odoo's HTTP layers.

Odoo 16.0 replaced the request model (``HttpRequest``/``JsonRequest`` chosen
by ``Root.get_request``) with dispatchers and ``ir.http._pre_dispatch``. Each
era has a small adapter that completes ``ir.http`` (``models/ir_http.py``)
with the same ``_jwt_era_*`` hooks; exactly one is imported.
"""
from odoo import http

if hasattr(http, 'Dispatcher'):  # 16.0+
    from . import http_modern as http_era  # noqa: F401
else:  # 11.0 - 15.0
    from . import http_legacy as http_era  # noqa: F401
