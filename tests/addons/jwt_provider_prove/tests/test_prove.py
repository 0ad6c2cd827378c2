"""make prove, in-process half: each guard off, its Odoo tests must fail; on, pass.

The tests run nested in this one test, in this process, where the guard is
switched. Each row goes to the JSON file named by JWT_PROVE_REPORT, with the
names of its black-box tests, which dev/prove.py then runs against a server
whose guards it switches over HTTP (controllers.py).
"""
import json
import logging
import os
import unittest

import odoo
from odoo.tests import common

from odoo.addons.jwt_provider import compat
from odoo.addons.jwt_provider.tests.common import post_install

from .. import guards

_logger = logging.getLogger(__name__)
BLACKBOX = 'blackbox:'


def _odoo_suite_and_result():
    try:  # 16.0+: Odoo's own suite and result, which its test cases expect
        from odoo.tests.result import OdooTestResult
        from odoo.tests.suite import OdooSuite
        return OdooSuite, OdooTestResult
    except ImportError:
        return unittest.TestSuite, unittest.TestResult


def _count(value):
    return value if isinstance(value, int) else len(value)


def run_odoo_test(name):
    """'passed', 'failed' or 'skipped' for one test of jwt_provider/tests."""
    Suite, Result = _odoo_suite_and_result()
    tests = unittest.defaultTestLoader.loadTestsFromName('odoo.addons.jwt_provider.tests.' + name)
    suite = Suite(list(tests) if isinstance(tests, unittest.TestSuite) else [tests])
    result = Result()
    current = odoo.modules.module.current_test
    try:
        suite.run(result)
    finally:
        odoo.modules.module.current_test = current
    if not result.wasSuccessful():
        return 'failed'
    if result.testsRun and _count(result.skipped) >= result.testsRun:
        return 'skipped'
    return 'passed' if result.testsRun else 'absent'


def prove(guard):
    """The row of ``guard``: each test's outcome with the guard off, then on."""
    row = {'guard': guard.name, 'guarantee': guard.guarantee, 'tests': []}
    if not guard.since <= compat.ODOO_VERSION <= guard.until:
        row['verdict'] = 'n/a'
        return row
    row['blackbox'] = [name[len(BLACKBOX):] for name in guard.tests if name.startswith(BLACKBOX)]
    for name in guard.tests:
        if name.startswith(BLACKBOX):
            continue
        undo = guards.switch_off(guard.name)
        try:
            off = run_odoo_test(name)
        finally:
            undo()
        row['tests'].append({'test': name, 'off': off, 'on': run_odoo_test(name)})
    return row


@post_install
class TestProve(common.BaseCase):
    """Not a test of its own: the driver of `make prove` (tests/addons are never shipped)."""

    def test_every_guard(self):
        only = [n for n in os.environ.get('JWT_PROVE_ONLY', '').split(',') if n]
        rows = []
        for guard in guards.GUARDS.values():
            if only and guard.name not in only:
                continue
            _logger.info('prove: %s', guard.name)
            rows.append(prove(guard))
            _logger.info('prove: %s: %s', guard.name, rows[-1]['tests'])
            with open(os.environ.get('JWT_PROVE_REPORT') or os.devnull, 'w') as f:
                json.dump(rows, f, indent=1)
        unproven = [row['guard'] for row in rows
                    if any(t['off'] != 'failed' or t['on'] != 'passed' for t in row['tests'])]
        self.assertFalse(unproven, 'guards whose tests do not fail without them: %s' % unproven)
