"""Issued tokens: signing, verification, refresh rotation and revocation.

Only a SHA-256 digest of each token's random ``jti`` is stored, so the table
holds nothing that can be replayed. Every ``jti`` is random, refreshed tokens'
too: the signing key and an old refresh token do not tell the later tokens of
a login. The pair a refresh issued is kept for the grace window only, encrypted
with a key derived from the spent refresh token's own ``jti`` (which is not
stored): only the holder of that refresh token can read it back. Each token
names its key in its header (``kid``) and its row records it (``key_fp``):
verification picks the key by kid from the key store (``jwt_provider.signing.key``,
cached), and a retired key's rows are revoked. Verification is a signature and
claims check plus one indexed query, both kept by each worker between requests
until Odoo's cache signal moves (``token_cache``); it never hashes a password
or opens a session.
"""
import base64
import datetime
import hashlib
import json
import logging
import re
import secrets
import time

import jwt
import jwt.api_jwt
import psycopg2

from odoo import _, api, fields, models
from odoo.exceptions import AccessError

from .. import compat, token_cache
from ..exceptions import InvalidScope, InvalidToken, KeyConfigError, OAuthError
from ..tools import MAX_TOKEN_LENGTH, is_canonical_jws
from .batches import BATCH_SIZE, Budget, run_in_batches
from .tolerant_sql import execute_or_skip

_logger = logging.getLogger(__name__)

# How stale ``last_used`` may get before a request refreshes it: keeps the hot
# path free of writes.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)
# How long the rows of an ended login (revoked, none of its tokens alive) stay
# visible on the user form before the daily clean-up removes them.
REVOKED_KEPT = datetime.timedelta(days=1)
REQUIRED_CLAIMS = ('exp', 'iat', 'sub', 'jti', 'iss', 'aud', 'typ')


# RFC 6749 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), joined by single spaces.
SCOPE_TOKEN = re.compile(r'^[\x21\x23-\x5b\x5d-\x7e]+$')
MAX_SCOPE_LENGTH = 1024  # a token carries it in every request's header


def _digest(jti):
    return hashlib.sha256(jti.encode('utf-8')).hexdigest()


def _pair_cipher(jti):
    """The cipher of the pair a refresh issued, keyed by the spent refresh
    token's ``jti``: a SHA-256 of it under another label than ``_digest``,
    so the stored digest does not give the key."""
    from cryptography.fernet import Fernet
    key = hashlib.sha256(('jwt_provider.grace-pair:%s' % jti).encode('utf-8')).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def _seal_pair(jti, pair):
    return _pair_cipher(jti).encrypt(json.dumps(pair).encode('utf-8')).decode('ascii')


def _open_pair(jti, sealed):
    """The pair ``_seal_pair`` sealed, or ``None``."""
    from cryptography.fernet import InvalidToken as BadSeal
    try:
        return json.loads(_pair_cipher(jti).decrypt(sealed.encode('ascii')).decode('utf-8'))
    except (BadSeal, ValueError, AttributeError):
        return None


def _header_acceptable(header):
    """No extension is understood, so none may be critical (RFC 7515 4.1.11)."""
    return 'crit' not in header


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


# Checks of the verified claims, beyond PyJWT's (signature, exp, aud, iss and
# presence). Named, so that a refusal says which rule refused, and so that
# `make prove` can switch exactly one off (tests/addons/jwt_provider_prove).
CLAIM_RULES = (
    ('iss', lambda claims, ctx: isinstance(claims.get('iss'), str) and claims['iss'] in ctx['issuers']),
    ('typ', lambda claims, ctx: claims.get('typ') == ctx['type']),
    ('sub', lambda claims, ctx: isinstance(claims.get('sub'), str) and claims['sub'].isdigit()),
    ('jti', lambda claims, ctx: isinstance(claims.get('jti'), str) and len(claims['jti']) <= 64),
    ('iat', lambda claims, ctx: _is_int(claims.get('iat')) and claims['iat'] <= ctx['now'] + ctx['leeway']),
    ('lifetime', lambda claims, ctx: _is_int(claims.get('exp')) and _is_int(claims.get('iat'))
     and claims['exp'] - claims['iat'] <= ctx['lifetime'] + ctx['leeway']),
    ('scope', lambda claims, ctx: 'scope' not in claims or isinstance(claims['scope'], str)),
    ('client_id', lambda claims, ctx: 'client_id' not in claims or isinstance(claims['client_id'], str)),
)

# The live row of (jti digest, type, kid): the user's ``active`` as a scalar
# subquery, which PostgreSQL plans in a fraction of a join's time.
LOOKUP = """
    SELECT t.id, t.user_id, t.last_used
      FROM jwt_provider_token t
     WHERE t.jti_hash = %s AND t.token_type = %s AND t.revoked IS NOT TRUE AND t.key_fp = %s
       AND (SELECT u.active FROM res_users u WHERE u.id = t.user_id)
"""
# The same under a share lock on the token's and the user's rows, skipped when
# another transaction is changing either: what token_cache may keep.
LOOKUP_LOCKED = """
    SELECT t.id, t.user_id, t.last_used
      FROM jwt_provider_token t JOIN res_users u ON u.id = t.user_id
     WHERE t.jti_hash = %s AND t.token_type = %s AND t.revoked IS NOT TRUE AND t.key_fp = %s AND u.active
       FOR SHARE OF t, u SKIP LOCKED
"""

# The triggers of _init_signal_triggers; rows are kept only where all of them exist.
SIGNAL_TRIGGERS_SQL = """
    DROP TRIGGER IF EXISTS jwt_provider_signal ON jwt_provider_token;
    CREATE TRIGGER jwt_provider_signal AFTER UPDATE ON jwt_provider_token FOR EACH ROW
      WHEN (OLD.token_type = 'access' AND (
            OLD.revoked IS DISTINCT FROM NEW.revoked OR OLD.key_fp IS DISTINCT FROM NEW.key_fp
            OR OLD.user_id IS DISTINCT FROM NEW.user_id OR OLD.jti_hash IS DISTINCT FROM NEW.jti_hash
            OR OLD.token_type IS DISTINCT FROM NEW.token_type))
      EXECUTE PROCEDURE jwt_provider_signal();
    DROP TRIGGER IF EXISTS jwt_provider_signal_delete ON jwt_provider_token;
    CREATE TRIGGER jwt_provider_signal_delete AFTER DELETE ON jwt_provider_token FOR EACH ROW
      WHEN (OLD.revoked IS NOT TRUE AND OLD.token_type = 'access'
            AND OLD.expires_at >= (now() AT TIME ZONE 'UTC'))
      EXECUTE PROCEDURE jwt_provider_signal();
    DROP TRIGGER IF EXISTS jwt_provider_signal ON res_users;
    CREATE TRIGGER jwt_provider_signal AFTER UPDATE ON res_users FOR EACH ROW
      WHEN (OLD.active IS DISTINCT FROM NEW.active OR OLD.login IS DISTINCT FROM NEW.login
            OR OLD.partner_id IS DISTINCT FROM NEW.partner_id OR OLD.company_id IS DISTINCT FROM NEW.company_id)
      EXECUTE PROCEDURE jwt_provider_signal();
    DROP TRIGGER IF EXISTS jwt_provider_signal ON res_company;
    CREATE TRIGGER jwt_provider_signal AFTER UPDATE ON res_company FOR EACH ROW
      WHEN (OLD.name IS DISTINCT FROM NEW.name)
      EXECUTE PROCEDURE jwt_provider_signal();
    DROP TRIGGER IF EXISTS jwt_provider_signal_partner ON res_partner;
    CREATE TRIGGER jwt_provider_signal_partner AFTER UPDATE ON res_partner FOR EACH ROW
      WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.email IS DISTINCT FROM NEW.email)
      EXECUTE PROCEDURE jwt_provider_signal();
"""
SIGNAL_TRIGGERS = SIGNAL_TRIGGERS_SQL.count('CREATE TRIGGER')


def _utcnow():
    return datetime.datetime.utcnow().replace(microsecond=0)


class JwtProviderToken(models.Model):
    _name = 'jwt_provider.token'
    _description = 'Issued JSON Web Token'
    _order = 'issued_at desc, id desc'
    _rec_name = 'token_type'

    user_id = fields.Many2one('res.users', required=True, ondelete='cascade', index=True, readonly=True)
    jti_hash = fields.Char(required=True, readonly=True, groups='base.group_system')
    token_type = fields.Selection([('access', 'Access'), ('refresh', 'Refresh'), ('mfa', 'Two-factor ticket')],
                                  required=True, readonly=True)
    family = fields.Char(index=True, readonly=True, groups='base.group_system',
                         help='Shared by the tokens of one login and its refreshes.')
    issued_at = fields.Datetime(required=True, readonly=True)
    expires_at = fields.Datetime(required=True, readonly=True)
    last_used = fields.Datetime(readonly=True)
    key_fp = fields.Char(string='Key id', readonly=True, groups='base.group_system',
                         help='The kid of the key that signed the token (never the key).')
    grace_pair = fields.Text(string='Sealed retry pair', readonly=True, groups='base.group_system', copy=False,
                             help='A spent refresh token: the pair it got, encrypted with a key only its '
                                  'holder has, kept for the refresh grace window.')
    revoked = fields.Boolean(default=False, readonly=True)
    revoked_at = fields.Datetime(readonly=True)
    revoked_reason = fields.Selection([
        ('logout', 'Logout'),
        ('spent', 'Refreshed'),
        ('reuse', 'Refresh token reused'),
        ('password', 'Password changed'),
        ('archived', 'User archived'),
        ('key_rotated', 'Signing key changed'),
        ('key_retired', 'Signing key retired'),
        ('admin', 'Revoked by an administrator'),
        ('second_factor', 'Two-factor authentication changed'),
    ], readonly=True)

    def init(self):
        compat.ensure_unique_index(self, 'jti_hash')  # token identifiers are unique
        self._init_signal_triggers()
        # The clean-up finds the few spent refresh tokens that still hold a sealed pair.
        self.env.cr.execute('CREATE INDEX IF NOT EXISTS jwt_provider_token_grace_pair_idx'
                            ' ON jwt_provider_token (id) WHERE grace_pair IS NOT NULL')
        # Rows issued before fingerprints existed were signed by the key in effect now, or fail
        # their signature check anyway; jwt_provider.signing.key._ensure_keyring gives them its kid.
        try:
            fingerprint = self.env['jwt_provider.key']._legacy_fingerprint()
        except KeyConfigError:
            return
        self.env.cr.execute('UPDATE jwt_provider_token SET key_fp = %s WHERE key_fp IS NULL', [fingerprint])

    def _init_signal_triggers(self):
        """Triggers that move Odoo's cache signal (``compat.cache_signal_sql``)
        whenever a change could end an access token whose row a worker keeps
        (``token_cache``): its row revoked, re-keyed or moved, or deleted
        before it expired, its user archived or restored (refreshes, which
        spend refresh tokens only, move nothing); or change a kept profile
        (``res.users._jwt_user_fields``): a user's login, partner or company,
        the name or email of a user's partner, a company's name. They act whoever
        writes, in the writer's transaction; ``uninstall_hook`` drops them."""
        relation, statement = compat.cache_signal_sql()  # constants of compat, no input
        cr = self.env.cr
        cr.execute(  # pylint: disable=sql-injection
            """
            CREATE OR REPLACE FUNCTION jwt_provider_signal() RETURNS trigger LANGUAGE plpgsql AS $body$
            BEGIN
                IF TG_TABLE_NAME = 'res_partner' THEN  -- only a user's partner is part of a profile
                    IF NOT EXISTS (SELECT 1 FROM res_users WHERE partner_id = NEW.id) THEN
                        RETURN NULL;
                    END IF;
                END IF;
                IF to_regclass('%s') IS NOT NULL THEN
                    %s;
                END IF;
                RETURN NULL;
            END $body$
        """ % (relation, statement))
        cr.execute(SIGNAL_TRIGGERS_SQL)
        # A partner's change moves the signal only for a user's partner: looked up by
        # an index, which res_users has on partner_id from 19.0 only.
        cr.execute("""
            SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
             WHERE i.indrelid = 'res_users'::regclass AND a.attname = 'partner_id'
        """)
        if not cr.fetchone():
            cr.execute('CREATE INDEX jwt_provider_res_users_partner_id_idx ON res_users (partner_id)')

    def _register_hook(self):
        """At every server start: a key that changed while the server was down
        (``ODOO_JWT_KEY`` set, removed or replaced) revokes the tokens of the others now."""
        res = super(JwtProviderToken, self)._register_hook()
        cr = self.env.cr
        cr.execute("SELECT to_regclass('jwt_provider_token') IS NOT NULL"
                   " AND to_regclass('jwt_provider_signing_key') IS NOT NULL")
        if not cr.fetchone()[0]:
            return res
        # Rows are kept only where the triggers that move the signal exist: code
        # newer than the database (not updated yet) keeps none.
        cr.execute("SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgname LIKE %s",
                   ['jwt\\_provider\\_signal%'])
        token_cache.arm(self.env.registry, cr.fetchone()[0] == SIGNAL_TRIGGERS)
        try:
            with cr.savepoint():
                self.env['jwt_provider.key']._signing_key()
        except KeyConfigError as e:  # nothing is issued or accepted until there is a usable key
            _logger.info('Key fingerprint check skipped at start-up: %s', e)
        except psycopg2.Error as e:  # another worker starting at the same time does it
            _logger.info('Key fingerprint check skipped at start-up: %s', e.pgcode)
        return res

    # -- issuing -----------------------------------------------------------
    @api.model
    def _issue_pair(self, user, family=None, now=None, scope=None, client_id=None):
        """A new access token and refresh token for ``user``, as the API returns them
        (a refresh passes the ``family`` of the login it continues). ``scope``
        (a tuple of scope tokens, see ``_parse_scope``) and ``client_id``, when
        given, become claims of both (RFC 9068)."""
        new_login = not family
        family = family or secrets.token_urlsafe(16)
        pair = {
            'token': self._issue(user, 'access', family, now, scope=scope, client_id=client_id),
            'refresh_token': self._issue(user, 'refresh', family, now, scope=scope, client_id=client_id),
            'expires_in': self.env['jwt_provider.key']._param('access_lifetime'),
        }
        if new_login:  # a login, not a refresh: the session the user form lists
            self.env['jwt_provider.session']._open(user, family, now)
        return pair

    @api.model
    def _issue(self, user, token_type, family=None, now=None, scope=None, client_id=None):
        """One signed token of ``token_type`` ('access', 'refresh' or 'mfa') for ``user``,
        with a random ``jti`` (and ``scope``, ``client_id`` claims when given)."""
        Key = self.env['jwt_provider.key']
        lifetime = Key._param('%s_lifetime' % token_type)
        new_login = not family and token_type != 'mfa'
        family = family or secrets.token_urlsafe(16)
        algorithm, signing_key, kid = Key._signing_key()
        jti = secrets.token_urlsafe(24)
        now = now or _utcnow()
        expires = now + datetime.timedelta(seconds=lifetime)
        claims = {
            'iss': Key._issuer(),
            'aud': Key._audience(),
            'sub': str(user.id),
            'lgn': user.login,
            'db': self.env.cr.dbname,  # routes bearer requests, see adapters/
            'typ': token_type,
            'iat': now,
            'exp': expires,
            'jti': jti,
        }
        if scope is not None:
            claims['scope'] = ' '.join(scope)
        if client_id:
            claims['client_id'] = client_id
        token = jwt.encode(claims, signing_key, algorithm=algorithm, headers={'kid': kid})
        self._insert_row(user.id, _digest(jti), token_type, family, kid, now, expires)
        if new_login:  # a token issued alone (validator.create_token) is a login too
            self.env['jwt_provider.session']._open(user, family, now)
        return token if isinstance(token, str) else token.decode('ascii')

    @api.model
    def _insert_row(self, user_id, jti_hash, token_type, family, fingerprint, issued_at, expires_at):
        """The row of a token just signed, in one statement: a login writes two,
        and the ORM's ``create`` of a row cost more than signing its token."""
        self.env.cr.execute("""
            INSERT INTO jwt_provider_token (user_id, jti_hash, token_type, family, key_fp, issued_at, expires_at,
                                            revoked, create_uid, write_uid, create_date, write_date)
            VALUES (%s, %s, %s, %s, %s, %s, %s, false, %s, %s, (now() at time zone 'UTC'), (now() at time zone 'UTC'))
        """, [user_id, jti_hash, token_type, family, fingerprint, issued_at, expires_at, self.env.uid, self.env.uid])

    # -- verifying ---------------------------------------------------------
    @api.model
    def _decode(self, token, token_type):
        """Verified claims of ``token``; raises ``InvalidToken`` (or ``KeyConfigError``)."""
        return self._verify(token, token_type)[0]

    @api.model
    def _verify(self, token, token_type):
        """``(claims, kid)`` of a verified ``token``; raises ``InvalidToken`` (or ``KeyConfigError``).

        RFC 8725: the key and its algorithm come from the key store by the
        header's ``kid`` (an unknown or retired kid is refused), never the
        header's algorithm or other key hints; ``crit`` is refused; every claim
        we rely on is required, and the lifetime cannot exceed the configured one.
        """
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            raise InvalidToken('missing or oversized')
        if not is_canonical_jws(token):  # one token, one spelling
            raise InvalidToken('not canonical base64url')
        Key = self.env['jwt_provider.key']
        try:
            header = jwt.get_unverified_header(token)
        except Exception as e:
            raise InvalidToken(type(e).__name__)
        algorithm, verifying_key, kid = Key._verification_key(header.get('kid'))
        issuers = Key._accepted_issuers(header.get('kid'))
        leeway = Key._param('leeway')
        try:
            decoded = jwt.api_jwt.decode_complete(
                token, verifying_key, algorithms=[algorithm],
                audience=Key._audience(), issuer=issuers[0] if len(issuers) == 1 else None, leeway=leeway,
                options={'require': list(REQUIRED_CLAIMS)})
        except Exception as e:  # PyJWT errors, but also RecursionError, TypeError...
            raise InvalidToken(type(e).__name__)
        if not _header_acceptable(decoded['header']):
            raise InvalidToken('crit header')
        claims = decoded['payload']
        context = {
            'issuers': issuers, 'type': token_type, 'leeway': leeway,
            'lifetime': Key._param('%s_lifetime' % token_type),
            'now': _utcnow().replace(tzinfo=datetime.timezone.utc).timestamp(),
        }
        broken = [name for name, rule in CLAIM_RULES if not rule(claims, context)]
        if broken:
            raise InvalidToken('claims: %s' % ', '.join(broken))
        return claims, kid

    @api.model
    def _lookup(self, token):
        """``(token_id, user_id, last_used)`` of a valid access token; raises ``InvalidToken``."""
        return self._lookup_claims(token)[0]

    @api.model
    def _lookup_claims(self, token, token_type='access'):
        """``((token_id, user_id, last_used), claims)`` of a valid token of
        ``token_type`` (access by default); raises ``InvalidToken``.

        The row (not revoked, signed by the key the kid names, its user active)
        comes from ``token_cache`` while Odoo's cache signal has not moved since
        it was read, so most requests of a token run no query of their own;
        otherwise from one indexed query (``_lookup_row``).
        """
        registry = self.env.registry
        claims, kid = self._verify_kept(token, token_type)
        key = (_digest(claims['jti']), token_type, kid)
        row = self._lookup_row(key)
        if not row or str(row[1]) != claims['sub']:
            raise InvalidToken('unknown, revoked or inactive')
        last_used = row[2]
        if isinstance(last_used, str):  # 11.0's cursor answers datetimes as text: parsed once per kept row
            last_used = compat.to_datetime(last_used)
            token_cache.touch(registry, key, last_used)
        if self._touch_due(last_used):
            # This request records the use (``_touch``); the process's other
            # requests of the token need not, for the next minute.
            token_cache.touch(registry, key, _utcnow())
        return (row[0], row[1], last_used), claims

    @api.model
    def _verify_kept(self, token, token_type):
        """``_verify(token, token_type)``, whose outcome for an access token is
        kept (``token_cache``) until the token expires (leeway included) or
        Odoo's cache signal moves, which every change of a key, a setting or a
        row that could refuse it does; only the expiry needs checking again."""
        registry = self.env.registry
        key = ('jws', token_type, token)
        kept = token_cache.get(registry, key) if token_type == 'access' else None
        if kept is not None and time.time() <= kept[2]:
            return dict(kept[0]), kept[1]
        value = token_cache.signal(registry) if token_type == 'access' else None
        claims, kid = self._verify(token, token_type)
        if value is not None:
            until = claims['exp'] + self.env['jwt_provider.key']._param('leeway')
            token_cache.put(registry, key, value, (dict(claims), kid, until))
        return claims, kid

    @api.model
    def _lookup_row(self, key):
        """``(token_id, user_id, last_used)`` of the live row of ``key``
        (``(jti digest, token type, kid)``), or None; an access token's row
        is kept between requests (``token_cache``)."""
        if key[1] != 'access':
            compat.flush(self.env)
            self.env.cr.execute(LOOKUP, list(key))
            return self.env.cr.fetchone()
        return token_cache.read(self.env, key, LOOKUP_LOCKED, LOOKUP, list(key))

    @api.model
    def _touch_due(self, last_used):
        """Whether a use recorded at ``last_used`` is to be recorded again (once a minute)."""
        return not last_used or compat.to_datetime(last_used) < _utcnow() - LAST_USED_RESOLUTION

    @api.model
    def _touch(self, token_id, last_used):
        """Record use, at most once a minute per token (keeps requests write-free).

        A concurrent request holding the row simply skips it.
        """
        now = _utcnow()
        if not self._touch_due(last_used):
            return
        execute_or_skip(self.env.cr, """
            UPDATE jwt_provider_token SET last_used = %s
             WHERE id IN (SELECT id FROM jwt_provider_token WHERE id = %s FOR UPDATE SKIP LOCKED)
        """, [now, token_id])

    # -- refresh and revocation -------------------------------------------
    @api.model
    def _refresh(self, refresh_token, scope=None, client_id=None):
        """Spend ``refresh_token`` for a new pair (rotation with reuse detection).

        The new pair keeps the refresh token's ``scope``, or the narrower
        ``scope`` asked for (``InvalidScope`` if it is wider: RFC 6749 6), and
        its ``client_id``: a token issued to a client is refreshed by that
        client only (``InvalidToken`` otherwise); a client that refreshes a
        token issued to none binds the new pair to itself.

        A client that retries within the grace window (its answer was lost, or
        it refreshed from two tabs) gets the same new pair back: the spent row
        keeps it sealed with a key derived from the spent token's ``jti``
        (``_seal_pair``), until the window ends. Presenting a spent refresh
        token later revokes its whole family: either the client or an
        attacker holds a stolen copy.
        """
        claims, kid = self._verify(refresh_token, 'refresh')
        scope = self._narrow_scope(self._claim_scope(claims), scope)
        bound = claims.get('client_id')
        if bound and client_id != bound:
            raise InvalidToken('refresh token of another client')
        client_id = client_id or bound
        compat.flush(self.env)
        query = """
            SELECT t.id, t.user_id, t.revoked, t.revoked_reason, t.family, t.revoked_at, t.grace_pair
              FROM jwt_provider_token t JOIN res_users u ON u.id = t.user_id
             WHERE t.jti_hash = %s AND t.token_type = 'refresh' AND u.active AND t.key_fp = %s
        """
        params = [_digest(claims['jti']), kid]
        cr = self.env.cr
        cr.execute(query, params)
        row = cr.fetchone()
        if not row or str(row[1]) != claims['sub']:
            raise InvalidToken('unknown refresh token')
        token_id, uid, revoked, reason, family, spent_at, sealed = row
        user = self.env['res.users'].sudo().browse(uid)
        now = _utcnow()
        if not revoked:
            spent = execute_or_skip(cr, """
                UPDATE jwt_provider_token SET revoked = true, revoked_reason = 'spent', revoked_at = %s
                 WHERE id = %s AND revoked IS NOT TRUE RETURNING id
            """, [now, token_id])
            if spent:
                pair = self._issue_pair(user, family, now, scope=scope, client_id=client_id)
                compat.flush(self.env)
                cr.execute('UPDATE jwt_provider_token SET grace_pair = %s WHERE id = %s',
                           [_seal_pair(claims['jti'], pair), token_id])
                return user, pair
            # A concurrent refresh with the same token spent it first: read what it committed.
            with self.pool.cursor() as fresh:
                fresh.execute(query, params)
                _id, _uid, revoked, reason, family, spent_at, sealed = fresh.fetchone()
        if reason == 'spent':
            spent_at = compat.to_datetime(spent_at)
            grace = self.env['jwt_provider.key']._param('refresh_grace')
            if spent_at and now - spent_at <= datetime.timedelta(seconds=grace):
                # A retry gets the pair it lost, while its login lives: not after a logout.
                if not self._family_alive(family):
                    raise InvalidToken('refresh token of a revoked login')
                pair = _open_pair(claims['jti'], sealed) if sealed else None
                if pair is None:
                    raise InvalidToken('spent refresh token without its pair')
                return user, pair
            _logger.warning('Refresh token reuse for user %s: revoking its token family', uid)
            self._revoke_domain([('family', '=', family)], 'reuse')
            cr.execute('UPDATE jwt_provider_token SET grace_pair = NULL WHERE id = %s', [token_id])
        raise InvalidToken('refresh token already used or revoked')

    @api.model
    def _family_alive(self, family):
        """Whether a login still has a token that is not revoked."""
        self.env.cr.execute('SELECT 1 FROM jwt_provider_token WHERE family = %s AND revoked IS NOT TRUE LIMIT 1',
                            [family])
        return bool(self.env.cr.fetchone())

    # -- for registered clients: RFC 7662 introspection, RFC 7009 revocation --
    @api.model
    def _token_types_to_try(self, hint):
        """Access and refresh, the ``token_type_hint``'s first (RFC 7009 2.1:
        an unknown hint is ignored, the other types are tried too)."""
        types = ['access', 'refresh']
        if hint == 'refresh_token':
            types.reverse()
        return types

    @api.model
    def _find_valid(self, token, hint=None):
        """``(token type, row, claims)`` of ``token`` if it is a valid access or
        refresh token, else ``None``."""
        if not isinstance(token, str):
            return None
        for token_type in self._token_types_to_try(hint):
            try:
                row, claims = self._lookup_claims(token, token_type)
            except InvalidToken:
                continue
            return token_type, row, claims
        return None

    @api.model
    def _introspect(self, token, hint=None):
        """RFC 7662: what a registered resource server may know of ``token``;
        ``{"active": false}`` and nothing else for anything not valid now."""
        found = self._find_valid(token, hint)
        if not found:
            return {'active': False}
        token_type, row, claims = found
        user = self.env['res.users'].sudo().browse(row[1])
        answer = {
            'active': True,
            'token_type': 'Bearer' if token_type == 'access' else 'refresh_token',
            'sub': claims['sub'], 'username': user.login,
            'exp': claims['exp'], 'iat': claims['iat'], 'iss': claims['iss'], 'aud': claims['aud'],
        }
        for name in ('scope', 'client_id'):
            if claims.get(name):
                answer[name] = claims[name]
        return answer

    @api.model
    def _revoke_token(self, token, hint=None, client_id=None):
        """RFC 7009: revoke the login ``token`` belongs to (its access and refresh
        tokens, as a logout does). An invalid, expired or unknown token is
        ignored (the answer is the same, RFC 7009 2.2). A token issued to
        another client is not ``client_id``'s to revoke: ``OAuthError`` ``unauthorized_client``."""
        found = self._find_valid(token, hint)
        if not found:
            return False
        _token_type, row, claims = found
        if claims.get('client_id') and claims['client_id'] != client_id:
            raise OAuthError('unauthorized_client', 'The token was issued to another client')
        family = self.sudo().browse(row[0]).family
        self._revoke_domain([('id', '=', row[0])], 'logout')  # a token without a family too
        self.env['jwt_provider.session'].sudo()._revoke_families([family], 'logout')
        return True

    # -- scopes (RFC 6749 3.3) -----------------------------------------------
    @api.model
    def _parse_scope(self, value):
        """The scope a client asks for (space-separated, RFC 6749 3.3) as a sorted
        tuple of its tokens, or ``None`` when absent or empty (today's full rights);
        ``InvalidScope`` when malformed."""
        if value is None or value == '':
            return None
        if not isinstance(value, str) or len(value) > MAX_SCOPE_LENGTH:
            raise InvalidScope('scope not a string or too long')
        tokens = value.split(' ')
        if not all(SCOPE_TOKEN.match(token) for token in tokens):
            raise InvalidScope('malformed scope')
        return tuple(sorted(set(tokens)))

    @api.model
    def _claim_scope(self, claims):
        """The scope of verified ``claims`` as ``_parse_scope`` gives it (``None``: no
        ``scope`` claim, the token's user's full rights)."""
        value = claims.get('scope')
        return tuple(sorted(set(value.split()))) if isinstance(value, str) else None

    @api.model
    def _narrow_scope(self, granted, requested):
        """The scope of a refreshed pair: ``granted``, or ``requested`` when it is
        no wider (a token without scope may narrow to any); never wider."""
        if requested is None:
            return granted
        if granted is not None and not set(requested) <= set(granted):
            raise InvalidScope('scope wider than granted')
        return requested

    @api.model
    def _route_scopes(self, routing):
        """The scopes a route requires: its ``jwt_scopes`` (a list, or one
        space-separated string), as a sorted tuple."""
        declared = routing.get('jwt_scopes') or ()
        if isinstance(declared, str):
            declared = declared.split()
        return tuple(sorted(set(declared)))

    @api.model
    def _scope_allows(self, claims, required):
        """Whether verified access-token ``claims`` may call a route that requires
        the scopes ``required`` (``jwt_scopes=[...]``): all of them must be granted;
        a token without ``scope`` keeps its user's full rights."""
        granted = self._claim_scope(claims)
        return granted is None or set(required or ()) <= set(granted)

    @api.model
    def _scopes_supported(self):
        """Every scope an ``auth='jwt'`` route of this database requires
        (``jwt_scopes=[...]``), sorted: the ``scopes_supported`` of the metadata
        (RFC 8414)."""
        scopes = set()
        for routing in self.env['ir.http']._jwt_era_api_routings():
            scopes.update(self._route_scopes(routing))
        return sorted(scopes)

    # -- two-factor tickets ------------------------------------------------
    @api.model
    def _ticket_user(self, ticket):
        """The user of a valid, unused two-factor ticket; raises ``InvalidToken``."""
        claims, kid = self._verify(ticket, 'mfa')
        token = self.sudo().search([('jti_hash', '=', _digest(claims['jti'])), ('token_type', '=', 'mfa'),
                                    ('revoked', '=', False), ('key_fp', '=', kid)], limit=1)
        if not token or str(token.user_id.id) != claims['sub'] or not token.user_id.active:
            raise InvalidToken('unknown or used ticket')
        return token.user_id

    @api.model
    def _spend_ticket(self, ticket):
        """Mark a ticket used: it opens one login only."""
        claims = self._decode(ticket, 'mfa')
        if not execute_or_skip(self.env.cr, """
                UPDATE jwt_provider_token SET revoked = true, revoked_reason = 'spent', revoked_at = %s
                 WHERE jti_hash = %s AND token_type = 'mfa' AND revoked IS NOT TRUE RETURNING id
                """, [_utcnow(), _digest(claims['jti'])]):
            raise InvalidToken('ticket already used')

    @api.model
    def _logout(self, token, everywhere=False):
        """Revoke the login ``token`` belongs to (access and refresh), or all of its user's."""
        claims, kid = self._verify(token, 'access')
        token_row = self.sudo().search([('jti_hash', '=', _digest(claims['jti'])), ('key_fp', '=', kid)], limit=1)
        if not token_row:
            raise InvalidToken('unknown token')
        if everywhere:
            domain = [('user_id', '=', token_row.user_id.id)]
        else:
            domain = [('family', '=', token_row.family)]
        self._revoke_domain(domain, 'logout')

    @api.model
    def _revoke_domain(self, domain, reason):
        tokens = self.sudo().search([('revoked', '=', False)] + domain)
        if tokens:
            self._revoke_where('id IN %s', [tuple(tokens.ids)], reason)
        return len(tokens)

    @api.model
    def _revoke_users(self, users, reason):
        return self._revoke_domain([('user_id', 'in', users.ids)], reason)

    @api.model
    def _revoke_all(self, reason):
        self._revoke_where('TRUE', [], reason)

    @api.model
    def _revoke_where(self, condition, params, reason):
        """Revoke the live tokens matching the SQL ``condition``, in SQL.

        Two logouts of one login conflict on its rows and Odoo retries the
        request: the conflict is not an error worth logging, and this
        statement is where it surfaces (no ORM write to flush later).
        """
        compat.flush(self.env)
        self.env.cr.execute(
            "UPDATE jwt_provider_token SET revoked = true, revoked_reason = %s, revoked_at = %s,"
            " write_date = (now() at time zone 'UTC'), write_uid = %s"
            " WHERE revoked IS NOT TRUE AND " + condition,
            [reason, _utcnow(), self.env.uid] + params, log_exceptions=False)
        compat.invalidate(self.env)

    def action_revoke(self):
        """Button on the user form: signs the login out (its access and refresh tokens).

        Public methods are callable over RPC by anyone who can read the
        record, so the group is checked here, not only in the view.
        """
        self._jwt_check_admin()
        self._revoke_domain([('id', 'in', self.ids)], 'admin')  # tokens without a family too
        self.env['jwt_provider.session']._revoke_families(self.sudo().mapped('family'), 'admin')
        return True

    def _jwt_check_admin(self):
        if not compat.is_admin(self.env):
            raise AccessError(_('Only administrators can revoke API tokens.'))

    @api.model
    def _ensure_gc_cron_repeats(self):
        """Until 17.0 a cron runs ``numbercall`` times (1 by default): ours repeats forever."""
        cron = self.env.ref('jwt_provider.ir_cron_gc_tokens', raise_if_not_found=False)
        if cron and 'numbercall' in cron._fields and cron.numbercall != -1:
            cron.numbercall = -1
        return True

    @api.model
    def _gc_expired(self, batch_size=BATCH_SIZE, time_budget=None, commit=True):
        """Cron: removes the rows nothing needs any more, then the sessions left without tokens.

        Expired tokens are refused by the signature check. Revoked tokens go
        ``REVOKED_KEPT`` after their login ended (no token of the family alive),
        so the user form shows a revoked session for a day. The spent refresh
        tokens of a live login stay until they expire: presenting one again must
        still revoke its family (reuse detection); the pair each one sealed for
        retries is dropped once the grace window is over.

        In batches of ``batch_size`` rows, each committed (``commit``: the cron's
        cursor), skipping rows that other transactions hold; stops when
        ``time_budget`` seconds (default: two fifths of the cron's time limit) are spent
        and asks for another run. Returns what it removed and whether it finished.
        """
        budget = time_budget if isinstance(time_budget, Budget) else Budget(time_budget)
        self.env['jwt_provider.signing.key']._retire_due()  # keys whose last token has expired
        cr = self.env.cr
        now = _utcnow()
        cutoff = now - REVOKED_KEPT
        grace_end = now - datetime.timedelta(seconds=self.env['jwt_provider.key']._param('refresh_grace'))
        compat.flush(self.env)
        result = {'tokens': 0, 'ended': 0, 'pairs': 0, 'sessions': 0}
        steps = (
            ('tokens', """
                WITH doomed AS (SELECT id FROM jwt_provider_token
                                 WHERE id > %(after)s AND expires_at < %(now)s
                                 ORDER BY id LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
                DELETE FROM jwt_provider_token t USING doomed WHERE t.id = doomed.id RETURNING t.id
            """),
            ('ended', """
                WITH doomed AS (
                    SELECT t.id FROM jwt_provider_token t
                     WHERE t.id > %(after)s AND t.revoked AND t.revoked_at < %(cutoff)s
                       AND NOT EXISTS (SELECT 1 FROM jwt_provider_token o
                                        WHERE o.family = t.family AND o.id != t.id
                                          AND ((o.revoked IS NOT TRUE AND o.expires_at >= %(now)s)
                                               OR o.revoked_at >= %(cutoff)s))
                     ORDER BY t.id LIMIT %(limit)s FOR UPDATE OF t SKIP LOCKED)
                DELETE FROM jwt_provider_token t USING doomed WHERE t.id = doomed.id RETURNING t.id
            """),
            ('pairs', """
                WITH sealed AS (SELECT id FROM jwt_provider_token
                                 WHERE id > %(after)s AND grace_pair IS NOT NULL AND revoked_at < %(grace_end)s
                                 ORDER BY id LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
                UPDATE jwt_provider_token t SET grace_pair = NULL FROM sealed WHERE t.id = sealed.id RETURNING t.id
            """),
        )
        params = {'now': now, 'cutoff': cutoff, 'grace_end': grace_end}
        finished = True
        for name, query in steps:
            result[name], finished = run_in_batches(cr, query, params, batch_size, budget, commit)
            if not finished:
                break
        if finished:
            result['sessions'], finished = self.env['jwt_provider.session']._gc(batch_size, budget, commit)
        compat.invalidate(self.env)
        result['finished'] = finished
        _logger.info('Token clean-up: %s', result)
        if not finished:
            compat.cron_run_again(self.env, 'jwt_provider.ir_cron_gc_tokens')
        return result
