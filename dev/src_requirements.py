"""Requirements for an Odoo source tree: its names, our pins.

    python dev/src_requirements.py [--tree TREE/requirements.txt] PINS.txt [MORE_PINS.txt ...]

Prints one requirement a line, for pip install -r. Run it with the Python
the virtualenv is built from: the tree's environment markers are evaluated
for that interpreter.

Odoo trees pin releases of their own time that no longer build here, so the
names come from the tree and the versions from the project's pin files
(later files win, so a series' pin file can override the addon's own
requirements.txt). A pin file is an ordinary requirements file with exact
pins (``name==version``), ``-r other.txt`` includes (relative to the file)
and ``# drop: name`` lines for a tree's requirement that must not be
installed. Everywhere psycopg2 becomes psycopg2-binary (no compiler or libpq
headers needed) and the LDAP bindings are left out (they build only against
OpenLDAP's headers, and only auth_ldap imports them).

Every pin is printed, named by the tree or not (the addon's and the
harness's own dependencies, and what the tree's imports need on this
stack). A tree name without a pin keeps the tree's own version and is
reported on stderr. Without --tree, or when the tree has no
requirements.txt (some 12.0 copies), only the pins are printed.
"""
import os
import re
import sys

try:
    from packaging.markers import Marker
except ImportError:  # a fresh virtualenv: pip vendors packaging
    from pip._vendor.packaging.markers import Marker

RENAME = {'psycopg2': 'psycopg2-binary'}
SKIP = {'pyldap', 'python-ldap'}
NAME = re.compile(r'^\s*([A-Za-z0-9][A-Za-z0-9._-]*)')


def key(name):
    """PEP 503 normalised name: Pillow = pillow, pyOpenSSL = pyopenssl, zope_event = zope.event."""
    return re.sub(r'[-_.]+', '-', name).lower()


def tree_requirements(path):
    """[(name, line)] of the tree's requirements that apply to this interpreter, first one per name."""
    found = []
    seen = set()
    for raw in open(path):
        line = raw.split('#', 1)[0].strip()
        if not line or line.startswith('-'):
            continue
        spec, _, marker = line.partition(';')
        if marker.strip() and not Marker(marker.strip()).evaluate():
            continue
        m = NAME.match(spec)
        if not m:
            continue
        name = RENAME.get(key(m.group(1)), m.group(1))
        if key(name) in SKIP or key(name) in seen:
            continue
        seen.add(key(name))
        found.append((name, spec.strip().replace(m.group(1), name, 1)))
    return found


def read_pins(path, pins, dropped, stack=()):
    if path in stack:
        raise SystemExit('src_requirements: %s includes itself' % path)
    for raw in open(path):
        drop = re.match(r'^\s*#\s*drop:\s*(\S+)', raw)
        if drop:
            dropped.add(key(drop.group(1)))
            pins.pop(key(drop.group(1)), None)
            continue
        line = raw.split('#', 1)[0].strip()
        if not line:
            continue
        include = re.match(r'^-r\s+(\S+)$', line)
        if include:
            read_pins(os.path.join(os.path.dirname(path), include.group(1)), pins, dropped, stack + (path,))
            continue
        spec, _, marker = line.partition(';')
        if marker.strip() and not Marker(marker.strip()).evaluate():
            continue
        if '==' not in spec:
            raise SystemExit('src_requirements: %s: not an exact pin: %s' % (path, line))
        name, version = (part.strip() for part in spec.split('==', 1))
        pins[key(name)] = '%s==%s' % (name, version)
        dropped.discard(key(name))


def main(argv):
    tree = None
    if argv[:1] == ['--tree']:
        tree, argv = argv[1], argv[2:]
    pins, dropped = {}, set()
    for path in argv:
        read_pins(path, pins, dropped)
    lines = []
    named = set()
    if tree and os.path.exists(tree):
        for name, spec in tree_requirements(tree):
            named.add(key(name))
            if key(name) in dropped:
                continue
            if key(name) not in pins:
                sys.stderr.write('src_requirements: %s is not pinned by the project, using the tree\'s "%s"\n'
                                 % (name, spec))
            lines.append(pins.get(key(name), spec))
    elif tree:
        sys.stderr.write('src_requirements: %s does not exist; installing the pinned set only\n' % tree)
    lines += [line for name, line in pins.items() if name not in named]
    print('\n'.join(lines))


if __name__ == '__main__':
    main(sys.argv[1:])
