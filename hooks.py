"""Module hooks."""


def uninstall_hook(*args):
    """Drop what ``jwt_provider.token._init_signal_triggers`` put outside the
    addon's tables (the triggers on Odoo's tables go with their function).
    Odoo passes ``(cr, registry)`` up to 16.0, ``env`` from 17.0."""
    cr = getattr(args[0], 'cr', args[0])
    cr.execute('DROP FUNCTION IF EXISTS jwt_provider_signal() CASCADE;'
               ' DROP INDEX IF EXISTS jwt_provider_res_users_partner_id_idx')
