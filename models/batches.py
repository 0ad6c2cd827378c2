"""Clean-up in bounded batches: each batch its own short transaction.

A daily clean-up that deletes millions of rows in one transaction holds their
locks for its whole run, conflicts with the logins that touch the same rows
(and is rolled back whole by a single serialization failure), and in
``--workers`` mode is killed at ``limit_time_real``: the table never shrinks.
Here each batch selects at most ``batch_size`` rows with ``FOR UPDATE SKIP
LOCKED`` (rows another transaction holds are left for the next run), acts on
them and commits; the run stops early when its time budget is spent and the
cron is asked to run again soon (``compat.cron_run_again``).
"""
import logging
import time

import psycopg2

from .tolerant_sql import CONCURRENCY_ERRORS

_logger = logging.getLogger(__name__)

BATCH_SIZE = 10000
RETRIES = 5


class Budget(object):
    """The time a clean-up may take (seconds, ``None`` for the cron's default)."""

    def __init__(self, seconds=None):
        from .. import compat
        self.deadline = time.monotonic() + (compat.cron_time_budget() if seconds is None else seconds)

    def spent(self):
        return time.monotonic() >= self.deadline


def run_in_batches(cr, query, params, batch_size, budget, commit):
    """Run ``query`` until it acts on fewer than ``batch_size`` rows or ``budget`` is spent.

    ``query`` takes ``%(after)s`` (the last id seen: batches walk the primary
    key, so no row is examined twice) and ``%(limit)s``, and returns the ids it
    acted on. With ``commit`` each batch is committed (the cron's cursor); a
    batch that meets a concurrent update is retried in a new transaction.
    Returns ``(rows, finished)``.
    """
    total, after = 0, 0
    while True:
        values = dict(params, after=after, limit=batch_size)
        for attempt in range(RETRIES):
            try:
                cr.execute(query, values, log_exceptions=False)
                ids = [row[0] for row in cr.fetchall()]
                if commit:
                    cr.commit()  # pylint: disable=invalid-commit  (the point: one short transaction per batch)
                break
            except psycopg2.OperationalError as e:
                if not commit or e.pgcode not in CONCURRENCY_ERRORS or attempt == RETRIES - 1:
                    raise
                cr.rollback()  # a fresh snapshot sees what the other transaction committed
        total += len(ids)
        if len(ids) < batch_size:
            return total, True
        after = max(ids)
        if budget.spent():
            return total, False
