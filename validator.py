"""Public token helpers, kept name for name from the original addon.

Thin facade over the ``jwt_provider.token`` model (and ``ir.http`` for the
request side); change behaviour by inheriting those models::

    from odoo.addons.jwt_provider import jwt_http, validator

    http_method, body, headers, token = jwt_http.parse_request()
    result = validator.verify_token(token)
    if not result['status']:
        return jwt_http.errcode(code=result['code'], message=result['message'])
    # request.env.user is now the token's user
"""
import sys

from odoo.http import request

from .exceptions import JwtError


def _env():
    return request.env['ir.http']._jwt_sudo_env()


def create_token(user):
    """A new access token for ``user`` (a ``res.users`` record or an id).

    Clients that need to refresh use the pair /api/login returns instead.
    """
    env = _env()
    user_id = user if isinstance(user, int) else user['id'] if isinstance(user, dict) else user.id
    record = env['res.users'].browse(user_id)
    return env['jwt_provider.token']._issue(record, 'access')


def verify_token(token):
    """Check an access token; on success the request runs as its user.

    Returns ``{'status': bool, 'code': int, 'message': str|None, 'user_id': int|None}``:
    ``code`` is 200 when valid, 498 when invalid, expired or revoked, 503 when
    no signing key is configured.
    """
    ir_http = request.env['ir.http']
    try:
        uid = ir_http._jwt_verify(token)
    except JwtError as e:
        return {'status': False, 'code': e.code, 'message': e.message, 'user_id': None}
    ir_http._jwt_login_as(uid)
    return {'status': True, 'code': 200, 'message': None, 'user_id': uid}


def is_valid_email(email):
    """Whether ``email`` looks like an address /api/register accepts."""
    return _env()['res.users']._jwt_is_valid_email(email)


# The original exposed a singleton named like the module; alias it.
validator = sys.modules[__name__]
