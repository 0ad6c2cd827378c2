"""Module hooks."""


def uninstall_hook(*args):
    """Drop what ``jwt_provider.token._init_signal_triggers`` put outside the
    addon's tables (the trigger on ``res_users`` goes with its function).
    Odoo passes ``(cr, registry)`` up to 16.0, ``env`` from 17.0."""
    cr = getattr(args[0], 'cr', args[0])
    cr.execute('DROP FUNCTION IF EXISTS jwt_provider_signal() CASCADE')
