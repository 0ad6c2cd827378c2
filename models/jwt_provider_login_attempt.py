"""Throttling of failed logins, shared by every worker through PostgreSQL.

Each attempt reserves its place before the password (or code) is checked:
one atomic statement per key counts it, or refuses it when the key is locked
out. Parallel attempts therefore cannot check more passwords than the limit
allows, and a success gives its place back. Counters live in short
transactions of their own, so every worker sees the latest count at once and
a failed login's count survives whatever the request does next. Keys are
SHA-256 digests of ``login:<folded email>`` or ``ip:<address>``, so the
table never lists who tried what from where in clear.
"""
import hashlib

import psycopg2

from odoo import api, fields, models

from .. import compat
from ..exceptions import LoginThrottled
from ..tools import fold_login
from .tolerant_sql import CONCURRENCY_ERRORS

RETRIES = 5
NOW = "(now() at time zone 'UTC')"


class JwtProviderLoginAttempt(models.Model):
    _name = 'jwt_provider.login_attempt'
    _description = 'Failed API logins (throttling)'
    _log_access = False

    key = fields.Char(required=True, index=True)
    failures = fields.Integer(default=0)
    last_failure = fields.Datetime()

    def init(self):
        compat.ensure_unique_index(self, 'key')  # one row per throttled key

    @api.model
    def _keys(self, login, address):
        """``[(digest, max_failures, kind), ...]`` for the login and the client
        address (no login key for an empty login: no account has it)."""
        Key = self.env['jwt_provider.key']
        keys = []
        if fold_login(login):
            keys.append(('login:' + fold_login(login), Key._param('login_max_failures'), 'login'))
        if address:
            keys.append(('ip:' + address, Key._param('ip_max_failures'), 'ip'))
        return [(hashlib.sha256(k.encode('utf-8')).hexdigest(), limit, kind) for k, limit, kind in keys]

    @api.model
    def _own_transaction(self, func):
        """``func(cr)`` in a transaction of its own, retrying concurrency conflicts only."""
        for attempt in range(RETRIES):
            try:
                with self.pool.cursor() as cr:
                    return func(cr)
            except psycopg2.OperationalError as e:
                if e.pgcode not in CONCURRENCY_ERRORS or attempt == RETRIES - 1:
                    raise

    @api.model
    def _reserve_attempt(self, login, address):
        """Count one attempt for ``login`` from ``address`` before its check.

        Raises ``LoginThrottled`` (counting nothing) while either is locked
        out. The attempt stays counted as a failure unless ``_forgive`` is
        called once the login fully succeeded.
        """
        keys = self._keys(login, address)
        lockout = self.env['jwt_provider.key']._param('login_lockout')
        retry_after = self._own_transaction(lambda cr: self._reserve(cr, keys, lockout))
        if retry_after:
            raise LoginThrottled(retry_after)

    @api.model
    def _forgive(self, login, address):
        """A login succeeded: clear its counter, give the address its place
        back (one valid account must not reset guessing at others)."""
        keys = self._keys(login, address)
        self._own_transaction(lambda cr: self._release(cr, keys))

    @api.model
    def _reserve(self, cr, keys, lockout):
        """Count an attempt on every key, or on none: the seconds to wait when
        a key is locked out (the transaction is then rolled back), else 0."""
        for key, limit, _kind in keys:
            cr.execute("""
                INSERT INTO jwt_provider_login_attempt AS a (key, failures, last_failure)
                VALUES (%(key)s, 1, {now})
                ON CONFLICT (key) DO UPDATE SET
                    failures = CASE WHEN a.last_failure < {now} - %(lockout)s * interval '1 second'
                                    THEN 1 ELSE a.failures + 1 END,
                    last_failure = {now}
                 WHERE a.last_failure < {now} - %(lockout)s * interval '1 second' OR a.failures < %(limit)s
                RETURNING failures
            """.format(now=NOW), {'key': key, 'lockout': lockout, 'limit': limit},
                       log_exceptions=False)  # a conflict is retried, not an error
            if not cr.fetchall():
                cr.execute("""
                    SELECT GREATEST(1, CEIL(EXTRACT(EPOCH FROM last_failure + %s * interval '1 second' - {now})))
                      FROM jwt_provider_login_attempt WHERE key = %s
                """.format(now=NOW), [lockout, key], log_exceptions=False)
                wait = int(cr.fetchone()[0])
                cr.rollback()
                return wait
        return 0

    @api.model
    def _release(self, cr, keys):
        for key, _limit, kind in keys:
            if kind == 'login':
                cr.execute("DELETE FROM jwt_provider_login_attempt WHERE key = %s", [key], log_exceptions=False)
            else:
                cr.execute("UPDATE jwt_provider_login_attempt SET failures = GREATEST(failures - 1, 0)"
                           " WHERE key = %s", [key], log_exceptions=False)

    @api.model
    def _gc(self, batch_size=None, time_budget=None, commit=True):
        """Cron: the counters whose lock-out window is over, in committed batches
        that skip the rows a login holds (``models/batches.py``): a login
        counting an attempt never makes the clean-up fail, nor waits for it.
        Returns ``(rows removed, finished)``."""
        from .batches import BATCH_SIZE, Budget, run_in_batches
        lockout = self.env['jwt_provider.key']._param('login_lockout')
        return run_in_batches(self.env.cr, """
            WITH doomed AS (SELECT id FROM jwt_provider_login_attempt
                             WHERE id > %(after)s AND last_failure < {now} - %(lockout)s * interval '1 second'
                             ORDER BY id LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
            DELETE FROM jwt_provider_login_attempt a USING doomed WHERE a.id = doomed.id RETURNING a.id
        """.format(now=NOW), {'lockout': lockout}, batch_size or BATCH_SIZE, Budget(time_budget), commit)
