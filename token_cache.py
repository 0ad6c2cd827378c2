"""Access-token rows kept between requests, until Odoo's cache signaling says
something that could revoke them changed (#14).

Verifying a token needs its row (not revoked, its key, its user active). Read
on every request, that query was most of what a bare ``auth='jwt'`` route
cost beyond Odoo's own floor. A row is kept here with the value of Odoo's
cache signal this process had when it read it (``compat.cache_signal``); Odoo
reads that signal from the database at the start of every request, so a
change is seen by every worker at its next request.

What moves the signal: triggers (``jwt_provider.token.init``) on every change
of a row that could end a token (revoked, key, user, deletion of a live one)
and on a user's ``active``, whoever makes it: the addon, Odoo's ORM, another
addon or SQL. A row is kept only if it was read under a share lock
(``FOR SHARE ... SKIP LOCKED``): a transaction changing it meanwhile makes the
read skip it, so no row read before such a change commits outlives it.
Rows are kept and used in HTTP requests only.
"""
import weakref

from odoo.http import request

from . import compat

# Rows kept per database (registry); beyond, they are all forgotten at once.
MAX_ROWS = 10000

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


def signal(registry):
    """The signal a row read now is kept under; None: keep nothing. Only in an
    HTTP request on ``registry``'s database: Odoo checks its signaling at the
    start of each request, not in crons, shells or Odoo's own tests."""
    if not request or getattr(request, 'db', None) != registry.db_name or compat.registry_in_test_mode(registry):
        return None
    return compat.cache_signal(registry)


def get(registry, key):
    """The row kept for ``key``, if the signal has not moved since it was read."""
    kept = _kept(registry).get(key)
    if kept is None:
        return None
    current = signal(registry)
    if current is None or kept[0] != current:
        return None
    return kept[1]


def put(registry, key, value, row):
    """Keep ``row`` for ``key``, read under the signal ``value``."""
    rows = _kept(registry, create=True)
    if len(rows) >= MAX_ROWS:
        rows.clear()
    rows[key] = (value, row)


def touch(registry, key, when):
    """Record in the kept row of ``key`` (if any) that its use at ``when`` is being written."""
    rows = _kept(registry)
    kept = rows.get(key)
    if kept is not None:
        rows[key] = (kept[0], kept[1][:2] + (when,))
