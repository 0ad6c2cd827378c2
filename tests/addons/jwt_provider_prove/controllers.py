"""The switches over HTTP, for dev/prove.py's black-box half.

Answers only in a process started with JWT_PROVE_SWITCHES=1 (dev/prove.py's
server), and this addon is installed only in the harness's prove database.
"""
import os

import werkzeug.exceptions

from odoo import http

from odoo.addons.jwt_provider import token_cache

from . import guards

_SWITCHED_OFF = {}


class ProveSwitches(http.Controller):

    @http.route('/jwt_provider_prove/switch', type='http', auth='none', methods=['POST'], csrf=False)
    def switch(self, guard='', off='', **kw):
        """Switch ``guard`` off (``off=1``) or back on; answers the guards now off."""
        if os.environ.get('JWT_PROVE_SWITCHES') != '1' or guard not in guards.GUARDS:
            raise werkzeug.exceptions.NotFound()
        if guard in _SWITCHED_OFF:
            _SWITCHED_OFF.pop(guard)()
        if off == '1':
            _SWITCHED_OFF[guard] = guards.switch_off(guard)
        # A switch moves no cache signal: what was kept under the other setting goes.
        token_cache.forget()
        return http.Response(' '.join(sorted(_SWITCHED_OFF)) or '-', content_type='text/plain')
