"""Every ORM-level difference between Odoo 11.0 and 19.0 that this addon meets.

The HTTP layer's differences are in ``adapters/``; everything else in the
addon calls these helpers and never looks at the Odoo version.
"""
import base64
import datetime
import threading

from odoo import SUPERUSER_ID, exceptions, fields, release

ODOO_VERSION = release.version_info[0]
# What 14.0+ pass to _check_credentials for a login typed by a person: with
# ``interactive`` true, an API key is not accepted in place of the password.
_INTERACTIVE = {'interactive': True}


# The administrator's "free sign-up" setting: 11.0's boolean, 12.0+'s scope.
SIGNUP_PARAM = ('auth_signup.allow_uninvited', 'True') if ODOO_VERSION < 12 else \
    ('auth_signup.invitation_scope', 'b2c')


# Odoo's exceptions written for users: 11.0-13.0 derive them (AccessError,
# MissingError, ValidationError, ...) from except_orm, 13.0+ from UserError.
USER_ERRORS = tuple(cls for cls in (exceptions.UserError, getattr(exceptions, 'except_orm', None)) if cls)


def check_password(user, password):
    """Check ``password`` for ``user`` (a one-record ``res.users``, any env).

    Raises ``odoo.exceptions.AccessDenied`` when the password is wrong.
    11.0 names the hook ``check_credentials``; 12.0/13.0 ``_check_credentials``;
    14.0 adds the user agent env; 18.0 takes a credential dict.
    """
    user = as_user(user, user.id)
    if ODOO_VERSION >= 18:
        user._check_credentials({'login': user.login, 'password': password, 'type': 'password'},
                                dict(_INTERACTIVE))
    elif ODOO_VERSION >= 14:
        user._check_credentials(password, dict(_INTERACTIVE))
    elif ODOO_VERSION >= 12:
        user._check_credentials(password)
    else:
        user.check_credentials(password)


def second_factor(user):
    """The second factor ``user`` must present after the password: ``None``,
    ``'totp'`` (auth_totp), or the name of another method (14.0+ ``_mfa_type``)."""
    mfa_type = getattr(user, '_mfa_type', None)
    return mfa_type() if mfa_type else None


def check_totp(user, code):
    """Check a TOTP ``code`` for ``user``; raises ``AccessDenied`` when wrong.

    14.0-18.0 offer ``_totp_check``; 19.0 a ``'totp'`` credential.
    """
    user = as_user(user, user.id)
    code = int(code)  # auth_totp compares integers
    if hasattr(user, '_totp_check'):
        user._totp_check(code)
    else:
        user._check_credentials({'type': 'totp', 'token': code}, dict(_INTERACTIVE))


def totp_counter(user, code):
    """The time step (counter) at which ``code`` matches ``user``'s TOTP secret,
    or ``None``; auth_totp's own matcher (``models/res_users.py`` in 14.0,
    ``models/totp.py`` from 15.0), same window as its check."""
    try:
        from odoo.addons.auth_totp.models.totp import TOTP
    except ImportError:
        from odoo.addons.auth_totp.models.res_users import TOTP
    secret = user.sudo().totp_secret
    return TOTP(base64.b32decode(secret)).match(int(code)) if secret else None


def totp_counts_reuse(users):
    """Whether Odoo itself refuses a TOTP code used twice (19.0's ``totp_last_counter``)."""
    return 'totp_last_counter' in users._fields


def has_password(user):
    """Whether ``user`` has a password at all (11.0's auth_crypt keeps the hash in
    ``password_crypt``, every other series in ``password``)."""
    column = 'password_crypt' if 'password_crypt' in user._fields else 'password'
    flush(user.env)
    user.env.cr.execute("SELECT COALESCE({0}, '') != '' FROM res_users WHERE id = %s".format(column), [user.id])
    row = user.env.cr.fetchone()
    return bool(row and row[0])


def crypt_context(users):
    """The passlib context this series hashes passwords with, or ``None``
    (11.0 without auth_crypt stores no hash)."""
    method = getattr(users, '_crypt_context', None)
    return method() if method else None


def is_superuser(env):
    """Whether ``env`` is in superuser mode (``env.su`` from 13.0, uid 1 before)."""
    return bool(getattr(env, 'su', False) or env.uid == SUPERUSER_ID)


def is_admin(env):
    """Whether ``env`` may administrate tokens: superuser mode or a member of Settings."""
    return is_superuser(env) or env.user._is_system()


def as_user(records, uid):
    """``records`` acting as ``uid`` (``sudo(uid)`` before 13.0, ``with_user`` after)."""
    if hasattr(records, 'with_user'):
        return records.with_user(uid)
    return records.sudo(uid)


def to_datetime(value):
    """A ``fields.Datetime`` value as a naive UTC ``datetime`` (11.0 stores strings)."""
    if not value or isinstance(value, datetime.datetime):
        return value or None
    return fields.Datetime.from_string(value)


def datetime_value(value):
    """A naive UTC ``datetime`` in the form ``fields.Datetime`` expects on write."""
    return fields.Datetime.to_string(value) if ODOO_VERSION < 12 else value


def flush(env):
    """Write pending ORM changes before raw SQL reads tables (13.0+ delay them)."""
    if hasattr(env, 'flush_all'):
        env.flush_all()
    elif hasattr(env['res.users'], 'flush'):
        env['res.users'].flush()


def invalidate(env):
    """Forget cached field values after raw SQL wrote tables."""
    if hasattr(env, 'invalidate_all'):
        env.invalidate_all()
    else:
        env['res.users'].invalidate_cache()


def user_image(user):
    """The user's own picture as base64, or ``False`` (field names vary by series;
    15.0+'s generated ``avatar_*`` SVG is not a picture of the user)."""
    for name in ('image_128', 'image_small', 'image'):
        if name in user._fields:
            return user[name]
    return False


def groups_field(users):
    """The name of the users' groups field (``group_ids`` from 19.0)."""
    return 'group_ids' if 'group_ids' in users._fields else 'groups_id'


def load_xml(env, module, xmlfile):
    """Load an XML data file object as ``module``'s data (17.0+ take an env, before a cursor)."""
    from odoo.tools.convert import convert_xml_import
    convert_xml_import(env if ODOO_VERSION >= 17 else env.cr, module, xmlfile, idref={}, mode='update')


def cron_time_budget():
    """Seconds one clean-up step of a cron may run: two fifths of what ``--workers`` mode allows a
    cron (``limit_time_real_cron``, or ``limit_time_real`` when that is -1);
    five minutes when nothing limits it."""
    from odoo.tools import config
    limit = config.get('limit_time_real_cron')
    if limit is None or limit < 0:
        limit = config.get('limit_time_real') or 0
    return limit * 0.4 if limit > 0 else 300.0


def cron_run_again(env, xmlid):
    """Ask for another run of the cron ``xmlid`` soon, where Odoo can (``_trigger``,
    15.0+); before, the next scheduled run continues the work."""
    cron = env.ref(xmlid, raise_if_not_found=False)
    if cron and hasattr(cron, '_trigger'):
        cron.sudo()._trigger()
        return True
    return False


def ensure_unique_index(model, column):
    """A unique index on ``column`` of ``model``'s table, named as
    ``_sql_constraints`` named it up to 18.0 (19.0 ignores those); for ``init()``."""
    model.env.cr.execute('CREATE UNIQUE INDEX IF NOT EXISTS "{table}_{column}_unique" ON "{table}" ("{column}")'
                         .format(table=model._table, column=column))


def clear_cache(env):
    """Forget the registry's ``ormcache`` values here and, through Odoo's cache
    signaling, in the other workers (``clear_cache`` from 17.0, ``clear_caches`` before)."""
    registry = env.registry
    if hasattr(registry, 'clear_cache'):
        registry.clear_cache()
    else:
        registry.clear_caches()


def registry_in_test_mode(registry):
    """Whether Odoo's tests have put ``registry`` in test mode: ``in_test_mode()``
    up to 18.0; 19.0's tests swap the registries' lock for a dummy instead."""
    in_test_mode = getattr(registry, 'in_test_mode', None)
    if in_test_mode is not None:
        return in_test_mode()
    return not isinstance(type(registry)._lock, type(threading.RLock()))


# The cache signal the addon moves when a token may have been revoked
# (token_cache.py): Odoo's one cache sequence up to 16.0; from 17.0 the group
# whose caches API requests never use (asset bundles), so a logout costs the
# other workers no more than their next page's asset lookup.
SIGNAL_GROUP = 'assets'


def cache_signal(registry):
    """This process's value of Odoo's cache signals, as ``check_signaling`` read
    them at the start of the request: the one sequence up to 16.0, every
    group's from 17.0 (settings are in 'default', or 'stable' from 18.0), so
    whatever clears any of Odoo's caches forgets the kept rows too. None: the
    registry does no signaling."""
    sequences = getattr(registry, 'cache_sequences', None)
    if sequences is not None:
        return tuple(sequences.values())
    return getattr(registry, 'cache_sequence', None)


def cache_signal_sql():
    """``(relation, plpgsql statement)`` that moves the signal in the database,
    in the transaction that runs it: Odoo's sequence up to 18.0, a row of its
    signaling table from 19.0."""
    if ODOO_VERSION >= 19:
        table = 'orm_signaling_' + SIGNAL_GROUP
        return table, 'INSERT INTO %s DEFAULT VALUES' % table
    sequence = 'base_cache_signaling_' + SIGNAL_GROUP if ODOO_VERSION >= 17 else 'base_cache_signaling'
    return sequence, "PERFORM nextval('%s')" % sequence
