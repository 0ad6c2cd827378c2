"""Throttling of failed logins, shared by every worker through PostgreSQL.

Counters live outside the request's transaction: each read or write runs in
a short transaction of its own, so every worker sees the latest count at once
and a flood of parallel attempts cannot dodge it by racing on one row.
Keys are SHA-256 digests of ``login:<email>`` or ``ip:<address>``, so the
table never lists who tried what from where in clear.
"""
import hashlib

import psycopg2

from odoo import api, fields, models
from odoo.tools import mute_logger

RETRIES = 5


class JwtProviderLoginAttempt(models.Model):
    _name = 'jwt_provider.login_attempt'
    _description = 'Failed API logins (throttling)'
    _log_access = False

    key = fields.Char(required=True, index=True)
    failures = fields.Integer(default=0)
    last_failure = fields.Datetime()

    _sql_constraints = [('key_unique', 'unique(key)', 'One row per throttled key.')]

    @api.model
    def _keys(self, login, address):
        """``[(digest, max_failures), ...]`` for the login and the client address."""
        Key = self.env['jwt_provider.key']
        login = login.strip().lower() if isinstance(login, str) else ''
        keys = [('login:' + login, Key._param('login_max_failures'))]
        if address:
            keys.append(('ip:' + address, Key._param('ip_max_failures')))
        return [(hashlib.sha256(k.encode('utf-8')).hexdigest(), limit) for k, limit in keys]

    @api.model
    def _own_transaction(self, query, params):
        """Run ``query`` in a transaction of its own, retrying serialization conflicts."""
        for attempt in range(RETRIES):
            try:
                with mute_logger('odoo.sql_db'), self.pool.cursor() as cr:
                    cr.execute(query, params)
                    return cr.fetchall() if cr.description else []
            except psycopg2.OperationalError:
                if attempt == RETRIES - 1:
                    raise

    @api.model
    def _retry_after(self, login, address):
        """Seconds the caller must wait, or 0 when it may try now."""
        lockout = self.env['jwt_provider.key']._param('login_lockout')
        wait = 0
        for key, limit in self._keys(login, address):
            rows = self._own_transaction("""
                SELECT CEIL(EXTRACT(EPOCH FROM last_failure + %s * interval '1 second'
                                    - (now() at time zone 'UTC')))
                  FROM jwt_provider_login_attempt WHERE key = %s AND failures >= %s
            """, [lockout, key, limit])
            if rows and rows[0][0] and rows[0][0] > 0:
                wait = max(wait, int(rows[0][0]))
        return wait

    @api.model
    def _record_failure(self, login, address):
        """Count one failure for the login and the address; a count older than
        the window starts again from one."""
        lockout = self.env['jwt_provider.key']._param('login_lockout')
        for key, _limit in self._keys(login, address):
            self._own_transaction("""
                INSERT INTO jwt_provider_login_attempt AS a (key, failures, last_failure)
                VALUES (%s, 1, now() at time zone 'UTC')
                ON CONFLICT (key) DO UPDATE SET
                    failures = CASE WHEN a.last_failure < (now() at time zone 'UTC') - %s * interval '1 second'
                                    THEN 1 ELSE a.failures + 1 END,
                    last_failure = now() at time zone 'UTC'
            """, [key, lockout])

    @api.model
    def _reset(self, login):
        """A successful login clears its login's counter. The address counter
        is left alone: one valid account must not reset guessing at others."""
        key = self._keys(login, None)[0][0]
        self._own_transaction("DELETE FROM jwt_provider_login_attempt WHERE key = %s", [key])

    @api.model
    def _gc(self):
        lockout = self.env['jwt_provider.key']._param('login_lockout')
        self.env.cr.execute("""
            DELETE FROM jwt_provider_login_attempt
             WHERE last_failure < (now() at time zone 'UTC') - %s * interval '1 second'
        """, [lockout])
