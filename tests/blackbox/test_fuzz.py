"""Generated hostile requests (Hypothesis) against the threaded and the --workers 2 server.

Every answer: status < 500; under /api/ JSON in the envelope (404, 405, 413,
400 included); no traceback and no server path in any body; an oversized body
(> 1 MiB) to /api/ answers 413; credentials in the URL of POST /api/login are
refused; a token spelled differently (standard base64, padding, ...) is not a
token; emails differing only by Unicode case are one account; no token,
password or signing key in the servers' logs; both servers alive at the end.

By default a fixed-seed slice runs in ``make test`` (well under a minute).
``make fuzz`` scales it:

- ``JWT_FUZZ_REQUESTS=N``: keep generating until the main test sent N requests
  (rounds of ``JWT_FUZZ_EXAMPLES`` examples, each with its own seed);
- ``JWT_FUZZ_EXAMPLES``: examples per round (default 150; also scales the focused tests);
- ``JWT_FUZZ_BATCH``: at most this many requests of one example run in parallel
  (default 3, 8 with ``JWT_FUZZ_REQUESTS``);
- ``JWT_FUZZ_SEED``: another seed (the default is derandomized).

The main test does not stop at the first broken answer: it collects every
violation, grouped by kind with the smallest request that shows it, and fails
at the end with the counts (so one run shows every class of bug).
"""
import collections
import concurrent.futures
import json
import os
import re
import sys
import time
import urllib.parse
import uuid

import pytest
import requests
from hypothesis import HealthCheck, Phase, assume, example, given, seed, settings
from hypothesis import strategies as st

from conftest import DB, TIMEOUT, URL, WORKERS_URL, assert_envelope, bearer, login
from strategies import (
    API_PATHS, AUTH_PATHS, EXAMPLE_PATHS, LATER_API_PATHS, MIB, Context, Spec, build, decoded_path, respell, send_built,
    specs
)

SERVERS = {'threaded': URL, 'workers': WORKERS_URL}
ENVELOPE = {'data', 'success', 'message'}
# Under /api/ but documents, not API answers (issue #10): no envelope asked of them.
NOT_ENVELOPED = ('/api/openapi.json', '/api/docs')
LEAKS = (b'Traceback', b'/odoo/', b'.py"')

SERIES = float(os.environ.get('JWT_TEST_SERIES') or '11.0')
# Free sign-up: a boolean on 11.0, a scope from 12.0 on (auth_signup's settings).
SIGNUP_PARAM = ('auth_signup.allow_uninvited', 'True') if SERIES < 12 else ('auth_signup.invitation_scope', 'b2c')
TARGET_REQUESTS = int(os.environ.get('JWT_FUZZ_REQUESTS') or 0)
EXAMPLES = int(os.environ.get('JWT_FUZZ_EXAMPLES') or 150)
BATCH = int(os.environ.get('JWT_FUZZ_BATCH') or (8 if TARGET_REQUESTS else 3))
SEED = os.environ.get('JWT_FUZZ_SEED')
SCALED = TARGET_REQUESTS or 'JWT_FUZZ_EXAMPLES' in os.environ


def focused(default):
    """Examples for a focused test: ``default`` in the slice, more when scaled."""
    return max(default, EXAMPLES // 10) if SCALED else default


def fuzz_settings(max_examples, derandomize=None):
    # No shrinking: every example talks to a live server, and the examples are
    # small already. Phase.explicit keeps the @example cases.
    return settings(max_examples=max_examples, deadline=None, database=None, print_blob=False,
                    derandomize=(SEED is None) if derandomize is None else derandomize,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=[getattr(HealthCheck, name) for name in (
                        'too_slow', 'data_too_large', 'large_base_example', 'filter_too_much',
                        'function_scoped_fixture') if hasattr(HealthCheck, name)])


def seeded(test):
    return seed(int(SEED))(test) if SEED is not None else test


def server_logs():
    """The threaded server's log, and the workers server's when it can be found."""
    threaded = os.environ.get('JWT_TEST_SERVER_LOG')
    workers = os.environ.get('JWT_TEST_WORKERS_SERVER_LOG')
    if not workers and threaded:
        sibling = os.path.join(os.path.dirname(threaded), 'server-workers.log')
        workers = sibling if os.path.exists(sibling) else None
    return [path for path in (threaded, workers) if path]


# -- the run's shared state ----------------------------------------------------------

class FuzzRun(object):
    """The fuzz user, its live tokens, what was sent, what broke."""

    def __init__(self, admin):
        self.admin = admin
        self.user = admin.new_user(password='fuzz-pw-%s' % uuid.uuid4().hex)
        # Credentials sent in URLs on purpose: they may be logged, so not a "secret" here.
        self.query_user = admin.new_user(password='query-pw-%s' % uuid.uuid4().hex)
        self.ctx = Context(email=self.user['login'], password=self.user['password'], token=None,
                           refresh_token=None, query_email=self.query_user['login'],
                           query_password=self.query_user['password'], db=DB)
        self.secrets = {self.user['password']}
        key = admin.get_param('jwt_provider.secret')
        if key:
            self.secrets.add(key)
        self.sent = collections.Counter()
        self.statuses = collections.Counter()
        self.violations = collections.OrderedDict()  # kind -> [count, smallest example]
        self.dead = set()
        self.since_login = 0
        self.relogin()

    def remember_tokens(self, data):
        for name in ('token', 'refresh_token'):
            value = data.get(name) if isinstance(data, dict) else None
            if isinstance(value, str) and value.count('.') == 2:
                self.secrets.add(value)
                self.secrets.add(value.split('.')[2])

    def relogin(self):
        """A fresh pair for the fuzz user; a failure is recorded, not raised
        (the run goes on with the old pair)."""
        self.since_login = 0
        for attempt in range(3):
            try:
                answer = requests.post(URL + '/api/login', timeout=TIMEOUT,
                                       data={'email': self.user['login'], 'password': self.user['password']})
                if answer.status_code == 200:
                    data = answer.json()['data']
                    self.remember_tokens(data)
                    self.ctx.values.update(token=data['token'], refresh_token=data['refresh_token'])
                    return
                problem = 'status %d: %r' % (answer.status_code, answer.text[:200])
            except (requests.RequestException, ValueError, KeyError) as e:
                problem = repr(e)[:200]
            time.sleep(0.5 * attempt)
        entry = self.violations.setdefault('the fuzz user cannot log in', [0, (0, problem)])
        entry[0] += 1
        if self.ctx.token is None:
            raise AssertionError('the fuzz user cannot log in: %s' % problem)

    def record(self, kind, spec, built, detail):
        entry = self.violations.setdefault('%s on %s' % (kind, route_class(spec.path)), [0, None])
        entry[0] += 1
        # The smallest request on the wire represents its kind.
        size = len(built.target) + len(built.body or b'') + sum(len(v) for _n, v in built.headers)
        text = repr(spec)
        sample = (size, '%s\n      request: %s %s (%d-byte body)\n      spec: %s' % (
            detail, built.method, built.target[:200], len(built.body or b''),
            text if len(text) < 700 else text[:700] + '...'))
        if entry[1] is None or sample[0] < entry[1][0]:
            entry[1] = sample

    def report(self):
        lines = []
        for kind, (count, (_size, sample)) in self.violations.items():
            lines.append('%5d x %s\n      %s' % (count, kind, sample))
        return '\n'.join(lines)

    def alive(self, server):
        try:
            return requests.get(SERVERS[server] + '/api/ping', timeout=TIMEOUT).status_code == 200
        except requests.RequestException:
            return False

    def run_batch(self, batch):
        batch = [spec for spec in batch if spec.server not in self.dead]
        if not batch:
            return
        work = []
        for spec in batch:
            host = urllib.parse.urlsplit(SERVERS[spec.server]).netloc
            work.append((spec, build(spec, self.ctx, host)))

        def one(item):
            spec, built = item
            try:
                return send_built(SERVERS[spec.server], built, timeout=120)
            except Exception as e:  # no answer at all: reset, timeout, refused
                return e

        if len(work) == 1:
            answers = [one(work[0])]
        else:
            with concurrent.futures.ThreadPoolExecutor(len(work)) as pool:
                answers = list(pool.map(one, work))
        relogin = False
        for (spec, built), answer in zip(work, answers):
            self.sent[spec.server] += 1
            if isinstance(answer, Exception):
                self.statuses['no answer'] += 1
                self.record('no answer (%s)' % type(answer).__name__, spec, built, repr(answer)[:200])
                if not self.alive(spec.server):
                    self.dead.add(spec.server)
                    self.record('server %s died' % spec.server, spec, built, 'no answer to /api/ping after this')
                continue
            self.statuses[answer.status] += 1
            for kind in violations(spec, built, answer):
                self.record(kind, spec, built, 'status %d, body %r' % (answer.status, answer.body[:300]))
            path = decoded_path(spec.path)
            if 200 <= answer.status < 300 and path.startswith('/api/'):
                try:
                    data = json.loads(answer.body.decode('utf-8')).get('data')
                except (ValueError, AttributeError):
                    data = None
                self.remember_tokens(data)
            if 200 <= answer.status < 300 and path in ('/api/logout', '/api/refresh'):
                relogin = True  # the live token may be revoked or its refresh token spent
        self.since_login += len(work)
        # Also now and then: an altered token accepted by /api/logout, a spent
        # refresh token presented again... may have revoked the live token.
        if relogin or self.since_login >= 50:
            self.relogin()


def route_class(path):
    """The route a path stands for in reports: a known path, or its family."""
    path = decoded_path(path)
    if path in API_PATHS or path in AUTH_PATHS or path in LATER_API_PATHS:
        return path
    if re.match(r'^/web/avatar/\d+$', path):
        return '/web/avatar/<id>'
    if path.startswith('/api/'):
        return '/api/<unrouted>'
    return '<other>'


JSON_TYPES = ('application/json', 'application/json-rpc')
# The API routes declared with methods (the others take any).
ROUTE_METHODS = {'/api/ping': ('GET', 'HEAD', 'OPTIONS')}


def _depth(text):
    depth = deepest = 0
    for char in re.sub(r'"(?:[^"\\]|\\.)*"', '""', text):
        depth += char in '[{'
        depth -= char in ']}'
        deepest = max(deepest, depth)
    return deepest


def refused_body(method, path, built):
    """Why the addon must answer 400 for this body, or ``None``: a routed API
    path reads any body (but a preflight's) before it checks anything else."""
    if path not in API_PATHS + EXAMPLE_PATHS or method == 'OPTIONS' or not built.body or len(built.body) > MIB:
        return None
    if method not in ROUTE_METHODS.get(path, (method,)):  # routing refuses the method first: 405
        return None
    header = next((v.decode('latin-1') for k, v in built.headers if k.lower() == b'content-type'), '')
    mimetype, _sep, params = header.partition(';')
    mimetype = mimetype.strip().lower()
    charset = re.search(r'charset=([^;\s]+)', params)
    charset = charset.group(1) if charset else 'utf-8'
    if mimetype not in JSON_TYPES + ('application/x-www-form-urlencoded',):
        return None
    try:
        text = built.body.decode(charset)
    except (UnicodeDecodeError, LookupError):
        return 'a body not in its charset'
    if mimetype == 'application/x-www-form-urlencoded' or not text.strip():
        return None
    if _depth(text) > 32:
        return 'JSON nested deeper than 32'
    try:
        value = json.loads(text)
    except ValueError:
        return 'a body that is not JSON'
    if not isinstance(value, dict):
        return 'JSON that is not an object'
    return None


def violations(spec, built, answer):
    """The contract's invariants for one answer: a list of short descriptions."""
    found = []
    status = answer.status
    path = decoded_path(spec.path)
    under_api = path.startswith('/api/')
    if status >= 500:
        found.append('status %d' % status)
    content_type = answer.headers.get('Content-Type', '')
    if under_api and path not in NOT_ENVELOPED:
        if not content_type.startswith('application/json'):
            found.append('not JSON under /api/ (status %d, %s)' % (status, content_type.split(';')[0]))
        elif spec.method != 'HEAD':
            try:
                body = json.loads(answer.body.decode('utf-8'))
            except ValueError:
                body = None
            if not (isinstance(body, dict) and set(body) == ENVELOPE):
                found.append('not the envelope under /api/ (status %d)' % status)
    for leak in LEAKS:
        if leak in answer.body:
            found.append('body shows %r (status %d)' % (leak.decode(), status))
    if under_api and built.body is not None and len(built.body) > MIB and status != 413:
        found.append('%d for a body over 1 MiB (413 expected)' % status)
    refused = refused_body(spec.method, path, built)
    if refused and status != 400:
        found.append('%d for %s (400 expected)' % (status, refused))
    if path == '/api/login' and spec.method == 'POST' and 'password' in built.query_keys:
        expected = 413 if built.body is not None and len(built.body) > MIB else 400  # the cap is checked first
        if status != expected:
            found.append('credentials in the URL of POST /api/login answered %d (%d expected)' % (status, expected))
    if built.token_kind == 'altered' and path in AUTH_PATHS and spec.method != 'OPTIONS' and status < 300:
        found.append('an altered spelling of a valid token answered %d' % status)
    return found


@pytest.fixture(scope='module')
def fuzz(admin):
    params = ('jwt_provider.login_max_failures', 'jwt_provider.ip_max_failures', SIGNUP_PARAM[0])
    saved = {name: admin.get_param(name) for name in params}
    # The fuzz sends wrong passwords for its own user all the time: throttling
    # would lock it out of the re-logins the run needs. Sign-up on: /api/register
    # really creates users (and 501 is then not a valid answer).
    admin.set_param('jwt_provider.login_max_failures', '1000000')
    admin.set_param('jwt_provider.ip_max_failures', '1000000')
    admin.set_param(*SIGNUP_PARAM)
    try:
        yield FuzzRun(admin)
    finally:
        for name, value in saved.items():
            admin.set_param(name, value)


# -- the generated matrix ------------------------------------------------------------

def test_generated_requests(fuzz, capsys):
    """Paths x methods x content types x bodies x headers x query strings, in parallel batches."""
    started = time.time()
    rounds = 0
    while True:
        @fuzz_settings(EXAMPLES, derandomize=(SEED is None and rounds == 0))
        @given(st.lists(specs(), min_size=1, max_size=BATCH))
        def generated(batch):
            fuzz.run_batch(batch)

        if rounds:
            generated = seed(int(SEED or 0) + rounds)(generated)
        else:
            generated = seeded(generated)
        generated()
        rounds += 1
        total = sum(fuzz.sent.values())
        if fuzz.dead or total >= TARGET_REQUESTS:
            break
    elapsed = time.time() - started
    summary = ('fuzz: %d requests (%s) in %.1f s, %d round(s) of %d examples, batches <= %d; statuses %s; '
               '%d kinds of violation' % (total, ', '.join('%s %d' % kv for kv in sorted(fuzz.sent.items())),
                                          elapsed, rounds, EXAMPLES, BATCH,
                                          dict(sorted(fuzz.statuses.items(), key=str)), len(fuzz.violations)))
    with capsys.disabled():
        sys.stdout.write('\n' + summary + '\n')
    report_file = os.environ.get('JWT_FUZZ_REPORT')
    if report_file:
        with open(report_file, 'a') as f:
            f.write(summary + '\n' + fuzz.report() + '\n')
    if fuzz.violations:
        pytest.fail(summary + '\n' + fuzz.report(), pytrace=False)


# -- one spelling per token ------------------------------------------------------------

SEGMENT_CHOICES = st.sampled_from([(0, 1, 2), (2,), (1,), (1, 2), (0,)])
SPELLING_TARGETS = st.sampled_from(AUTH_PATHS + ('/api/refresh',))


def check_spelling(fuzz, how, segments, path, method, server):
    url = SERVERS[server]
    tokens = login(fuzz.user, url)
    fuzz.remember_tokens(tokens)
    name = 'refresh_token' if path == '/api/refresh' else 'token'
    spelled = respell(tokens[name], how, segments)
    assume(spelled != tokens[name])
    if path == '/api/refresh':
        answer = requests.post(url + path, data={'refresh_token': spelled}, timeout=TIMEOUT)
    else:
        answer = requests.request(method, url + path, headers=bearer(spelled), timeout=TIMEOUT)
    body = assert_envelope(answer, 498, False)
    assert body['message'] == 'Token invalid or expired'
    # ...and the refused spelling revoked or spent nothing.
    assert_envelope(requests.get(url + '/api/me', headers=bearer(tokens['token']), timeout=TIMEOUT), 200)
    refreshed = requests.post(url + '/api/refresh', data={'refresh_token': tokens['refresh_token']},
                              timeout=TIMEOUT)
    assert_envelope(refreshed, 200, True)
    fuzz.remember_tokens(refreshed.json()['data'])


@fuzz_settings(focused(16))
@given(how=st.sampled_from(['std', 'pad']), segments=SEGMENT_CHOICES, path=SPELLING_TARGETS,
       method=st.sampled_from(['GET', 'POST']), server=st.sampled_from(sorted(SERVERS)))
def test_standard_base64_and_padded_spellings_answer_498(fuzz, how, segments, path, method, server):
    """Issue #9: '+'/'/' for '-'/'_' or '=' padding in a segment still verified."""
    check_spelling(fuzz, how, segments, path, method, server)


@fuzz_settings(focused(12))
@given(how=st.sampled_from(['bits', 'junk']), segments=SEGMENT_CHOICES, path=SPELLING_TARGETS,
       method=st.sampled_from(['GET', 'POST']), server=st.sampled_from(sorted(SERVERS)))
def test_noncanonical_base64_spellings_answer_498(fuzz, how, segments, path, method, server):
    """The same malleability by other means: other values in a segment's unused
    low bits, or characters outside the alphabet that a lenient decoder skips."""
    check_spelling(fuzz, how, segments, path, method, server)


# -- size cap -----------------------------------------------------------------------

@fuzz_settings(focused(6))
@given(path=st.sampled_from(API_PATHS + ('/api/no/such/route',)),
       method=st.sampled_from(['POST', 'PUT', 'PATCH', 'GET', 'DELETE']),
       where=st.sampled_from(['email', 'password', 'form', 'raw', 'multipart']),
       size=st.integers(MIB + 1, 3 * MIB), server=st.sampled_from(sorted(SERVERS)))
def test_bodies_over_one_mib_answer_413(fuzz, path, method, where, size, server):
    spec = Spec(server, method, path, [], ('none',), 'auto', ('huge', where, size, 'x'), [])
    built = build(spec, fuzz.ctx, urllib.parse.urlsplit(SERVERS[server]).netloc)
    assert len(built.body) > MIB
    answer = send_built(SERVERS[server], built, timeout=120)
    assert answer.status == 413, (answer.status, answer.body[:300])
    assert answer.headers.get('Content-Type', '').startswith('application/json')
    body = json.loads(answer.body.decode('utf-8'))
    assert set(body) == ENVELOPE and body['success'] is False


# -- no credentials from the URL ----------------------------------------------------------

@fuzz_settings(focused(8))
@given(body=st.sampled_from(['none', 'form', 'json', 'empty_form']), order=st.booleans(),
       server=st.sampled_from(sorted(SERVERS)))
def test_credentials_in_the_query_string_are_refused(fuzz, body, order, server):
    """Issue #9: POST /api/login?email=..&password=.. logged in (and the URL lands in access logs)."""
    user = fuzz.query_user
    pairs = [('email', user['login']), ('password', user['password'])]
    query = urllib.parse.urlencode(pairs if order else pairs[::-1])
    kwargs = {'form': {'data': {'name': 'x'}}, 'json': {'json': {'name': 'x'}},
              'empty_form': {'data': {}}, 'none': {}}[body]
    answer = requests.post(SERVERS[server] + '/api/login?' + query, timeout=TIMEOUT, **kwargs)
    envelope = assert_envelope(answer, 400, False)
    assert envelope['message'] == 'Credentials must be sent in the request body', envelope
    assert not envelope['data']


# -- one account per email, whatever its Unicode case ----------------------------------------

# Lower-case letters and every single character whose str.lower() is that letter
# (the Kelvin sign K for k, the Angstrom sign for å, the Ohm sign for ω, ...).
CASE_FORMS = {}
for _code in range(0x10000):
    _char = chr(_code)
    _lower = _char.lower()
    if len(_lower) == 1 and _lower != _char and _lower.isalpha():
        CASE_FORMS.setdefault(_lower, {_lower}).add(_char)
CASE_LETTERS = sorted(letter for letter in CASE_FORMS if letter in 'akoz' or ord(letter) > 127)


@st.composite
def case_twins(draw):
    """Two local parts that differ, yet have the same ``str.lower()``."""
    letters = draw(st.lists(st.sampled_from(CASE_LETTERS), min_size=1, max_size=5))
    first = ''.join(draw(st.sampled_from(sorted(CASE_FORMS[c]))) for c in letters)
    second = ''.join(draw(st.sampled_from(sorted(CASE_FORMS[c]))) for c in letters)
    assume(first != second)
    return first, second


def register(email, password, url=URL):
    return requests.post(url + '/api/register', data={'email': email, 'password': password, 'name': 'Twin'},
                         timeout=TIMEOUT)


@fuzz_settings(focused(6))
@given(twins=case_twins(), server=st.sampled_from(sorted(SERVERS)))
@example(twins=('\u00c9lodie', '\u00e9lodie'), server='threaded')
@example(twins=('\u212aelvin', 'kelvin'), server='threaded')
def test_emails_differing_only_by_unicode_case_are_one_account(fuzz, admin, twins, server):
    """Issue #9: PostgreSQL's lower() under the C locale folds ASCII only, Python's
    folds more: 'Élodie@' and 'élodie@' became two accounts. Registering one
    makes the other an existing email, and logging in with it reaches the same
    account (the README: emails compare case-insensitively)."""
    url = SERVERS[server]
    tag = uuid.uuid4().hex[:8]
    first, second = ('%s.%s@example.com' % (local, tag) for local in twins)
    password = 'twin-pw-%s' % tag
    created = assert_envelope(register(first, password, url), 200, True)['data']['user']
    refused = assert_envelope(register(second, 'another-pw-%s' % tag, url), 400, False)
    assert refused['message'] == 'Email address already existed'
    count = admin.call('res.users', 'search_count', [('login', 'in', [first, second])],
                       context={'active_test': False})
    assert count == 1, 'two accounts for %r and %r' % (first, second)
    for email in (first, second):
        answer = requests.post(url + '/api/login', data={'email': email, 'password': password}, timeout=TIMEOUT)
        body = assert_envelope(answer, 200, True)
        assert body['data']['user']['id'] == created['id']
        fuzz.remember_tokens(body['data'])


# -- after everything: logs and servers ------------------------------------------------------

def test_no_secret_in_the_server_logs(fuzz):
    """No token issued during this module, the fuzz user's password or the signing key."""
    logs = server_logs()
    assert logs, 'JWT_TEST_SERVER_LOG is not set'
    found = collections.Counter()
    for path in logs:
        with open(path, errors='replace') as f:
            text = f.read()
        for secret in fuzz.secrets:
            at = text.find(secret) if secret else -1
            if at >= 0:  # name the record that holds it: its logger and the words before the secret
                line = text[text.rfind('\n', 0, at) + 1:at]
                record = re.sub(r'^[\d-]+ [\d:,]+ \d+ \w+ \S+ ', '', line)[:90]
                found['%s: %s<secret>' % (os.path.basename(path), record)] += 1
    assert not found, '%d secrets in the logs (of %d known):\n%s' % (
        sum(found.values()), len(fuzz.secrets), '\n'.join('%4d x %s' % (n, k) for k, n in found.most_common(10)))


def test_servers_alive_after_the_fuzz(fuzz):
    assert not fuzz.dead, 'died during the fuzz: %s' % sorted(fuzz.dead)
    for name, url in SERVERS.items():
        answer = requests.get(url + '/api/ping', timeout=TIMEOUT)
        assert_envelope(answer, 200, True)
    tokens = login(fuzz.user, WORKERS_URL)
    fuzz.remember_tokens(tokens)
    assert_envelope(requests.get(URL + '/api/me', headers=bearer(tokens['token']), timeout=TIMEOUT), 200)
