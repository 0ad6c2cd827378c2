"""Signing configuration: algorithm, key material, lifetimes.

Kept apart from the token model so that another addon can plug a key store
(a vault, a KMS) by inheriting ``jwt_provider.key`` alone.
"""
import base64
import hashlib
import logging
import os
import secrets

from odoo import _, api, models
from odoo.exceptions import UserError

from .. import compat
from ..exceptions import KeyConfigError

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

# Parsed PEM keys by fingerprint: parsing an RSA key costs milliseconds and the
# verification key is needed on every request.
_PEM_CACHE = {}
# Fingerprints by (algorithm, key as stored): every token check compares one,
# so it is derived once per key, not serialised and hashed on each request.
_FINGERPRINTS = {}


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
        return 'odoo-jwt_provider'

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
    def _fingerprint(self):
        """A short fingerprint of the effective verification key: the first 16
        hex digits of a SHA-256 over the algorithm and the key (the public key
        for RS256/ES256). Stored on every token row, so a token is refused once
        another key is in effect, even if its own key comes back; the key can
        not be recovered from it."""
        algorithm = self._algorithm()
        raw = self._raw_key(algorithm)
        fingerprint = _FINGERPRINTS.get((algorithm, raw))
        if fingerprint is None:
            algorithm, _sign, verifying = self._signing_keys()  # refuses an unusable key first
            if algorithm in ASYMMETRIC:
                from cryptography.hazmat.primitives import serialization
                material = verifying.public_bytes(serialization.Encoding.DER,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)
            else:
                material = verifying.encode('utf-8')
            fingerprint = hashlib.sha256(
                b'jwt_provider.key:' + algorithm.encode('ascii') + b':' + material).hexdigest()[:16]
            _FINGERPRINTS[(algorithm, raw)] = fingerprint
        return fingerprint

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
    def _set_key(self, algorithm=None, secret=None, private_key=None):
        """Validate and store new key material; earlier tokens stop working.

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
        changed = algorithm != self._param('algorithm')
        ICP.set_param(PARAM % 'algorithm', algorithm)
        if secret is not None:
            ICP.set_param(PARAM % 'secret', secret)
            changed = True
        if private_key is not None:
            ICP.set_param(PARAM % 'private_key', private_key)
            changed = True
        if changed:
            Token = self.env['jwt_provider.token']
            Token._revoke_all('key_rotated')
            try:  # recorded now, so the next logins do not each find the key changed
                Token._sync_key(self._fingerprint())
            except KeyConfigError as e:  # an unusable ODOO_JWT_KEY overrides the stored key
                _logger.warning('The JWT key in effect is unusable: %s', e)
        return True

    @api.model
    def _rotate_secret(self):
        """Generate a new HMAC secret: every token issued so far is refused."""
        return self._set_key(secret=self._new_secret())

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
