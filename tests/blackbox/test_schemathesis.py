"""Schemathesis against the live OpenAPI document: what the document says is true.

``st run <server>/api/openapi.json --checks all`` from Schemathesis' own
virtualenv (``HARNESS_SCHEMATHESIS_PY``, built by ``dev/harness.py`` from
``requirements/schemathesis.txt``: current Schemathesis needs a newer Python
than 11.0's), with the bearer token of a fresh user, a fixed seed and a bounded
number of examples per operation. 0 failures expected.

Knobs (``make fuzz`` raises them): ``JWT_SCHEMATHESIS_EXAMPLES`` (examples per
operation, 25), ``JWT_SCHEMATHESIS_SEED`` (1), ``JWT_SCHEMATHESIS_TIMEOUT``
(seconds, 600).

Our contract answers a missing, malformed or revoked token with **498**, where
Schemathesis expects 401. So:

* two checks are left out, those that demand 401 (or 403) and nothing else:
  ``ignored_auth`` (a request without, or with a made-up, ``Authorization``
  must answer 401/403) and ``missing_required_header`` (its case of a missing
  ``Authorization`` header must answer exactly 401);
* the checks whose accepted statuses include 401 (``positive_data_acceptance``,
  ``negative_data_rejection``) accept 498 too: a made-up refresh token or
  two-factor ticket is valid by the schema and refused with 498.

What else is chosen, and why:

* ``/api/logout`` is left out: it would revoke the run's token;
* ``/example/helpers/{what}`` and ``/example/jwt/raise/{what}`` are left out:
  the example addon answers 500 there on purpose for some values (an addon's
  bug, as README shows it);
* on ``/api/login`` and ``/api/register``, ``positive_data_acceptance`` accepts
  400 too: credentials that are well formed but wrong (``Incorrect login``), an
  address already registered (the fixed seed registers the same ones again)
  are refused by the server's state, not their form (Schemathesis exempts a
  login operation it knows from a ``tokenUrl``, which a bearer scheme has not);
  so on ``/api/oauth/token``, where RFC 6749 5.2 answers a made-up refresh
  token with 400 ``invalid_grant``;
* on ``/example/jwt/rpc``, a JSON-RPC route, ``negative_data_rejection``
  accepts 200: JSON-RPC answers a refused call with HTTP 200 and an ``error``
  object (Odoo's protocol, and what the document says), not with a 4xx; and
  ``positive_data_acceptance`` accepts 400 and 415 for GET, DELETE and TRACE,
  which carry no body, so no JSON-RPC call (Odoo answers before the route
  runs: 400 on 16.0-18.0, 415 on 19.0; documented);
* on ``/example/jwt/rename``, declared without a description (no
  ``jwt_openapi``), ``positive_data_acceptance`` accepts 400: the generic
  description cannot know that it needs a ``name``;
* free sign-up is on during the run (``/api/register`` answers 501 when it is
  off, a 5xx that ``not_a_server_error`` counts as a failure);
* the coverage phase's unexpected methods are OpenAPI 3.1's own: QUERY (an
  OpenAPI 3.2 method) cannot be listed in a 3.1 document, and a route declared
  without ``methods`` serves it like any other.
"""
import os
import re
import subprocess
import tempfile

import pytest
import requests

from conftest import SERIES, TIMEOUT, URL, login, report

ST_PYTHON = os.environ.get('HARNESS_SCHEMATHESIS_PY')
EXAMPLES = int(os.environ.get('JWT_SCHEMATHESIS_EXAMPLES') or 25)
SEED = int(os.environ.get('JWT_SCHEMATHESIS_SEED') or 1)
RUN_TIMEOUT = int(os.environ.get('JWT_SCHEMATHESIS_TIMEOUT') or 600)

EXCLUDED_CHECKS = ('ignored_auth', 'missing_required_header')  # they demand 401; we answer 498
EXCLUDED_PATHS = ('/api/logout', '/example/helpers/{what}', '/example/jwt/raise/{what}')
CONFIG = """\
[phases.coverage]
unexpected-methods = ["get", "put", "post", "delete", "options", "patch", "trace"]

[checks.positive_data_acceptance]
expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx", "498"]

[checks.negative_data_rejection]
expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "415", "422", "428", "429", "5xx", "498"]

# Well-formed credentials that are wrong, an address already taken: refused by state, not by form.
# /api/oauth/token: RFC 6749 5.2 answers a made-up refresh token 400 invalid_grant (not 498).
[[operations]]
include-path = ["/api/login", "/api/register", "/api/oauth/token"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "429",
                                                     "5xx", "498"]

# JSON-RPC answers a refused call with HTTP 200 and an `error` (Odoo's protocol, documented so).
# (`enabled = false` here would lose to `--checks all` on the command line.)
[[operations]]
include-path = "/example/jwt/rpc"
checks.negative_data_rejection.expected-statuses = ["200", "400", "401", "403", "404", "405", "406", "409", "415",
                                                    "422", "428", "429", "5xx", "498"]

# A JSON-RPC call needs a JSON body: GET, DELETE, TRACE carry none (Odoo answers
# before the route runs: 400 on 16.0-18.0, 415 on 19.0; both documented).
[[operations]]
include-path = "/example/jwt/rpc"
include-method = ["GET", "DELETE", "TRACE"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "415",
                                                     "429", "5xx", "498"]

# Declared without a description (no `jwt_openapi`): the document cannot know the field it needs.
[[operations]]
include-path = "/example/jwt/rename"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "429",
                                                     "5xx", "498"]
"""


def _set_signup(admin, enabled):
    if SERIES < 12:
        admin.set_param('auth_signup.allow_uninvited', 'True' if enabled else 'False')
    else:
        admin.set_param('auth_signup.invitation_scope', 'b2c' if enabled else 'b2b')


def _summary(output):
    """Schemathesis' closing summary (from its SUMMARY rule), or the output's end."""
    at = output.rfind(' SUMMARY ')
    return output[output.rfind('\n', 0, at) + 1:] if at >= 0 else output[-4000:]


def test_schemathesis(admin):
    if not ST_PYTHON:
        pytest.skip('no Schemathesis virtualenv (dev/harness.py sets HARNESS_SCHEMATHESIS_PY)')
    st = os.path.join(os.path.dirname(ST_PYTHON), 'st')
    token = login(admin.new_user())['token']
    _set_signup(admin, True)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = os.path.join(tmp, 'schemathesis.toml')
            with open(config, 'w') as f:
                f.write(CONFIG)
            cmd = [st, '--config-file', config, '--no-color', 'run', URL + '/api/openapi.json',
                   '--checks', 'all', '--exclude-checks', ','.join(EXCLUDED_CHECKS),
                   '--header', 'Authorization: Bearer ' + token,
                   '--seed', str(SEED), '--max-examples', str(EXAMPLES), '--workers', '1',
                   '--request-timeout', str(TIMEOUT), '--report', 'junit', '--report-dir', tmp]
            for path in EXCLUDED_PATHS:
                cmd += ['--exclude-path', path]
            run = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                                 timeout=RUN_TIMEOUT, cwd=tmp, env=dict(os.environ, SCHEMATHESIS_HOOKS=''))
    finally:
        _set_signup(admin, False)
    output = run.stdout
    print('[schemathesis] ' + ' '.join(c if 'Bearer' not in c else 'Authorization: Bearer <token>' for c in cmd))
    print(_summary(output))
    # The token is still good: nothing in the run revoked it.
    me = requests.get(URL + '/api/me', headers={'Authorization': 'Bearer ' + token}, timeout=TIMEOUT)
    assert me.status_code == 200, me.text
    tested = re.search(r'Tested:\s+(\d+)', output)
    cases = re.search(r'Test cases:\s+(.*)', output)
    ending = re.search(r'=+ (.* in [0-9.]+s) =+\s*$', output)
    report('schemathesis: %s operations, %s (%s; seed %d, %d examples per operation)' % (
        tested.group(1) if tested else '?', cases.group(1).strip() if cases else '?',
        ending.group(1) if ending else 'no summary', SEED, EXAMPLES))
    assert tested and int(tested.group(1)) >= 8, output[-3000:]
    assert run.returncode == 0, output[-12000:]
