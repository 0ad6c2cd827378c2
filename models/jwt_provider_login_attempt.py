"""Throttling of failed logins and sign-ups, shared by every worker through PostgreSQL.

Keys. A login attempt counts on three keys: ``pair`` (the folded login and
the client's network: an IPv4 address, or the /64 of an IPv6 address),
locked after ``login_max_failures`` failures: the short lock, which a
stranger elsewhere cannot put on the owner; ``login`` (the folded login
alone), locked after ``account_max_failures`` failures from anywhere: a
ceiling well above the short lock, bounding a distributed guess rate; and
``ip`` (the network alone), after ``ip_max_failures``: one network guessing
at many accounts. Sign-ups count every attempt on ``signup`` (the network).
Keys are SHA-256 digests, so the table never lists who tried what from where.

Reservations. Each attempt reserves its place on every key before the
password (or code) is checked, in one atomic transaction: the reservation is
*pending* until the attempt is settled as a failure (it then counts) or a
success (it is released, and the ``pair`` and ``login`` counters are reset;
the ``ip`` counter only gets its places back, so that one valid account does
not reset guessing at others). A key refuses (429) only on *completed*
failures: ``failures >= limit``. While ``failures + pending >= limit`` a new
attempt could become one guess too many if every pending one fails, so it
waits (polling, at most ``PENDING_WAIT`` seconds) until pending attempts
settle, instead of being refused: parallel wrong passwords still never check
more passwords than the limit, and a burst of correct logins (app start-ups,
a shared integration account) runs ``limit`` hashes at a time but is never
refused. A waiting attempt is woken as soon as an attempt of its key settles
in the same process (``_Waiters``), and looks again every ``PENDING_POLL``
seconds for those of other processes: waiting costs no polling transactions
while the attempts it waits for run beside it. A reservation whose request
died (a killed worker) counts as a failure once ``STALE_PENDING`` seconds old.

Counters live in short transactions of their own, so every worker sees the
latest count at once and a failure's count survives whatever the request
does next.
"""
import collections
import contextlib
import hashlib
import ipaddress
import threading
import time
import types

import psycopg2

from odoo import api, fields, models

from .. import compat
from ..exceptions import LoginThrottled
from ..tools import fold_login
from .tolerant_sql import CONCURRENCY_ERRORS

RETRIES = 5
NOW = "(now() at time zone 'UTC')"
# How long an attempt waits for pending attempts of its keys to settle, and how often it looks.
PENDING_WAIT = 30
PENDING_POLL = 0.05
# ... and how long, at most, when attempts of this process hold the places it
# waits for (their settling wakes it at once).
PENDING_LOCAL_WAIT = 1.0
# A reservation this old belongs to a request that died: it counts as a failure.
STALE_PENDING = 120
# Kinds of key whose counter a success resets (the others only get their places back).
RESET_ON_SUCCESS = ('pair', 'login')


def network(address):
    """The unit of the per-address limits: an IPv4 address, or the /64 of an
    IPv6 one (one subscriber holds a whole /64); other text as it is."""
    try:
        ip = ipaddress.ip_address((address or '').strip())
    except ValueError:
        return address or ''
    if ip.version == 6:
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network('%s/64' % ip, strict=False))
    return str(ip)


def read_committed(cr):
    """Odoo's REPEATABLE READ would make every counter update that waited for
    another one fail (and be retried); READ COMMITTED waits, then reads the
    latest count. The row locks keep each statement's decision atomic. (Not
    on a test cursor: it lives inside the test's transaction, where requests
    run one at a time.)"""
    if type(cr).__name__ != 'TestCursor':
        cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")


def digest(text):
    return hashlib.sha256(text.encode('utf-8')).hexdigest()


class _Waiters(object):
    """Attempts of this process waiting for pending attempts of a key to settle.

    Every settle counts (``settles``) and wakes one waiter of each of its keys:
    a waiter compares the count it saw before its check, so a settle between
    its check and its wait is not missed (it then looks again at once).
    ``pending`` counts the reservations of this process still open per key:
    while there are some, a wake-up will come, and the waiter need not poll.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.conditions = {}  # key -> [condition, number of waiters]
        self.settles = 0
        self.pending = collections.Counter()

    def snapshot(self):
        with self.lock:
            return self.settles

    def reserved(self, keys):
        with self.lock:
            self.pending.update(keys)

    def settled(self, keys):
        with self.lock:
            self.settles += 1
            for key in keys:
                self.pending[key] -= 1
                if self.pending[key] <= 0:
                    del self.pending[key]
                entry = self.conditions.get(key)
                if entry:
                    entry[0].notify()  # its lock is self.lock, held

    def wait(self, key, seen):
        """Wait for a settle of ``key`` (or a timeout), unless one happened since ``seen``."""
        with self.lock:
            if self.settles != seen:
                return
            timeout = PENDING_LOCAL_WAIT if self.pending[key] > 0 else PENDING_POLL
            entry = self.conditions.setdefault(key, [threading.Condition(self.lock), 0])
            entry[1] += 1
            try:
                entry[0].wait(timeout)
            finally:
                entry[1] -= 1
                if not entry[1]:
                    del self.conditions[key]


_WAITERS = _Waiters()


class JwtProviderLoginAttempt(models.Model):
    _name = 'jwt_provider.login_attempt'
    _description = 'Failed API logins (throttling)'
    _log_access = False

    key = fields.Char(required=True, index=True)
    failures = fields.Integer(default=0)
    pending = fields.Integer(default=0)           # reserved attempts not settled yet
    last_failure = fields.Datetime()              # the last reservation or failure: the window's end
    reserved_at = fields.Datetime()               # the last reservation: stale pending ones

    def init(self):
        compat.ensure_unique_index(self, 'key')  # one row per throttled key

    @api.model
    def _keys(self, login, address):
        """``[(digest, max_failures, kind), ...]`` for the login and the client
        address (no login keys for an empty login: no account has it)."""
        Key = self.env['jwt_provider.key']
        net = network(address)
        keys = []
        folded = fold_login(login)
        if folded:
            keys.append(('pair:%s|%s' % (folded, net), Key._param('login_max_failures'), 'pair'))
            keys.append(('login:' + folded, Key._param('account_max_failures'), 'login'))
        if net:
            keys.append(('ip:' + net, Key._param('ip_max_failures'), 'ip'))
        return [(digest(k), limit, kind) for k, limit, kind in keys]

    @api.model
    def _signup_keys(self, address):
        net = network(address)
        return [(digest('signup:' + net), self.env['jwt_provider.key']._param('ip_max_failures'), 'signup')]

    @api.model
    def _own_transaction(self, func, retries=RETRIES):
        """``func(cr)`` in a transaction of its own, retrying concurrency conflicts only."""
        for attempt in range(retries):
            try:
                with self.pool.cursor() as cr:
                    return func(cr)
            except psycopg2.OperationalError as e:
                if e.pgcode not in CONCURRENCY_ERRORS or attempt == retries - 1:
                    raise

    @api.model
    def _reserve_attempt(self, login, address):
        """Reserve one attempt for ``login`` from ``address`` before its check.

        Raises ``LoginThrottled`` (reserving nothing) while a key is locked
        out, or when pending attempts did not settle within ``PENDING_WAIT``.
        The caller must settle the reservation: ``_fail`` or ``_forgive``.
        """
        self._reserve_keys(self._keys(login, address))

    @api.model
    def _reserve_keys(self, keys):
        lockout = self.env['jwt_provider.key']._param('login_lockout')
        deadline = time.monotonic() + PENDING_WAIT
        names = [key for key, _limit, _kind in keys]
        while True:
            seen = _WAITERS.snapshot()
            state, wait = self._own_transaction(lambda cr: self._reserve(cr, keys, lockout), retries=4 * RETRIES)
            if state == 'reserved':
                _WAITERS.reserved(names)
                return
            if state == 'locked':
                raise LoginThrottled(wait)
            if time.monotonic() >= deadline:  # 'busy' for too long
                raise LoginThrottled(1)
            _WAITERS.wait(wait, seen)

    @contextlib.contextmanager
    def _attempt(self, login, address, earlier=0):
        """An attempt of ``login`` from ``address`` around its check: reserved on
        entry (``LoginThrottled`` while locked out), then forgiven if the block
        set ``succeeded`` on what it yields, else settled as a failure (an error
        counts as one)."""
        self._reserve_attempt(login, address)
        outcome = types.SimpleNamespace(succeeded=False)
        try:
            yield outcome
        finally:
            if outcome.succeeded:
                self._forgive(login, address, earlier=earlier)
            else:
                self._fail(login, address)

    @api.model
    def _fail(self, login, address):
        """The reserved attempt failed: it counts toward the lock-outs."""
        self._settle_keys(self._keys(login, address), success=False)

    @api.model
    def _forgive(self, login, address, earlier=0):
        """The reserved attempt succeeded: it is released and the login's
        counters reset; ``earlier`` attempts already counted as failures on the
        address (the password step of a two-factor login) are given back too."""
        self._settle_keys(self._keys(login, address), success=True, earlier=earlier)

    @api.model
    def _count_signup(self, address):
        """One sign-up attempt from ``address``: counted whatever its outcome;
        ``LoginThrottled`` when the address has made too many. ``None``: not
        a request of the API (another addon, a test): not counted."""
        if address is None:
            return
        keys = self._signup_keys(address)
        self._reserve_keys(keys)
        self._settle_keys(keys, success=False)

    @api.model
    def _reserve(self, cr, keys, lockout):
        """Reserve an attempt on every key, or on none: ``('reserved', 0)``,
        ``('locked', seconds to wait)`` or ``('busy', key)`` (pending attempts
        could fill the limit of ``key``); nothing is written unless reserved. Keys are
        locked in one order (the order of ``_keys``): no deadlocks."""
        read_committed(cr)
        for key, limit, _kind in keys:
            cr.execute("""
                INSERT INTO jwt_provider_login_attempt (key, failures, pending, last_failure)
                VALUES (%s, 0, 0, {now}) ON CONFLICT (key) DO NOTHING
            """.format(now=NOW), [key], log_exceptions=False)
            cr.execute("""
                SELECT failures, pending,
                       last_failure < {now} - %(lockout)s * interval '1 second',
                       COALESCE(reserved_at < {now} - %(stale)s * interval '1 second', FALSE),
                       GREATEST(1, CEIL(EXTRACT(EPOCH FROM last_failure + %(lockout)s * interval '1 second' - {now})))
                  FROM jwt_provider_login_attempt WHERE key = %(key)s FOR UPDATE
            """.format(now=NOW), {'key': key, 'lockout': lockout, 'stale': STALE_PENDING},
                       log_exceptions=False)  # a conflict is retried, not an error
            failures, pending, expired, stale, wait = cr.fetchone()
            if expired:
                failures = pending = 0
            elif stale:
                failures, pending = failures + pending, 0
            if failures >= limit:
                cr.rollback()
                return 'locked', int(wait)
            if failures + pending >= limit:
                cr.rollback()
                return 'busy', key
            cr.execute("""
                UPDATE jwt_provider_login_attempt
                   SET failures = %s, pending = %s, last_failure = {now}, reserved_at = {now}
                 WHERE key = %s
            """.format(now=NOW), [failures, pending + 1, key], log_exceptions=False)
        return 'reserved', 0

    @api.model
    def _settle_keys(self, keys, success, earlier=0):
        try:
            self._own_transaction(lambda cr: self._settle(cr, keys, success, earlier), retries=4 * RETRIES)
        finally:
            _WAITERS.settled([key for key, _limit, _kind in keys])

    @api.model
    def _settle(self, cr, keys, success, earlier=0):
        read_committed(cr)
        for key, _limit, kind in keys:
            if not success:
                cr.execute("""
                    INSERT INTO jwt_provider_login_attempt AS a (key, failures, pending, last_failure)
                    VALUES (%s, 1, 0, {now})
                    ON CONFLICT (key) DO UPDATE SET
                        failures = a.failures + 1, pending = GREATEST(a.pending - 1, 0), last_failure = {now}
                """.format(now=NOW), [key], log_exceptions=False)
            elif kind in RESET_ON_SUCCESS:
                cr.execute("UPDATE jwt_provider_login_attempt SET failures = 0, pending = GREATEST(pending - 1, 0)"
                           " WHERE key = %s", [key], log_exceptions=False)
            else:
                cr.execute("UPDATE jwt_provider_login_attempt SET pending = GREATEST(pending - 1, 0),"
                           " failures = GREATEST(failures - %s, 0) WHERE key = %s",
                           [earlier, key], log_exceptions=False)

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
