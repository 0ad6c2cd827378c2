"""Request parsing shared by both HTTP adapters and the models.

Pure functions of the incoming request: nothing here imports a model, so the
adapters (``adapters/``) and ``models/ir_http.py`` can both rely on it.
"""
import base64
import binascii
import contextlib
import functools
import io
import json
import os
import re
import select
import socket
import threading
import time
import unicodedata
from urllib.parse import unquote_plus

from werkzeug.exceptions import RequestEntityTooLarge

from .exceptions import BadRequestBody, BodyIncomplete, BodyTimeout, BodyTooLarge

# A token is a few hundred bytes; anything far larger is refused before parsing.
MAX_TOKEN_LENGTH = 4096
API_PREFIX = '/api/'
# API bodies are a few fields; deeper JSON is refused before the parser
# recurses (a deep enough document overflows a worker thread's C stack).
MAX_JSON_DEPTH = 32
JSON_MIMETYPES = ('application/json', 'application/json-rpc')
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)


def bearer_token(headers):
    """The token of an ``Authorization: Bearer <token>`` header, or ``''``."""
    scheme, _sep, token = headers.get('Authorization', '').strip().partition(' ')
    if scheme.lower() != 'bearer':
        return ''
    token = token.strip()
    return token if token and ' ' not in token else ''


def basic_credentials(headers):
    """``(client_id, client_secret)`` of an ``Authorization: Basic`` header, each
    form-urlencoded as RFC 6749 2.3.1 says; ``None`` without one; ``ValueError``
    when it is malformed."""
    scheme, _sep, value = headers.get('Authorization', '').strip().partition(' ')
    if scheme.lower() != 'basic':
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode('utf-8')
    except (binascii.Error, ValueError):
        raise ValueError('undecodable Basic credentials')
    client_id, sep, secret = decoded.partition(':')
    if not sep:
        raise ValueError('Basic credentials without a colon')
    return unquote_plus(client_id), unquote_plus(secret)


_B64URL_SEGMENT = re.compile(r'^[A-Za-z0-9_-]*$')


def is_canonical_jws(token):
    """Whether ``token`` is three base64url segments in their only spelling:
    no padding, no standard-alphabet characters, no stray trailing bits."""
    segments = token.split('.')
    if len(segments) != 3:
        return False
    for segment in segments:
        if not _B64URL_SEGMENT.match(segment) or len(segment) % 4 == 1:
            return False
        try:
            raw = base64.urlsafe_b64decode(segment + '=' * (-len(segment) % 4))
        except (binascii.Error, ValueError):
            return False
        if base64.urlsafe_b64encode(raw).decode('ascii').rstrip('=') != segment:
            return False
    return True


@functools.lru_cache(maxsize=1024)  # the same token comes back on every request of an app
def token_db_claim(token):
    """The ``db`` claim of an unverified token, or ``None``: it only routes a
    request to its database, where the token is then verified."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        payload = token.split('.')[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + '=' * (-len(payload) % 4)))
        db = claims.get('db')
    except (IndexError, ValueError, TypeError, AttributeError, binascii.Error, RecursionError):
        return None
    return db if isinstance(db, str) and db else None


def check_body_size(httprequest, limit):
    """Refuse a body over ``limit`` bytes before anything reads it."""
    length = httprequest.content_length
    if length is not None and length > limit:
        raise BodyTooLarge('body of %d bytes' % length)
    httprequest.max_content_length = limit  # bounds a body without Content-Length


def _json_depth(text):
    if text.count('[') + text.count('{') <= MAX_JSON_DEPTH:
        return 0
    depth = deepest = 0
    for char in _JSON_STRING.sub('""', text):
        if char in '[{':
            depth += 1
            deepest = max(deepest, depth)
        elif char in ']}':
            depth -= 1
    return deepest


def _has_surrogates(value):
    if isinstance(value, str):
        try:
            value.encode('utf-8')
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_surrogates(k) or _has_surrogates(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogates(v) for v in value)
    return False


def is_json(httprequest):
    return httprequest.mimetype in JSON_MIMETYPES


def body_arguments(body):
    """``body``'s fields without those Odoo's dispatch reserves: ``self`` (the
    controller's own argument), ``session_id``, and a ``csrf_token`` that is not
    a string (Odoo's CSRF check reads it as one, as a form field always is)."""
    body.pop('self', None)
    body.pop('session_id', None)
    if not isinstance(body.get('csrf_token', ''), str):
        body.pop('csrf_token')
    return body


def read_json_body(httprequest, limit):
    """The request's JSON object body as a dict; ``BadRequestBody`` or
    ``BodyTooLarge`` for anything else (not UTF-8, not an object, too deep,
    lone surrogates, over ``limit`` bytes)."""
    try:
        data = httprequest.get_data()  # bounded by check_body_size
    except RequestEntityTooLarge:
        data = None
    if data is None or len(data) > limit:
        raise BodyTooLarge('body over %d bytes' % limit)
    try:
        text = data.decode(httprequest.mimetype_params.get('charset') or 'utf-8')
    except (UnicodeDecodeError, LookupError):
        raise BadRequestBody('undecodable body')
    if not text.strip():
        return {}
    if _json_depth(text) > MAX_JSON_DEPTH:
        raise BadRequestBody('JSON nested deeper than %d' % MAX_JSON_DEPTH)
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        raise BadRequestBody('not JSON')
    if not isinstance(body, dict):
        raise BadRequestBody('JSON %s instead of an object' % type(body).__name__)
    if _has_surrogates(body):
        raise BadRequestBody('lone surrogates')
    return body


def check_jsonrpc_params(body):
    """A JSON-RPC request's ``params``, when present, must be an object: Odoo
    spreads it into the route's arguments."""
    if 'params' in body and not isinstance(body['params'], dict):
        raise BadRequestBody('JSON-RPC params of type %s' % type(body['params']).__name__,
                             message='Invalid JSON-RPC request: params must be an object')


def fold_login(login):
    """The form two logins are compared in: Unicode case folding (``É`` and
    ``é``, the Kelvin sign and ``k`` are one login), surrounding spaces dropped."""
    return unicodedata.normalize('NFKC', login).casefold().strip() if isinstance(login, str) else ''


# API requests in flight per process. Each may hold two database connections
# (its cursor, and a short one for the login counters), and Odoo's pool
# refuses a connection outright once full: a burst of API calls on a threaded
# server waits here for a slot instead of failing with a 500.
_API_SLOTS = []
API_SLOT_TIMEOUT = 60


def _api_slots():
    if not _API_SLOTS:
        from odoo.tools import config
        _API_SLOTS.append(threading.BoundedSemaphore(max(2, int(config['db_maxconn']) // 3)))
    return _API_SLOTS[0]


@contextlib.contextmanager
def api_slot(unavailable):
    """Hold one of the process's API slots; ``unavailable()`` returns the
    exception to raise when none frees up within ``API_SLOT_TIMEOUT``."""
    slots = _api_slots()
    if not slots.acquire(timeout=API_SLOT_TIMEOUT):
        raise unavailable()
    try:
        yield
    finally:
        slots.release()


# -- reading a body before a slot or a cursor is taken ----------------------------
# A client that sends its body slowly must hold no API slot and no database
# connection: API requests read their whole body first, within this many seconds.
BODY_READ_TIMEOUT = int(os.environ.get('ODOO_JWT_BODY_TIMEOUT') or 30)
_BODY_LIMITS = {}  # database -> the last ``max_body_size`` read there


def remember_body_limit(db, limit):
    _BODY_LIMITS[db] = limit
    return limit


def known_body_limit(db, default):
    """The body limit last read in ``db``'s settings (it needs a cursor to read)."""
    return _BODY_LIMITS.get(db, default)


def _werkzeug_request(httprequest):
    # 16.0+ wrap werkzeug's request in odoo.http.HTTPRequest, whose environ is a filtered copy.
    return getattr(httprequest, '_HTTPRequest__wrapped', httprequest)


def _client_socket(environ):
    sock = environ.get('werkzeug.socket')  # Werkzeug 2.0+'s development server
    if sock is None:  # older: wsgi.input is the connection's buffered reader
        sock = getattr(getattr(environ.get('wsgi.input'), 'raw', None), '_sock', None)
    return sock if isinstance(sock, socket.socket) else None


def prefetch_body(httprequest, limit, timeout=BODY_READ_TIMEOUT):
    """Read the body of ``httprequest`` into memory, within ``timeout`` seconds.

    Only a body whose ``Content-Length`` is at most ``limit`` is read; a larger
    or chunked one is left to the checks that run inside the request (413).
    Odoo and Werkzeug then parse the copy as they would the connection.
    ``BodyTimeout`` (408) or ``BodyIncomplete`` (400) when the client is too
    slow or hangs up.
    """
    request = _werkzeug_request(httprequest)
    environ = request.environ
    length = request.content_length
    if not length or length > limit or 'stream' in request.__dict__ \
            or 'chunked' in environ.get('HTTP_TRANSFER_ENCODING', '').lower():
        return
    stream = environ['wsgi.input']
    sock = _client_socket(environ)
    read1 = getattr(stream, 'read1', None)
    if sock is None or read1 is None:  # another server: no deadline to enforce here
        data = b''
        while len(data) < length:
            chunk = stream.read(length - len(data))
            if not chunk:
                raise BodyIncomplete('%d of %d bytes' % (len(data), length))
            data += chunk
        environ['wsgi.input'] = io.BytesIO(data)
        return
    # Without blocking: the socket then never times out, which would leave it
    # unreadable for the server's own clean-up after our 408.
    previous = sock.gettimeout()
    deadline = time.monotonic() + timeout
    chunks, received = [], 0
    try:
        sock.setblocking(False)
        while received < length:
            chunk = read1(min(length - received, 65536))  # what is buffered or has arrived
            if not chunk:
                left = deadline - time.monotonic()
                wait = left if previous is None else min(left, previous)  # prefork keeps its shorter limit
                if wait <= 0 or not select.select([sock], [], [], wait)[0]:
                    raise BodyTimeout('%d of %d bytes after %.0f s' % (received, length, timeout - left))
                chunk = read1(min(length - received, 65536))
                if not chunk:  # readable, yet nothing: the client closed
                    raise BodyIncomplete('%d of %d bytes' % (received, length))
            chunks.append(chunk)
            received += len(chunk)
    except (OSError, ValueError) as e:  # reset by the client, or a closed file
        raise BodyIncomplete('%d of %d bytes: %s' % (received, length, type(e).__name__))
    finally:
        with contextlib.suppress(OSError):  # the client is gone: nothing to restore
            sock.settimeout(previous)
    environ['wsgi.input'] = io.BytesIO(b''.join(chunks))


def check_form_encoding(httprequest, limit):
    """Refuse a URL-encoded form that is not text in its charset (400): Werkzeug
    3 reports that as 413, older ones replace the bytes, losing the field."""
    if httprequest.mimetype != 'application/x-www-form-urlencoded':
        return
    try:
        data = httprequest.get_data()  # cached: the form is parsed from this copy
    except RequestEntityTooLarge:
        raise BodyTooLarge('form over %d bytes' % limit)
    try:
        data.decode(httprequest.mimetype_params.get('charset') or 'utf-8')
    except (UnicodeDecodeError, LookupError):
        raise BadRequestBody('form not in its charset', message='Invalid form body: not UTF-8 text')
