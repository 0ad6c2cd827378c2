"""``GET /api/openapi.json`` and ``GET /api/docs``: the API described in OpenAPI 3.1.

The document is built at request time from the routes Odoo knows for the
database (``ir.http``'s routing map), so it lists what the server really
serves, the routes of other installed addons included. A route is described
when its path starts with ``/api/``, its ``auth`` is ``'jwt'``, it carries
``jwt_api=True`` or its path is in the registry below (``/web/avatar/<id>``);
``jwt_openapi=False`` on a route leaves it out. Registering a description
never adds a route: only the routes of the database are listed.

What each route accepts and answers comes, in this order, from:

1. the route's own ``jwt_openapi`` routing argument::

       @http.route('/api/my/orders', type='http', auth='jwt', csrf=False, jwt_openapi={
           'summary': 'My orders',
           'responses': {'200': openapi.ok({'type': 'array', 'items': {'$ref': '#/components/schemas/Order'}})},
       })

2. the registry of this module, keyed by path (``register_path``), which
   describes the addon's own endpoints and which other addons may extend::

       from odoo.addons.jwt_provider.controllers import openapi
       openapi.register_schema('Order', {'type': 'object', 'properties': {...}})
       openapi.register_path('/api/my/orders', {'get': {...}, 'post': {...}})

3. a generic description (any JSON in the envelope) for routes described nowhere.

A description is an OpenAPI Operation Object, applied to every method of the
route, or a dict of them keyed by lower-case HTTP method. The route's
``methods`` (when set) choose the methods; otherwise the keys of a per-method
description do; otherwise the route accepts any method and the description is
repeated for GET, POST, PUT, PATCH, DELETE and TRACE. On API routes a method a path
does not list answers 405 (``x-other-methods`` on the path: the answers to
those methods, the shared ones below included). The answers every API route
shares are added where a description has none of its own: 400 (undecodable
body), 413 (body too large), and for ``auth='jwt'`` the bearer scheme, 498 and
503. ``$ref`` may point at anything under ``#/components/``.

``OPTIONS`` (CORS preflight, answered 200 without credentials on every API
route) is described once in ``info.description``, not on each path; what any
other path under ``/api/`` answers is ``x-unknown-paths`` of the document.

Nothing here depends on the Odoo series: every series from 11.0 to 19.0 keeps
the merged ``@http.route`` arguments of an endpoint on ``rule.endpoint.routing``
of ``ir.http.routing_map()``; ``_routing_rules`` is the one place that reads them.
"""
import ast
import copy
import json
import logging
import os
import re

from odoo import http
from odoo.http import request

_logger = logging.getLogger(__name__)
OPENAPI_VERSION = '3.1.0'
ADDON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS_PAGE = os.path.join(ADDON_DIR, 'static', 'src', 'docs', 'index.html')
HTTP_METHODS = ('get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace')
# A route declared without ``methods`` serves every method, TRACE included.
ANY_METHODS = ('get', 'post', 'put', 'patch', 'delete', 'trace')
NO_BODY_METHODS = ('get', 'head', 'delete', 'trace')

# werkzeug's rule syntax: <converter(arguments):name>
_RULE_PART = re.compile(r'<(?:(?P<converter>[a-zA-Z_][a-zA-Z0-9_]*)(?:\((?P<args>.*?)\))?:)?'
                        r'(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)>')


def _ref(kind, name):
    return {'$ref': '#/components/%s/%s' % (kind, name)}


def envelope(data_schema, success=True, message=None):
    """The schema of an answer whose ``data`` is ``data_schema`` (the ``Envelope``,
    spelled out: documentation tools merge ``allOf`` poorly)."""
    message = message or ({'type': 'null', 'description': '`null` on success.'} if success
                          else {'type': 'string', 'description': 'Why the call failed.'})
    return {
        'type': 'object', 'required': ['data', 'success', 'message'],
        'properties': {'data': data_schema, 'success': {'type': 'boolean', 'const': success},
                       'message': message},
        'additionalProperties': False,
    }


def ok(data_schema, description='Success', message=None):
    """A 200 Response Object in the envelope (for ``jwt_openapi`` descriptions);
    ``message``: its schema, when not ``null``."""
    return {'description': description,
            'content': {'application/json': {'schema': envelope(data_schema, message=message)}}}


def error(name, description=None):
    """A reference to one of the shared error answers, with its own description."""
    response = _ref('responses', name)
    if description:
        response['description'] = description
    return response


def _body(schema_name, required=True):
    schema = _ref('schemas', schema_name)
    return {'required': required, 'content': {
        'application/json': {'schema': schema},
        'application/x-www-form-urlencoded': {'schema': schema},
    }}


def _string(description, **kw):
    return dict({'type': 'string', 'description': description}, **kw)


_MANY2ONE = {'type': 'array', 'prefixItems': [{'type': 'integer'}, {'type': 'string'}],
             'items': False, 'minItems': 2,
             'description': '`[id, display name]`, as Odoo reads a many2one'}

# RFC 6749 3.3: space-separated scope tokens of printable ASCII without `"` or `\`.
SCOPE_PATTERN = r'^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$'
_SCOPE = _string('Optional: the scopes the tokens may use, space-separated (RFC 6749 3.3), at most 1024 '
                 'characters. Routes declared with `jwt_scopes` answer 403 to a token without theirs; '
                 'without `scope` the tokens keep the user\'s full rights.', maxLength=1024,
                 pattern=SCOPE_PATTERN)
_OAUTH_JSON = 'application/json'


def _oauth_error(description, status_codes):
    return {'description': description, 'headers': {'Cache-Control': {'schema': {'const': 'no-store'}}},
            'content': {_OAUTH_JSON: {'schema': {
                'type': 'object', 'required': ['error'],
                'properties': {'error': {'enum': status_codes}, 'error_description': {'type': 'string'}}}}}}


def _oauth_bad_request(description, status_codes):
    """A 400 of the OAuth endpoints: RFC 6749's error, or the envelope's for a body that is not
    a JSON object or a form (refused, as on every API route, before the endpoint runs)."""
    answer = _oauth_error(description + ' A body that is not a JSON object answers the envelope\'s 400.',
                          status_codes)
    schema = answer['content'][_OAUTH_JSON]['schema']
    answer['content'][_OAUTH_JSON]['schema'] = {'anyOf': [schema, _ref('schemas', 'Error')]}
    answer['headers'] = {}
    return answer


def _oauth_form(properties, required):
    schema = {'type': 'object', 'required': required, 'properties': properties}
    return {'required': True, 'content': {'application/x-www-form-urlencoded': {'schema': schema},
                                          'application/json': {'schema': schema}}}


_CLIENT_FIELDS = {
    'client_id': _string('With `client_secret`: client authentication in the body (`client_secret_post`), '
                         'instead of HTTP Basic.'),
    'client_secret': _string('The registered client\'s secret (`client_secret_post`).', format='password'),
}
_TOKEN_HINT = {'token_type_hint': _string('`access_token` or `refresh_token`: which kind to look for first '
                                          '(others are tried too).')}
_INVALID_CLIENT = _oauth_error('`invalid_client`: no, unknown, archived or wrong client credentials; '
                               '`WWW-Authenticate: Basic realm="api"`.', ['invalid_client'])
_CLIENT_THROTTLED = dict(_oauth_error('`invalid_client`: too many wrong client secrets; wait `Retry-After` '
                                      'seconds.', ['invalid_client']))
_CLIENT_THROTTLED['headers'] = {'Retry-After': {'required': True, 'schema': {'type': 'integer', 'minimum': 0}}}

COMPONENTS = {
    'securitySchemes': {
        'clientBasic': {
            'type': 'http', 'scheme': 'basic',
            'description': 'A registered API client (Settings, *JWT API clients*): `client_id:client_secret`, '
                           'each form-urlencoded (RFC 6749 2.3.1); or both in the body instead.',
        },
        'bearerAuth': {
            'type': 'http', 'scheme': 'bearer', 'bearerFormat': 'JWT',
            'description': 'The `token` of a login, register or refresh answer, as '
                           '`Authorization: Bearer <token>`. Refresh tokens are refused here.',
        },
    },
    'headers': {
        'WWW-Authenticate': {
            'description': 'The bearer challenge (RFC 6750 3): `Bearer realm="api"` without a token, '
                           '`Bearer realm="api", error="invalid_token"` with a refused one, '
                           '`error="insufficient_scope", scope="..."` when the token lacks a scope.',
            'schema': {'type': 'string'},
        },
        'Retry-After': {
            'description': 'Seconds to wait before trying again.',
            'schema': {'type': 'integer', 'minimum': 0},
        },
        'Allow': {'description': 'The methods the path accepts.', 'schema': {'type': 'string'}},
    },
    'schemas': {
        'Envelope': {
            'type': 'object',
            'description': 'Every answer of the API (except this document, the docs page and '
                           'avatars) is this envelope.',
            'required': ['data', 'success', 'message'],
            'properties': {
                'data': {'description': 'The result; `null` when there is none.'},
                'success': {'type': 'boolean'},
                'message': {'type': ['string', 'null'], 'description': 'Why a call failed; `null` on success.'},
            },
            'additionalProperties': False,
        },
        'Error': envelope({'type': 'null'}, success=False),
        'LoginRequest': {
            'type': 'object', 'required': ['email', 'password'],
            'properties': {
                'email': _string('The login (an email address, or `admin`); compared case-insensitively.',
                                 minLength=1),
                'password': _string('The password.', format='password', minLength=1),
                'scope': _SCOPE,
            },
        },
        'TotpRequest': {
            'type': 'object', 'required': ['ticket', 'code'],
            'properties': {
                'ticket': _string('The `ticket` of the 401 answer of `/api/login`.', minLength=1),
                'code': _string('The current code of the authenticator app.', minLength=1),
                'scope': _SCOPE,
            },
        },
        'RegisterRequest': {
            'type': 'object', 'required': ['email', 'password', 'name'],
            'properties': {
                # What models/res_users.py checks, so that a request valid here is never refused as invalid.
                # No maxLength: surrounding spaces are dropped first, then the address may have 254.
                'email': _string('Becomes the login; must be a valid address of at most 254 characters '
                                 '(surrounding spaces aside), not already used (in any case).', minLength=1,
                                 pattern=r'^\s*[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s.\x00-\x1f\x7f]+\s*$'),
                'password': _string('Not empty, at most 4096 characters, no NUL.', format='password',
                                    minLength=1, maxLength=4096, pattern=r'^[^\x00]+$'),
                'name': _string('Not empty nor only spaces.', minLength=1, pattern=r'[^\s\x00]'),
                'scope': _SCOPE,
            },
        },
        'RefreshRequest': {
            'type': 'object', 'required': ['refresh_token'],
            'properties': {'refresh_token': _string('The `refresh_token` of the last login or refresh.',
                                                    minLength=1)},
        },
        'LogoutRequest': {
            'type': 'object',
            'properties': {'all': {
                'description': '`1` (or `true`, `yes`) ends every session of the user, not only this one.',
                'type': ['string', 'integer', 'boolean'],
            }},
        },
        'LoginUser': {
            'type': 'object', 'required': ['id', 'login', 'name', 'company_id'],
            'properties': {
                'id': {'type': 'integer'},
                'login': {'type': 'string'},
                'name': {'type': 'string'},
                'company_id': _MANY2ONE,
            },
            'additionalProperties': False,
        },
        'Tokens': {
            'type': 'object', 'required': ['user', 'token', 'refresh_token', 'expires_in'],
            'properties': {
                'user': _ref('schemas', 'LoginUser'),
                'token': _string('The access token, for `Authorization: Bearer`.'),
                'refresh_token': _string('Spent by `/api/refresh` for a new pair; '
                                         'reusing a spent one ends its whole session.'),
                'expires_in': {'type': 'integer', 'description': 'Lifetime of `token`, in seconds.'},
            },
            'additionalProperties': False,
        },
        'TotpChallenge': {
            'type': 'object', 'required': ['totp_required', 'ticket', 'expires_in'],
            'properties': {
                'totp_required': {'type': 'boolean', 'const': True},
                'ticket': _string('Send it back to `/api/login/totp` with the code.'),
                'expires_in': {'type': 'integer', 'description': 'Lifetime of the ticket, in seconds.'},
            },
        },
        'Profile': {
            'type': 'object', 'required': ['id', 'name', 'email', 'company_id', 'avatar'],
            'properties': {
                'id': {'type': 'integer'},
                'name': {'type': 'string'},
                'email': {'anyOf': [{'type': 'string'}, {'const': False}],
                          'description': '`false` when the user has none (Odoo\'s empty value).'},
                'company_id': {'anyOf': [_MANY2ONE, {'const': False}]},
                'avatar': _string('Absolute URL of the user\'s image (`/web/avatar/{user_id}`).', format='uri'),
            },
            'additionalProperties': False,
        },
    },
    'responses': {
        'BadRequest': {
            'description': 'The request body is not a JSON object, or a field is refused (see `message`).',
            'content': {'application/json': {'schema': _ref('schemas', 'Error')}},
        },
        'TwoFactorRequired': {
            'description': 'The password is right but the user has two-factor authentication: '
                           'send `ticket` and the code to `/api/login/totp`.',
            'content': {'application/json': {'schema': envelope(_ref('schemas', 'TotpChallenge'), success=False)}},
        },
        'NotFound': {
            'description': 'No such record or path (any unknown path under `/api/` answers this).',
            'content': {'application/json': {'schema': _ref('schemas', 'Error')}},
        },
        'MethodNotAllowed': {
            'description': 'The path does not accept this method; `Allow` lists those it does.',
            'headers': {'Allow': _ref('headers', 'Allow')},
            'content': {'application/json': {'schema': _ref('schemas', 'Error')}},
        },
        'PayloadTooLarge': {
            'description': 'The request body is larger than the server accepts.',
            'content': {'application/json': {'schema': _ref('schemas', 'Error')}},
        },
        'TooManyRequests': {
            'description': 'Too many failed attempts for this login or address: wait `Retry-After` seconds.',
            'headers': {'Retry-After': {
                'description': 'Seconds to wait before trying again.', 'required': True,
                'schema': {'type': 'integer', 'minimum': 0},
            }},
            'content': {'application/json': {'schema': _ref('schemas', 'Error')}},
        },
        'InvalidToken': {
            'description': 'The token is missing, malformed, forged, expired, spent or revoked '
                           '(`Token invalid or expired`). With an access token: refresh, then retry once.',
            'headers': {'WWW-Authenticate': _ref('headers', 'WWW-Authenticate')},
            'content': {'application/json': {'schema': _ref('schemas', 'Error')}},
        },
        'InsufficientScope': {
            'description': '`Insufficient scope`: the token\'s `scope` lacks one this route requires '
                           '(`WWW-Authenticate: Bearer ... error="insufficient_scope", scope="..."`).',
            'headers': {'WWW-Authenticate': _ref('headers', 'WWW-Authenticate')},
            'content': {'application/json': {'schema': _ref('schemas', 'Error')}},
        },
        'NotImplemented': {
            'description': 'The feature is switched off on this server.',
            'content': {'application/json': {'schema': _ref('schemas', 'Error')}},
        },
        'ServiceUnavailable': {
            'description': 'No usable signing key (an administrator\'s problem), or the database is '
                           'unreachable: retry after `Retry-After` seconds when it is given.',
            'headers': {'Retry-After': _ref('headers', 'Retry-After')},
            'content': {'application/json': {'schema': _ref('schemas', 'Error')}},
        },
    },
}

_LOGIN_ANSWER = ok(_ref('schemas', 'Tokens'), 'The user and a new token pair.')

# The registry: path -> Operation Object, or {method: Operation Object}.
PATHS = {
    '/api/login': {'post': {
        'operationId': 'login', 'tags': ['Authentication'], 'summary': 'Log in with email and password',
        'requestBody': _body('LoginRequest'),
        'responses': {
            '200': _LOGIN_ANSWER,
            '400': error('BadRequest', '`Incorrect login` (unknown login, wrong password and archived '
                                       'user alike), `Invalid scope`, or an undecodable body.'),
            '401': error('TwoFactorRequired'),
            '429': error('TooManyRequests'),
            '503': error('ServiceUnavailable'),
        },
    }},
    '/api/login/totp': {'post': {
        'operationId': 'loginTotp', 'tags': ['Authentication'],
        'summary': 'Second step of a two-factor login',
        'requestBody': _body('TotpRequest'),
        'responses': {
            '200': _LOGIN_ANSWER,
            '400': error('BadRequest', '`Incorrect code`, `ticket is required`, `code is required`, '
                                       '`Invalid scope`, or an undecodable body.'),
            '429': error('TooManyRequests'),
            '498': error('InvalidToken', 'The ticket is unknown, expired or already used.'),
            '503': error('ServiceUnavailable'),
        },
    }},
    '/api/register': {'post': {
        'operationId': 'register', 'tags': ['Authentication'],
        'summary': 'Create a portal user and log in (free sign-up)',
        'requestBody': _body('RegisterRequest'),
        'responses': {
            '200': _LOGIN_ANSWER,
            '400': error('BadRequest', '`Invalid email address`, `Name cannot be empty`, '
                                       '`Password cannot be empty`, `Password must be at least 8 characters '
                                       'long` (the minimum is a setting, or Odoo\'s password policy), '
                                       '`Email address already existed`, `Invalid scope`, ...'),
            '429': error('TooManyRequests', 'Too many sign-up attempts from this address (refused ones '
                                            'count too); `Retry-After` says when to try again.'),
            '501': error('NotImplemented', 'Free sign-up is off (`Customer Account: Free sign up`).'),
            '503': error('ServiceUnavailable'),
        },
    }},
    '/api/refresh': {'post': {
        'operationId': 'refresh', 'tags': ['Authentication'],
        'summary': 'Exchange a refresh token for a new token pair',
        'description': 'The refresh token is spent: presenting it again ends its whole session.',
        'requestBody': _body('RefreshRequest'),
        'responses': {
            '200': _LOGIN_ANSWER,
            '400': error('BadRequest', '`refresh_token is required`, or an undecodable body.'),
            '498': error('InvalidToken', 'The refresh token is invalid, expired, spent or revoked: log in again.'),
            '503': error('ServiceUnavailable'),
        },
    }},
    '/api/oauth/token': {'post': {
        'operationId': 'oauthToken', 'tags': ['OAuth'],
        'summary': 'Refresh, as OAuth 2.0 clients do (RFC 6749 6)',
        'description': 'Only `grant_type=refresh_token` (log in with `/api/login`: no password grant, RFC 9700). '
                       'The same rotation, reuse detection and grace window as `/api/refresh`. A registered '
                       'client may authenticate (HTTP Basic or `client_secret_post`): the new tokens then carry '
                       'its `client_id`, and only it may refresh them. Answers are not the envelope.',
        'security': [{}, {'clientBasic': []}],
        'requestBody': _oauth_form(dict({
            'grant_type': {'const': 'refresh_token'},
            'refresh_token': _string('The refresh token of the last login or refresh.', minLength=1),
            'scope': dict(_SCOPE, description='Optional: narrower than the refresh token\'s (never wider).'),
        }, **_CLIENT_FIELDS), ['grant_type', 'refresh_token']),
        'responses': {
            '200': {'description': 'A new pair (RFC 6749 5.1).',
                    'headers': {'Cache-Control': {'schema': {'const': 'no-store'}}},
                    'content': {_OAUTH_JSON: {'schema': {
                        'type': 'object',
                        'required': ['access_token', 'token_type', 'expires_in', 'refresh_token'],
                        'properties': {'access_token': {'type': 'string'}, 'token_type': {'const': 'Bearer'},
                                       'expires_in': {'type': 'integer'}, 'refresh_token': {'type': 'string'},
                                       'scope': _string('The narrower scope asked for.')},
                        'additionalProperties': False}}}},
            '400': _oauth_bad_request('`invalid_grant` (the refresh token is invalid, expired, spent, revoked or '
                                      'another client\'s), `unsupported_grant_type`, `invalid_request` (a field '
                                      'missing, credentials in the query string, two client authentications), '
                                      '`invalid_scope` (malformed or wider).',
                                      ['invalid_grant', 'unsupported_grant_type', 'invalid_request', 'invalid_scope']),
            '401': _INVALID_CLIENT,
            '429': _CLIENT_THROTTLED,
            '503': error('ServiceUnavailable'),
        },
    }},
    '/api/oauth/revoke': {'post': {
        'operationId': 'oauthRevoke', 'tags': ['OAuth'],
        'summary': 'Revoke a token and its login, for registered clients (RFC 7009)',
        'description': 'The access or refresh token\'s whole login is revoked, as a logout. An unknown, '
                       'invalid or expired token answers 200 too.',
        'security': [{'clientBasic': []}],
        'requestBody': _oauth_form(dict({'token': _string('The token to revoke.', minLength=1)},
                                        **dict(_TOKEN_HINT, **_CLIENT_FIELDS)), ['token']),
        'responses': {
            '200': {'description': 'Revoked, or nothing to revoke.',
                    'headers': {'Cache-Control': {'schema': {'const': 'no-store'}}},
                    'content': {_OAUTH_JSON: {'schema': {'type': 'object', 'additionalProperties': False}}}},
            '400': _oauth_bad_request('`invalid_request` (`token` missing, credentials in the query string), '
                                      '`unauthorized_client` (the token was issued to another client).',
                                      ['invalid_request', 'unauthorized_client']),
            '401': _INVALID_CLIENT,
            '429': _CLIENT_THROTTLED,
            '503': error('ServiceUnavailable'),
        },
    }},
    '/api/oauth/introspect': {'post': {
        'operationId': 'oauthIntrospect', 'tags': ['OAuth'],
        'summary': 'What a token is, for registered clients (RFC 7662)',
        'security': [{'clientBasic': []}],
        'requestBody': _oauth_form(dict({'token': _string('The token to look at.', minLength=1)},
                                        **dict(_TOKEN_HINT, **_CLIENT_FIELDS)), ['token']),
        'responses': {
            '200': {'description': '`{"active": false}` for anything not valid now; else the token\'s claims.',
                    'headers': {'Cache-Control': {'schema': {'const': 'no-store'}}},
                    'content': {_OAUTH_JSON: {'schema': {
                        'type': 'object', 'required': ['active'],
                        'properties': {
                            'active': {'type': 'boolean'}, 'sub': {'type': 'string'},
                            'username': {'type': 'string'}, 'exp': {'type': 'integer'},
                            'iat': {'type': 'integer'}, 'iss': {'type': 'string'},
                            'aud': {'type': ['string', 'array']}, 'scope': {'type': 'string'},
                            'client_id': {'type': 'string'},
                            'token_type': {'enum': ['Bearer', 'refresh_token']}},
                        'additionalProperties': False}}}},
            '400': _oauth_bad_request('`invalid_request`: `token` missing, or credentials in the query string.',
                                      ['invalid_request']),
            '401': _INVALID_CLIENT,
            '429': _CLIENT_THROTTLED,
            '503': error('ServiceUnavailable'),
        },
    }},
    '/api/me': {
        'operationId': 'me', 'tags': ['User'], 'summary': 'The token\'s user',
        'responses': {'200': ok(_ref('schemas', 'Profile'), 'The user.')},
    },
    '/api/logout': {
        'operationId': 'logout', 'tags': ['Authentication'], 'summary': 'Revoke the token (and its refresh token)',
        'parameters': [{'name': 'all', 'in': 'query', 'required': False,
                        'description': '`1` ends every session of the user.', 'schema': {'type': 'string'}}],
        'requestBody': _body('LogoutRequest', required=False),
        'responses': {'200': ok({'type': 'null'}, 'Logged out.')},
    },
    '/api/ping': {
        'operationId': 'ping', 'tags': ['Service'], 'summary': 'Health check, without authentication',
        'responses': {'200': ok({'type': 'object', 'required': ['pong'],
                                 'properties': {'pong': {'type': 'boolean', 'const': True}}},
                                'The server and its database answer.')},
    },
    '/web/avatar/{user_id}': {'get': {
        'operationId': 'avatar', 'tags': ['User'], 'summary': 'A user\'s image',
        'description': 'Odoo\'s placeholder image for an unknown user or a user without one.',
        'responses': {
            '200': {'description': 'The image.', 'content': {'image/*': {}}},
            '404': {'description': '`user_id` is not an integer: no route matches, and Odoo answers its '
                                   'own 404 page (not the envelope).',
                    'content': {'text/html': {}}},
        },
    }},
    '/.well-known/jwks.json': {'get': {
        'operationId': 'jwks', 'tags': ['Service'], 'summary': 'The public keys that verify our tokens (RFC 7517)',
        'description': 'The signing and verify-only RS256/ES256 keys, by `kid`; empty with an HMAC algorithm. '
                       'Not in the envelope; cacheable (`Cache-Control: public, max-age=300`).',
        'responses': {'200': {'description': 'A JWK Set.', 'content': {'application/json': {'schema': {
            'type': 'object', 'required': ['keys'],
            'properties': {'keys': {'type': 'array', 'items': {
                'type': 'object', 'required': ['kty', 'kid', 'alg', 'use'],
                'properties': {'kty': {'type': 'string', 'enum': ['RSA', 'EC']}, 'kid': {'type': 'string'},
                               'alg': {'type': 'string', 'enum': ['RS256', 'ES256']},
                               'use': {'type': 'string', 'const': 'sig'}}}}}}}}}},
    }},
    '/.well-known/oauth-authorization-server': {'get': {
        'operationId': 'oauthMetadata', 'tags': ['Service'], 'summary': 'Authorization server metadata (RFC 8414)',
        'description': '`issuer` is the `iss` of our tokens. Not in the envelope; cacheable.',
        'responses': {'200': {'description': 'The metadata.', 'content': {'application/json': {'schema': {
            'type': 'object',
            'required': ['issuer', 'jwks_uri', 'token_endpoint', 'grant_types_supported', 'response_types_supported'],
            'properties': dict(
                {name: {'type': 'string'} for name in (
                    'issuer', 'jwks_uri', 'token_endpoint', 'revocation_endpoint', 'introspection_endpoint')},
                **{name: {'type': 'array', 'items': {'type': 'string'}} for name in (
                    'grant_types_supported', 'response_types_supported', 'scopes_supported',
                    'access_token_signing_alg_values_supported')})}}}}},
    }},
    '/api/openapi.json': {'get': {
        'operationId': 'openapi', 'tags': ['Service'], 'summary': 'This document',
        'responses': {'200': {'description': 'The OpenAPI 3.1 document, built from the server\'s routes.',
                              'content': {'application/json': {'schema': {
                                  'type': 'object', 'required': ['openapi', 'info', 'paths'],
                                  'properties': {'openapi': {'type': 'string'}, 'info': {'type': 'object'},
                                                 'paths': {'type': 'object'}}}}}}},
    }},
    '/api/docs': {'get': {
        'operationId': 'docs', 'tags': ['Service'], 'summary': 'This document, readable (Redoc)',
        'responses': {'200': {'description': 'An HTML page.', 'content': {'text/html': {}}}},
    }},
}

TAGS = [
    {'name': 'Authentication', 'description': 'Tokens: log in, two-factor, sign up, refresh, log out.'},
    {'name': 'OAuth', 'description': 'OAuth 2.0 endpoints (RFC 6749 refresh, RFC 7009, RFC 7662); '
                                     'plain JSON answers, not the envelope.'},
    {'name': 'User', 'description': 'The token\'s user.'},
    {'name': 'Service', 'description': 'Health and documentation.'},
    {'name': 'Protected routes', 'description': 'Routes of installed addons that take a bearer token.'},
    {'name': 'Other API routes', 'description': 'Other routes declared with `jwt_api=True`.'},
]

DESCRIPTION = """\
A token-based login API for Odoo (the `jwt_provider` addon).

* Every answer is JSON in the envelope `{"data": ..., "success": bool, "message": str|null}`
  with CORS headers (`Access-Control-Allow-Origin: *`), except this document, the docs page,
  avatar images and the discovery documents under `/.well-known/`.
* Request bodies may be form-encoded or a JSON object.
* Send the access token as `Authorization: Bearer <token>`. When an answer is 498, spend the
  refresh token on `POST /api/refresh` and retry once; when the refresh answers 498, log in again.
* `OPTIONS` on every path here is a CORS preflight: 200, without credentials.
* Any other path under `/api/` answers 404 in the envelope.
* This document is built from the routes the server has; routes of other addons that take a
  bearer token (`auth='jwt'`) are listed under *Protected routes*.
"""


def register_schema(name, schema):
    """Add or replace ``#/components/schemas/<name>``."""
    COMPONENTS['schemas'][name] = schema


def register_path(path, description):
    """Describe the route(s) at ``path`` (OpenAPI syntax: ``/things/{id}``).

    ``description`` is an Operation Object or a dict of them by method.
    Only routes the server has are listed: registering does not add one.
    """
    PATHS[path] = description


# -- reading the routes --------------------------------------------------------
def _routing_rules():
    """``(rule string, routing dict)`` of every route of the current database.

    Every series 11.0-19.0 keeps the merged ``@http.route`` arguments on
    ``rule.endpoint.routing`` (an ``EndPoint`` before 16.0, a
    ``functools.partial`` after) in the werkzeug map of ``ir.http.routing_map()``
    (a classmethod before 17.0, a cached model method after).
    """
    for rule in request.env['ir.http'].routing_map().iter_rules():
        routing = getattr(rule.endpoint, 'routing', None)
        if routing is not None:
            yield rule.rule, routing


def _converter_schema(converter, args):
    converter = converter or 'default'
    if converter == 'int':  # Odoo's SignedIntConverter, on every series: -1 is routed too
        return {'type': 'integer'}
    if converter == 'float':
        return {'type': 'number', 'minimum': 0}
    if converter == 'uuid':
        return {'type': 'string', 'format': 'uuid'}
    if converter == 'any' and args:
        try:
            values = ast.literal_eval('(%s,)' % args)
            return {'type': 'string', 'enum': [str(v) for v in values]}
        except (ValueError, SyntaxError):  # not literals: described as a plain string below
            _logger.debug('route converter any(%s): values not literal', args)
    if converter == 'model':  # Odoo also routes `slug-id`; anything else is not this route (Odoo's 404)
        return {'type': 'integer', 'description': 'A record id.'}
    if converter == 'models':
        return {'type': 'string', 'pattern': r'^\d+(,\d+)*$', 'description': 'Record ids, comma-separated.'}
    return {'type': 'string'}


def openapi_path(rule):
    """``/web/avatar/<int:user_id>`` -> (``/web/avatar/{user_id}``, path parameters)."""
    parameters = []

    def replace(match):
        parameters.append({'name': match.group('name'), 'in': 'path', 'required': True,
                           'schema': _converter_schema(match.group('converter'), match.group('args'))})
        return '{%s}' % match.group('name')
    return _RULE_PART.sub(replace, rule), parameters


def _is_api_route(path, routing):
    """The addon's routes and ``auth='jwt'`` routes (``ir.http._jwt_is_api_route``):
    another addon's routes under ``/api/`` answer as that addon wrote them."""
    if routing.get('jwt_openapi') is False:
        return False
    return request.env['ir.http']._jwt_is_api_route(routing) or path in PATHS


def _per_method(description):
    return bool(description) and all(key in HTTP_METHODS for key in description)


JSONRPC_TYPES = ('json', 'jsonrpc')
JSONRPC_ANSWER = {
    'type': 'object', 'required': ['jsonrpc', 'id'],
    'properties': {
        'jsonrpc': {'const': '2.0'}, 'id': {}, 'result': {},
        'error': {'type': 'object', 'required': ['code', 'message'], 'properties': {
            'code': {'type': 'integer', 'description': 'The status the envelope would carry: 498 for a '
                                                       'missing, expired or revoked token, 403, 400, 404, ...'},
            'message': {'type': 'string'}, 'data': {'type': 'object'}}},
    },
}


def _jsonrpc(path, routing):
    """A ``type='json'`` route: JSON-RPC 2.0 in, JSON-RPC out, errors included (HTTP 200)."""
    return {
        'tags': ['Protected routes'] if routing.get('auth') == 'jwt' else ['Other API routes'],
        'summary': path,
        'description': 'A JSON-RPC route: `params` are its arguments; errors answer in JSON-RPC\'s shape '
                       'with HTTP 200, their `code` the status (498 for a refused token).',
        'requestBody': {'required': True, 'content': {'application/json': {'schema': {
            'type': 'object', 'required': ['jsonrpc', 'method'],
            'properties': {'jsonrpc': {'const': '2.0'}, 'method': {'type': 'string'}, 'id': {},
                           'params': {'type': 'object'}}}}}},
        'responses': {
            '200': {'description': 'The JSON-RPC answer: `result` or `error`.',
                    'content': {'application/json': {'schema': JSONRPC_ANSWER}}},
            # Odoo's own answers (16.0+), before the route and before the token is read.
            '400': {'description': 'The body is not JSON (`Invalid JSON data`, Odoo 16.0+), or the request '
                                   'is not `Content-Type: application/json` (a GET, say; Odoo 16.0-18.0).',
                    'content': {'text/html': {}}},
            '415': {'description': 'The request is not `Content-Type: application/json` (a GET, say), '
                                   'answered by Odoo 19.0 with its own page.',
                    'content': {'text/html': {}}},
        },
    }


def _generic(path, routing):
    if routing.get('type') in JSONRPC_TYPES:
        return _jsonrpc(path, routing)
    jwt = routing.get('auth') == 'jwt'
    return {
        'tags': ['Protected routes'] if jwt else ['Other API routes'],
        'summary': path,
        'description': 'Declared without a description (see `jwt_openapi` in the addon\'s README).',
        'responses': {
            '200': ok({}, 'The route\'s answer, in the envelope.', message={'type': ['string', 'null']}),
            'default': {
                'description': 'An error of the route\'s own (`jwt_http.errcode`, `response_404`, ...).',
                'content': {'application/json': {'schema': envelope({}, success=False, message={
                    'type': ['string', 'null']})}},
            },
        },
    }


def _operation_id(path, method):
    return re.sub(r'[^A-Za-z0-9]+', '_', path).strip('_') + '_' + method


def _complete(operation, method, path, routing, parameters, suffix_id):
    """The operation of ``method``, with what every API route shares."""
    operation = copy.deepcopy(operation)
    if method == 'other':  # the answers to the methods a path does not list
        operation['responses'].update(_common_responses(routing))
        return operation
    if suffix_id:
        operation['operationId'] = '%s_%s' % (operation.get('operationId') or _operation_id(path, ''), method)
    operation.setdefault('operationId', _operation_id(path, method))
    if method in NO_BODY_METHODS:
        operation.pop('requestBody', None)
    if parameters:
        named = {p.get('name') for p in operation.get('parameters', []) if p.get('in') == 'path'}
        operation['parameters'] = [p for p in parameters if p['name'] not in named] + operation.get('parameters', [])
    if routing.get('auth') == 'jwt':
        operation.setdefault('security', [{'bearerAuth': []}])
    operation['responses'] = dict(_common_responses(routing), **operation.get('responses', {}))
    if any(p.get('in') == 'path' and (p['schema'].get('type') == 'integer' or 'pattern' in p['schema'])
           for p in parameters or ()):
        # A value its converter refuses matches no route: Odoo's own 404 page answers.
        responses = operation['responses']
        not_routed = copy.deepcopy(responses.get('404') or {
            'description': 'The route\'s own 404 (in the envelope), or a path parameter its converter '
                           'refuses: no route matches, and Odoo answers its own 404 page.',
            'content': copy.deepcopy(responses.get('default', {}).get('content', {}))})
        not_routed.setdefault('content', {}).setdefault('text/html', {})
        operation['responses']['404'] = not_routed
    operation['responses'] = dict(sorted(operation['responses'].items()))
    return operation


def _common_responses(routing):
    """The answers every route of its kind may give before its endpoint runs."""
    responses = {}
    if routing.get('type') in JSONRPC_TYPES:  # every answer is a JSON-RPC one, errors included
        return responses
    if routing.get('auth') == 'jwt' or routing.get('jwt_api'):
        responses['400'] = error('BadRequest', 'The request body is not a JSON object.')
        responses['413'] = error('PayloadTooLarge')
    if routing.get('auth') == 'jwt':
        responses['498'] = error('InvalidToken')
        responses['503'] = error('ServiceUnavailable')
        if routing.get('jwt_scopes'):
            responses['403'] = error('InsufficientScope', 'The token\'s `scope` lacks one of: %s.' % ', '.join(
                '`%s`' % scope for scope in request.env['jwt_provider.token']._route_scopes(routing)))
    return responses


def build_paths():
    """The ``paths`` of the document, from the routing map."""
    found = {}  # path -> (routing, parameters, methods or None for any)
    for rule, routing in _routing_rules():
        path, parameters = openapi_path(rule)
        if not _is_api_route(path, routing):
            continue
        methods = routing.get('methods')
        methods = None if not methods else {m.lower() for m in methods} - {'options', 'head'}
        if path in found:  # the same path declared twice: the methods add up
            other = found[path][2]
            methods = None if other is None or methods is None else other | methods
        found[path] = (routing, parameters, methods)

    paths = {}
    for path in sorted(found):
        routing, parameters, methods = found[path]
        description = routing.get('jwt_openapi') or PATHS.get(path) or _generic(path, routing)
        if methods is None and _per_method(description):
            methods = set(description)
        listed = ANY_METHODS if methods is None else [m for m in HTTP_METHODS if m in methods]
        item = {}
        for method in listed:
            operation = description.get(method, {}) if _per_method(description) else description
            if not operation:
                operation = _generic(path, routing)
            item[method] = _complete(operation, method, path, routing, parameters,
                                     suffix_id=len(listed) > 1 and not _per_method(description))
            if methods is None:
                note = 'The route accepts any method: %s.' % ', '.join(m.upper() for m in ANY_METHODS)
                text = item[method].get('description')
                item[method]['description'] = '%s\n\n%s' % (text, note) if text else note
        if methods is not None and request.env['ir.http']._jwt_is_api_route(routing):
            item['x-other-methods'] = _complete({'responses': {'405': error('MethodNotAllowed')}}, 'other', path,
                                                routing, [], False)['responses']
        paths[path] = item
    return paths


_MANIFEST = {}


def _addon_version():
    if not _MANIFEST:
        with open(os.path.join(ADDON_DIR, '__manifest__.py')) as f:
            _MANIFEST.update(ast.literal_eval(f.read()))
    return _MANIFEST.get('version', '0')


def build_document(base_url=None):
    """The OpenAPI 3.1 document of the current database, as a dict."""
    paths = build_paths()
    used = {tag for item in paths.values() for operation in item.values() if isinstance(operation, dict)
            for tag in operation.get('tags', ())}
    document = {
        'openapi': OPENAPI_VERSION,
        'info': {
            'title': 'JWT Provider API',
            'version': _addon_version(),
            'description': DESCRIPTION,
            'license': {'name': 'LGPL-3.0', 'identifier': 'LGPL-3.0-only'},
        },
        'tags': [dict(tag) for tag in TAGS if tag['name'] in used],
        'paths': paths,
        'components': copy.deepcopy(COMPONENTS),
        # Any other path under /api/: what it answers (no route, or a body refused first).
        'x-unknown-paths': {'400': error('BadRequest'), '404': error('NotFound'), '413': error('PayloadTooLarge')},
    }
    if base_url:
        document['servers'] = [{'url': base_url.rstrip('/') or '/'}]
    return document


# -- the endpoints ---------------------------------------------------------------
# /api/docs runs Redoc on Odoo's origin: only its own script and the live document,
# never framed (Redoc styles inline and searches in a blob: worker).
DOCS_CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'; "
            "base-uri 'none'; form-action 'none'")


def _raw_response(body, content_type, cache=None, csp=None):
    """A response outside the envelope, with the API's CORS headers."""
    headers = [('Content-Type', content_type), ('X-Content-Type-Options', 'nosniff')]
    if csp:
        headers += [('Content-Security-Policy', csp), ('X-Frame-Options', 'DENY')]
    if cache:
        headers.append(('Cache-Control', cache))
    ir_http = request.env['ir.http']
    cors = getattr(ir_http, '_jwt_cors_headers', None)
    headers.extend((cors() if cors else {'Access-Control-Allow-Origin': '*'}).items())
    return request.make_response(body, headers=headers)


def _get_only():
    """``None`` for GET/HEAD, else the 405 answer in the envelope."""
    if request.httprequest.method in ('GET', 'HEAD'):
        return None
    return request.env['ir.http']._jwt_response(
        success=False, code=405, message='Method not allowed: use GET', headers={'Allow': 'GET, HEAD, OPTIONS'})


class OpenApiController(http.Controller):

    @http.route('/api/openapi.json', type='http', auth='none', csrf=False, jwt_api=True)
    def openapi_json(self, **kw):
        refused = _get_only()
        if refused is not None:
            return refused
        document = build_document(request.httprequest.url_root)
        return _raw_response(json.dumps(document, indent=1), 'application/json; charset=utf-8', 'no-cache')

    @http.route('/api/docs', type='http', auth='none', csrf=False, jwt_api=True)
    def docs(self, **kw):
        refused = _get_only()
        if refused is not None:
            return refused
        with open(DOCS_PAGE, 'rb') as f:
            page = f.read()
        return _raw_response(page, 'text/html; charset=utf-8', 'no-cache', csp=DOCS_CSP)
