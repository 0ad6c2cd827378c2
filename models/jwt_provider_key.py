"""Signing configuration: algorithm, key material, lifetimes, issuer, discovery.

Kept apart from the token model so that another addon can plug a key store
(a vault, a KMS) by inheriting ``jwt_provider.key`` alone. The key in effect
(``ODOO_JWT_KEY``, else the one stored in the settings) signs; the keys it
replaced verify their tokens from the key store (``jwt_provider.signing.key``)
until those expire. Each key has an id (``kid``) written in its tokens' header.
"""
import base64
import hashlib
import hmac
import json
import logging
import os
import secrets

from odoo import _, api, models
from odoo.exceptions import UserError

from .. import compat
from ..exceptions import InvalidToken, KeyConfigError

_logger = logging.getLogger(__name__)

HMAC_MIN_BYTES = {'HS256': 32, 'HS384': 48, 'HS512': 64}
ASYMMETRIC = ('RS256', 'ES256')
ALGORITHMS = tuple(HMAC_MIN_BYTES) + ASYMMETRIC

PARAM = 'jwt_provider.%s'
DEFAULTS = {
    'algorithm': 'HS256',
    'access_lifetime': 30 * 24 * 3600,      # the original's 30 days
    'refresh_lifetime': 90 * 24 * 3600,
    'leeway': 10,
    'login_max_failures': 5,                # per email and address: the short lock
    'account_max_failures': 50,             # per email from all addresses: the ceiling
    'ip_max_failures': 20,                  # per address (IPv6: per /64), sign-ups too
    'login_lockout': 300,
    'mfa_lifetime': 300,                    # a two-factor ticket
    'refresh_grace': 30,                    # a spent refresh token's retries get the same pair
    'max_body_size': 1024 * 1024,           # API request bodies, 413 beyond
    'password_min_length': 8,               # sign-up, without auth_password_policy
}
ENV_KEY = 'ODOO_JWT_KEY'
ENV_ALGORITHM = 'ODOO_JWT_ALGORITHM'
# The issuer of the tokens signed before it became a URL; accepted on tokens
# without a kid (issued before key ids) until they expire.
LEGACY_ISSUER = 'odoo-jwt_provider'
# RFC 7638: the members of a public JWK its thumbprint is computed over.
THUMBPRINT_MEMBERS = {'RSA': ('e', 'kty', 'n'), 'EC': ('crv', 'kty', 'x', 'y')}

# Parsed PEM keys by fingerprint: parsing an RSA key costs milliseconds and the
# verification key is needed on every request.
_PEM_CACHE = {}
# Key ids by (algorithm, key as stored): every token issued and checked needs
# one, so it is derived once per key, not serialised and hashed on each request.
_KIDS = {}


class JwtProviderKey(models.AbstractModel):
    _name = 'jwt_provider.key'
    _description = 'JWT signing configuration'

    # -- plain settings ----------------------------------------------------
    @api.model
    def _config_parameters(self):
        """``ir.config_parameter`` in superuser mode. A token check reads half a
        dozen settings: when this environment is the superuser's already, no
        new one is made for each (``sudo()`` looks its environment up among
        all of the transaction's, a third of the time of a token check)."""
        ICP = self.env['ir.config_parameter']
        return ICP if compat.is_superuser(self.env) else ICP.sudo()

    @api.model
    def _param(self, name):
        value = self._config_parameters().get_param(PARAM % name)
        default = DEFAULTS.get(name)
        if isinstance(default, int):
            try:
                return int(value) if value not in (False, None, '') else default
            except ValueError:
                _logger.warning('Ignoring non-numeric system parameter %s', PARAM % name)
                return default
        return value or default

    @api.model
    def _algorithm(self):
        algorithm = os.environ.get(ENV_ALGORITHM) or self._param('algorithm')
        if algorithm not in ALGORITHMS:
            raise KeyConfigError('unsupported algorithm')
        return algorithm

    @api.model
    def _audience(self):
        """Binds tokens to this database: the UUID differs even for same-named databases."""
        return self._config_parameters().get_param('database.uuid')

    @api.model
    def _issuer(self):
        """The issuer URL (``iss``, RFC 8414's ``issuer``): ``jwt_provider.issuer``, set at
        install from ``web.base.url`` (which Odoo rewrites on administrator logins, so
        it is not read live); set it to the server's public URL."""
        ICP = self._config_parameters()
        issuer = ICP.get_param('jwt_provider.issuer') or ICP.get_param('web.base.url') or 'http://localhost:8069'
        return issuer.rstrip('/')

    @api.model
    def _accepted_issuers(self, kid):
        """The issuers a token may carry: tokens without a kid predate the URL issuer."""
        return (self._issuer(),) if kid else (self._issuer(), LEGACY_ISSUER)

    # -- key material ------------------------------------------------------
    @api.model
    def _raw_key(self, algorithm=None):
        """The configured secret (HMAC) or PEM private key, environment first."""
        env_key = os.environ.get(ENV_KEY)
        if env_key is not None:
            return env_key
        name = 'private_key' if (algorithm or self._algorithm()) in ASYMMETRIC else 'secret'
        return self._param(name) or ''

    @api.model
    def _signing_keys(self):
        """``(algorithm, signing_key, verifying_key)``; raises ``KeyConfigError``.

        Fails closed: an empty or short HMAC key would make tokens forgeable.
        """
        algorithm = self._algorithm()
        raw = self._raw_key(algorithm)
        if algorithm in HMAC_MIN_BYTES:
            self._check_hmac_key(algorithm, raw)
            return algorithm, raw, raw
        private, public = self._load_pem(algorithm, raw)
        return algorithm, private, public

    @api.model
    def _source(self):
        """Where the key in effect comes from: ``'environment'`` or ``'database'``."""
        return 'environment' if os.environ.get(ENV_KEY) is not None else 'database'

    @api.model
    def _kid(self):
        """The key id of the key in effect; raises ``KeyConfigError`` for an unusable key."""
        algorithm = self._algorithm()
        raw = self._raw_key(algorithm)
        kid = _KIDS.get((algorithm, raw))
        if kid is None:
            self._signing_keys()  # refuses an unusable key first
            kid = _KIDS[(algorithm, raw)] = self._kid_of(algorithm, raw)
        return kid

    @api.model
    def _fingerprint(self):
        """The name tokens rows record their key by (``key_fp``): its kid."""
        return self._kid()

    @api.model
    def _kid_of(self, algorithm, raw):
        """RS256/ES256: the RFC 7638 thumbprint of the public key. HMAC: an HMAC of a
        label under the secret, which tells nothing of it."""
        if algorithm in HMAC_MIN_BYTES:
            digest = hmac.new(raw.encode('utf-8'), b'jwt_provider.kid:' + algorithm.encode('ascii'),
                              hashlib.sha256).digest()[:16]
        else:
            jwk = self._public_jwk(algorithm, self._load_pem(algorithm, raw)[1])
            members = {name: jwk[name] for name in THUMBPRINT_MEMBERS[jwk['kty']]}
            digest = hashlib.sha256(json.dumps(members, sort_keys=True, separators=(',', ':'))
                                    .encode('utf-8')).digest()
        return base64.urlsafe_b64encode(digest).decode('ascii').rstrip('=')

    @api.model
    def _legacy_fingerprint(self):
        """What token rows recorded before key ids (migration only): a SHA-256 over the
        algorithm and the key in effect, its first 16 hex digits."""
        algorithm, _sign, verifying = self._signing_keys()
        if algorithm in ASYMMETRIC:
            from cryptography.hazmat.primitives import serialization
            material = verifying.public_bytes(serialization.Encoding.DER,
                                              serialization.PublicFormat.SubjectPublicKeyInfo)
        else:
            material = verifying.encode('utf-8')
        return hashlib.sha256(b'jwt_provider.key:' + algorithm.encode('ascii') + b':' + material).hexdigest()[:16]

    # -- signing and verifying ---------------------------------------------
    @api.model
    def _signing_key(self):
        """``(algorithm, signing_key, kid)`` of the key in effect, recorded in the key store;
        raises ``KeyConfigError``."""
        Store = self.env['jwt_provider.signing.key']
        for attempt in range(2):
            algorithm, signing, _verifying = self._signing_keys()
            kid = self._kid()
            if Store._is_signing(kid, algorithm):  # the usual case: one look in the cached keyring
                return algorithm, signing, kid
            if not attempt:  # a concurrent rotation may have left this process's caches stale: read again
                compat.clear_cache(self.env)
        Store._make_signing(kid, algorithm, self._source())
        return algorithm, signing, kid

    @api.model
    def _verification_key(self, kid):
        """``(algorithm, verifying_key, kid)`` for a token whose header names ``kid`` (``None``:
        a token issued before key ids, verified by the first key of the store). Raises
        ``InvalidToken`` for a kid the store does not know or has retired: the token's own
        algorithm or key hints are never used (RFC 8725)."""
        Store = self.env['jwt_provider.signing.key']
        keyring = Store._keyring()
        if kid is None:
            kid = next((name for name, entry in keyring.items() if entry[2]), None)
        if not isinstance(kid, str) or not kid or len(kid) > 64:
            raise InvalidToken('unknown kid')
        entry = keyring.get(kid) or Store._fresh_entry(kid)
        if entry is None:
            raise InvalidToken('unknown kid')
        algorithm, _state, _legacy, material, _source = entry
        if material is None:  # the environment's key: verifies while it is the one in effect
            if self._source() != 'environment' or kid != self._kid():
                raise InvalidToken('key no longer in effect')
            signing_algorithm, _sign, verifying = self._signing_keys()
            return signing_algorithm, verifying, kid
        if algorithm in HMAC_MIN_BYTES:
            return algorithm, material, kid
        return algorithm, self._load_pem(algorithm, material)[1], kid

    # -- discovery ---------------------------------------------------------
    @api.model
    def _public_jwk(self, algorithm, public_key):
        """The public JWK (RFC 7517) of an RS256/ES256 public key, without kid.

        EC coordinates are written at the curve's full length (RFC 7518
        6.2.1.2): PyJWT's ``to_jwk`` drops their leading zero bytes, one key in
        128, and strict clients (PyJWT's own ``PyJWK`` among them) refuse such a key."""
        from jwt.algorithms import RSAAlgorithm
        if algorithm == 'RS256':
            return RSAAlgorithm.to_jwk(public_key, as_dict=True)
        numbers = public_key.public_numbers()
        size = (public_key.curve.key_size + 7) // 8

        def coordinate(value):
            return base64.urlsafe_b64encode(value.to_bytes(size, 'big')).rstrip(b'=').decode('ascii')
        curve = {'secp256r1': 'P-256', 'secp384r1': 'P-384', 'secp521r1': 'P-521'}[public_key.curve.name]
        return {'kty': 'EC', 'crv': curve, 'x': coordinate(numbers.x), 'y': coordinate(numbers.y)}

    @api.model
    def _jwks(self):
        """The JWK Set of the signing and verify-only RS256/ES256 keys (never an HMAC secret)."""
        keys = []
        for kid, (algorithm, _state, _legacy, _material, _source) in sorted(
                self.env['jwt_provider.signing.key']._keyring().items()):
            if algorithm not in ASYMMETRIC:
                continue
            try:
                _algorithm, public, _kid = self._verification_key(kid)
            except (InvalidToken, KeyConfigError):
                continue
            keys.append(dict(self._public_jwk(algorithm, public), kid=kid, alg=algorithm, use='sig'))
        return {'keys': keys}

    @api.model
    def _scopes_supported(self):
        """The scopes tokens may be asked for (RFC 8414 ``scopes_supported``):
        those the routes require, see ``jwt_provider.token._scopes_supported``."""
        return self.env['jwt_provider.token']._scopes_supported()

    @api.model
    def _oauth_metadata(self):
        """Authorization server metadata (RFC 8414)."""
        issuer = self._issuer()
        algorithms = sorted({entry[0] for entry in self.env['jwt_provider.signing.key']._keyring().values()})
        return {
            'issuer': issuer,
            'jwks_uri': issuer + '/.well-known/jwks.json',
            'token_endpoint': issuer + '/api/oauth/token',
            'revocation_endpoint': issuer + '/api/oauth/revoke',
            'introspection_endpoint': issuer + '/api/oauth/introspect',
            'grant_types_supported': ['refresh_token'],
            'response_types_supported': [],
            'scopes_supported': self._scopes_supported(),
            'access_token_signing_alg_values_supported': algorithms,
        }

    @api.model
    def _check_hmac_key(self, algorithm, key):
        if len((key or '').encode('utf-8')) < HMAC_MIN_BYTES[algorithm]:
            raise KeyConfigError(
                'the %s key must be at least %d bytes' % (algorithm, HMAC_MIN_BYTES[algorithm]))

    @api.model
    def _load_pem(self, algorithm, pem):
        fingerprint = hashlib.sha256((algorithm + (pem or '')).encode('utf-8')).hexdigest()
        keys = _PEM_CACHE.get(fingerprint)
        if keys is None:
            from cryptography.hazmat.primitives import serialization
            from cryptography.hazmat.primitives.asymmetric import ec, rsa
            try:
                private = serialization.load_pem_private_key(pem.encode('utf-8'), password=None)
            except Exception:
                raise KeyConfigError('the private key is not a readable unencrypted PEM key')
            expected = rsa.RSAPrivateKey if algorithm == 'RS256' else ec.EllipticCurvePrivateKey
            if not isinstance(private, expected):
                raise KeyConfigError('the private key does not match %s' % algorithm)
            if algorithm == 'RS256' and private.key_size < 2048:
                raise KeyConfigError('RS256 keys must have at least 2048 bits')
            if algorithm == 'ES256' and private.curve.name != 'secp256r1':
                raise KeyConfigError('ES256 needs a P-256 key')
            keys = _PEM_CACHE[fingerprint] = (private, private.public_key())
        return keys

    # -- administration ----------------------------------------------------
    @api.model
    def _ensure_secret(self):
        """Give a new database a strong random HMAC secret, so it works out of the box."""
        ICP = self.env['ir.config_parameter'].sudo()
        if not ICP.get_param(PARAM % 'secret'):
            ICP.set_param(PARAM % 'secret', self._new_secret())

    @api.model
    def _new_secret(self):
        # 64 random bytes suit every HMAC size, HS512 included.
        return base64.urlsafe_b64encode(secrets.token_bytes(64)).decode('ascii').rstrip('=')

    @api.model
    def _new_private_key(self, algorithm):
        """A new PEM private key for RS256 (RSA 2048) or ES256 (P-256)."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec, rsa
        if algorithm == 'RS256':
            private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            private = ec.generate_private_key(ec.SECP256R1())
        return private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()).decode('ascii')

    @api.model
    def _set_key(self, algorithm=None, secret=None, private_key=None):
        """Validate and store new key material: a rotation. The new key signs from now
        on; the previous one keeps verifying the tokens it signed until they expire
        (``jwt_provider.signing.key``); nobody is signed out.

        Validation happens before anything is written, so a refused key leaves
        the old configuration in place.
        """
        if not self.env.user._is_system():
            raise UserError(_('Only administrators can change the JWT key.'))
        algorithm = algorithm or self._param('algorithm')
        if algorithm not in ALGORITHMS:
            raise UserError(_('Unsupported algorithm %s.') % algorithm)
        ICP = self.env['ir.config_parameter'].sudo()
        try:
            if secret is not None:
                if algorithm in HMAC_MIN_BYTES:
                    self._check_hmac_key(algorithm, secret)
            if private_key is not None:
                self._load_pem(algorithm, private_key)
            elif algorithm in ASYMMETRIC and not self._param('private_key'):
                raise KeyConfigError('%s needs a PEM private key' % algorithm)
            if secret is None and algorithm in HMAC_MIN_BYTES:
                self._check_hmac_key(algorithm, self._param('secret') or '')
        except KeyConfigError as e:
            raise UserError(_('The JWT key was refused: %s.') % e)
        try:  # the key signing until now is in the store, to keep verifying its tokens
            self._signing_key()
        except KeyConfigError as e:  # an unusable key signed nothing
            _logger.info('The JWT key replaced was unusable: %s', e)
        ICP.set_param(PARAM % 'algorithm', algorithm)
        if secret is not None:
            ICP.set_param(PARAM % 'secret', secret)
        if private_key is not None:
            ICP.set_param(PARAM % 'private_key', private_key)
        try:  # recorded now, so the next logins do not each find the key changed
            self._signing_key()
        except KeyConfigError as e:  # an unusable ODOO_JWT_KEY overrides the stored key
            _logger.warning('The JWT key in effect is unusable: %s', e)
        return True

    @api.model
    def _rotate(self, algorithm=None):
        """*Rotate key*: a new random key of ``algorithm`` (the configured one by default) signs
        from now on; the tokens of the previous one keep working until they expire."""
        if os.environ.get(ENV_KEY) is not None:
            raise UserError(_('The signing key comes from ODOO_JWT_KEY in the server environment:'
                              ' rotate it there.'))
        algorithm = algorithm or self._param('algorithm')
        if algorithm in ASYMMETRIC:
            return self._set_key(algorithm=algorithm, private_key=self._new_private_key(algorithm))
        return self._set_key(algorithm=algorithm, secret=self._new_secret())

    @api.model
    def _rotate_secret(self):
        """A new random key of the configured algorithm (kept name: ``_rotate``)."""
        return self._rotate()

    @api.model
    def _public_key_pem(self):
        """The verification key to publish for RS256/ES256 (``False`` for HMAC)."""
        try:
            algorithm, _private, public = self._signing_keys()
        except KeyConfigError:
            return False
        if algorithm not in ASYMMETRIC:
            return False
        from cryptography.hazmat.primitives import serialization
        return public.public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo).decode('ascii')
