"""Every answer the black-box tests receive, checked against ``/api/openapi.json``.

While the fixtures below are active, each ``requests`` call to a test server
whose path the document describes (and every path under ``/api/``) is checked:
the status must be documented for that path and method, required headers
(``Retry-After`` of a 429) present, the ``Content-Type`` one of the documented
media types, and a JSON body valid against the documented schema. A mismatch
fails the test that received the answer (answers received in other threads
fail it at teardown).

Installed from ``conftest.py`` with one line::

    from openapi_check import openapi_checker, openapi_checked_answers  # noqa: F401

Not checked: ``OPTIONS`` (CORS preflight, described in ``info.description``),
another addon's routes under ``/api/v1/`` (``tests/addons/rest_neighbour``),
paths outside ``/api/`` that the document does not list, and methods it does
not list on such paths (Odoo answers them, not the API).
"""
import collections
import json
import os
import re
import threading
import traceback
from urllib.parse import unquote, urlsplit

import jsonschema
import pytest
import requests

# Another addon's routes (tests/addons/rest_neighbour): not the document's to describe.
NEIGHBOUR_PREFIX = '/api/v1/'

URL = os.environ.get('JWT_TEST_URL', 'http://127.0.0.1:8069')
WORKERS_URL = os.environ.get('JWT_TEST_WORKERS_URL', URL)
TIMEOUT = 30
JSON_TYPE = re.compile(r'^application/(.+\+)?json$')

# The checker of the running session, when conftest installed it.
ACTIVE = None


class OpenAPIMismatch(AssertionError):
    """An answer the document does not describe."""


def fetch_document(url=URL):
    answer = requests.get(url + '/api/openapi.json', timeout=TIMEOUT)
    if answer.status_code != 200:
        raise OpenAPIMismatch('GET /api/openapi.json answered %d (is controllers/openapi.py imported by '
                              'controllers/__init__.py?): %s' % (answer.status_code, answer.text[:200]))
    return answer.json()


def validate_document(document):
    """Raise if ``document`` is not a valid OpenAPI document (openapi-spec-validator)."""
    import openapi_spec_validator
    validate = getattr(openapi_spec_validator, 'validate', None) or openapi_spec_validator.validate_spec
    try:
        validate(document)
    except AttributeError as e:
        if 'jsonschema_spec' not in ''.join(traceback.format_tb(e.__traceback__)):
            raise
        # Its file reader checks typing Protocols, which changed under it.
        raise RuntimeError(
            'openapi-spec-validator %s cannot read its own OpenAPI schema (%s): on Python 3.7 '
            'jsonschema-spec 0.1.x needs typing_extensions < 4.6; on Python 3.12+ use openapi-spec-validator '
            '0.7 (see requirements/dev.txt)' % (getattr(openapi_spec_validator, '__version__', '?'), e))


class Checker(object):
    """Matches answers against one OpenAPI document."""

    def __init__(self, document, base_urls=(URL, WORKERS_URL)):
        self.document = document
        self.bases = {tuple(urlsplit(url)[:2]) for url in base_urls}
        self.routes = []
        for template, item in document.get('paths', {}).items():
            self.routes.append((self._path_regex(template, item), template, item))
        # literal paths before templated ones: /api/login/totp before /api/{x}
        self.routes.sort(key=lambda route: (route[1].count('{'), route[1]))
        self.checked = collections.Counter()  # (method, template, status) -> count
        self.unreported = []
        self._lock = threading.Lock()

    # -- the document ----------------------------------------------------------
    def resolve(self, obj):
        """``obj`` with ``$ref`` (to ``#/...`` of the document) followed."""
        seen = 0
        while isinstance(obj, dict) and '$ref' in obj:
            ref = obj['$ref']
            assert ref.startswith('#/'), 'only local references are supported: %s' % ref
            target = self.document
            for part in ref[2:].split('/'):
                target = target[part.replace('~1', '/').replace('~0', '~')]
            obj, seen = target, seen + 1
            assert seen < 50, 'reference loop at %s' % ref
        return obj

    def _path_regex(self, template, item):
        types = {}
        for operation in item.values():
            if isinstance(operation, dict):
                for param in operation.get('parameters', []):
                    param = self.resolve(param)
                    if param.get('in') == 'path':
                        types[param['name']] = self.resolve(param.get('schema', {})).get('type')
        pattern, pos = '', 0
        for match in re.finditer(r'\{([^}]+)\}', template):
            pattern += re.escape(template[pos:match.start()])
            pattern += r'(\d+)' if types.get(match.group(1)) == 'integer' else r'([^/]+)'
            pos = match.end()
        return re.compile('^%s%s$' % (pattern, re.escape(template[pos:])))

    def match(self, path):
        for regex, template, item in self.routes:
            if regex.match(path):
                return template, item
        return None

    def schema_errors(self, schema, instance):
        """Messages of ``instance`` against ``schema`` (JSON Schema 2020-12, refs into the document)."""
        # The components travel with the schema, so '#/components/...' resolves
        # with any jsonschema version (RefResolver before 4.18, referencing after).
        root = {'allOf': [schema], 'components': self.document.get('components', {})}
        validator = jsonschema.Draft202012Validator(root)
        messages = []
        for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path)):
            where = '/'.join(str(p) for p in error.absolute_path) or '(body)'
            messages.append('%s: %s' % (where, error.message[:300]))
        return messages

    # -- answers ------------------------------------------------------------------
    def problems(self, response):
        """What in ``response`` (a ``requests.Response``) the document does not describe."""
        request = response.request
        split = urlsplit(request.url)
        if tuple(split[:2]) not in self.bases:
            return []
        path, method, status = unquote(split.path), request.method.lower(), response.status_code
        if method == 'options':
            return []
        found = self.match(path)
        if found is None:
            if not path.startswith('/api/') or path.startswith(NEIGHBOUR_PREFIX):
                return []
            unknown = self.document.get('x-unknown-paths', {})
            if str(status) not in unknown:
                return ['undocumented path %s answered %d' % (path, status)]
            template, expected = path, self.resolve(unknown[str(status)])
        else:
            template, item = found
            operation = item.get(method)
            if operation is None and method == 'head':
                operation = item.get('get')
            if operation is not None:
                responses = operation.get('responses', {})
            elif 'x-other-methods' in item:  # what the path answers to methods it does not list
                responses = item['x-other-methods']
            elif path.startswith('/api/'):
                return ['%s %s is not documented (answered %d)' % (method.upper(), template, status)]
            else:  # another route of Odoo's (e.g. the avatar): only what the document lists
                return []
            expected = (responses.get(str(status)) or responses.get('%dXX' % (status // 100))
                        or responses.get('default'))
            if expected is None:
                return ['%s %s: status %d is not documented (documented: %s): %s'
                        % (method.upper(), template, status, ', '.join(sorted(responses)), response.text[:200])]
            expected = self.resolve(expected)
        with self._lock:
            self.checked[(method.upper(), template, status)] += 1
        return ['%s %s -> %d: %s' % (method.upper(), template, status, problem)
                for problem in self._response_problems(expected, response, method)]

    def _response_problems(self, expected, response, method):
        problems = []
        for name, header in expected.get('headers', {}).items():
            header = self.resolve(header)
            value = response.headers.get(name)
            if value is None:
                if header.get('required'):
                    problems.append('header %s is missing' % name)
                continue
            schema = self.resolve(header.get('schema', {}))
            if schema.get('type') == 'integer':
                problems.extend('header %s=%r: %s' % (name, value, e)
                                for e in self.schema_errors(schema, int(value) if value.isdigit() else value))
        content = expected.get('content')
        if not content:
            return problems
        ctype = response.headers.get('Content-Type', '').split(';')[0].strip().lower()
        media = content.get(ctype)
        if media is None:
            media = content.get(ctype.split('/')[0] + '/*', content.get('*/*'))
        if media is None:
            problems.append('Content-Type %r is not documented (documented: %s)' % (ctype, ', '.join(content)))
            return problems
        if method == 'head' or 'schema' not in media or not JSON_TYPE.match(ctype):
            return problems
        try:
            body = json.loads(response.content.decode('utf-8'))
        except ValueError as e:
            return problems + ['the body is not JSON (%s): %r' % (e, response.content[:200])]
        return problems + self.schema_errors(media['schema'], body)

    def check(self, response):
        """Record the problems of ``response``; raise them in the main thread."""
        problems = self.problems(response)
        if not problems:
            return
        message = '\n  '.join(['answer does not match /api/openapi.json:'] + problems)
        if threading.current_thread() is threading.main_thread():
            raise OpenAPIMismatch(message)
        with self._lock:
            self.unreported.append(message)

    def take_unreported(self):
        with self._lock:
            found, self.unreported = self.unreported, []
        return found


def install(checker):
    """Check every answer of every ``requests`` session; returns the uninstaller."""
    global ACTIVE
    send = requests.Session.send

    def checked_send(session, request, **kwargs):
        response = send(session, request, **kwargs)
        checker.check(response)
        return response

    requests.Session.send = checked_send
    ACTIVE = checker

    def uninstall():
        global ACTIVE
        requests.Session.send = send
        ACTIVE = None
    return uninstall


@pytest.fixture(scope='session')
def openapi_checker():
    """The session's checker, installed on ``requests`` for the whole run."""
    checker = Checker(fetch_document())
    uninstall = install(checker)
    yield checker
    uninstall()


@pytest.fixture(autouse=True)
def openapi_checked_answers(openapi_checker):
    """Fails a test whose other threads received an undocumented answer."""
    yield
    problems = openapi_checker.take_unreported()
    if problems:
        pytest.fail('\n'.join(problems), pytrace=False)
