"""Request parsing shared by both HTTP adapters and the models.

Pure functions of the incoming request: nothing here imports a model, so the
adapters (``adapters/``) and ``models/ir_http.py`` can both rely on it.
"""
import base64
import binascii
import contextlib
import json
import re
import threading
import unicodedata

from werkzeug.exceptions import RequestEntityTooLarge

from .exceptions import BadRequestBody, BodyTooLarge

# A token is a few hundred bytes; anything far larger is refused before parsing.
MAX_TOKEN_LENGTH = 4096
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
