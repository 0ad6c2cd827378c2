"""Rows kept between requests (token_cache.py, #14): whatever ends a token or
changes a profile /api/me answers reaches every worker at once, whoever makes
the change and however."""
import os

import psycopg2
import pytest
import requests

from conftest import DB, TIMEOUT, URL, WORKERS_URL, bearer, login

PG_PORT = os.environ.get('HARNESS_PG_PORT')


def statuses(token, calls=4):
    """The statuses of /api/me on both servers (several calls each: --workers 2
    has two processes, and each keeps rows of its own)."""
    return {requests.get(url + '/api/me', headers=bearer(token), timeout=TIMEOUT).status_code
            for url in (URL, WORKERS_URL) for _i in range(calls)}


def database():
    """A connection to the servers' database, as an administrator's psql."""
    if not PG_PORT:
        pytest.skip('no direct access to the database (HARNESS_PG_PORT unset)')
    return psycopg2.connect(host='127.0.0.1', port=PG_PORT, user='postgres', dbname=DB)


def test_logout_on_one_worker_ends_the_token_on_every_worker(user):
    tokens = login(user)
    assert statuses(tokens['token']) == {200}  # every process now keeps the row
    answer = requests.post(WORKERS_URL + '/api/logout', headers=bearer(tokens['token']), timeout=TIMEOUT)
    assert answer.status_code == 200
    assert statuses(tokens['token']) == {498}


def test_an_archive_in_sql_ends_tokens_at_once_and_a_restore_brings_them_back(user):
    """No addon code runs: the trigger on res_users moves the signal."""
    tokens = login(user)
    assert statuses(tokens['token']) == {200}
    connection = database()
    try:
        with connection, connection.cursor() as cr:
            cr.execute('UPDATE res_users SET active = false WHERE id = %s', [user['id']])
        assert statuses(tokens['token']) == {498}
        with connection, connection.cursor() as cr:
            cr.execute('UPDATE res_users SET active = true WHERE id = %s', [user['id']])
        assert statuses(tokens['token']) == {200}
    finally:
        connection.close()


def test_a_revocation_in_flight_is_not_outlived(user):
    """A row read while another transaction revokes it is not kept: once that
    transaction commits, the token is refused everywhere. (Up to 18.0 Odoo's
    signal is a sequence, which moves before the revoking transaction commits.)"""
    tokens = login(user)
    connection = database()
    try:
        cr = connection.cursor()
        cr.execute("UPDATE jwt_provider_token SET revoked = true, revoked_reason = 'admin'"
                   " WHERE user_id = %s AND token_type = 'access'", [user['id']])
        assert statuses(tokens['token']) == {200}  # not committed yet: still valid
        connection.commit()
        assert statuses(tokens['token']) == {498}
    finally:
        connection.close()


def profiles(token, calls=4):
    """The ``(name, company name)`` pairs /api/me answers on both servers."""
    answers = [requests.get(url + '/api/me', headers=bearer(token), timeout=TIMEOUT)
               for url in (URL, WORKERS_URL) for _i in range(calls)]
    assert {answer.status_code for answer in answers} == {200}
    return {(answer.json()['data']['name'], answer.json()['data']['company_id'][1]) for answer in answers}


def test_a_rename_in_flight_is_not_outlived(user):
    """/api/me keeps profiles between requests: one read while another
    transaction renames the user is not kept beyond that transaction's commit."""
    tokens = login(user)
    (name, company), = profiles(tokens['token'])
    connection = database()
    try:
        cr = connection.cursor()
        cr.execute("UPDATE res_partner SET name = 'In Flight'"
                   " WHERE id = (SELECT partner_id FROM res_users WHERE id = %s)", [user['id']])
        assert profiles(tokens['token']) == {(name, company)}  # not committed yet
        connection.commit()
        assert profiles(tokens['token']) == {('In Flight', company)}
    finally:
        connection.close()


def test_a_company_rename_shows_at_once(admin, user):
    tokens = login(user)
    (name, company), = profiles(tokens['token'])
    company_id = admin.call('res.users', 'read', [user['id']], ['company_id'])[0]['company_id'][0]
    admin.call('res.company', 'write', [company_id], {'name': company + ' (renamed)'})
    try:
        assert profiles(tokens['token']) == {(name, company + ' (renamed)')}
    finally:
        admin.call('res.company', 'write', [company_id], {'name': company})
    assert profiles(tokens['token']) == {(name, company)}
