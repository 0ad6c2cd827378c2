"""Public HTTP helpers, kept name for name from the original addon.

Every function delegates to ``ir.http`` (see ``models/ir_http.py``), so an
addon changes the behaviour with ``_inherit = 'ir.http'``; nothing here holds
state. Both import styles of the original keep working::

    from odoo.addons.jwt_provider import jwt_http
    from odoo.addons.jwt_provider.jwt_http import jwt_http

    http_method, body, headers, token = jwt_http.parse_request()
"""
import sys

from odoo.http import request


def _ir_http():
    return request.env['ir.http']


def parse_request():
    """``(http_method, body, headers, token)`` of the current request.

    ``body`` holds the query, form or JSON-object parameters; ``token`` is the
    bearer token of the ``Authorization`` header, or ``''``.
    """
    return _ir_http()._jwt_parse_request()


def response(success=True, message=None, data=None, code=200):
    """A JSON response ``{"data", "success", "message"}`` with CORS headers and no session cookie."""
    return _ir_http()._jwt_response(data=data, success=success, message=message, code=code)


def errcode(code, message=None):
    """An error response: ``success`` false, ``code`` as the HTTP status."""
    return response(success=False, code=code, message=message)


def response_500(message='Internal Server Error', data=None):
    return response(success=False, message=message, data=data, code=500)


def response_404(message='404 Not Found', data=None):
    return response(success=False, message=message, data=data, code=404)


def response_403(message='403 Forbidden', data=None):
    return response(success=False, message=message, data=data, code=403)


# The original exposed a singleton named like the module; alias it.
jwt_http = sys.modules[__name__]
