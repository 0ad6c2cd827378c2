"""make lint: every relative link and every file the pages name exists.

Pages: README.md, CHANGELOG.md's unreleased part is history and is left out,
docs/*.md. A file is a backticked token with a known extension or a trailing
slash (`models/res_users.py`, `docs/`); it must exist relative to the page or
to the repository root, or be one of the names below that the harness creates
or that belong to Odoo or another project. Exits 1 and lists what is missing.
"""
import glob
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINK = re.compile(r'\]\(([^)#\s]+)(#[^)]*)?\)')
FILE = re.compile(r'`([\w.\-/]+(?:\.(?:py|md|txt|xml|csv|toml|cfg|yaml|yml|json|sh|js|pot|po|png|ini)|/))`')
# Created by the harness (dist/: make dist), files of Odoo / other projects the pages talk about,
# or beside the clone (../: where it lives is the user's choice, so it is not checked).
NOT_OURS = re.compile(r'^(\.state/|\.venv|dist/|\.ci/run$|/|~|\.\./|odoo/|addons/|auth_totp/|auth_signup/|web/|base/|'
                      r'.*__manifest__\.py$|setup\.py$|pyproject\.toml$|schemathesis\.toml$|openapi\.json$|'
                      r'package(-lock)?\.json$|node_modules/|fault-windows\.txt$|figures\.txt$|prove\.(json|log)$|'
                      r'prove-pytest\.log$|blackbox\.xml$|fuzz-report\.txt$|ir\.access\.csv$|'
                      r'ir\.model\.access\.csv$)')


def exists(page, name):
    name = name.split('::')[0]
    return any(os.path.exists(os.path.normpath(os.path.join(base, name)))
               for base in (os.path.dirname(page), ROOT))


def main():
    pages = [os.path.join(ROOT, 'README.md')] + sorted(glob.glob(os.path.join(ROOT, 'docs', '*.md')))
    missing = []
    for page in pages:
        with open(page, encoding='utf-8') as f:
            text = f.read()
        for number, line in enumerate(text.split('\n'), 1):
            names = [m.group(1) for m in LINK.finditer(line) if not re.match(r'^[a-z]+:', m.group(1))]
            names += [m.group(1) for m in FILE.finditer(line) if not NOT_OURS.match(m.group(1))]
            for name in names:
                if not exists(page, name):
                    missing.append('%s:%d: %s' % (os.path.relpath(page, ROOT), number, name))
    for line in missing:
        print(line)
    return 1 if missing else 0


if __name__ == '__main__':
    sys.exit(main())
