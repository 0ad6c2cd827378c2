"""Requirements for an Odoo source tree: its names, our pins.

    python dev/src_requirements.py TREE/requirements.txt PINS.txt [MORE_PINS.txt ...]

Odoo 12.0/13.0 pin releases that no longer build on current machines, so the
names come from the tree and the versions from the project's pin files (later
files win). Windows-only lines are dropped; psycopg2 becomes psycopg2-binary,
which needs no compiler or libpq headers; the LDAP bindings are left out (they
build only against OpenLDAP's headers, and only auth_ldap imports them).
"""
import re
import sys

RENAME = {'psycopg2': 'psycopg2-binary'}
SKIP = {'pyldap', 'python-ldap'}
WINDOWS_ONLY = re.compile(r"""^[^;]*;\s*sys_platform\s*==\s*['"]win32['"](\s+and\s+[^;]*)?$""")


def names(path):
    seen = []
    for line in open(path):
        line = line.split('#', 1)[0].strip()
        if not line or WINDOWS_ONLY.match(line):
            continue
        name = re.split(r'[\s=<>!~;\[]', line, 1)[0]
        name = RENAME.get(name.lower(), name)
        if name.lower() in SKIP:
            continue
        if name.lower() not in [n.lower() for n in seen]:
            seen.append(name)
    return seen


def pins(paths):
    result = {}
    for path in paths:
        for line in open(path):
            line = line.split('#', 1)[0].strip()
            if '==' in line:
                name, version = line.split('==', 1)
                result[name.strip().lower()] = '%s==%s' % (name.strip(), version.strip())
    return result


def main(tree_requirements, *pin_files):
    pinned = pins(pin_files)
    for name in names(tree_requirements):
        print(pinned.get(name.lower(), name))
    # Pins the tree does not name but its imports need on this stack.
    for key, line in pinned.items():
        if key not in [n.lower() for n in names(tree_requirements)]:
            print(line)


if __name__ == '__main__':
    main(*sys.argv[1:])
