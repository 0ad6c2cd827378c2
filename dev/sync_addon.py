"""Copy the addon, as it ships, to the folder Odoo loads it from.

    python dev/sync_addon.py SOURCE TARGET

The clone's root is the addon, but it also holds what the harness builds
(``.state/``, ``.venv-*/``), and Odoo walks a module's folder: its translation
export reads every Python, XML and JavaScript file under it (the virtualenvs'
copies of Odoo included, and ``.state/addons/jwt_provider`` back to the root
when that was a symlink: a loop). So Odoo gets a copy of the files git tracks
or would track (new files too), without the parts that are not the addon.
Only changed files are rewritten, each atomically, and files gone from the
source are removed: a server running from the copy keeps working.
"""
import os
import shutil
import subprocess
import sys

# Parts of the repository that are not the installed addon.
NOT_THE_ADDON = ('.ci/', '.git', 'clients/', 'dev/', 'dist/', 'examples/', 'requirements/', 'tests/addons/',
                 'tests/blackbox/', 'tests/browser/')


def addon_files(source):
    """Paths (relative, '/'-separated) of the addon's files in ``source``."""
    try:
        out = subprocess.run(['git', '-C', source, 'ls-files', '-z', '--cached', '--others', '--exclude-standard'],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True).stdout
        paths = [p for p in out.decode('utf-8', 'surrogateescape').split('\0') if p]
    except (OSError, subprocess.CalledProcessError):  # not a git clone: every file outside dot-folders
        paths = []
        for root, dirs, files in os.walk(source):
            dirs[:] = [d for d in dirs if not d.startswith('.') and d != '__pycache__']
            rel = os.path.relpath(root, source)
            paths += [f if rel == '.' else rel.replace(os.sep, '/') + '/' + f for f in files]
    return sorted(p for p in paths
                  if not p.startswith(NOT_THE_ADDON) and os.path.isfile(os.path.join(source, p)))


def same(a, b):
    try:
        sa, sb = os.stat(a), os.stat(b)
    except OSError:
        return False
    return sa.st_size == sb.st_size and int(sa.st_mtime) == int(sb.st_mtime)


def sync(source, target):
    if os.path.islink(target):
        os.remove(target)  # the harness used to link the clone itself
    wanted = set(addon_files(source))
    changed = 0
    for rel in wanted:
        src, dst = os.path.join(source, rel), os.path.join(target, rel)
        if same(src, dst):
            continue
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        tmp = '%s.sync-tmp-%d' % (dst, os.getpid())  # two set-ups may sync at once
        shutil.copy2(src, tmp)
        os.replace(tmp, dst)
        changed += 1
    for root, dirs, files in os.walk(target, topdown=False):
        for name in files:
            path = os.path.join(root, name)
            rel = os.path.relpath(path, target).replace(os.sep, '/')
            if rel not in wanted and '__pycache__' not in rel.split('/') and '.sync-tmp-' not in name:
                os.remove(path)
                changed += 1
        if root != target and not os.listdir(root):
            os.rmdir(root)
    return changed


if __name__ == '__main__':
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sync(os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]))
