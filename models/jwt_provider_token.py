"""Issued tokens: signing, verification, refresh rotation and revocation.

Only a SHA-256 digest of each token's random ``jti`` is stored, so the table
holds nothing that can be replayed. Verification is a signature and claims
check plus one indexed query; it never hashes a password or opens a session.
"""
import datetime
import hashlib
import logging
import secrets

import jwt
import jwt.api_jwt

from odoo import api, fields, models

from .. import compat
from .tolerant_sql import execute_or_skip

_logger = logging.getLogger(__name__)

# A token is a few hundred bytes; anything far larger is refused before parsing.
MAX_TOKEN_LENGTH = 4096
# How stale ``last_used`` may get before a request refreshes it: keeps the hot
# path free of writes.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)
REQUIRED_CLAIMS = ('exp', 'iat', 'sub', 'jti', 'iss', 'aud', 'typ')


class InvalidToken(Exception):
    """The token is missing, malformed, forged, expired or revoked.

    The reason is for the server log only: clients always get the same 498.
    """


def _digest(jti):
    return hashlib.sha256(jti.encode('utf-8')).hexdigest()


def _utcnow():
    return datetime.datetime.utcnow().replace(microsecond=0)


class JwtProviderToken(models.Model):
    _name = 'jwt_provider.token'
    _description = 'Issued JSON Web Token'
    _order = 'issued_at desc, id desc'
    _rec_name = 'token_type'

    user_id = fields.Many2one('res.users', required=True, ondelete='cascade', index=True, readonly=True)
    jti_hash = fields.Char(required=True, readonly=True, groups='base.group_system')
    token_type = fields.Selection([('access', 'Access'), ('refresh', 'Refresh')], required=True, readonly=True)
    family = fields.Char(index=True, readonly=True, groups='base.group_system',
                         help='Shared by the tokens of one login and its refreshes.')
    issued_at = fields.Datetime(required=True, readonly=True)
    expires_at = fields.Datetime(required=True, readonly=True)
    last_used = fields.Datetime(readonly=True)
    revoked = fields.Boolean(default=False, readonly=True)
    revoked_reason = fields.Selection([
        ('logout', 'Logout'),
        ('spent', 'Refreshed'),
        ('reuse', 'Refresh token reused'),
        ('password', 'Password changed'),
        ('archived', 'User archived'),
        ('key_rotated', 'Signing key changed'),
        ('admin', 'Revoked by an administrator'),
    ], readonly=True)

    _sql_constraints = [('jti_hash_unique', 'unique(jti_hash)', 'Token identifiers are unique.')]

    # -- issuing -----------------------------------------------------------
    @api.model
    def _issue_pair(self, user, family=None):
        """A new access token and refresh token for ``user``, as the API returns them."""
        family = family or secrets.token_urlsafe(16)
        return {
            'token': self._issue(user, 'access', family),
            'refresh_token': self._issue(user, 'refresh', family),
            'expires_in': self.env['jwt_provider.key']._param('access_lifetime'),
        }

    @api.model
    def _issue(self, user, token_type, family=None):
        """One signed token of ``token_type`` ('access' or 'refresh') for ``user``."""
        Key = self.env['jwt_provider.key']
        lifetime = Key._param('%s_lifetime' % token_type)
        family = family or secrets.token_urlsafe(16)
        algorithm, signing_key, _verify = Key._signing_keys()
        jti = secrets.token_urlsafe(24)
        now = _utcnow()
        expires = now + datetime.timedelta(seconds=lifetime)
        claims = {
            'iss': Key._issuer(),
            'aud': Key._audience(),
            'sub': str(user.id),
            'lgn': user.login,
            'db': self.env.cr.dbname,  # routes bearer requests, see http_hooks.py
            'typ': token_type,
            'iat': now,
            'exp': expires,
            'jti': jti,
        }
        token = jwt.encode(claims, signing_key, algorithm=algorithm)
        self.sudo().create({
            'user_id': user.id,
            'jti_hash': _digest(jti),
            'token_type': token_type,
            'family': family,
            'issued_at': compat.datetime_value(now),
            'expires_at': compat.datetime_value(expires),
        })
        return token if isinstance(token, str) else token.decode('ascii')

    # -- verifying ---------------------------------------------------------
    @api.model
    def _decode(self, token, token_type):
        """Verified claims of ``token``; raises ``InvalidToken`` (or ``KeyConfigError``).

        RFC 8725: the algorithm is the configured one, never the header's; the
        header's key hints are ignored and ``crit`` is refused; every claim we
        rely on is required, and the lifetime cannot exceed the configured one.
        """
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            raise InvalidToken('missing or oversized')
        Key = self.env['jwt_provider.key']
        algorithm, _sign, verifying_key = Key._signing_keys()
        leeway = Key._param('leeway')
        try:
            decoded = jwt.api_jwt.decode_complete(
                token, verifying_key, algorithms=[algorithm],
                audience=Key._audience(), issuer=Key._issuer(), leeway=leeway,
                options={'require': list(REQUIRED_CLAIMS)})
        except Exception as e:  # PyJWT errors, but also RecursionError, TypeError...
            raise InvalidToken(type(e).__name__)
        if 'crit' in decoded['header']:  # no extension is understood, so none may be critical
            raise InvalidToken('crit header')
        claims = decoded['payload']
        lifetime = Key._param('%s_lifetime' % token_type)
        now = _utcnow().replace(tzinfo=datetime.timezone.utc).timestamp()
        if not (claims.get('iss') == Key._issuer()
                and claims.get('typ') == token_type
                and isinstance(claims.get('sub'), str) and claims['sub'].isdigit()
                and isinstance(claims.get('jti'), str) and len(claims['jti']) <= 64
                and isinstance(claims.get('iat'), int) and claims['iat'] <= now + leeway
                and isinstance(claims.get('exp'), int)
                and claims['exp'] - claims['iat'] <= lifetime + leeway):
            raise InvalidToken('claims')
        return claims

    @api.model
    def _lookup(self, token):
        """``(token_id, user_id, last_used)`` of a valid access token; raises ``InvalidToken``.

        One indexed query checks revocation and that the user is still active.
        """
        claims = self._decode(token, 'access')
        compat.flush(self.env)
        cr = self.env.cr
        cr.execute("""
            SELECT t.id, t.user_id, t.last_used
              FROM jwt_provider_token t JOIN res_users u ON u.id = t.user_id
             WHERE t.jti_hash = %s AND t.token_type = 'access' AND t.revoked IS NOT TRUE AND u.active
        """, [_digest(claims['jti'])])
        row = cr.fetchone()
        if not row or str(row[1]) != claims['sub']:
            raise InvalidToken('unknown, revoked or inactive')
        return row

    @api.model
    def _authenticate(self, token):
        """The user id an access token stands for; raises ``InvalidToken``."""
        token_id, uid, last_used = self._lookup(token)
        self._touch(token_id, last_used)
        return uid

    @api.model
    def _touch(self, token_id, last_used):
        """Record use, at most once a minute per token (keeps requests write-free).

        A concurrent request holding the row simply skips it.
        """
        now = _utcnow()
        if last_used and compat.to_datetime(last_used) >= now - LAST_USED_RESOLUTION:
            return
        execute_or_skip(self.env.cr, """
            UPDATE jwt_provider_token SET last_used = %s
             WHERE id IN (SELECT id FROM jwt_provider_token WHERE id = %s FOR UPDATE SKIP LOCKED)
        """, [now, token_id])

    # -- refresh and revocation -------------------------------------------
    @api.model
    def _refresh(self, refresh_token):
        """Spend ``refresh_token`` for a new pair (rotation with reuse detection).

        Presenting a refresh token that was already spent revokes its whole
        family: either the client or an attacker holds a stolen copy.
        """
        claims = self._decode(refresh_token, 'refresh')
        compat.flush(self.env)
        cr = self.env.cr
        cr.execute("""
            SELECT t.id, t.user_id, t.revoked, t.revoked_reason, t.family
              FROM jwt_provider_token t JOIN res_users u ON u.id = t.user_id
             WHERE t.jti_hash = %s AND t.token_type = 'refresh' AND u.active
        """, [_digest(claims['jti'])])
        row = cr.fetchone()
        if not row or str(row[1]) != claims['sub']:
            raise InvalidToken('unknown refresh token')
        token_id, uid, revoked, reason, family = row
        # A concurrent refresh with the same token makes this update skip: only
        # one of them gets a new pair.
        spent = not revoked and bool(execute_or_skip(cr, """
            UPDATE jwt_provider_token SET revoked = true, revoked_reason = 'spent'
             WHERE id = %s AND revoked IS NOT TRUE RETURNING id
        """, [token_id]))
        if not spent:
            if revoked and reason == 'spent':
                _logger.warning('Refresh token reuse for user %s: revoking its token family', uid)
                self._revoke_domain([('family', '=', family)], 'reuse')
            raise InvalidToken('refresh token already used or revoked')
        user = self.env['res.users'].sudo().browse(uid)
        return user, self._issue_pair(user, family=family)

    @api.model
    def _logout(self, token, everywhere=False):
        """Revoke the login ``token`` belongs to (access and refresh), or all of its user's."""
        claims = self._decode(token, 'access')
        token_row = self.sudo().search([('jti_hash', '=', _digest(claims['jti']))], limit=1)
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
        tokens.write({'revoked': True, 'revoked_reason': reason})
        return len(tokens)

    @api.model
    def _revoke_users(self, users, reason):
        return self._revoke_domain([('user_id', 'in', users.ids)], reason)

    @api.model
    def _revoke_all(self, reason):
        compat.flush(self.env)
        self.env.cr.execute(
            "UPDATE jwt_provider_token SET revoked = true, revoked_reason = %s WHERE revoked IS NOT TRUE",
            [reason])
        self.invalidate_cache()

    def action_revoke(self):
        """Button on the user form (administrators only, see the view)."""
        self._revoke_domain([('id', 'in', self.ids)], 'admin')

    @api.model
    def _gc_expired(self):
        """Cron: rows of expired tokens are useless, the signature check refuses them."""
        now = compat.datetime_value(_utcnow())
        self.sudo().search([('expires_at', '<', now)]).unlink()
