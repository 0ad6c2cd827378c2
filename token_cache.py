"""Rows kept between requests (#14): access tokens' verified claims and rows,
and the profiles ``/api/me`` answers, until Odoo's cache signal says something
that could end the token or change the profile has changed.

Verifying a token needs its row (not revoked, its key, its user active). Read
on every request, that query was most of what a bare ``auth='jwt'`` route
cost beyond Odoo's own floor, and the profile query most of the rest of
``/api/me``. A row is kept here with the value of Odoo's cache signal this
process had when it read it (``compat.cache_signal``); Odoo reads that signal
from the database at the start of every request, so a change is seen by every
worker at its next request.

What moves the signal: triggers (``jwt_provider.token._init_signal_triggers``)
on every change that could end a token or change a profile, whoever makes it:
the addon, Odoo's ORM, another addon or SQL; rows are kept only in databases
where they exist (``arm``). A row is kept only if it was read under a share
lock (``FOR SHARE ... SKIP LOCKED``): a transaction changing it meanwhile
makes the read skip it (it is then read without, and not kept), so no row
read before such a change commits outlives it. Up to 18.0 this matters: the
signal is a sequence, which moves before the changing transaction commits.
Rows are kept and used in HTTP requests only.
"""
import weakref

import psycopg2

from odoo.http import request
from odoo.tools import mute_logger

from . import compat

SERIALIZATION_FAILURE = '40001'
# Rows kept per database (registry); beyond, they are all forgotten at once.
MAX_ROWS = 20000

_rows = {}  # database name -> (weak reference to its registry, {key: (signal, row)})


def _kept(registry, create=False):
    """The rows kept for ``registry``: a reloaded registry starts with none."""
    entry = _rows.get(registry.db_name)
    if entry is not None and entry[0]() is registry:
        return entry[1]
    if not create:
        return {}
    rows = {}
    _rows[registry.db_name] = (weakref.ref(registry), rows)
    return rows


def arm(registry, armed):
    """Keep rows for ``registry`` or not: only once the signal's triggers exist
    in its database (checked when the registry loads)."""
    if armed:
        _kept(registry, create=True)
    else:
        _rows.pop(registry.db_name, None)


def forget():
    """Forget every kept row of every database (they are read again as needed)."""
    for _registry, rows in list(_rows.values()):
        rows.clear()


def _current(registry):
    """Odoo's signal as this request's ``check_signaling`` read it; None outside
    an HTTP request on ``registry``'s database (crons and shells check none)."""
    if not request or getattr(request, 'db', None) != registry.db_name:
        return None
    return compat.cache_signal(registry)


def signal(registry):
    """The signal a row read now is kept under; None: keep nothing (outside an
    HTTP request, while Odoo's tests run, or not armed)."""
    entry = _rows.get(registry.db_name)
    if entry is None or entry[0]() is not registry or compat.registry_in_test_mode(registry):
        return None
    return _current(registry)


def get(registry, key):
    """The row kept for ``key``, if the signal has not moved since it was read
    (rows are kept only where ``signal`` allows it)."""
    kept = _kept(registry).get(key)
    if kept is None:
        return None
    current = _current(registry)
    if current is None or kept[0] != current:
        return None
    return kept[1]


def read(env, key, locked, plain, params):
    """The row of ``key``: the one kept, or read with ``locked`` (the same
    query as ``plain`` under a share lock, ``SKIP LOCKED``) and kept, or, when
    nothing may be kept or another transaction is changing the rows, read with
    ``plain``. None when there is no such row."""
    registry = env.registry
    row = get(registry, key)
    if row is not None:
        return row
    compat.flush(env)  # a write earlier in this request
    cr = env.cr
    value = signal(registry)
    if value is not None and not getattr(cr, 'readonly', False):
        row = read_locked(cr, locked, params)
        if row:
            put(registry, key, value, row)
            return row
    cr.execute(plain, params)
    return cr.fetchone()


def read_locked(cr, locked, params):
    """The row ``locked`` reads, or None: rows another transaction is changing
    are skipped, and Odoo's snapshot (REPEATABLE READ) refuses to lock a row
    changed since it began (a use recorded, a login): read then without."""
    try:
        with mute_logger('odoo.sql_db'), cr.savepoint():
            cr.execute(locked, params)
            return cr.fetchone()
    except psycopg2.OperationalError as e:
        if e.pgcode != SERIALIZATION_FAILURE:
            raise
        return None


def put(registry, key, value, row):
    """Keep ``row`` for ``key``, read under the signal ``value``."""
    rows = _kept(registry)
    if len(rows) >= MAX_ROWS:
        rows.clear()
    rows[key] = (value, row)


def touch(registry, key, when):
    """Record in the kept row of ``key`` (if any) that its use at ``when`` is being written."""
    rows = _kept(registry)
    kept = rows.get(key)
    if kept is not None:
        rows[key] = (kept[0], kept[1][:2] + (when,))
