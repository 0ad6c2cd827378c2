"""What an addon developer gets from ``auth='jwt'`` (issue #15), with the
routes of ``examples/jwt_provider_example``: Odoo's exceptions answered in the
envelope and rolled back, JSON-RPC routes, no CSRF token for bearer requests,
and bodies read before an API slot is taken."""
import os
import socket
import threading
from urllib.parse import urlparse

import pytest
import requests

from conftest import TIMEOUT, URL, assert_envelope, bearer, report

BODY_TIMEOUT = int(os.environ.get('ODOO_JWT_BODY_TIMEOUT') or 30)


@pytest.mark.parametrize('what,status,message', [
    ('access', 403, None),
    ('user', 400, 'Nothing to do for {login}'),
    ('validation', 400, 'This value is not valid'),
    ('missing', 404, 'That record does not exist'),
    ('not-found', 404, 'Not Found'),
    ('bug', 500, 'Internal Server Error'),
])
def test_odoo_errors_answer_in_the_envelope_and_roll_back(admin, user, tokens, what, status, message):
    answer = requests.post(URL + '/example/jwt/raise/' + what, headers=bearer(tokens['token']), timeout=TIMEOUT)
    body = assert_envelope(answer, status, False)
    if message:
        assert body['message'] == message.format(login=user['login'])
    else:  # Odoo's own words for the refused write
        assert body['message'] and body['message'] != 'Internal Server Error'
    assert 'session_id' not in answer.headers.get('Set-Cookie', '')
    assert admin.call('res.partner', 'search_count', [('name', '=', 'rolled back: %s' % what)]) == 0


def test_the_route_ran_before_raising(admin, tokens):
    # Guards the roll-back check above: the same route commits when it does not raise.
    answer = requests.post(URL + '/example/jwt/raise/nothing', headers=bearer(tokens['token']), timeout=TIMEOUT)
    assert assert_envelope(answer, 200, True)['data'] == {'what': 'nothing'}
    assert admin.call('res.partner', 'search_count', [('name', '=', 'rolled back: nothing')]) == 1


def test_bearer_requests_need_no_csrf_token(tokens):
    # /example/jwt/rename leaves csrf at its default (True).
    answer = requests.post(URL + '/example/jwt/rename', headers=bearer(tokens['token']), data={'name': 'Ada'},
                           timeout=TIMEOUT)
    assert assert_envelope(answer, 200, True)['data']['name'] == 'Ada'
    answer = requests.post(URL + '/example/jwt/rename', headers=bearer(tokens['token']), timeout=TIMEOUT)
    assert assert_envelope(answer, 400, False)['message'] == 'A name is required'
    # Without a token: refused before any CSRF question arises.
    assert_envelope(requests.post(URL + '/example/jwt/rename', data={'name': 'Ada'}, timeout=TIMEOUT), 498)


def test_a_wrong_method_answers_405_in_the_envelope(tokens):
    answer = requests.get(URL + '/example/jwt/rename', headers=bearer(tokens['token']), timeout=TIMEOUT)
    assert_envelope(answer, 405, False)
    assert 'POST' in answer.headers['Allow']


def rpc(params, token=None, request_id=7):
    headers = bearer(token) if token else {}
    answer = requests.post(URL + '/example/jwt/rpc', headers=headers, timeout=TIMEOUT, json={
        'jsonrpc': '2.0', 'method': 'call', 'id': request_id, 'params': params})
    assert answer.status_code == 200, answer.text
    assert answer.headers['Content-Type'].startswith('application/json')
    assert 'session_id' not in answer.headers.get('Set-Cookie', '')
    body = answer.json()
    assert body['jsonrpc'] == '2.0' and body['id'] == request_id
    return body


def test_json_routes_take_bearer_tokens(user, tokens):
    body = rpc({'id': 42, 'extra': 1}, tokens['token'])
    # The params are the arguments; the JSON-RPC envelope's own "id" (7) is not.
    assert body['result'] == {'uid': user['id'], 'id': 42, 'kw': ['extra']}


@pytest.mark.parametrize('token', [None, 'nope', 'refresh'])
def test_json_routes_refuse_bad_tokens_in_json_rpc_shape(tokens, token):
    token = tokens['refresh_token'] if token == 'refresh' else token
    error = rpc({'id': 42}, token)['error']
    assert error['code'] == 498 and error['message'] == 'Token invalid or expired'
    assert error['data']['http_status'] == 498
    assert 'debug' not in error['data']


@pytest.mark.parametrize('params', [[42], 'x', 1, False, None])
def test_json_rpc_params_that_are_no_object_are_refused(tokens, params):
    error = rpc(params, tokens['token'])['error']
    assert error['code'] == 400 and error['message'] == 'Invalid JSON-RPC request: params must be an object'


def test_preflight_of_a_route_with_methods(tokens):
    answer = requests.options(URL + '/example/jwt/rename', headers={
        'Origin': 'https://app.example.com', 'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization'}, timeout=TIMEOUT)
    assert answer.status_code == 200
    assert answer.headers['Access-Control-Allow-Origin'] == '*'
    assert 'POST' in answer.headers['Access-Control-Allow-Methods']


def test_json_routes_answer_odoo_errors_in_json_rpc_shape(tokens):
    error = rpc({'id': 'user-error'}, tokens['token'])['error']
    assert error['code'] == 400 and error['message'] == 'A JSON-RPC user error'
    assert error['data']['name'] == 'odoo.exceptions.UserError'
    assert 'debug' not in error['data']


def test_a_path_cannot_forge_a_log_line():
    forged = 'FORGED-%s' % os.getpid()
    answer = requests.get(URL + '/example/jwt/raise/x%0A2026-01-01 00:00:00,000 1 INFO db odoo: ' + forged,
                          timeout=TIMEOUT)
    assert_envelope(answer, 498, False)
    with open(os.environ['JWT_TEST_SERVER_LOG'], errors='replace') as f:
        lines = [line for line in f if forged in line]
    assert any(' JWT refused on ' in line for line in lines), 'the refusal was not logged with its path'
    assert not [line for line in lines if line.startswith('2026-01-01 00:00:00,000')], 'a forged log line'


def test_a_form_that_is_not_utf8_is_a_bad_request():
    answer = requests.post(URL + '/api/login', data=b'email=\xff&password=x',
                           headers={'Content-Type': 'application/x-www-form-urlencoded'}, timeout=TIMEOUT)
    assert assert_envelope(answer, 400, False)['message'] == 'Invalid form body: not UTF-8 text'


class SlowSender(object):
    """A client that announces a body and sends it one byte at a time."""

    def __init__(self, path, length=200):
        url = urlparse(URL)
        self.sock = socket.create_connection((url.hostname, url.port), timeout=TIMEOUT)
        self.sock.sendall(('POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n'
                           'Content-Length: %d\r\n\r\nemail=' % (path, url.netloc, length)).encode('ascii'))

    def trickle(self, stop, every=1.0):
        while not stop.wait(every):
            try:
                self.sock.sendall(b'x')
            except OSError:
                return

    def answer(self):
        self.sock.settimeout(BODY_TIMEOUT + TIMEOUT)
        data = b''
        while b'\r\n\r\n' not in data:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            data += chunk
        return data

    def answered(self):
        self.sock.setblocking(False)
        try:
            return bool(self.sock.recv(1, socket.MSG_PEEK))
        except BlockingIOError:
            return False
        finally:
            self.sock.setblocking(True)

    def close(self):
        self.sock.close()


def test_slow_senders_hold_no_api_slot(tokens):
    """40 clients trickle their bodies to /api/login; the API answers at once
    meanwhile, and each slow sender gets a 408 when its time is up."""
    stop = threading.Event()
    senders = [SlowSender('/api/login') for _ in range(40)]
    threads = [threading.Thread(target=s.trickle, args=(stop,), daemon=True) for s in senders]
    try:
        for thread in threads:
            thread.start()
        stop.wait(1)  # every sender has its request under way
        took = []
        for _ in range(3):
            for answer in (requests.get(URL + '/api/ping', timeout=BODY_TIMEOUT / 2),
                           requests.get(URL + '/api/me', headers=bearer(tokens['token']), timeout=BODY_TIMEOUT / 2)):
                assert_envelope(answer, 200)
                took.append(answer.elapsed.total_seconds())
        report('slow senders: 40 trickling bodies to /api/login; /api/ping and /api/me meanwhile answered '
               'in %.0f-%.0f ms (%d calls)' % (min(took) * 1000, max(took) * 1000, len(took)))
        # Guards the check above: the slow senders were still unanswered meanwhile.
        assert not any(sender.answered() for sender in senders)
        head = senders[0].answer()
        assert head.startswith(b'HTTP/1.') and b' 408 ' in head.split(b'\r\n', 1)[0], head[:200]
    finally:
        stop.set()
        for sender in senders:
            sender.close()


def test_routes_with_model_converters(admin, user, tokens):
    """``<model("res.partner"):partner>`` in an ``auth='jwt'`` route: building
    the API's route map once crashed every API request with such a route (Odoo's
    converter looked its database up on a thread not yet named)."""
    partner_id = admin.call('res.users', 'read', [user['id']], fields=['partner_id'])[0]['partner_id'][0]
    answer = requests.get(URL + '/example/jwt/partner/%d' % partner_id, headers=bearer(tokens['token']),
                          timeout=TIMEOUT)
    body = assert_envelope(answer, 200, success=True)
    assert body['data'] == {'id': partner_id, 'name': 'User %s' % user['login'], 'uid': user['id']}
    missing = requests.get(URL + '/example/jwt/partner/2147483000', headers=bearer(tokens['token']), timeout=TIMEOUT)
    assert_envelope(missing, 404, success=False)
    refused = requests.get(URL + '/example/jwt/partner/%d' % partner_id, timeout=TIMEOUT)
    assert_envelope(refused, 498, success=False)
