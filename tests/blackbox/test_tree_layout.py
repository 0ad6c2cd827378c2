"""A user's Odoo tree works however its folders are laid out, and a series
newer than the harness needs no harness work (issue #18).

Some trees keep every module in ``odoo/addons/`` and an ``addons/`` folder
with no module in it (only a ``.gitignore``): Odoo refuses such a folder as an
addons path (19.0 skips it with a warning), so the harness must leave it out.
The test lays out such a tree from the series' own (symlinks in a temporary
folder: nothing of Odoo is copied), asks the harness for the tree's part of the
addons path, and has Odoo's own option check accept it.
"""
import os
import re
import subprocess

import pytest

ROOT = os.environ.get('HARNESS_ROOT', '')
TREE = os.environ.get('HARNESS_ODOO_SRC', '')
PY = os.environ.get('HARNESS_PY', '')

pytestmark = pytest.mark.skipif(not (ROOT and TREE and PY),
                                reason='needs an Odoo source tree (11.0 runs from the wheels) and dev/run_tests.py')

CHECK = ('import sys\n'
         'from odoo.tools import config\n'
         'config.parse_config(["--addons-path=" + sys.argv[1]])\n'
         'paths = config["addons_path"]\n'  # 19.0: a list
         'print(paths if isinstance(paths, str) else ",".join(paths))\n')


def link_all(source, target, skip=()):
    for name in os.listdir(source):
        if name not in skip:
            os.symlink(os.path.join(source, name), os.path.join(target, name))


@pytest.fixture
def empty_addons_tree(tmp_path):
    """The series' tree with all its modules in odoo/addons/ and an empty addons/."""
    tree = tmp_path / 'odoo-tree'
    tree.mkdir()
    link_all(TREE, str(tree), skip=('odoo', 'addons'))
    (tree / 'addons').mkdir()
    (tree / 'addons' / '.gitignore').write_text('*\n')
    (tree / 'odoo').mkdir()
    link_all(os.path.join(TREE, 'odoo'), str(tree / 'odoo'), skip=('addons',))
    modules = tree / 'odoo' / 'addons'
    modules.mkdir()
    link_all(os.path.join(TREE, 'odoo', 'addons'), str(modules))
    if os.path.isdir(os.path.join(TREE, 'addons')):
        link_all(os.path.join(TREE, 'addons'), str(modules), skip=('__init__.py',))
    return tree


def odoo_check(tree, addons_path):
    """Odoo's own --addons-path check on ``tree``: (exit status, the addons path it keeps, stderr)."""
    done = subprocess.run([PY, '-c', CHECK, addons_path], cwd=str(tree.parent), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(tree)))
    return done.returncode, done.stdout.strip().split('\n')[-1], done.stderr


def test_empty_addons_folder_is_left_out(empty_addons_tree):
    tree = empty_addons_tree
    empty, modules = str(tree / 'addons'), str(tree / 'odoo' / 'addons')
    # The layout is one Odoo does not take as it is: the empty folder is refused (or skipped, 19.0).
    status, kept, _err = odoo_check(tree, '%s,%s' % (empty, modules))
    assert status != 0 or empty not in kept.split(',')

    env = {k: v for k, v in os.environ.items() if k not in ('ODOO_VERSION', 'PYTHON')}
    env['ODOO_SRC'] = str(tree)
    done = subprocess.run(['python3', os.path.join(ROOT, 'dev', 'harness.py'), 'addons-path'], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == modules, done.stderr
    assert 'holds no module: left out of the addons path' in done.stderr

    status, kept, err = odoo_check(tree, done.stdout.strip())
    assert status == 0, err[-2000:]
    assert modules in kept.split(','), kept


@pytest.fixture
def newer_tree(tmp_path):
    """The series' tree, calling itself 20.0 with 20.0's demands in odoo/release.py
    (Python 3.12 or 3.13, PostgreSQL 16 or newer)."""
    tree = tmp_path / 'odoo-20'
    tree.mkdir()
    link_all(TREE, str(tree), skip=('odoo',))
    (tree / 'odoo').mkdir()
    link_all(os.path.join(TREE, 'odoo'), str(tree / 'odoo'), skip=('release.py',))
    with open(os.path.join(TREE, 'odoo', 'release.py')) as f:
        text = f.read()
    text = re.sub(r'(?m)^version_info = \(\d+, *\d+', 'version_info = (20, 0', text)
    text = re.sub(r'(?m)^(MIN_PY_VERSION|MAX_PY_VERSION|MIN_PG_VERSION) *=.*$', '', text)
    text += '\nMIN_PY_VERSION = (3, 12)\nMAX_PY_VERSION = (3, 13)\nMIN_PG_VERSION = 16\n'
    (tree / 'odoo' / 'release.py').write_text(text)
    return tree


def debian_pg_major():
    found = [int(d) for d in os.listdir('/usr/lib/postgresql') if d.isdigit()] if os.path.isdir('/usr/lib/postgresql') \
        else []
    return max(found or [0])


def test_a_newer_series_needs_no_harness_work(newer_tree):
    """The Python range and the PostgreSQL minimum come from the tree's odoo/release.py,
    not from a table of the series the harness knows."""
    env = {k: v for k, v in os.environ.items() if k not in ('ODOO_VERSION', 'PYTHON', 'PG_VERSION')}
    env['ODOO_SRC'] = str(newer_tree)
    done = subprocess.run(['python3', os.path.join(ROOT, 'dev', 'harness.py'), 'info'], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=60)
    assert done.returncode == 0, done.stderr
    want_pg = '18' if debian_pg_major() < 16 else ''
    assert done.stdout.strip() == 'series=20.0 python=3.13,3.12 postgresql=%s' % want_pg, done.stderr
