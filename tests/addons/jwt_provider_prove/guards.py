"""Guard-off switches: each removes exactly one guarantee of jwt_provider's security table.

``make prove`` switches one off, runs the tests that the table names for it
(which must then fail), switches it back on (they must pass again). Switches
are attribute swaps, undone at once; nothing here runs unless
``tests/test_prove.py`` calls it, and this addon is installed only in the
harness's prove database.

Test names: ``module.Class.method`` of ``jwt_provider/tests`` (in-process Odoo
tests), or ``blackbox:file.py::test`` (pytest over HTTP against this process).
"""
import collections
import sys
import threading

import jwt
import jwt.api_jwt

from odoo import SUPERUSER_ID, api

from odoo.addons.jwt_provider import answers, compat, token_cache, tools
from odoo.addons.jwt_provider.exceptions import ServiceUnavailable
from odoo.addons.jwt_provider.models import jwt_provider_login_attempt as attempt_module
from odoo.addons.jwt_provider.models import jwt_provider_token as token_module
from odoo.addons.jwt_provider.models import res_users as users_module
from odoo.addons.jwt_provider.models.ir_http import IrHttp
from odoo.addons.jwt_provider.models.jwt_provider_client import JwtProviderClient
from odoo.addons.jwt_provider.models.jwt_provider_key import JwtProviderKey
from odoo.addons.jwt_provider.models.jwt_provider_login_attempt import JwtProviderLoginAttempt
from odoo.addons.jwt_provider.models.jwt_provider_signing_key import JwtProviderSigningKey
from odoo.addons.jwt_provider.models.jwt_provider_token import JwtProviderToken
from odoo.addons.jwt_provider.models.res_config_settings import ResConfigSettings
from odoo.addons.jwt_provider.models.res_users import ResUsers

Guard = collections.namedtuple('Guard', 'name guarantee tests since until')
GUARDS = collections.OrderedDict()
SWITCHES = {}


def guard(name, guarantee, tests, since=11, until=99):
    """Register the decorated function as the switch that removes guard ``name``
    (which series ``since``..``until`` have); it applies the change and returns
    the function that undoes it."""
    def register(switch):
        GUARDS[name] = Guard(name, guarantee, tuple(tests), since, until)
        SWITCHES[name] = switch
        return switch
    return register


def swap(owner, name, value):
    """Set ``owner.name`` to ``value``; returns the undo."""
    own = name in vars(owner)
    old = vars(owner).get(name)
    setattr(owner, name, value)

    def undo():
        if own:
            setattr(owner, name, old)
        else:
            delattr(owner, name)
    return undo


def swap_everywhere(function, value):
    """Replace ``function`` in every module of the addon that imported it by name."""
    undos = [swap(module, function.__name__, value)
             for module_name, module in list(sys.modules.items())
             if module_name.startswith('odoo.addons.jwt_provider') and module is not None
             and getattr(module, function.__name__, None) is function]
    return lambda: [undo() for undo in undos]


def without_rules(*names):
    kept = tuple((name, rule) for name, rule in token_module.CLAIM_RULES if name not in names)
    return swap(token_module, 'CLAIM_RULES', kept)


def decode_with(change):
    """PyJWT's ``decode_complete`` as the token model calls it, with ``change(token, kwargs)`` applied."""
    original = jwt.api_jwt.decode_complete

    def decode_complete(token, key=None, **kwargs):
        kwargs['options'] = dict(kwargs.get('options') or {})
        change(token, kwargs)
        return original(token, key, **kwargs)
    return swap(jwt.api_jwt, 'decode_complete', decode_complete)


def skipping_reason(owner, method, reason):
    """``owner.method(..., reason)`` does nothing for ``reason``."""
    original = vars(owner)[method]

    def wrapper(self, target, why):
        return 0 if why == reason else original(self, target, why)
    return swap(owner, method, wrapper)


def both(*undos):
    return lambda: [undo() for undo in undos]


def decode_with_key(choose):
    """PyJWT's ``decode_complete`` as the token model calls it, verifying with
    ``choose(token, key, kwargs)`` instead of the configured key."""
    original = jwt.api_jwt.decode_complete

    def decode_complete(token, key=None, **kwargs):
        return original(token, choose(token, key, kwargs), **kwargs)
    return swap(jwt.api_jwt, 'decode_complete', decode_complete)


def committed(change):
    """``change(env)`` as superuser in a transaction of its own, committed at
    once (the tests that follow run in other transactions, or over HTTP). The
    ORM clears the registry's caches for what it changes (access rights)."""
    from odoo.modules.registry import Registry
    from odoo.tests.common import get_db_name
    with Registry(get_db_name()).cursor() as cr:
        return change(api.Environment(cr, SUPERUSER_ID, {}))


# -- tokens: signature and claims ------------------------------------------------
@guard('jti-hashed', 'Tokens are never stored in clear (SHA-256 of the jti)',
       ['test_token.TestToken.test_token_never_stored_in_clear'])
def _jti_in_clear():
    return swap(token_module, '_digest', lambda jti: jti)


@guard('configured-algorithm', 'Only the configured algorithm is accepted (alg none, another HMAC size)',
       ['test_token_validation.TestTokenValidation.test_alg_none_in_any_case',
        'test_token_validation.TestTokenValidation.test_other_hmac_algorithm'])
def _header_picks_the_algorithm():
    def change(token, kwargs):
        alg = jwt.get_unverified_header(token).get('alg') or ''
        kwargs['algorithms'] = [alg]
        if alg.lower() == 'none':
            kwargs['options']['verify_signature'] = False
    return decode_with(change)


@guard('signature', 'Wrong key and tampered payload fail',
       ['test_token_validation.TestTokenValidation.test_wrong_key',
        'test_token_validation.TestTokenValidation.test_tampered_payload'])
def _no_signature_check():
    return decode_with(lambda token, kwargs: kwargs['options'].update(verify_signature=False))


@guard('required-claims', 'exp, iat, sub, jti, iss, aud, typ are required',
       ['test_token_validation.TestTokenValidation.test_missing_claims'])
def _claims_optional():
    def change(token, kwargs):
        kwargs['options']['require'] = []
        payload = jwt.decode(token, options={'verify_signature': False})
        if 'aud' not in payload:
            kwargs['audience'] = None
        if 'iss' not in payload:
            kwargs['issuer'] = None
    absent_is_fine = tuple(
        (name, (lambda rule, claim: lambda claims, ctx: claim not in claims or rule(claims, ctx))(rule, name))
        for name, rule in token_module.CLAIM_RULES if name in ('iss', 'typ', 'sub', 'jti', 'iat'))
    kept = tuple(
        (name, rule) if name != 'lifetime'
        else (name, lambda claims, ctx: 'exp' not in claims or 'iat' not in claims or rule(claims, ctx))
        for name, rule in token_module.CLAIM_RULES if name not in dict(absent_is_fine))
    return both(decode_with(change), swap(token_module, 'CLAIM_RULES', absent_is_fine + kept))


@guard('string-sub', 'sub is a string (RFC 7519)',
       ['test_token_validation.TestTokenValidation.test_integer_sub'])
def _any_sub():
    def change(token, kwargs):
        kwargs['options']['verify_sub'] = False
    rules = tuple((name, rule) if name != 'sub' else (name, lambda claims, ctx: str(claims.get('sub')).isdigit())
                  for name, rule in token_module.CLAIM_RULES)
    return both(decode_with(change), swap(token_module, 'CLAIM_RULES', rules))


@guard('expiry', 'Expired tokens fail',
       ['test_token_validation.TestTokenValidation.test_expired'])
def _no_expiry():
    return decode_with(lambda token, kwargs: kwargs['options'].update(verify_exp=False))


@guard('lifetime', 'exp beyond the configured lifetime fails',
       ['test_token_validation.TestTokenValidation.test_far_future_exp'])
def _any_lifetime():
    return without_rules('lifetime')


@guard('issued-at', 'iat in the future fails',
       ['test_token_validation.TestTokenValidation.test_iat_in_the_future'])
def _any_iat():
    return both(decode_with(lambda token, kwargs: kwargs['options'].update(verify_iat=False)),
                without_rules('iat'))


@guard('audience', 'A token is bound to its database (aud)',
       ['test_token_validation.TestTokenValidation.test_other_database'])
def _any_audience():
    return decode_with(lambda token, kwargs: kwargs['options'].update(verify_aud=False))


@guard('issuer', 'A token is bound to its issuer (exact match)',
       ['test_token_validation.TestTokenValidation.test_issuer_exact_match'])
def _any_issuer():
    return both(decode_with(lambda token, kwargs: kwargs.update(issuer=None)), without_rules('iss'))


@guard('crit', 'crit headers are refused',
       ['test_token_validation.TestTokenValidation.test_crit_header_refused'])
def _crit_understood():
    return swap(token_module, '_header_acceptable', lambda header: True)


@guard('key-hints', 'kid/jku/x5u/jwk headers are ignored: a key the token carries never verifies it',
       ['test_token_validation.TestTokenValidation.test_key_hint_headers_ignored'])
def _embedded_key_trusted():
    """The one hint that carries a key (``jwk``) is honoured, as a naive
    verifier would (kid/jku/x5u would need a key store or a fetch: nothing here has one)."""
    def choose(token, key, kwargs):
        header = jwt.get_unverified_header(token)
        return jwt.PyJWK(header['jwk'], algorithm=header.get('alg')).key if isinstance(header.get('jwk'), dict) else key
    return decode_with_key(choose)


@guard('hs-rs-confusion', 'HS/RS confusion fails: an HS256 token whose secret is the RSA public key',
       ['test_token_validation.TestTokenValidation.test_hs_rs_confusion'])
def _public_key_as_hmac_secret():
    """Everything that stops the attack, removed: the header picks the
    algorithm, the public key is handed over as PEM text (not a key object),
    and PyJWT's own refusal of a PEM as an HMAC secret is gone (as before
    PyJWT 1.5.1, CVE-2017-11424)."""
    from cryptography.hazmat.primitives import serialization
    from jwt.algorithms import HMACAlgorithm
    from jwt.utils import force_bytes

    def choose(token, key, kwargs):
        kwargs['algorithms'] = [jwt.get_unverified_header(token).get('alg')]
        if hasattr(key, 'public_bytes'):
            return key.public_bytes(serialization.Encoding.PEM,
                                    serialization.PublicFormat.SubjectPublicKeyInfo).decode('ascii')
        return key
    return both(decode_with_key(choose), swap(HMACAlgorithm, 'prepare_key', lambda self, key: force_bytes(key)))


@guard('token-size', 'Oversized tokens (> 4 KiB) answer 498',
       ['test_token_validation.TestTokenValidation.test_oversized_token'])
def _any_size():
    return swap(token_module, 'MAX_TOKEN_LENGTH', 10 ** 9)


@guard('one-spelling', 'One token, one spelling: standard-alphabet or padded base64 answers 498',
       ['blackbox:test_fuzz.py::test_standard_base64_and_padded_spellings_answer_498'])
def _any_spelling():
    return swap_everywhere(tools.is_canonical_jws, lambda token: True)


@guard('token-type', 'Refresh tokens are not access tokens and the reverse',
       ['test_token_validation.TestTokenValidation.test_refresh_token_is_not_an_access_token',
        'test_revocation.TestRevocation.test_access_token_is_not_a_refresh_token'])
def _any_type():
    return without_rules('typ')


# -- revocation -------------------------------------------------------------------
@guard('reuse-detection', 'A spent refresh token presented later revokes its whole family',
       ['test_revocation.TestRevocation.test_refresh_rotates_and_detects_reuse',
        'blackbox:test_refresh.py::test_reuse_revokes_the_family'])
def _no_reuse_detection():
    return skipping_reason(JwtProviderToken, '_revoke_domain', 'reuse')


@guard('logout', 'Logout revokes the token and its refresh token; all=1 every token of the user',
       ['test_revocation.TestRevocation.test_logout_revokes_access_and_refresh',
        'test_revocation.TestRevocation.test_logout_everywhere'])
def _logout_revokes_nothing():
    return skipping_reason(JwtProviderToken, '_revoke_domain', 'logout')


@guard('password-change', 'A password change invalidates earlier tokens',
       ['test_revocation.TestRevocation.test_password_change'])
def _password_change_revokes_nothing():
    return skipping_reason(JwtProviderToken, '_revoke_users', 'password')


@guard('archiving', 'Archiving (any falsy active) invalidates earlier tokens, for good',
       ['test_revocation.TestRevocation.test_archived_user_stays_revoked_whatever_falsy_value'])
def _archiving_revokes_nothing():
    return skipping_reason(JwtProviderToken, '_revoke_users', 'archived')


@guard('token-cache-signal',
       'A revocation or a profile change reaches the rows every worker keeps at once, whoever makes it',
       ['blackbox:test_token_cache.py::test_logout_on_one_worker_ends_the_token_on_every_worker',
        'blackbox:test_token_cache.py::test_an_archive_in_sql_ends_tokens_at_once_and_a_restore_brings_them_back',
        'blackbox:test_token_cache.py::test_a_company_rename_shows_at_once',
        'blackbox:test_me_logout.py::test_me_shows_a_rename_at_once'])
def _kept_rows_outlive_the_signal():
    def get(registry, key):
        kept = token_cache._kept(registry).get(key)
        return kept and kept[1]
    return swap(token_cache, 'get', get)


@guard('token-cache-lock', 'A row read while a transaction changes it is not kept beyond its commit',
       ['blackbox:test_token_cache.py::test_a_revocation_in_flight_is_not_outlived',
        'blackbox:test_token_cache.py::test_a_rename_in_flight_is_not_outlived'], until=18)
def _rows_kept_without_a_lock():
    undos = [swap(module, name, getattr(module, name).replace(lock, ''))
             for module, name, lock in ((token_module, 'LOOKUP_LOCKED', 'FOR SHARE OF t, u SKIP LOCKED'),
                                        (users_module, 'PROFILE_LOCKED', 'FOR SHARE OF u, p, c SKIP LOCKED'))]
    return lambda: [undo() for undo in undos]


@guard('kept-read-snapshot', "A row changed since the request's snapshot began is read without its lock, never a 503",
       ['test_token_cache.TestTokenCache.test_a_row_changed_since_the_snapshot_is_read_without_its_lock'])
def _locked_reads_fail_on_newer_rows():
    def read_locked(cr, locked, params):
        cr.execute(locked, params)
        return cr.fetchone()
    return swap(token_cache, 'read_locked', read_locked)


@guard('revoked-family', 'A logged-out login stays out within the grace window',
       ['test_revocation.TestRevocation.test_a_revoked_family_stays_revoked_within_the_grace_window'])
def _families_never_die():
    return swap(JwtProviderToken, '_family_alive', lambda self, family: True)


@guard('admin-revokes', "Only administrators revoke others' tokens (the revoke actions check the group)",
       ['test_sessions.TestSessions.test_only_administrators_revoke'])
def _anyone_revokes():
    return swap(JwtProviderToken, '_jwt_check_admin', lambda self: None)


@guard('key-change-for-good', 'A token signed by a key no longer in effect stays refused if that key comes back',
       ['test_key_settings.TestKeySettings.test_a_key_that_comes_back_does_not_revive_its_tokens'])
def _key_change_revokes_nothing():
    original = vars(JwtProviderToken)['_revoke_where']
    return swap(JwtProviderToken, '_revoke_where', lambda self, condition, params, reason:
                None if reason == 'key_rotated' else original(self, condition, params, reason))


# -- clean-up ---------------------------------------------------------------------------
def _batches_changed(change):
    from odoo.addons.jwt_provider.models import batches
    original = batches.run_in_batches
    return swap_everywhere(original, lambda cr, query, params, batch_size, budget, commit:
                           original(cr, *change(query, params, batch_size, budget, commit)))


@guard('clean-up-skips-held-rows', 'The clean-up skips rows other transactions hold (FOR UPDATE SKIP LOCKED)',
       ['test_sessions.TestCleanUpBatches.test_rows_other_transactions_hold_are_skipped'])
def _clean_up_waits_for_locks():
    return _batches_changed(lambda query, *rest: (query.replace('SKIP LOCKED', ''),) + rest)


@guard('clean-up-commits-batches', 'The clean-up commits each batch: a run cut short keeps what it removed',
       ['test_sessions.TestCleanUpBatches.test_each_batch_is_committed_and_the_next_run_continues'])
def _clean_up_in_one_transaction():
    return _batches_changed(lambda query, params, batch_size, budget, commit:
                            (query, params, batch_size, budget, False))


# -- keys and access rights ------------------------------------------------------
@guard('settings-hide-secret', 'The settings never show the secret',
       ['test_key_settings.TestKeySettings.test_settings_page_never_shows_the_secret'])
def _settings_show_the_secret():
    """As a ``config_parameter=`` field on the secret would."""
    original = vars(ResConfigSettings)['get_values']

    @api.model
    def get_values(self):
        values = original(self)
        Key = self.env['jwt_provider.key']
        values['jwt_new_secret'] = Key._raw_key(Key._algorithm())
        return values
    return swap(ResConfigSettings, 'get_values', get_values)


@guard('token-table-rights', 'A normal user cannot read the token table (access rights: administrators only)',
       ['test_key_settings.TestKeySettings.test_normal_user_cannot_read_or_write_the_key',
        'blackbox:test_access.py::test_cannot_read_the_token_table'])
def _token_table_for_everyone():
    """An access row that names no group (every user may read), committed
    for the tests that follow and deleted again; the ORM clears the cached rights."""
    access_id = committed(lambda env: env['ir.model.access'].create({
        'name': 'prove: everyone reads jwt_provider.token', 'perm_read': True,
        'model_id': env.ref('jwt_provider.model_jwt_provider_token').id}).id)
    return lambda: committed(lambda env: env['ir.model.access'].browse(access_id).unlink())


@guard('short-keys', 'Empty or short keys are refused; no token is signed with one',
       ['test_key_settings.TestKeySettings.test_short_keys_refused'])
def _any_key():
    return swap(JwtProviderKey, '_check_hmac_key', lambda self, algorithm, key: key)


@guard('kid', "A token's kid picks its key: an unknown kid answers 498, even on a token the key in effect signed",
       ['test_token_validation.TestTokenValidation.test_unknown_kid_refused',
        'blackbox:test_discovery.py::test_unknown_kid_answers_498'])
def _any_kid():
    from odoo.addons.jwt_provider.exceptions import InvalidToken
    strict = JwtProviderKey._verification_key

    def lenient(self, kid):
        try:
            return strict(self, kid)
        except InvalidToken:  # the key in effect instead
            return strict(self, self._kid())
    return swap(JwtProviderKey, '_verification_key', lenient)


@guard('retired-key', 'Retire now refuses the tokens of the key at once',
       ['test_key_store.TestKeyStore.test_retire_now_refuses_at_once'])
def _retired_keys_still_verify():
    return swap(JwtProviderSigningKey, '_retire', lambda self, reason: None)


# -- logins ---------------------------------------------------------------------------
@guard('unknown-login-hash', 'An unknown email verifies a hash of the crypt context like a real password',
       ['test_login_rules.TestLoginRules.test_unknown_login_pays_for_a_real_hash'])
def _unknown_logins_are_free():
    return swap(ResUsers, '_jwt_dummy_password_check', lambda self, password: None)


@guard('login-folding', 'Lookalike logins (NFKC + casefold) are one account',
       ['test_login_rules.TestLoginRules.test_lookalike_logins_are_one_account'])
def _ascii_folding():
    return swap_everywhere(tools.fold_login, lambda login: (login or '').strip().lower())


@guard('throttle', 'Repeated failures get 429 + Retry-After',
       ['test_login_rules.TestLoginRules.test_throttle_locks_the_login_from_that_address_only',
        'blackbox:test_throttle.py::test_repeated_failures_get_429_then_recover',
        'blackbox:test_oauth.py::test_bad_client_secrets_are_throttled'])
def _no_throttle():
    return swap(JwtProviderLoginAttempt, '_reserve_attempt', lambda self, login, address: None)


@guard('stranger-lockout', 'A stranger cannot lock an account out: the short lock is per (email, address)',
       ['test_login_rules.TestLoginRules.test_throttle_locks_the_login_from_that_address_only'])
def _short_lock_per_email():
    original = vars(JwtProviderLoginAttempt)['_keys']

    def keys(self, login, address):
        anywhere = [key for key in original(self, login, None) if key[2] == 'pair']
        return [anywhere[0] if key[2] == 'pair' else key for key in original(self, login, address)]
    return swap(JwtProviderLoginAttempt, '_keys', keys)


@guard('account-ceiling', 'A distributed attack is bounded per email (account_max_failures)',
       ['test_login_rules.TestLoginRules.test_ceiling_per_login_from_all_addresses'])
def _no_ceiling():
    original = vars(JwtProviderLoginAttempt)['_keys']
    return swap(JwtProviderLoginAttempt, '_keys', lambda self, login, address: [
        key for key in original(self, login, address) if key[2] != 'login'])


@guard('ipv6-per-64', 'IPv6 addresses count per /64, IPv4-mapped ones as their IPv4',
       ['test_login_rules.TestLoginRules.test_ipv6_addresses_count_per_64',
        'test_login_rules.TestLoginRules.test_ipv4_mapped_addresses_are_their_ipv4'])
def _every_address_its_own():
    return swap(attempt_module, 'network', lambda address: address or '')


def _reserve_changed(change):
    original = vars(JwtProviderLoginAttempt)['_reserve']
    return swap(JwtProviderLoginAttempt, '_reserve', lambda self, cr, keys, lockout:
                change(original(self, cr, keys, lockout), cr, keys))


@guard('parallel-wrong-bounded', 'Parallel wrong passwords check at most the limit (attempts in flight count)',
       ['blackbox:test_concurrency.py::test_wrong_password_flood_checks_at_most_the_limit'])
def _failures_only_counted():
    """A naive count: only settled failures count, the attempts in flight are forgotten at once."""
    def change(state, cr, keys):
        if state[0] == 'reserved':
            for key, _limit, _kind in keys:
                cr.execute('UPDATE jwt_provider_login_attempt SET pending = GREATEST(pending - 1, 0) WHERE key = %s',
                           [key])
        return state
    return _reserve_changed(change)


@guard('parallel-right-not-refused', 'Parallel right passwords are never refused (attempts in flight wait, '
       'they are no failures)',
       ['blackbox:test_concurrency.py::test_parallel_correct_logins_are_never_refused'])
def _in_flight_is_a_failure():
    """Attempts in flight counted as failures: a login that would have to wait is locked out."""
    return _reserve_changed(lambda state, cr, keys: ('locked', 1) if state[0] == 'busy' else state)


@guard('api-slots', 'Bursts of logins and `/api/me` on a threaded server get no 5xx: API requests wait for a slot '
       'instead of exhausting the connection pool',
       ['blackbox:test_concurrency.py::test_parallel_me_beyond_the_pool[threaded-200]'])
def _as_many_api_requests_as_arrive():
    """No bound on API requests in flight: each takes its cursor from Odoo's pool,
    which refuses the one too many. (Fifty logins stay below the pool's 64 even
    so: the hash spreads them out; two hundred /api/me do not.)"""
    return swap(tools, '_API_SLOTS', [threading.BoundedSemaphore(10 ** 6)])


@guard('signup-min-length', 'Sign-up refuses passwords shorter than the minimum with 400',
       ['test_login_rules.TestLoginRules.test_register_refuses_short_passwords'])
def _any_password_length():
    return swap(ResUsers, '_jwt_password_min_length', lambda self: 1)


@guard('signup-throttle', 'Sign-up attempts are throttled per address (429 + Retry-After)',
       ['test_login_rules.TestLoginRules.test_register_is_throttled_per_address',
        'blackbox:test_register.py::test_register_is_throttled_per_address'])
def _unlimited_signups():
    return swap(JwtProviderLoginAttempt, '_count_signup', lambda self, address: None)


@guard('two-factor-attempts', 'A two-factor login gives back both its attempts (password and code)',
       ['test_second_factor.TestSecondFactor.test_two_factor_logins_give_back_both_attempts'], since=14, until=18)
def _code_step_gives_back_one():
    original = vars(JwtProviderLoginAttempt)['_forgive']
    return swap(JwtProviderLoginAttempt, '_forgive', lambda self, login, address, earlier=0:
                original(self, login, address))


@guard('second-factor', 'A user with two-factor authentication gets no token for the password alone',
       ['test_second_factor.TestSecondFactor.test_password_alone_gets_a_ticket_not_a_token'], since=14)
def _second_factor_ignored():
    return swap(compat, 'second_factor', lambda user: None)


@guard('unsupported-second-factor', 'A second factor the API cannot check answers 403, never a token',
       ['test_second_factor.TestSecondFactorHttp.test_a_second_factor_the_api_cannot_check_answers_403'], since=14)
def _only_totp_is_a_second_factor():
    original = compat.second_factor
    return swap(compat, 'second_factor', lambda user: 'totp' if original(user) == 'totp' else None)


@guard('password-less-hash', 'An account without a password pays for a hash like an unknown email '
       '(11.0 stores a hash of the empty password for it: nothing of ours to switch)',
       ['test_login_rules.TestLoginRules.test_an_account_without_password_pays_for_a_hash_like_an_unknown_one'],
       since=12)
def _password_less_accounts_are_free():
    return swap(compat, 'has_password', lambda user: True)


@guard('totp-single-use', 'A TOTP code opens one login only (Odoo 19.0 checks it itself)',
       ['test_second_factor.TestSecondFactor.test_a_code_opens_one_login_only'], since=14, until=18)
def _totp_codes_reusable():
    return swap(ResUsers, '_jwt_spend_totp_code', lambda self, user, code: None)


# -- HTTP -----------------------------------------------------------------------------
@guard('stateless', 'Verifying a token writes no session (no session file, no session cookie)',
       ['blackbox:test_auth_jwt.py::test_token_requests_are_stateless'])
def _token_requests_keep_a_session():
    """The request's session is saved as Odoo saves any other: what keeps it
    from being saved (the era hook, and 16.0+'s unsaveable session) is off."""
    from odoo import http

    from odoo.addons.jwt_provider.adapters import http_era
    undos = [swap(http_era.IrHttp, '_jwt_era_stateless', classmethod(lambda cls: None))]
    if hasattr(http, 'Dispatcher'):  # 16.0+: the adapter makes the token request's session unsaveable
        original = http.Request._get_session_and_dbname

        def get_session_and_dbname(self):
            session, db = original(self)
            session.can_save = True
            return session, db
        undos.append(swap(http.Request, '_get_session_and_dbname', get_session_and_dbname))
    return both(*undos)


@guard('outage-503', 'A database outage answers 503 + Retry-After, and the server recovers',
       ['blackbox:test_faults.py::test_postgres_restart_under_load'])
def _outage_is_a_bug():
    """Lost connections and the 503 they map to answer as any unexpected error (500)."""
    original = answers.error_answer

    def error_answer(exception, log=True, path=None):
        if isinstance(exception, answers.DATABASE_ERRORS + (ServiceUnavailable,)):
            exception = RuntimeError('database unavailable')
        return original(exception, log=log, path=path)
    return swap_everywhere(original, error_answer)


@guard('neighbours', "Another addon's routes, under /api/ too, answer exactly as without this addon",
       ['blackbox:test_neighbour.py'])
def _every_route_is_ours():
    from odoo.http import request
    from odoo.modules.registry import Registry

    def forget_the_api_map():  # kept per registry (adapters/api_route.py)
        vars(Registry(request.db)).pop('_jwt_api_map', None)
    undo = swap(IrHttp, '_jwt_is_api_route', classmethod(lambda cls, routing: True))
    forget_the_api_map()
    return both(undo, forget_the_api_map)


@guard('error-mapping', "Odoo's exceptions in an auth='jwt' route answer 403/400/404 and roll back",
       ['blackbox:test_addon_routes.py::test_odoo_errors_answer_in_the_envelope_and_roll_back'])
def _every_error_is_a_bug():
    original = answers.error_answer
    return swap_everywhere(original, lambda exception, log=True, path=None:
                           original(RuntimeError('unmapped'), log=log, path=path))


@guard('log-escaping', "A client's path cannot forge a log line (logged escaped)",
       ['blackbox:test_addon_routes.py::test_a_path_cannot_forge_a_log_line'])
def _raw_paths_in_logs():
    return swap_everywhere(answers.log_safe, lambda text, limit=300: str(text)[:limit])


@guard('form-encoding', 'A form that is not UTF-8 answers 400',
       ['blackbox:test_addon_routes.py::test_a_form_that_is_not_utf8_is_a_bad_request'])
def _any_form_encoding():
    return swap_everywhere(tools.check_form_encoding, lambda httprequest, limit: None)


@guard('slow-senders', 'A slow client holds no API slot and no database connection; its body times out with 408',
       ['blackbox:test_addon_routes.py::test_slow_senders_hold_no_api_slot'])
def _bodies_read_in_the_slot():
    return swap_everywhere(tools.prefetch_body, lambda httprequest, limit, timeout=None: None)


@guard('archived-avatar', "An archived user's picture is not served",
       ['blackbox:test_me_logout.py::test_avatar_of_an_archived_user_is_not_served'])
def _archived_users_shown():
    from odoo.addons.jwt_provider.controllers.main import JwtController
    return swap(JwtController, '_avatar_user', staticmethod(
        lambda user_id: jwt_provider_users(user_id) if 0 < user_id < 2 ** 31 else None))


@guard('raster-avatars', 'The avatar route serves raster images only: an uploaded SVG never runs',
       ['blackbox:test_access.py::test_avatar_never_serves_active_content'])
def _any_image_type():
    from odoo.addons.jwt_provider.controllers import main
    original = main._raster_mimetype
    return swap(main, '_raster_mimetype', lambda content: original(content) or (
        'image/svg+xml' if b'<svg' in content.lower() else 'text/html'))


@guard('docs-csp', '`/api/docs` runs under a Content-Security-Policy (its own script and document only) '
       'and is never framed', ['blackbox:test_openapi.py::test_docs_page'])
def _docs_without_csp():
    """The browser test renders the page under this policy; the header check is the proof."""
    from odoo.addons.jwt_provider.controllers import openapi
    return swap(openapi, 'DOCS_CSP', None)


@guard('body-cap', 'Bodies over the cap answer 413 before they are read',
       ['blackbox:test_fuzz.py::test_bodies_over_one_mib_answer_413'])
def _no_body_cap():
    """Every layer that applies the cap reads it from here (the prefetch, the
    Content-Length check, the JSON reader)."""
    return both(swap(IrHttp, '_jwt_max_body', classmethod(lambda cls: 10 ** 9)),
                swap_everywhere(tools.known_body_limit, lambda db, default: 10 ** 9))


@guard('json-depth', 'JSON nested deeper than 32 answers 400 before the parser recurses',
       ['blackbox:test_robustness.py::test_json_nested_deeper_than_32_is_a_bad_request'])
def _any_depth():
    return swap(tools, '_json_depth', lambda text: 0)


# -- scopes and OAuth clients -------------------------------------------------------
@guard('scope-check', "A route's jwt_scopes refuse (403 insufficient_scope) a token whose scope lacks one",
       ['test_scopes.TestScopes.test_route_scopes',
        'blackbox:test_oauth.py::test_scope_required_by_route'])
def _scopes_ignored():
    return swap(JwtProviderToken, '_scope_allows', lambda self, claims, required: True)


@guard('scope-never-widens', 'A refresh keeps or narrows the scope, never widens it',
       ['test_scopes.TestScopes.test_refresh_keeps_narrows_never_widens',
        'blackbox:test_oauth.py::test_token_refresh_grant'])
def _scopes_widen():
    return swap(JwtProviderToken, '_narrow_scope',
                lambda self, granted, requested: granted if requested is None else requested)


@guard('client-secret', 'OAuth clients are refused (401 invalid_client) without their current secret',
       ['test_scopes.TestClients.test_authenticate',
        'test_scopes.TestClients.test_new_secret_and_archive_refuse_the_old',
        'blackbox:test_oauth.py::test_client_authentication'])
def _any_client_secret():
    original = vars(JwtProviderClient)['_authenticate']

    def authenticate(self, client_id, secret, address):
        client = self.sudo().with_context(active_test=False).search([('client_id', '=', client_id)], limit=1)
        return client or original(self, client_id, secret, address)
    return swap(JwtProviderClient, '_authenticate', authenticate)


def jwt_provider_users(user_id):
    """Any user ``user_id``, archived too (the guard-off avatar lookup)."""
    from odoo.http import request
    users = request.env['res.users'].sudo().with_context(active_test=False)
    return users.browse(user_id).exists() or None


def switch_off(name):
    """Remove guard ``name``; returns the function that puts it back."""
    return SWITCHES[name]()
