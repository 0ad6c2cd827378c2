"""One password hash cost for the test databases of every series.

Odoo 11.0-15.0 hash passwords with pbkdf2_sha512 at passlib's default cost
(25,000 rounds); 16.0 raised it to 600,000, which takes 0.8 s a hash on a CI
core, so every login, wrong password and new user of the tests cost 24 times
what it does on the older series (Odoo's own tests lower it to 1 round from
18.0). ``_crypt_context`` is the override point Odoo documents for a site's
own hashing policy; this addon, installed in the test databases only
(dev/run_tests.py MODULES, never by ``make run`` or ``make bench``), uses it
to hash at passlib's default on every series. The benchmark keeps Odoo's cost.
"""
from passlib.hash import pbkdf2_sha512

from odoo import models, tools


class ResUsers(models.Model):
    _inherit = 'res.users'

    @tools.ormcache()
    def _crypt_context(self):
        parent = getattr(super(ResUsers, self), '_crypt_context', None)  # 11.0: auth_crypt's
        if parent is None:
            return None
        # copy() then update(): 17.0+ wrap passlib's context, and their copy() takes no settings.
        context = parent().copy()
        context.update(pbkdf2_sha512__rounds=pbkdf2_sha512.default_rounds)
        return context
