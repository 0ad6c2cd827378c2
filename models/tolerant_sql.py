"""Best-effort writes on rows that concurrent requests may also touch."""
import psycopg2
import psycopg2.errorcodes

# Odoo retries these too (odoo/service/model.py): conflicts, not failures.
CONCURRENCY_ERRORS = (psycopg2.errorcodes.SERIALIZATION_FAILURE, psycopg2.errorcodes.DEADLOCK_DETECTED,
                      psycopg2.errorcodes.LOCK_NOT_AVAILABLE)


def execute_or_skip(cr, query, params):
    """Run ``query`` in a savepoint; on a lock or serialization conflict, skip it.

    Odoo runs requests in REPEATABLE READ, where two requests updating one row
    make the second fail. For bookkeeping (last use, throttling counters) losing
    one update is harmless; failing the request is not. Any other error (a
    lost connection, say) is raised. Returns the fetched rows, or ``None`` when
    the statement was skipped.
    """
    try:
        # Not mute_logger: it swaps the logger's handlers process-wide, and
        # concurrent requests restoring each other's state can leave Odoo's SQL
        # errors muted for good, or unmuted here.
        with cr.savepoint():
            cr.execute(query, params, log_exceptions=False)
            return cr.fetchall() if cr.description else []
    except psycopg2.OperationalError as e:
        if e.pgcode not in CONCURRENCY_ERRORS:
            raise
        return None
