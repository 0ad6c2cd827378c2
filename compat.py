"""Every difference between Odoo 11.0, 12.0 and 13.0 that this addon meets.

Nothing else in the addon looks at the Odoo version: it calls these helpers.
Feature detection is preferred over version numbers, so a backported API
works without touching this file.
"""
import datetime

from odoo import fields, release

ODOO_VERSION = release.version_info[0]


def check_password(user, password):
    """Check ``password`` for ``user`` (a one-record ``res.users``, any env).

    11.0 names the hook ``check_credentials``; 12.0 and 13.0 ``_check_credentials``.
    Raises ``odoo.exceptions.AccessDenied`` when the password is wrong.
    """
    user = as_user(user, user.id)
    hook = getattr(user, '_check_credentials', None) or user.check_credentials
    hook(password)


def as_user(records, uid):
    """``records`` acting as ``uid`` (``sudo(uid)`` before 13.0, ``with_user`` after)."""
    if hasattr(records, 'with_user'):
        return records.with_user(uid)
    return records.sudo(uid)


def to_datetime(value):
    """A ``fields.Datetime`` value as a naive UTC ``datetime`` (11.0 stores strings)."""
    if not value or isinstance(value, datetime.datetime):
        return value or None
    return fields.Datetime.from_string(value)


def datetime_value(value):
    """A naive UTC ``datetime`` in the form ``fields.Datetime`` expects on write."""
    return fields.Datetime.to_string(value) if ODOO_VERSION < 12 else value


def flush(env):
    """13.0 delays ORM writes until a flush: do it before raw SQL reads tables."""
    model = env['res.users']
    if hasattr(model, 'flush'):
        model.flush()


def current_rule(ir_http):
    """The werkzeug rule the current request matches (raises werkzeug's NotFound).

    13.0 replaced ``ir.http._find_handler`` with ``_match(path)``.
    """
    from odoo.http import request
    if hasattr(ir_http, '_match'):
        return ir_http._match(request.httprequest.path)[0]
    return ir_http._find_handler(return_rule=True)[0]


def user_image(user):
    """The user's avatar as base64 (``image`` before 13.0, ``image_128`` after)."""
    for name in ('image_128', 'image_small', 'image'):
        if name in user._fields:
            return user[name]
    return False



def post_install(cls):
    """Run an Odoo test class after every module is loaded.

    11.0 runs at-install tests only in databases with demo data, so the suite
    runs post-install everywhere: ``at_install``/``post_install`` decorators
    before 12.0, tags after. Decorate each concrete class: from 12.0 on, a
    subclass does not inherit its parent's tags.
    """
    from odoo.tests import common
    if hasattr(common, 'tagged') and ODOO_VERSION >= 12:
        return common.tagged('post_install', '-at_install')(cls)
    return common.at_install(False)(common.post_install(True)(cls))


def http_port():
    """The port of the server the HTTP tests talk to (13.0 dropped ``common.PORT``)."""
    from odoo.tools import config
    return config['http_port']
