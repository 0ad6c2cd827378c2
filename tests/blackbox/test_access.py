"""Who may read or revoke tokens over RPC, and what the public avatar route serves (issue #9).

An employee (internal user) and a portal user try, over XML-RPC
(``execute_kw``) and JSON-RPC (``/web/dataset/call_kw``), to read the token
table and another user's ``jwt_token_ids``, and to revoke that user's tokens
(``jwt_provider.token.action_revoke``, ``res.users.action_jwt_revoke_all``,
plain ``write``/``unlink``). Every attempt is refused, and the victim's token
still answers 200 on ``/api/me``.

``/web/avatar/<id>`` (auth none, on Odoo's own origin) never serves active
content: a stored SVG or HTML image answers neither as ``image/svg+xml`` nor as
``text/html``, carries ``X-Content-Type-Options: nosniff``, and holds no script.

Series differences, all discovered rather than assumed: the user's groups
field (``groups_id``; ``group_ids`` from 19.0), the image fields (``image`` on
11.0/12.0, ``image_1920`` from 13.0), the portal group, which lives in
``base`` (``base.group_portal``) whether or not the ``portal`` app is
installed, and XML-RPC, which 19.0 serves only with the ``rpc`` module (the
XML-RPC cases skip where it answers 404).
"""
import base64
import os
import xmlrpc.client

import pytest
import requests

from conftest import DB, TIMEOUT, URL, assert_envelope, bearer, login

SERIES = os.environ.get('JWT_TEST_SERIES', '')


# -- the attackers ------------------------------------------------------------------

def xmlid_res_id(admin, module, name):
    rows = admin.call('ir.model.data', 'search_read', [('module', '=', module), ('name', '=', name)],
                      fields=['res_id'])
    return rows[0]['res_id'] if rows else None


def groups_field(admin):
    fields = admin.call('res.users', 'fields_get', [], attributes=['type'])
    for name in ('groups_id', 'group_ids'):
        if name in fields:
            return name
    raise AssertionError('res.users has neither groups_id nor group_ids')


class XmlRpc(object):
    """Odoo's external API as one user."""
    name = 'xmlrpc'

    def __init__(self, login_, password):
        common = xmlrpc.client.ServerProxy(URL + '/xmlrpc/2/common')
        try:
            self.uid = common.authenticate(DB, login_, password, {})
        except xmlrpc.client.ProtocolError as e:  # 19.0 serves XML-RPC only with the rpc module
            pytest.skip('XML-RPC is not served on Odoo %s (%s %s)' % (SERIES, e.errcode, e.errmsg))
        assert self.uid, 'cannot log in over XML-RPC as %s' % login_
        self.password = password
        self.proxy = xmlrpc.client.ServerProxy(URL + '/xmlrpc/2/object', allow_none=True)

    def call(self, model, method, args, kwargs=None):
        """``(refused, result)``: refused is ``"<exception>: <message>"``, or None."""
        try:
            return None, self.proxy.execute_kw(DB, self.uid, self.password, model, method, args, kwargs or {})
        except xmlrpc.client.Fault as e:
            message = e.faultString.strip().split('\n')[-1][:200] or 'Fault'
            # /xmlrpc/2 names Odoo's exception by an integer code (odoo.service: RPC_FAULT_CODE_*)
            return '%s: %s' % (XMLRPC_FAULTS.get(e.faultCode, 'Fault %s' % e.faultCode), message), None


XMLRPC_FAULTS = {1: 'ApplicationError', 2: 'UserError', 3: 'AccessDenied', 4: 'AccessError'}


class JsonRpc(object):
    """The web client's RPC: a session cookie, then /web/dataset/call_kw."""
    name = 'jsonrpc'

    def __init__(self, login_, password):
        self.session = requests.Session()
        params = {'db': DB, 'login': login_, 'password': password}
        answer = self.rpc('/web/session/authenticate', params)
        if (answer.get('error') or {}).get('data', {}).get('name') == 'odoo.exceptions.AccessError':
            # 13.0's web-client login reads the menus, which a portal user may not:
            # there is no JSON-RPC session to attack with.
            pytest.skip('Odoo %s refuses %s a web-client session: %s' % (
                SERIES, login_, answer['error']['data'].get('message', '')[:120]))
        assert 'error' not in answer and answer['result'].get('uid'), \
            'cannot log in over JSON-RPC as %s: %s' % (login_, answer)
        self.uid = answer['result']['uid']

    def rpc(self, path, params):
        answer = self.session.post(URL + path, json={'jsonrpc': '2.0', 'method': 'call', 'id': 1, 'params': params},
                                   timeout=TIMEOUT)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
        return answer.json()

    def call(self, model, method, args, kwargs=None):
        answer = self.rpc('/web/dataset/call_kw/%s/%s' % (model, method),
                          {'model': model, 'method': method, 'args': args, 'kwargs': kwargs or {}})
        if 'error' in answer:
            data = answer['error'].get('data') or {}
            return '%s: %s' % ((data.get('name') or 'error').rsplit('.', 1)[-1],
                               data.get('message') or answer['error'].get('message')), None
        return None, answer.get('result')


CHANNELS = {'xmlrpc': XmlRpc, 'jsonrpc': JsonRpc}


@pytest.fixture(scope='module')
def attackers(admin):
    """``{kind: user}`` for an employee and a portal user (or the reason there is none)."""
    field = groups_field(admin)
    internal = xmlid_res_id(admin, 'base', 'group_user')
    portal = xmlid_res_id(admin, 'base', 'group_portal')
    users = {'employee': admin.new_user(**{field: [(6, 0, [internal])]})}
    if portal:
        users['portal'] = admin.new_user(**{field: [(6, 0, [portal])]})
    else:
        users['portal'] = 'base.group_portal does not exist on Odoo %s' % SERIES
    for kind, user in users.items():
        if isinstance(user, dict):  # the user really is of its kind
            share = admin.call('res.users', 'read', [user['id']], fields=['share'])[0]['share']
            assert share is (kind == 'portal'), (kind, share)
    return users


@pytest.fixture(scope='module')
def victim_user(admin):
    return admin.new_user()


@pytest.fixture
def victim(admin, victim_user):
    """Another user with a fresh login; ``token_ids`` are that login's rows in the token table.

    One user serves every test (creating users is slow); each test checks only
    the tokens of its own login, so a revocation that got through in one test
    does not leak into the next.
    """
    before = admin.call('jwt_provider.token', 'search', [('user_id', '=', victim_user['id'])])
    user = dict(victim_user, tokens=login(victim_user))
    user['token_ids'] = admin.call('jwt_provider.token', 'search',
                                   [('user_id', '=', user['id']), ('id', 'not in', before)])
    assert len(user['token_ids']) >= 2
    return user


_SESSIONS = {}


def connect(attackers, kind, channel):
    """An RPC client logged in as the attacker of ``kind`` (one per kind and channel)."""
    user = attackers[kind]
    if not isinstance(user, dict):
        pytest.skip(user)
    key = (kind, channel, user['id'])
    if key not in _SESSIONS:
        _SESSIONS[key] = CHANNELS[channel](user['login'], user['password'])
    return _SESSIONS[key]


def assert_victim_untouched(admin, victim):
    me = requests.get(URL + '/api/me', headers=bearer(victim['tokens']['token']), timeout=TIMEOUT)
    assert_envelope(me, 200, True)
    rows = admin.call('jwt_provider.token', 'search_read', [('id', 'in', victim['token_ids'])],
                      fields=['revoked'])
    assert len(rows) == len(victim['token_ids']), 'the victim\'s token rows were deleted'
    revoked = [row['id'] for row in rows if row['revoked']]
    assert not revoked, '%d of the victim\'s tokens were revoked' % len(revoked)


# -- reading -------------------------------------------------------------------------

KINDS = ['employee', 'portal']


@pytest.mark.parametrize('channel', sorted(CHANNELS))
@pytest.mark.parametrize('kind', KINDS)
def test_cannot_read_the_token_table(admin, attackers, victim, kind, channel):
    rpc = connect(attackers, kind, channel)
    refused, rows = rpc.call('jwt_provider.token', 'search_read', [[('user_id', '=', victim['id'])]],
                             {'fields': ['user_id', 'token_type', 'revoked', 'issued_at']})
    assert_access_error(refused, rows, 'search_read')
    refused, rows = rpc.call('jwt_provider.token', 'read', [victim['token_ids']],
                             {'fields': ['user_id', 'token_type', 'revoked']})
    assert_access_error(refused, rows, 'read')
    refused, count = rpc.call('jwt_provider.token', 'search_count', [[('user_id', '=', victim['id'])]])
    assert_access_error(refused, count, 'search_count')
    assert_victim_untouched(admin, victim)


def assert_access_error(refused, result, what):
    """Refused by Odoo's access rights: an AccessError, not any other error
    (a typo, a missing method) nor an empty answer."""
    assert refused, '%s returned %r' % (what, result)
    assert refused.startswith('AccessError: '), '%s failed, but not for access: %s' % (what, refused)


@pytest.mark.parametrize('channel', sorted(CHANNELS))
@pytest.mark.parametrize('kind', KINDS)
def test_cannot_read_another_users_tokens(admin, attackers, victim, kind, channel):
    rpc = connect(attackers, kind, channel)
    # jwt_token_ids is an administrators' field (groups=base.group_system): naming it is refused.
    refused, rows = rpc.call('res.users', 'read', [[victim['id']]], {'fields': ['jwt_token_ids']})
    assert_access_error(refused, rows, 'read')
    refused, found = rpc.call('res.users', 'search', [[('id', '=', victim['id'])]])
    assert not refused, refused
    refused, rows = rpc.call('res.users', 'search_read', [[('id', '=', victim['id'])]],
                             {'fields': ['jwt_token_ids']})
    if found:
        assert_access_error(refused, rows, 'search_read')
    else:  # a record rule hides the other users from portal users: Odoo reads nothing (11.0
        # searches first) or refuses the field (19.0 checks it first); never the field's value
        assert (refused, rows) == (None, []) or (refused or '').startswith('AccessError: '), (refused, rows)
    assert_victim_untouched(admin, victim)


# -- revoking --------------------------------------------------------------------------

REVOCATIONS = {
    'token.action_revoke': lambda v: ('jwt_provider.token', 'action_revoke', [v['token_ids']]),
    'users.action_jwt_revoke_all': lambda v: ('res.users', 'action_jwt_revoke_all', [[v['id']]]),
    'token.write': lambda v: ('jwt_provider.token', 'write', [v['token_ids'], {'revoked': True}]),
    'token.unlink': lambda v: ('jwt_provider.token', 'unlink', [v['token_ids']]),
}


@pytest.mark.parametrize('what', sorted(REVOCATIONS))
@pytest.mark.parametrize('channel', sorted(CHANNELS))
@pytest.mark.parametrize('kind', KINDS)
def test_cannot_revoke_another_users_tokens(admin, attackers, victim, kind, channel, what):
    """Issue #9: any logged-in user, portal users included, could revoke anyone's
    tokens with action_revoke / action_jwt_revoke_all (they revoke as superuser)."""
    rpc = connect(attackers, kind, channel)
    model, method, args = REVOCATIONS[what](victim)
    refused, result = rpc.call(model, method, args)
    assert refused, '%s %s as %s over %s was accepted (%r)' % (model, method, kind, channel, result)
    assert_victim_untouched(admin, victim)


def test_the_administrator_can_revoke(admin, victim):
    """Guards the tests above: the same call works for an administrator."""
    try:
        admin.call('jwt_provider.token', 'action_revoke', victim['token_ids'])
    except Exception as e:  # over XML-RPC, a button returning None cannot be marshalled
        assert 'marshal None' in str(e), str(e)[-300:]
    me = requests.get(URL + '/api/me', headers=bearer(victim['tokens']['token']), timeout=TIMEOUT)
    assert_envelope(me, 498)


# -- the avatar route ------------------------------------------------------------------

SCRIPT = b'<script>alert(document.domain)</script>'
ACTIVE_IMAGES = {
    'svg': b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">' + SCRIPT + b'</svg>',
    'svg with an XML prolog': (b'<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"'
                               b' onload="alert(1)">' + SCRIPT + b'</svg>'),
    'svg after spaces': b'\n   <svg xmlns="http://www.w3.org/2000/svg">' + SCRIPT + b'</svg>',
    'svg in capitals': b'<SVG XMLNS="http://www.w3.org/2000/svg"><SCRIPT>alert(1)</SCRIPT></SVG>',
    'html': b'<!DOCTYPE html><html><body>' + SCRIPT + b'</body></html>',
}
ACTIVE_TYPES = ('image/svg+xml', 'text/html', 'application/xhtml+xml', 'text/xml', 'application/xml',
                'text/javascript', 'application/javascript')


def store_image(admin, user_id, content):
    """Store ``content`` as the user's image, as an administrator can: through
    the image field (discovered with fields_get), or, where Odoo insists on a
    raster image (11.0/12.0 resize with Pillow), straight into the attachments
    behind every image field of the user's partner."""
    data = base64.b64encode(content).decode()
    fields = admin.call('res.users', 'fields_get', [], attributes=['type'])
    field = next((name for name in ('image_1920', 'image') if name in fields), None)
    assert field, 'no image field on res.users'
    if float(SERIES or '11.0') >= 13:  # 11.0/12.0 refuse it with an ERROR in the server log: go to the attachments
        try:
            admin.call('res.users', 'write', [user_id], {field: data})
            return 'field %s' % field
        except Exception:  # the RPC error of "not an image", whatever the admin client raises
            pass
    partner_id = admin.call('res.users', 'read', [user_id], fields=['partner_id'])[0]['partner_id'][0]
    partner_fields = admin.call('res.partner', 'fields_get', [], attributes=['type'])
    names = [n for n, f in partner_fields.items() if f['type'] == 'binary' and n.startswith('image')]
    stored = []
    for name in names:
        domain = [('res_model', '=', 'res.partner'), ('res_field', '=', name), ('res_id', '=', partner_id)]
        ids = admin.call('ir.attachment', 'search', domain)
        if ids:
            admin.call('ir.attachment', 'write', ids, {'datas': data})
        else:
            admin.call('ir.attachment', 'create', {'name': name, 'res_model': 'res.partner', 'res_field': name,
                                                   'res_id': partner_id, 'type': 'binary', 'datas': data})
        stored.append(name)
    return 'attachments of %s' % ', '.join(stored)


def assert_not_active(answer, what):
    assert answer.status_code == 200, (what, answer.status_code)  # the picture, or the placeholder
    content_type = answer.headers.get('Content-Type', '').split(';')[0].strip().lower()
    assert content_type not in ACTIVE_TYPES, '%s served as %s' % (what, content_type)
    assert answer.headers.get('X-Content-Type-Options', '').lower() == 'nosniff', \
        '%s without X-Content-Type-Options: nosniff' % what
    assert b'<script' not in answer.content.lower(), '%s served with its script' % what


@pytest.fixture(scope='module')
def avatar_user(admin):
    return admin.new_user()


@pytest.mark.parametrize('payload', sorted(ACTIVE_IMAGES))
def test_avatar_never_serves_active_content(admin, avatar_user, payload):
    """Issue #9: a stored SVG came back as image/svg+xml without nosniff or CSP,
    on Odoo's own origin: stored XSS wherever users may set their own image."""
    user = avatar_user
    how = store_image(admin, user['id'], ACTIVE_IMAGES[payload])
    answer = requests.get(URL + '/web/avatar/%d' % user['id'], timeout=TIMEOUT)
    assert_not_active(answer, '%s stored through %s' % (payload, how))


def test_avatar_placeholder_and_images_carry_nosniff(admin):
    user = admin.new_user()
    for path in ('/web/avatar/%d' % user['id'], '/web/avatar/99999999', '/web/avatar/%d' % admin.uid):
        answer = requests.get(URL + path, timeout=TIMEOUT)
        assert answer.status_code == 200, (path, answer.status_code)
        assert answer.headers.get('Content-Type', '').startswith('image/'), path
        assert_not_active(answer, path)
