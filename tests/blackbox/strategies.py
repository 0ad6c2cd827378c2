"""Hypothesis strategies for hostile requests to the API, and the raw client that sends them.

A strategy draws a short, printable *description* of a request (``Spec``);
``build`` turns it into bytes with values known only at run time (``Live``
placeholders: the fuzz user's password, a valid token, ...). Huge and deeply
nested bodies are described by their size, so they never pass through
Hypothesis's buffer and a failing example prints on one line.

``send`` is a raw HTTP/1.1 client on a fresh socket: no header validation, no
re-quoting of the path, and it keeps reading when the server answers before
the whole body is sent (a 413 for an oversized body).

Used by tests/blackbox/test_fuzz.py and dev/fuzz.py.
"""
import base64
import collections
import http.client
import json
import os
import select
import socket
import tempfile
import urllib.parse

# Hypothesis caches Unicode tables under ./.hypothesis by default: keep the
# work tree clean (examples are not saved: the tests run with database=None).
os.environ.setdefault('HYPOTHESIS_STORAGE_DIRECTORY', os.path.join(tempfile.gettempdir(), 'jwt_provider-hypothesis'))

from hypothesis import strategies as st  # noqa: E402

MIB = 1024 * 1024
METHODS = ('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD')
API_PATHS = ('/api/login', '/api/register', '/api/me', '/api/logout', '/api/refresh', '/api/ping')
EXAMPLE_PATHS = ('/example/jwt/whoami', '/example/helpers/whoami')
# Routes added since issue #9 (two-factor login, the OpenAPI document and its
# viewer): fuzzed too; on a server without them they are unrouted /api/ paths.
LATER_API_PATHS = ('/api/login/totp', '/api/openapi.json', '/api/docs')
# Routes that authenticate with the bearer token.
AUTH_PATHS = ('/api/me', '/api/logout') + EXAMPLE_PATHS
B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'


# -- run-time values ------------------------------------------------------------

class Live(object):
    """A placeholder for a value known only at run time (see ``Context``)."""
    __slots__ = ('name',)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return '<%s>' % self.name

    def __eq__(self, other):
        return isinstance(other, Live) and other.name == self.name

    def __hash__(self):
        return hash(('Live', self.name))


class Repeat(object):
    """``text * count``, printed as such (a 5,000-character password, ...)."""
    __slots__ = ('text', 'count')

    def __init__(self, text, count):
        self.text, self.count = text, count

    def __repr__(self):
        return '%r*%d' % (self.text, self.count)

    def __eq__(self, other):
        return isinstance(other, Repeat) and (other.text, other.count) == (self.text, self.count)

    def __hash__(self):
        return hash(('Repeat', self.text, self.count))


def plain(value):
    """A ``Repeat`` as the string it stands for; anything else as is."""
    return value.text * value.count if isinstance(value, Repeat) else value


class Context(object):
    """What ``Live`` placeholders stand for: ``email``, ``password``, ``token``,
    ``refresh_token`` (the fuzz user's), ``query_email``/``query_password`` (a
    user whose credentials are sent in URLs, so they may be logged), ``db``.

    Secrets (password and tokens) go only to the addon's own routes (``/api/``,
    ``/example/``): elsewhere Odoo itself may log a body it cannot parse, which
    would say nothing about the addon. Other routes get a decoy.
    """
    SECRET = ('password', 'token', 'refresh_token')

    def __init__(self, **values):
        self.values = values

    def __getattr__(self, name):
        try:
            return self.__dict__['values'][name]
        except KeyError:
            raise AttributeError(name)

    def resolve(self, value, addon_route=True):
        """``value`` with every ``Live``/``Repeat`` inside replaced (JSON-like trees)."""
        if isinstance(value, Live):
            if value.name in self.SECRET and not addon_route:
                return 'decoy-' + value.name
            return self.values[value.name]
        if isinstance(value, Repeat):
            return value.text * value.count
        if isinstance(value, dict):
            return {self.resolve(k, addon_route): self.resolve(v, addon_route) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.resolve(v, addon_route) for v in value]
        return value


# -- token spellings --------------------------------------------------------------

def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b'=').decode('ascii')


def respell(token, how, segments=(0, 1, 2)):
    """The same token bytes spelled another way, in the chosen segments.

    ``std``: the standard alphabet (``+`` and ``/`` for ``-`` and ``_``);
    ``pad``: ``=`` padding; ``bits``: other values in the unused low bits of
    the last character; ``junk``: four characters outside the alphabet, which
    a lenient base64 decoder skips. Returns ``token`` itself when the chosen
    segments offer nothing to change.
    """
    parts = token.split('.')
    for i in segments:
        if i >= len(parts) or not parts[i]:
            continue
        seg = parts[i]
        if how == 'std':
            seg = seg.replace('-', '+').replace('_', '/')
        elif how == 'pad':
            seg += '=' * (-len(seg) % 4)
        elif how == 'bits':
            if len(seg) % 4 in (2, 3) and seg[-1] in B64URL:
                seg = seg[:-1] + B64URL[B64URL.index(seg[-1]) ^ 1]
        elif how == 'junk':
            seg = seg[:1] + '!!!!' + seg[1:]
        else:
            raise ValueError(how)
        parts[i] = seg
    return '.'.join(parts)


TAMPER_OPS = ('flip', 'truncate', 'append', 'insert', 'drop_segment', 'swap_segments', 'alg_none',
              'other_signature', 'double', 'lowercase', 'json_header', 'json_payload')


def tamper(token, other, op, segment, position, char, value=None):
    """``token`` altered by ``op`` (one of ``TAMPER_OPS``) in ``segment``.

    ``other`` is another valid token (its signature is grafted by
    ``other_signature``); ``value`` is a JSON value for ``json_header`` and
    ``json_payload``. The result may equal ``token`` (a flip to the same
    character): the caller compares.
    """
    parts = token.split('.')
    segment %= len(parts)
    seg = parts[segment]
    pos = position % (len(seg) + 1)
    if op == 'flip' and seg:
        pos %= len(seg)
        shift = 1 + ord(char[:1] or 'a') % 63  # 1..63: always another character
        index = B64URL.index(seg[pos]) if seg[pos] in B64URL else 0
        seg = seg[:pos] + B64URL[(index + shift) % 64] + seg[pos + 1:]
    elif op == 'truncate':
        seg = seg[:pos]
    elif op == 'append':
        seg += char
    elif op == 'insert':
        seg = seg[:pos] + char + seg[pos:]
    elif op == 'drop_segment':
        del parts[segment]
        return '.'.join(parts)
    elif op == 'swap_segments':
        parts[0], parts[1] = parts[1], parts[0]
        return '.'.join(parts)
    elif op == 'alg_none':
        header = json.dumps({'alg': char if char.lower() == 'none' else 'none', 'typ': 'JWT'})
        return '%s.%s.' % (b64url(header.encode()), parts[1] if len(parts) > 1 else '')
    elif op == 'other_signature':
        other_parts = other.split('.')
        return '.'.join(parts[:2] + other_parts[2:])
    elif op == 'double':
        return token + '.' + token
    elif op == 'lowercase':
        seg = seg.lower()
    elif op in ('json_header', 'json_payload'):
        raw = json.dumps(value, ensure_ascii=False).encode('utf-8', 'surrogatepass')
        parts[0 if op == 'json_header' else 1] = b64url(raw)
        return '.'.join(parts)
    parts[segment] = seg
    return '.'.join(parts)


# -- strategies -------------------------------------------------------------------

def _pct(text):
    return urllib.parse.quote(text.encode('utf-8', 'surrogatepass'), safe='')


SURROGATES = st.sampled_from(['\ud800', '\udfff', '\udbff', '\udc80'])
SPECIAL_STRINGS = (
    '', ' ', '\x00', 'a\x00b', 'admin', 'admin\x00', '%00', "' OR '1'='1", '\\', '"', '\r\n', '\u202e',
    '\ufeff', '\u212aelvin@example.com', '\u00c9lodie@example.com', 'a@b.co', 'A@B.CO', ' a@b.co ',
    'true', '1', '0', 'null', '[object Object]', '${jndi:x}', '{{7*7}}', '<script>',
    Repeat('x', 4097), Repeat('p', 5000), Repeat('\u00e9', 3000),
)
TEXT = st.one_of(
    st.text(max_size=24),
    st.sampled_from(SPECIAL_STRINGS),
    st.tuples(st.text(max_size=4), SURROGATES, st.text(max_size=4)).map(''.join),
)
LIVE = st.sampled_from([Live('email'), Live('password'), Live('token'), Live('refresh_token')])
API_KEYS = ('email', 'password', 'name', 'refresh_token', 'all', 'self', 'login', 'db', 'token', 'jsonrpc',
            'method', 'params', 'id', 'context', 'args', 'kwargs', 'csrf_token', 'access_token')
KEYS = st.one_of(st.sampled_from(API_KEYS), st.sampled_from(API_KEYS), st.text(max_size=8))

JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(),
    st.sampled_from([2 ** 31, 2 ** 63, -2 ** 63 - 1, 10 ** 30, 10 ** 400]),
    st.floats(), TEXT, TEXT, LIVE,
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(KEYS, children, max_size=3),
    max_leaves=8)
# Call-shaped objects: mostly the API's own field names.
API_OBJECTS = st.dictionaries(KEYS, JSON_VALUES, max_size=5)

JSON_TEXTS = st.sampled_from([
    'null', '1', '-0', '1e999', '[]', '[1]', '"x"', 'true', '{}', '', ' ', '\ufeff{}', 'NaN',
    '{"params":[1]}', '{"jsonrpc":"2.0","params":{}}', '{"method":"x"}', '{"params":null}',
    '{"jsonrpc":"2.0","method":"call","params":{"email":1}}', '{"params":{"self":1}}', '{"id":null}',
    '{"email":"\\ud800","password":"x"}', '{"password":"\\udfff\\ud800"}', '{"name":"\\udc80"}',
    '{"refresh_token":"\\ud800"}', '{"email":{"$ne":null},"password":{"$ne":null}}',
    '{"email":"a","email":"b"}', '{"__proto__":{}}', '{"a":1}garbage', '{"email":NaN}', '{"all":{}}',
])
INVALID_UTF8 = st.sampled_from([b'\xff', b'\xfe\xff', b'\xc0\x80', b'\xed\xa0\x80', b'\xf4\x90\x80\x80', b'\x80',
                                b'\xe2\x82', b'\x00'])

BODIES_COMMON = st.one_of(
    st.none(),
    st.tuples(st.just('raw'), st.binary(max_size=256)),
    st.tuples(st.just('json'), API_OBJECTS, st.booleans()),
    st.tuples(st.just('json'), JSON_VALUES, st.booleans()),
    st.tuples(st.just('jsontext'), JSON_TEXTS),
    st.tuples(st.just('form'), st.lists(st.tuples(KEYS, st.one_of(TEXT, LIVE)), max_size=4), st.booleans()),
    st.tuples(st.just('multipart'), st.lists(st.tuples(KEYS, st.one_of(TEXT, LIVE)), max_size=3),
              st.lists(st.tuples(KEYS, st.binary(max_size=64)), max_size=2), st.booleans()),
    st.tuples(st.just('badutf8'), API_OBJECTS, INVALID_UTF8, st.integers(0, 10 ** 6)),
)
DEPTHS = st.one_of(st.integers(1, 200), st.sampled_from([500, 999, 1000, 1001, 2000, 5000, 9999, 10000]))
HUGE_SIZES = st.one_of(st.integers(1000, 300000),
                       st.sampled_from([64 * 1024, MIB - 64, MIB + 1, MIB + 4096, 2 * MIB, 3 * MIB]))
BODIES_HEAVY = st.one_of(
    st.tuples(st.just('deep'), st.sampled_from(['[', '{"a":', '{"email":[', '[{"":']), DEPTHS, st.booleans()),
    st.tuples(st.just('huge'), st.sampled_from(['email', 'password', 'name', 'refresh_token', 'form', 'raw',
                                                'multipart']),
              HUGE_SIZES, st.sampled_from(['x', '\x00', '\u00e9', '{', '%'])),
)
# Heavy bodies (deep nesting, megabytes) one time in five.
BODIES = st.one_of(BODIES_COMMON, BODIES_COMMON, BODIES_COMMON, BODIES_COMMON, BODIES_HEAVY)

CONTENT_TYPES = st.one_of(
    st.sampled_from(['auto', 'auto', 'auto', None, 'application/x-www-form-urlencoded', 'multipart/form-data',
                     'multipart/form-data; boundary=XyZ', 'application/json', 'application/json; charset=utf-8',
                     'application/json; charset=latin-1', 'application/json; charset=nonexistent',
                     'application/json-rpc', 'text/plain', 'text/plain; charset=utf-8', 'text/html',
                     'application/x-www-form-urlencoded; charset=utf-16', 'application/xml', '', ';;', '*/*',
                     'application/json, text/plain']),
    st.text(alphabet=''.join(chr(c) for c in range(32, 127)), max_size=40),
)

SCHEMES = ('Bearer ', 'bearer ', 'BEARER ', 'Bearer  ')
HEADER_JUNK = st.binary(max_size=80).map(lambda b: b.replace(b'\r', b'').replace(b'\n', b''))
AUTHS = st.one_of(
    st.just(('none',)),
    st.tuples(st.just('valid'), st.sampled_from(SCHEMES)),
    st.just(('refresh',)),
    st.tuples(st.just('respelled'), st.sampled_from(['std', 'pad', 'bits', 'junk'])),
    st.tuples(st.just('tampered'), st.sampled_from(TAMPER_OPS), st.integers(0, 2), st.integers(0, 1000),
              st.sampled_from(['A', '-', '_', '+', '/', '=', '!', '.', ' ', '%', '\u00e9', 'None', 'nOnE']),
              JSON_VALUES),
    st.tuples(st.just('forged'), JSON_VALUES, JSON_VALUES, st.binary(max_size=48)),
    st.tuples(st.just('raw'), st.one_of(HEADER_JUNK, HEADER_JUNK.map(lambda b: b'Bearer ' + b),
                                        TEXT.map(lambda t: ('Bearer ' + plain(t)).encode('utf-8', 'surrogatepass')
                                                 .replace(b'\r', b'').replace(b'\n', b'')))),
    st.tuples(st.just('huge'), st.sampled_from(['A', '.', '\u00e9', '=', 'eyJ']), st.integers(1000, 30000)),
)
EXTRA_HEADERS = st.lists(st.sampled_from([
    ('Origin', 'https://evil.example'), ('Cookie', 'session_id=garbage'),
    ('Cookie', 'session_id=../../../../etc/passwd'), ('X-Openerp-Session-Id', 'garbage'),
    ('X-Forwarded-For', '1.2.3.4, ::1, garbage'), ('Accept', '*/*'), ('X-Requested-With', 'XMLHttpRequest'),
    ('Access-Control-Request-Method', 'POST'), ('Content-Encoding', 'gzip'), ('Accept-Charset', 'utf-16'),
]), max_size=2, unique=True)

PATH_SEGMENTS = st.one_of(
    st.text(max_size=10).map(_pct),
    st.sampled_from(['%00', 'me%00', '..', '%2e%2e', 'login%2F', ';x', 'me;x=1', '%ff', '%c0%ae', 'x' * 300,
                     '%2fme', 'me', 'login', '%20']),
)
PATHS = st.one_of(
    st.sampled_from(API_PATHS + EXAMPLE_PATHS),
    st.sampled_from(API_PATHS + EXAMPLE_PATHS),
    st.sampled_from(API_PATHS + EXAMPLE_PATHS + LATER_API_PATHS),
    st.one_of(st.integers(0, 10), st.integers(0, 2 ** 70)).map(lambda i: '/web/avatar/%d' % i),
    st.lists(PATH_SEGMENTS, max_size=3).map(lambda segs: '/api/' + '/'.join(segs)),
    st.sampled_from(['/api/', '/api/me/', '/api//me', '/api/me/extra', '/api/login%00', '/api%2Fme',
                     '/api/me%3Fx', '/api/%2e%2e/web/login', '/web/avatar/1?self=1', '/example/jwt/whoami/']),
)
QUERY_PIECES = st.one_of(
    st.sampled_from([('jsonp', 'x'), ('jsonp', ''), ('callback', 'x'), ('%00', None), ('%00', '%00'), ('a', '%00b'),
                     ('%ZZ', None), ('', ''), ('debug', '1'), ('debug', 'assets'), ('self', '1'), ('all', '1'),
                     ('db', 'nope'), ('email', ''), ('password', '')]),
    st.just(('email', Live('query_email'))),
    st.just(('password', Live('query_password'))),
    st.tuples(st.text(max_size=8).map(_pct), st.one_of(st.none(), st.text(max_size=16).map(_pct))),
)
QUERIES = st.lists(QUERY_PIECES, max_size=3)

Spec = collections.namedtuple('Spec', 'server method path query auth content_type body headers')


def specs(servers=('threaded', 'workers')):
    """One generated request (a ``Spec``) to one of ``servers``."""
    return st.builds(Spec, st.sampled_from(servers), st.sampled_from(METHODS), PATHS, QUERIES, AUTHS,
                     CONTENT_TYPES, BODIES, EXTRA_HEADERS)


# -- building the bytes -------------------------------------------------------------

Built = collections.namedtuple('Built', 'method target headers body path token_kind query_keys')


def decoded_path(path):
    """The path as Odoo routes it (werkzeug decodes %XX before routing)."""
    return urllib.parse.unquote(path.split('?', 1)[0], errors='replace')


def is_addon_route(path):
    decoded = decoded_path(path)
    return decoded.startswith('/api/') or decoded.startswith('/example/')


def _form(pairs, encoded):
    if encoded:
        return '&'.join('%s=%s' % (_pct(str(k)), _pct(str(v))) for k, v in pairs).encode('ascii')
    return '&'.join('%s=%s' % (k, v) for k, v in pairs).encode('utf-8', 'surrogatepass')


def _multipart(fields, files, boundary, broken):
    out = []
    for name, value in fields:
        out.append(b'--' + boundary + b'\r\nContent-Disposition: form-data; name="' +
                   str(name).encode('utf-8', 'surrogatepass') + b'"\r\n\r\n' +
                   (value if isinstance(value, bytes) else str(value).encode('utf-8', 'surrogatepass')) + b'\r\n')
    for name, content in files:
        out.append(b'--' + boundary + b'\r\nContent-Disposition: form-data; name="' +
                   str(name).encode('utf-8', 'surrogatepass') + b'"; filename="f.bin"\r\n'
                   b'Content-Type: application/octet-stream\r\n\r\n' + content + b'\r\n')
    body = b''.join(out)
    return body if broken else body + b'--' + boundary + b'--\r\n'


def _json_bytes(value, ascii_only):
    return json.dumps(value, ensure_ascii=ascii_only).encode('utf-8', 'surrogatepass')


def build_body(body, ctx, addon_route):
    """``(bytes or None, natural content type)`` of a body description."""
    if body is None:
        return None, None
    kind = body[0]
    if kind == 'raw':
        return body[1], None
    if kind == 'json':
        return _json_bytes(ctx.resolve(body[1], addon_route), body[2]), 'application/json'
    if kind == 'jsontext':
        return body[1].encode('utf-8', 'surrogatepass'), 'application/json'
    if kind == 'form':
        pairs = [(k, ctx.resolve(v, addon_route)) for k, v in body[1]]
        return _form(pairs, body[2]), 'application/x-www-form-urlencoded'
    if kind == 'multipart':
        fields = [(k, ctx.resolve(v, addon_route)) for k, v in body[1]]
        boundary = b'fuzzBoundary7MA4YWxk'
        return (_multipart(fields, body[2], boundary, body[3]),
                'multipart/form-data; boundary=' + boundary.decode())
    if kind == 'badutf8':
        raw = _json_bytes(ctx.resolve(body[1], addon_route), False)
        pos = body[3] % (len(raw) + 1)
        return raw[:pos] + body[2] + raw[pos:], 'application/json'
    if kind == 'deep':
        opener, depth, closed = body[1], body[2], body[3]
        closer = ''.join({'[': ']', '{': '}'}[c] for c in opener if c in '[{')[::-1]
        text = opener * depth + ('1' + closer * depth if closed else '')
        return text.encode(), 'application/json'
    if kind == 'huge':
        where, size, fill = body[1], body[2], body[3]
        filler = (fill * size)[:size]
        if where == 'form':
            return b'email=' + _pct(filler).encode()[:size], 'application/x-www-form-urlencoded'
        if where == 'raw':
            return filler.encode('utf-8')[:size], None
        if where == 'multipart':
            boundary = b'fuzzBoundary7MA4YWxk'
            return (_multipart([], [('file', filler.encode('utf-8'))], boundary, False),
                    'multipart/form-data; boundary=' + boundary.decode())
        return _json_bytes({where: filler}, False), 'application/json'
    raise ValueError(kind)


def build_auth(auth, ctx):
    """``(Authorization header bytes or None, kind)``; kind is ``none``, ``valid``,
    ``altered`` (a string made from the valid token that is not that token) or ``other``."""
    kind = auth[0]
    if kind == 'none':
        return None, 'none'
    if kind == 'valid':
        return (auth[1] + ctx.token).encode(), 'valid'
    if kind == 'refresh':
        return ('Bearer ' + ctx.refresh_token).encode(), 'other'
    if kind in ('respelled', 'tampered'):
        if kind == 'respelled':
            token = respell(ctx.token, auth[1])
        else:
            token = tamper(ctx.token, ctx.refresh_token, *auth[1:5], value=ctx.resolve(auth[5]))
        # Spaces around the token are not part of it (HTTP strips a field's
        # surrounding whitespace; RFC 7235 allows 1*SP after the scheme).
        same = token.strip(' \t') == ctx.token
        return ('Bearer ' + token).encode('utf-8', 'surrogatepass'), ('valid' if same else 'altered')
    if kind == 'forged':
        header, payload, signature = ctx.resolve(auth[1]), ctx.resolve(auth[2]), auth[3]
        token = '%s.%s.%s' % (b64url(_json_bytes(header, False)), b64url(_json_bytes(payload, False)),
                              b64url(signature))
        return ('Bearer ' + token).encode(), 'other'
    if kind == 'raw':
        return auth[1], 'other'
    if kind == 'huge':
        return b'Bearer ' + (auth[1] * auth[2]).encode('utf-8')[:auth[2]], 'other'
    raise ValueError(kind)


def build(spec, ctx, host):
    """The bytes of ``spec`` for ``host`` (``127.0.0.1:port``), as a ``Built``."""
    addon_route = is_addon_route(spec.path)
    query, query_keys = [], []
    for key, value in spec.query:
        query_keys.append(urllib.parse.unquote(key, errors='replace'))
        if value is None:
            query.append(key)
        elif isinstance(value, Live):
            query.append('%s=%s' % (key, _pct(str(ctx.resolve(value, addon_route)))))
        else:
            query.append('%s=%s' % (key, value))
    target = spec.path
    if query:
        target += ('&' if '?' in target else '?') + '&'.join(query)
    body, natural_type = build_body(spec.body, ctx, addon_route)
    headers = [(b'Host', host.encode()), (b'Connection', b'close')]
    content_type = natural_type if spec.content_type == 'auto' else spec.content_type
    if content_type is not None:
        headers.append((b'Content-Type', content_type.encode('latin-1')))
    authorization, token_kind = build_auth(spec.auth, ctx)
    if authorization is not None:
        headers.append((b'Authorization', authorization))
    for name, value in spec.headers:
        headers.append((name.encode(), value.encode()))
    if body is not None or spec.method in ('POST', 'PUT', 'PATCH'):
        headers.append((b'Content-Length', str(len(body or b'')).encode()))
    return Built(spec.method, target, headers, body, spec.path, token_kind, query_keys)


# -- sending ------------------------------------------------------------------------

Answer = collections.namedtuple('Answer', 'status headers body')


def _send_body(sock, body, timeout):
    """Send ``body``, stopping early if the server answers (or closes) first."""
    view, offset = memoryview(body), 0
    while offset < len(view):
        readable, writable, _ = select.select([sock], [sock], [], timeout)
        if readable:
            return
        if not writable:
            raise socket.timeout('sending the body timed out')
        try:
            offset += sock.send(view[offset:offset + 256 * 1024])
        except (BrokenPipeError, ConnectionResetError):
            return


def send(base_url, method, target, headers, body=None, timeout=60):
    """One request on a fresh connection: an ``Answer``; raises ``OSError`` or
    ``http.client.HTTPException`` when no answer comes back."""
    url = urllib.parse.urlsplit(base_url)
    sock = socket.create_connection((url.hostname, url.port), timeout=timeout)
    try:
        head = [b'%s %s HTTP/1.1' % (method.encode('ascii'), target.encode('ascii'))]
        head += [name + b': ' + value for name, value in headers]
        sock.sendall(b'\r\n'.join(head) + b'\r\n\r\n')
        if body:
            _send_body(sock, body, timeout)
        response = http.client.HTTPResponse(sock, method=method)
        try:
            response.begin()
            data = response.read()
        finally:
            response.close()
        return Answer(response.status, response.msg, data)
    finally:
        sock.close()


def send_built(base_url, built, timeout=60):
    return send(base_url, built.method, built.target, built.headers, built.body, timeout=timeout)
