"""Build, for each Odoo series, what an Odoo user installs (``make dist``).

    python dev/dist.py [--wheel-only] [SERIES ...]    (from dev/harness.py dist; all series by default)

Into ``dist/`` (git-ignored), per series:

- the wheel, built by OCA's tools as OCA's addons are: ``whool`` for 16.0+
  (``odoo_addon_jwt_provider-19.0.2.1.0-py3-none-any.whl``, distribution
  ``odoo-addon-jwt_provider``) and ``setuptools-odoo`` for 11.0-15.0
  (``odoo11_addon_jwt_provider-11.0.2.1.0-...whl``, ``odoo11-addon-jwt_provider``).
  The tools write the dependency on Odoo (``odoo>=19.0a,<19.1dev``), the
  series' Python range, and the manifest's external dependencies, whose import
  names ``jwt`` and ``cryptography`` are mapped to the distributions PyJWT and
  cryptography below;
- ``jwt_provider-<series>.2.1.0.zip``: the addon folder, to unpack into an addons path.

The manifest carries one version for every series (``2.1.0``; Odoo prefixes its
series). Each series is built from a staged copy of the addon as it ships
(dev/sync_addon.py, as the harness stages it for Odoo) in
``.state/dist/<series>/``, whose manifest gets the full version
``<series>.2.1.0``. Run with the interpreter of the harness's dist virtualenv
(requirements/dist.txt: whool, setuptools-odoo, build).
"""
import ast
import os
import re
import shutil
import subprocess
import sys
import zipfile

import sync_addon

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STATE = os.environ.get('HARNESS_STATE') or os.path.join(ROOT, '.state')
DIST = os.environ.get('HARNESS_DIST_DIR') or os.path.join(ROOT, 'dist')
ADDON = 'jwt_provider'
ALL_SERIES = ('11.0', '12.0', '13.0', '14.0', '15.0', '16.0', '17.0', '18.0', '19.0')
FIRST_WHOOL_SERIES = 16
# The manifest names import names; pip needs distributions (and the oldest we support:
# cryptography 3.4.8 is what 15.0-18.0 pin, see requirements/odoo-*.txt).
EXTERNAL_DEPENDENCIES = {'jwt': 'PyJWT>=2.0', 'cryptography': 'cryptography>=3.4'}
VERSION_LINE = re.compile(r"""^(\s*['"]version['"]\s*:\s*)(['"])([^'"]*)\2""", re.M)
# The tools' own version suffix from git history (".99.devN") is for branches of
# one series; a staged copy is not a git checkout.
TOOLS_ENV = {'WHOOL_POST_VERSION_STRATEGY_OVERRIDE': 'none',
             'SETUPTOOLS_ODOO_POST_VERSION_STRATEGY_OVERRIDE': 'none'}


def manifest_version(manifest_path):
    with open(manifest_path) as f:
        return ast.literal_eval(f.read())['version']


def series_version(series, version):
    """``19.0`` and ``2.1.0`` give ``19.0.2.1.0``; a version that has its series already is kept."""
    if version.startswith(series + '.'):
        return version
    if len(version.split('.')) != 3:
        raise SystemExit('__manifest__.py: version %r is not x.y.z' % version)
    return '%s.%s' % (series, version)


def stage(series):
    """The addon as it ships, for ``series``: (folder holding the addon folder, full version)."""
    base = os.path.join(STATE, 'dist', series)
    target = os.path.join(base, ADDON)
    os.makedirs(base, exist_ok=True)
    sync_addon.sync(ROOT, target)
    manifest = os.path.join(target, '__manifest__.py')
    version = series_version(series, manifest_version(os.path.join(ROOT, '__manifest__.py')))
    with open(os.path.join(ROOT, '__manifest__.py')) as f:
        text = f.read()
    text, count = VERSION_LINE.subn(lambda m: m.group(1) + m.group(2) + version + m.group(2), text, count=1)
    if count != 1:
        raise SystemExit('__manifest__.py: no version line')
    with open(manifest, 'w') as f:
        f.write(text)
    shutil.copystat(os.path.join(ROOT, '__manifest__.py'), manifest)
    assert manifest_version(manifest) == version
    return base, version


def staged_files(folder):
    """Every file of a staged copy (all of it is the addon), relative, sorted."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d != '__pycache__']
        found += [os.path.relpath(os.path.join(root, f), folder).replace(os.sep, '/') for f in files]
    return sorted(found)


def git_snapshot(folder):
    """The build folder as a git repository of its own: both tools take the addon's
    files from git, as in OCA's repositories."""
    git = ['git', '-c', 'user.name=dist', '-c', 'user.email=dist@localhost', '-c', 'init.defaultBranch=main']
    for args in (['init', '-q'], ['add', '-A'], ['commit', '-qm', 'staged addon', '--no-gpg-sign']):
        subprocess.run(git + args, cwd=folder, check=True, stdout=subprocess.DEVNULL)


def archive(base, version):
    """``jwt_provider-<version>.zip``: the addon folder, files in a fixed order."""
    path = os.path.join(DIST, '%s-%s.zip' % (ADDON, version))
    tmp = path + '.tmp'
    with zipfile.ZipFile(tmp, 'w', zipfile.ZIP_DEFLATED) as z:
        for rel in staged_files(os.path.join(base, ADDON)):
            z.write(os.path.join(base, ADDON, rel), '%s/%s' % (ADDON, rel))
    os.replace(tmp, path)
    return path


def toml_table(mapping):
    return '{%s}' % ', '.join('%s = "%s"' % (k, v) for k, v in sorted(mapping.items()))


def build_whool(base, build_dir):
    """16.0+: whool, the PEP 517 backend OCA builds its addons with."""
    src = os.path.join(build_dir, ADDON)
    shutil.copytree(os.path.join(base, ADDON), src)
    with open(os.path.join(src, 'pyproject.toml'), 'w') as f:
        f.write('[build-system]\nrequires = ["whool"]\nbuild-backend = "whool.buildapi"\n\n'
                '[tool.whool]\nexternal_dependencies_override = {python = %s}\n'
                % toml_table(EXTERNAL_DEPENDENCIES))
    return src


def build_setuptools_odoo(base, build_dir):
    """11.0-15.0: setuptools-odoo, in the layout OCA's setup/ folders have."""
    src = os.path.join(build_dir, 'setup', ADDON)
    os.makedirs(os.path.join(src, 'odoo', 'addons'))
    shutil.copytree(os.path.join(base, ADDON), os.path.join(src, 'odoo', 'addons', ADDON))
    with open(os.path.join(src, 'setup.py'), 'w') as f:
        f.write('import setuptools\n\nsetuptools.setup(\n    setup_requires=["setuptools-odoo"],\n'
                '    odoo_addon={"external_dependencies_override": {"python": %r}},\n)\n'
                % EXTERNAL_DEPENDENCIES)
    return src


def wheel(series, base):
    build_dir = os.path.join(STATE, 'dist', series + '-build')
    shutil.rmtree(build_dir, ignore_errors=True)
    os.makedirs(build_dir)
    out = os.path.join(build_dir, 'out')
    if int(series.split('.')[0]) >= FIRST_WHOOL_SERIES:
        src = build_whool(base, build_dir)
    else:
        src = build_setuptools_odoo(base, build_dir)
    git_snapshot(src)
    log = os.path.join(STATE, 'dist', series + '-build.log')
    with open(log, 'w') as f:
        done = subprocess.run([sys.executable, '-m', 'build', '--wheel', '--no-isolation', '--outdir', out, src],
                              stdout=f, stderr=subprocess.STDOUT,
                              # The staged copy sits in the clone's git-ignored .state/: the tools must
                              # never reach the clone's git from there.
                              env=dict(os.environ, GIT_CEILING_DIRECTORIES=os.path.dirname(build_dir),
                                       **TOOLS_ENV),
                              cwd=build_dir)
    built = [n for n in os.listdir(out) if n.endswith('.whl')] if os.path.isdir(out) else []
    if done.returncode or len(built) != 1:
        with open(log) as f:
            sys.stderr.write(''.join(f.readlines()[-20:]))
        raise SystemExit('building the %s wheel failed, see %s' % (series, log))
    path = os.path.join(DIST, built[0])
    os.replace(os.path.join(out, built[0]), path)
    shutil.rmtree(build_dir, ignore_errors=True)
    return path


def wheel_metadata(path):
    """(name, version, Requires-Python, [Requires-Dist]) of a wheel."""
    with zipfile.ZipFile(path) as z:
        name = next(n for n in z.namelist() if n.endswith('.dist-info/METADATA'))
        text = z.read(name).decode('utf-8')
    headers = {}
    for line in text.split('\n\n', 1)[0].splitlines():
        key, _, value = line.partition(': ')
        headers.setdefault(key, []).append(value)
    return (headers['Name'][0], headers['Version'][0], (headers.get('Requires-Python') or [''])[0],
            headers.get('Requires-Dist', []))


def build(series, wheel_only=False):
    base, version = stage(series)
    os.makedirs(DIST, exist_ok=True)
    made = [wheel(series, base)]
    if not wheel_only:
        made.append(archive(base, version))
    return made


def main(argv):
    wheel_only = '--wheel-only' in argv
    series_list = [a for a in argv if a != '--wheel-only'] or list(ALL_SERIES)
    for series in series_list:
        if series not in ALL_SERIES:
            raise SystemExit('unknown series %s (known: %s)' % (series, ' '.join(ALL_SERIES)))
    for series in series_list:
        for path in build(series, wheel_only):
            line = '[dist] %s' % os.path.relpath(path, ROOT)
            if path.endswith('.whl'):
                name, version, python, requires = wheel_metadata(path)
                line += '  (%s %s; Python %s; requires %s)' % (name, version, python or 'any', ', '.join(requires))
            print(line, flush=True)


if __name__ == '__main__':
    main(sys.argv[1:])
