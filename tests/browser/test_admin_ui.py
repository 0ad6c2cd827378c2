"""The administrator's pages in a real headless Chromium (issue #10).

Playwright for Python drives the system's Chromium (Debian's ``chromium``,
``/usr/bin/chromium``); no browser is ever downloaded. The tests log in
through ``/web/login`` as admin/admin on the server at ``JWT_TEST_URL``
(database ``JWT_TEST_DB``) and exercise what an administrator does:

- Settings > JWT: generating a key (unsaved edits on the page are kept), a
  short secret, RS256 without and with a PEM key (the derived public key in a
  box that fits), a clock leeway of 0, values out of range refused with a
  message, the settings search finding every JWT setting;
- the user form's "API tokens" tab: one row per login; revoking one signs its
  access and refresh tokens out (498), "Revoke all sessions" the others;
- Apps: searching "jwt" finds the module, with its icon.

Every page is saved as a screenshot under ``.state/screenshots/`` (or
``JWT_TEST_SCREENSHOTS``), and a JavaScript error on any page (an uncaught
exception or a console error) fails the test that opened it.

The module is skipped when ``/usr/bin/chromium`` (``JWT_TEST_CHROMIUM``) or
the ``playwright`` package is missing. Odoo 11.0 to 19.0; what differs between
series (selectors, the save dialog of 13.0+) is in the helpers below.
"""
import base64
import json
import os
import re
import time
import uuid

import pytest
import requests

URL = os.environ.get('JWT_TEST_URL', 'http://127.0.0.1:8069').rstrip('/')
DB = os.environ.get('JWT_TEST_DB', 'jwt_provider')
CHROMIUM = os.environ.get('JWT_TEST_CHROMIUM', '/usr/bin/chromium')
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCREENSHOTS = os.environ.get('JWT_TEST_SCREENSHOTS') or os.path.join(ROOT, '.state', 'screenshots')
LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
               '--disable-background-networking', '--disable-component-update', '--disable-sync']
TIMEOUT = 30             # seconds, HTTP calls of the tests themselves
PAGE_TIMEOUT = 120000    # milliseconds: the first page of 11.0 compiles its assets (lessc)
ACTION_TIMEOUT = 30000   # milliseconds: a click, a field, a dialog

if not os.access(CHROMIUM, os.X_OK):
    pytest.skip('no Chromium at %s (apt-get install chromium; or set JWT_TEST_CHROMIUM)' % CHROMIUM,
                allow_module_level=True)
try:
    from playwright.sync_api import sync_playwright
except ImportError:
    pytest.skip('the playwright package is not installed (pip install playwright; it drives %s, '
                'no browser download)' % CHROMIUM, allow_module_level=True)

JWT_PARAMS = ('algorithm', 'access_lifetime', 'refresh_lifetime', 'leeway',
              'login_max_failures', 'ip_max_failures', 'login_lockout')
# The JWT setting boxes: 11.0-16.0 carry the views' ids, 19.0 the <setting>'s id, 17.0/18.0 none (found by title).
SETTING_BOXES = {'jwt_algorithm_setting': 'JWT signing algorithm', 'jwt_key_setting': 'JWT signing key',
                 'jwt_lifetime_setting': 'JWT token lifetimes', 'jwt_throttle_setting': 'JWT login throttling'}


def box_selector(ident):
    return '#%s, .o_setting_box:has(.o_form_label:has-text("%s"))' % (ident, SETTING_BOXES[ident])


KEY_BOX = box_selector('jwt_key_setting')
# Buttons and inputs whose markup differs between the web clients of 11.0-16.0 and 17.0+.
# 11.0 renders the settings' Save without a name, 12.0-16.0 as button[name=execute], 17.0+ as o_form_button_save.
SAVE_BUTTON = ('button[name=execute]:visible, button.o_form_button_save:visible, '
               'button.oe_highlight:has-text("Save"):visible')
SETTINGS_SEARCH = 'input.searchInput:visible, input.o_searchview_input:visible'
MODAL = '.modal-dialog:visible'
# 11.0 renders a list's row buttons without their name.
ROW_REVOKE = 'button[name=action_revoke], button:has-text("Revoke")'


# -- the server, as an administrator's scripts see it ------------------------------------

class Rpc(object):
    """The web client's JSON-RPC as admin, for set-up and checks the page does not show."""

    def __init__(self):
        self.session = requests.Session()
        answer = self.session.post(URL + '/web/session/authenticate', json={
            'jsonrpc': '2.0', 'method': 'call',
            'params': {'db': DB, 'login': 'admin', 'password': 'admin'}}, timeout=TIMEOUT)
        assert (answer.json().get('result') or {}).get('uid'), 'admin/admin must log in: %s' % answer.text[:300]
        answer = self.session.post(URL + '/web/webclient/version_info', json={
            'jsonrpc': '2.0', 'method': 'call', 'params': {}}, timeout=TIMEOUT)
        self.series = answer.json()['result']['server_serie']

    def call(self, model, method, *args, **kw):
        answer = self.session.post('%s/web/dataset/call_kw/%s/%s' % (URL, model, method), json={
            'jsonrpc': '2.0', 'method': 'call',
            'params': {'model': model, 'method': method, 'args': list(args), 'kwargs': kw}}, timeout=TIMEOUT)
        body = answer.json()
        if 'error' in body:
            raise RuntimeError('%s.%s: %s' % (model, method, body['error'].get('data', {}).get('message')
                                              or body['error'].get('message')))
        return body.get('result')

    def param(self, name):
        return self.call('ir.config_parameter', 'get_param', 'jwt_provider.' + name)

    def set_param(self, name, value):
        self.call('ir.config_parameter', 'set_param', 'jwt_provider.' + name, value)

    def new_user(self):
        login = 'ui-%s@example.com' % uuid.uuid4().hex[:10]
        uid = self.call('res.users', 'create', {'name': 'UI %s' % login[3:9], 'login': login, 'email': login,
                                                'password': 'a fine password'})
        return {'id': uid, 'login': login, 'password': 'a fine password'}


def api_login(user, agent):
    answer = requests.post(URL + '/api/login', data={'email': user['login'], 'password': user['password']},
                           headers={'User-Agent': agent}, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    return answer.json()['data']


def me_status(token):
    return requests.get(URL + '/api/me', headers={'Authorization': 'Bearer %s' % token}, timeout=TIMEOUT).status_code


def refresh(refresh_token):
    return requests.post(URL + '/api/refresh', data={'refresh_token': refresh_token}, timeout=TIMEOUT)


# -- fixtures -------------------------------------------------------------------------

@pytest.fixture(scope='module')
def rpc():
    rpc = Rpc()
    # Other tests may have left a tight per-address limit; these log in from 127.0.0.1 a few times.
    saved = {name: rpc.param(name) for name in JWT_PARAMS}
    if int(saved['ip_max_failures'] or 20) < 1000:
        rpc.set_param('ip_max_failures', '100000')
    yield rpc
    # Leave the database as the other tests expect it: HMAC, the earlier numbers.
    for name, value in saved.items():
        rpc.set_param(name, value or False)


@pytest.fixture(scope='module')
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope='module')
def logged_in(browser, rpc):
    """A browser context holding an administrator's web session, logged in through /web/login."""
    context = browser.new_context(viewport={'width': 1366, 'height': 900})
    context.set_default_navigation_timeout(PAGE_TIMEOUT)
    context.set_default_timeout(ACTION_TIMEOUT)
    context.add_init_script(SETTLE_PROBE)
    page = context.new_page()
    errors = watch(page)
    page.goto(URL + '/web/login', wait_until='domcontentloaded')
    page.fill('input[name=login]', 'admin')
    page.fill('input[name=password]', 'admin')
    with page.expect_navigation():
        page.click('button[type=submit]')
    page.wait_for_selector('.o_web_client', timeout=PAGE_TIMEOUT)
    settle(page)
    assert not errors, 'JavaScript errors while logging in:\n' + '\n'.join(errors)
    page.close()
    yield context
    context.close()


@pytest.fixture
def page(logged_in, request):
    """A page of the administrator's session; JavaScript errors on it fail the test."""
    page = logged_in.new_page()
    page.errors = watch(page)
    page.shot_prefix = request.node.name
    yield page
    errors = list(page.errors)
    page.close()
    assert not errors, 'JavaScript errors on the page:\n' + '\n'.join(errors)


def watch(page):
    """Collects the page's JavaScript errors: uncaught exceptions and console errors.

    Odoo 11.0's web client also logs, as a console error, each server error it
    shows in a dialog; refusals of the user's input (``UserError``,
    ``ValidationError``) are what some tests expect, not JavaScript errors.
    """
    errors = []

    def on_console(message):
        if message.type == 'error' and not is_refusal_report(message.text):
            errors.append('console: ' + message.text)
    page.on('console', on_console)
    page.on('pageerror', lambda error: errors.append('uncaught: %s' % error))
    return errors


def is_refusal_report(text):
    match = re.match(r'Server application error (\{.*\})\s*$', text, re.S)
    if not match:
        return False
    try:
        data = json.loads(match.group(1))['data']
    except (ValueError, KeyError, TypeError):
        return False
    return data.get('exception_type') in ('user_error', 'validation_error')


# -- page helpers ------------------------------------------------------------------------

# The web client has no "idle" signal common to every series: this probe,
# injected into every page of the session, counts its requests in flight (XHR
# and fetch; the bus's long poll excepted) and the changes to its DOM.
SETTLE_PROBE = r"""(() => {
    const probe = window.__jwtSettle = {pending: 0, mutations: 0, seen: -1, quiet: 0};
    const longPoll = url => /longpolling|websocket|\/bus\//.test(String(url || ''));
    const open = XMLHttpRequest.prototype.open, send = XMLHttpRequest.prototype.send;
    XMLHttpRequest.prototype.open = function (method, url) {
        this.jwtTracked = !longPoll(url);
        return open.apply(this, arguments);
    };
    XMLHttpRequest.prototype.send = function () {
        if (this.jwtTracked) {
            probe.pending++;
            this.addEventListener('loadend', () => { probe.pending--; }, {once: true});
        }
        return send.apply(this, arguments);
    };
    if (window.fetch) {
        const fetch = window.fetch;
        window.fetch = function (input) {
            if (longPoll(typeof input === 'string' ? input : input && input.url)) {
                return fetch.apply(this, arguments);
            }
            probe.pending++;
            return fetch.apply(this, arguments).finally(() => { probe.pending--; });
        };
    }
    new MutationObserver(() => { probe.mutations++; }).observe(
        document, {childList: true, subtree: true, characterData: true, attributes: true});
})();"""
SETTLED = """() => {
    const probe = window.__jwtSettle;
    if (!probe) return document.readyState === 'complete';
    if (probe.pending > 0 || probe.mutations !== probe.seen) {
        probe.seen = probe.mutations;
        probe.quiet = 0;
        return false;
    }
    return ++probe.quiet >= 3;
}"""


def settle(page):
    """Wait until the web client is idle: no request in flight, and its DOM
    unchanged for three animation frames in a row."""
    page.wait_for_function(SETTLED, polling='raf')


def shot(page, name, series):
    """Save the page as ``<series>-<test>-<name>.png`` under SCREENSHOTS."""
    os.makedirs(SCREENSHOTS, exist_ok=True)
    page.mouse.move(1, 1)  # no tooltip over the content
    prefix = re.sub(r'[^A-Za-z0-9_.-]+', '-', page.shot_prefix).strip('-')
    path = os.path.join(SCREENSHOTS, '%s-%s-%s.png' % (series, prefix, name))
    page.screenshot(path=path, full_page=True)
    return path


def open_web(page, fragment, ready):
    """Load ``/web#fragment`` afresh (a new document, so no unsaved form lingers)."""
    page.goto('about:blank')
    page.goto('%s/web#%s' % (URL, fragment), wait_until='domcontentloaded')
    page.wait_for_selector(ready, state='visible', timeout=PAGE_TIMEOUT)
    settle(page)


def open_settings(page):
    open_web(page, 'action=base_setup.action_general_configuration', KEY_BOX)
    page.locator(KEY_BOX).first.scroll_into_view_if_needed()


def control(page, name):
    """The input, select or textarea of the form field ``name`` (11.0-16.0 put
    the name on the input itself, 17.0+ on a wrapping div)."""
    widget = page.locator('.o_field_widget[name="%s"]' % name).first
    if widget.evaluate('e => e.tagName') in ('INPUT', 'SELECT', 'TEXTAREA'):
        return widget
    return widget.locator('input, select, textarea').first


def type_into(page, name, value):
    box = control(page, name)
    box.fill(str(value))
    box.press('Tab')


def choose(page, name, label):
    """Pick ``label`` in the selection field ``name``: a <select> up to 18.0,
    a drop-down menu (SelectMenu) on 19.0."""
    box = control(page, name)
    if box.evaluate('e => e.tagName') == 'SELECT':
        box.select_option(label=label)
    else:
        box.click()
        page.locator('.o_select_menu_item:visible').filter(
            has_text=re.compile(r'^\s*%s\s*$' % re.escape(label))).first.click()
    settle(page)


def chosen(page, name):
    """The label shown by the selection field ``name``."""
    box = control(page, name)
    if box.evaluate('e => e.tagName') == 'SELECT':
        return box.evaluate('e => e.options[e.selectedIndex].text').strip()
    return box.input_value().strip()


def value_of(page, name):
    return control(page, name).input_value()


def modal_text(page):
    modal = page.locator(MODAL).last
    modal.wait_for()
    settle(page)
    return modal.locator('.modal-body').inner_text()


def close_modal(page):
    modal = page.locator(MODAL).last
    modal.locator('.modal-footer button').first.click()
    page.wait_for_function('() => !document.querySelector(".modal-dialog") || '
                           '![...document.querySelectorAll(".modal-dialog")].some(e => e.offsetParent)')


def save_settings(page):
    """Click Save and wait for the page to come back (the settings reload after a save)."""
    with page.expect_navigation():
        page.locator(SAVE_BUTTON).first.click()
    page.wait_for_selector(KEY_BOX, state='visible')
    settle(page)
    page.locator(KEY_BOX).first.scroll_into_view_if_needed()


def save_settings_refused(page):
    """Click Save, expecting an error dialog; returns its text and closes it."""
    page.locator(SAVE_BUTTON).first.click()
    text = modal_text(page)
    return text


def click_confirmed(page, button, reloads=True):
    """Click ``button`` and accept its confirmation dialog.

    13.0+ settings also ask whether to save unsaved changes (after the
    confirmation on 17.0+, before it on 13.0-16.0): the answer is Save, which
    saves the page, reloads it and does *not* run the button. Returns True when
    the button ran, False when the page was saved instead. ``reloads``: the
    button's action reloads the page (settings) rather than the view (a list).
    """
    page.evaluate('() => { window.jwtTestMarker = true; }')
    button.click()
    saved = False
    clicked = 0
    deadline = time.time() + ACTION_TIMEOUT / 1000.0 * 2
    while time.time() < deadline:
        try:  # a dialog not answered yet is tagged with a number, then answered
            state = page.evaluate("""(n) => {
                if (!window.jwtTestMarker) return 'reloaded';
                const modals = [...document.querySelectorAll('.modal-dialog')].filter(
                    e => e.offsetParent && !e.dataset.jwtAnswered);
                if (!modals.length) return 'none';
                const modal = modals[modals.length - 1];
                modal.dataset.jwtAnswered = String(n);
                return modal.innerText.toLowerCase().includes('save your changes') ? 'save' : 'confirm';
            }""", clicked + 1)
        except Exception:  # the page is navigating
            state = 'navigating'
        if state == 'reloaded':
            page.wait_for_selector('.o_web_client', timeout=PAGE_TIMEOUT)
            settle(page)
            return not saved
        if state in ('confirm', 'save'):
            saved = saved or state == 'save'
            clicked += 1
            modal = page.locator('.modal-dialog[data-jwt-answered="%d"]' % clicked)
            modal.locator('.modal-footer button.btn-primary').first.click()
            settle(page)
            continue
        if state == 'none' and clicked and not reloads:
            settle(page)
            return True
        time.sleep(0.2)
    raise AssertionError('no confirmation, reload or result after clicking %s' % button)


def assert_fits(element):
    """``element`` and its text stay inside their setting box and the window."""
    fits = element.evaluate("""e => {
        const r = e.getBoundingClientRect(), s = e.closest('.o_setting_box').getBoundingClientRect();
        const text = [...e.querySelectorAll('*')].reduce(
            (right, c) => Math.max(right, c.getBoundingClientRect().right), r.right);
        return {right: r.right, text: text, box: s.right, page: document.documentElement.clientWidth,
                scroll: e.scrollWidth, width: e.clientWidth};
    }""")
    assert max(fits['right'], fits['text']) <= min(fits['box'], fits['page']) + 1, 'it runs off its box: %s' % fits
    assert fits['scroll'] <= fits['width'] + 1, 'it overflows: %s' % fits


def visible_text(page, selector):
    return page.locator(selector).first.inner_text()


# -- settings -----------------------------------------------------------------------------

def test_settings_read_at_a_glance(page, rpc):
    open_settings(page)
    shot(page, 'settings', rpc.series)
    key_box = visible_text(page, KEY_BOX)
    assert 'JWT signing key' in key_box
    assert re.search(r'HS\d+ key stored in the database', key_box), key_box
    assert 'Last changed' in key_box
    assert 'at least 32 bytes for HS256' in key_box
    lifetimes = rpc.param('access_lifetime')
    value, shown_unit = value_of(page, 'jwt_access_lifetime_value'), chosen(page, 'jwt_access_lifetime_unit')
    seconds = {'seconds': 1, 'minutes': 60, 'hours': 3600, 'days': 86400}
    assert int(value) * seconds[shown_unit] == int(lifetimes or 30 * 86400)
    assert int(value) < 10000, 'the lifetime is shown in raw seconds: %s %s' % (value, shown_unit)
    # The HMAC help belongs to HS* only; RS256 shows what it needs instead.
    choose(page, 'jwt_algorithm', 'RS256')
    key_box = page.locator(KEY_BOX).first
    assert not key_box.locator('text=at least 32 bytes for HS256').is_visible()
    assert key_box.locator('text=PEM private key').first.is_visible()
    shot(page, 'rs256-picked', rpc.series)


def test_settings_search_finds_every_jwt_setting(page, rpc):
    open_settings(page)
    search = page.locator(SETTINGS_SEARCH).first
    search.fill('JWT')
    search.press('End')
    # The search has run once every setting box still shown is about JWT
    # (11.0-16.0 hide the others, 17.0+ do not render them).
    page.wait_for_function('() => { const shown = [...document.querySelectorAll(".o_setting_box")]'
                           '.filter(box => box.offsetParent); '
                           'return shown.length > 0 && shown.every(box => /JWT/.test(box.textContent)); }')
    settle(page)
    shot(page, 'search-jwt', rpc.series)
    hidden = [box for box in SETTING_BOXES if not page.locator(box_selector(box)).first.is_visible()]
    assert not hidden, 'searching "JWT" hides %s' % ', '.join(hidden)


def test_an_unusable_key_is_shown_as_such(page, rpc):
    """A stored key too short for the algorithm (set behind the page's back):
    the page says so instead of "set". (/api/login would answer 503 and log an
    error, which the harness counts as a failure: not called here.)"""
    secret, algorithm = rpc.call('ir.config_parameter', 'get_param', 'jwt_provider.secret'), rpc.param('algorithm')
    rpc.call('ir.config_parameter', 'set_param', 'jwt_provider.secret', 's' * 40)
    rpc.set_param('algorithm', 'HS384')
    try:
        open_settings(page)
        shot(page, 'unusable-key', rpc.series)
        problem = page.locator(KEY_BOX).first.locator('.o_jwt_key_problem')
        assert problem.is_visible()
        assert 'at least 48 bytes' in problem.inner_text()
        assert not page.locator(KEY_BOX).first.locator('.o_jwt_key_ok').is_visible()
        assert_fits(problem)
    finally:
        rpc.set_param('algorithm', algorithm or 'HS256')
        rpc.call('ir.config_parameter', 'set_param', 'jwt_provider.secret', secret)


def test_generate_key_keeps_unsaved_edits(page, rpc):
    user = rpc.new_user()
    before = api_login(user, 'GenerateKeyTest/1.0')
    old_secret = rpc.call('ir.config_parameter', 'get_param', 'jwt_provider.secret')
    open_settings(page)
    type_into(page, 'jwt_refresh_lifetime_value', '45')
    choose(page, 'jwt_refresh_lifetime_unit', 'days')
    generate = page.locator('button[name=action_jwt_generate_key]')
    if not click_confirmed(page, generate):
        # 13.0+: the client saved the page first and stopped; the key is generated on a second click.
        page.wait_for_selector(KEY_BOX, state='visible')
        settle(page)
        assert rpc.param('refresh_lifetime') == str(45 * 86400)
        assert click_confirmed(page, page.locator('button[name=action_jwt_generate_key]'))
    page.wait_for_selector(KEY_BOX, state='visible')
    settle(page)
    page.locator(KEY_BOX).first.scroll_into_view_if_needed()
    shot(page, 'generated', rpc.series)
    assert rpc.param('refresh_lifetime') == str(45 * 86400), 'the unsaved edit was lost'
    assert value_of(page, 'jwt_refresh_lifetime_value') == '45'
    new_secret = rpc.call('ir.config_parameter', 'get_param', 'jwt_provider.secret')
    assert new_secret and new_secret != old_secret and len(new_secret) >= 64
    assert me_status(before['token']) == 200, 'Rotate key signed a user out'
    assert me_status(api_login(user, 'GenerateKeyTest/1.0')['token']) == 200


def test_short_key_refused_with_a_message(page, rpc):
    old_secret = rpc.call('ir.config_parameter', 'get_param', 'jwt_provider.secret')
    open_settings(page)
    choose(page, 'jwt_algorithm', 'HS256')
    type_into(page, 'jwt_new_secret', 'far too short')
    text = save_settings_refused(page)
    shot(page, 'short-key-refused', rpc.series)
    assert 'at least 32 bytes' in text, text
    close_modal(page)
    assert rpc.call('ir.config_parameter', 'get_param', 'jwt_provider.secret') == old_secret


def test_rs256_without_a_pem_refused(page, rpc):
    rpc.set_param('private_key', False)
    open_settings(page)
    choose(page, 'jwt_algorithm', 'RS256')
    text = save_settings_refused(page)
    shot(page, 'rs256-without-pem', rpc.series)
    assert 'RS256 needs a PEM private key' in text, text
    close_modal(page)
    assert rpc.param('algorithm') != 'RS256'


def test_rs256_with_a_pem_shows_the_public_key(page, rpc):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    user = rpc.new_user()
    try:
        open_settings(page)
        choose(page, 'jwt_algorithm', 'RS256')
        type_into(page, 'jwt_new_private_key', pem)
        save_settings(page)
        shot(page, 'rs256-public-key', rpc.series)
        assert rpc.param('algorithm') == 'RS256'
        box = page.locator('.o_jwt_public_key').first
        assert box.is_visible()
        assert 'BEGIN PUBLIC KEY' in box.inner_text()
        assert page.locator(KEY_BOX).first.locator('text=Public key, for services').first.is_visible()
        assert 'monospace' in box.evaluate('e => getComputedStyle(e.querySelector(".o_field_widget") || e).fontFamily')
        assert_fits(box)
        assert 'RS256 key stored in the database' in visible_text(page, KEY_BOX)
        tokens = api_login(user, 'RS256Test/1.0')
        assert me_status(tokens['token']) == 200
    finally:
        # Back to HMAC through the page, as an administrator would.
        open_settings(page)
        choose(page, 'jwt_algorithm', 'HS256')
        save_settings(page)
    assert rpc.param('algorithm') == 'HS256'
    assert me_status(api_login(user, 'RS256Test/1.0')['token']) == 200


def test_leeway_zero_is_saved(page, rpc):
    open_settings(page)
    type_into(page, 'jwt_leeway', '0')
    type_into(page, 'jwt_access_lifetime_value', '15')
    choose(page, 'jwt_access_lifetime_unit', 'minutes')
    save_settings(page)
    shot(page, 'leeway-zero-saved', rpc.series)
    assert rpc.param('leeway') == '0'
    assert rpc.param('access_lifetime') == '900'
    assert value_of(page, 'jwt_leeway') == '0'
    assert value_of(page, 'jwt_access_lifetime_value') == '15'


@pytest.mark.parametrize('field, value, message', [
    ('jwt_access_lifetime_value', '0', 'access token lifetime must be at least 1 second'),
    ('jwt_refresh_lifetime_value', '-3', 'refresh token lifetime must be at least 1 second'),
    ('jwt_leeway', '-1', 'clock leeway must be between 0 and 3600'),
    ('jwt_login_max_failures', '0', 'failed logins per email and address must be between 1'),
], ids=['access-lifetime-0', 'refresh-lifetime-negative', 'leeway-negative', 'failures-0'])
def test_invalid_values_refused_with_a_message(page, rpc, field, value, message):
    before = {name: rpc.param(name) for name in JWT_PARAMS}
    open_settings(page)
    type_into(page, field, value)
    text = save_settings_refused(page)
    shot(page, 'refused', rpc.series)
    assert message in text, text
    close_modal(page)
    assert {name: rpc.param(name) for name in JWT_PARAMS} == before


# -- the user form's API tokens tab ------------------------------------------------------------

def open_user_tokens(page, uid):
    open_web(page, 'action=base.action_res_users&id=%d&model=res.users&view_type=form' % uid, '.o_form_view')
    page.locator('.o_notebook a:has-text("API tokens"), .o_notebook button:has-text("API tokens")').first.click()
    page.wait_for_selector('.o_field_widget[name=jwt_session_ids]', state='visible')
    settle(page)


def session_rows(page):
    return page.locator('.o_field_widget[name=jwt_session_ids] .o_data_row')


def test_api_tokens_tab_revokes_one_login_then_all(page, rpc):
    user = rpc.new_user()
    phone = api_login(user, 'PhoneApp/2.1 (iPhone; iOS 17.4)')
    desk = api_login(user, 'DesktopApp/1.0 (X11; Linux x86_64)')
    # The phone refreshed once: its login now has two access and two refresh tokens.
    refreshed = refresh(phone['refresh_token'])
    assert refreshed.status_code == 200, refreshed.text
    phone_new = refreshed.json()['data']
    assert rpc.call('res.users', 'read', [user['id']], ['login_date'])[0]['login_date'], \
        'an API login must count as a connection ("Latest connection")'

    open_user_tokens(page, user['id'])
    shot(page, 'sessions', rpc.series)
    rows = session_rows(page)
    assert rows.count() == 2, 'one row per login, got %d' % rows.count()
    tab = page.locator('.o_field_widget[name=jwt_session_ids]').first.inner_text()
    assert 'PhoneApp/2.1' in tab and 'DesktopApp/1.0' in tab
    for technical in ('Jti', 'jti_hash', 'Family'):
        assert technical not in tab

    phone_row = rows.filter(has_text='PhoneApp/2.1').first
    click_confirmed(page, phone_row.locator(ROW_REVOKE).first, reloads=False)
    page.wait_for_function(
        '() => [...document.querySelectorAll(".o_field_widget[name=jwt_session_ids] .o_data_row")]'
        '.some(r => r.innerText.includes("PhoneApp") && r.innerText.includes("Revoked"))')
    settle(page)
    shot(page, 'one-revoked', rpc.series)
    for token in (phone['token'], phone_new['token']):
        assert me_status(token) == 498, 'an access token of the revoked login still works'
    for refresh_token in (phone_new['refresh_token'], phone['refresh_token']):
        assert refresh(refresh_token).status_code == 498, 'a refresh token of the revoked login still works'
    assert me_status(desk['token']) == 200, 'revoking one login signed another out'

    revoke_all = page.locator('button[name=action_jwt_revoke_all]').first
    click_confirmed(page, revoke_all, reloads=False)
    page.wait_for_function(
        '() => { const rows = [...document.querySelectorAll(".o_field_widget[name=jwt_session_ids] .o_data_row")];'
        ' return rows.length === 2 && rows.every(r => r.innerText.includes("Revoked")); }')
    settle(page)
    shot(page, 'all-revoked', rpc.series)
    assert me_status(desk['token']) == 498
    assert refresh(desk['refresh_token']).status_code == 498
    assert session_rows(page).locator(ROW_REVOKE).locator('visible=true').count() == 0


def test_signing_keys_list_retires_a_key(page, rpc):
    """Settings > JWT > Signing keys: the keys (kid, algorithm, state), never their
    material; *Retire now* on the previous key signs its tokens out at once."""
    user = rpc.new_user()
    before = api_login(user, 'KeyListTest/1.0')
    rpc.call('res.config.settings', 'action_jwt_generate_key', [rpc.call('res.config.settings', 'create', {})])
    after = api_login(user, 'KeyListTest/1.0')
    assert me_status(before['token']) == 200, 'Rotate key signed a user out'
    header = before['token'].split('.')[0]
    old_kid = json.loads(base64.urlsafe_b64decode(header + '=' * (-len(header) % 4)))['kid']
    open_web(page, 'action=jwt_provider.action_jwt_signing_keys', '.o_list_view, .o_list_renderer')
    shot(page, 'signing-keys', rpc.series)
    text = page.locator('.o_list_view, .o_list_renderer').first.inner_text()
    assert old_kid in text and 'Signing' in text and 'Verify only' in text
    assert rpc.param('secret') not in text
    row = page.locator('.o_data_row').filter(has_text=old_kid).first
    # 11.0 draws a row's button as an icon titled with its string, and asks no confirmation in a list.
    row.locator('button[name=action_retire], button[title="Retire now"]').first.click()
    retired_or_asked = ('(kid) => [...document.querySelectorAll(".o_data_row")].some('
                        'r => r.innerText.includes(kid) && r.innerText.includes("Retired")) ? "retired"'
                        ' : ([...document.querySelectorAll(".modal-dialog")].some(e => e.offsetParent)'
                        ' ? "asked" : null)')
    if page.wait_for_function(retired_or_asked, arg=old_kid).json_value() == 'asked':
        page.locator('.modal-dialog .modal-footer button.btn-primary').first.click()
        page.wait_for_function('(kid) => [...document.querySelectorAll(".o_data_row")]'
                               '.some(r => r.innerText.includes(kid) && r.innerText.includes("Retired"))', arg=old_kid)
    settle(page)
    shot(page, 'signing-key-retired', rpc.series)
    assert me_status(before['token']) == 498
    assert me_status(after['token']) == 200


# -- Apps ------------------------------------------------------------------------------------

def test_apps_search_finds_the_module_with_its_icon(page, rpc):
    open_web(page, 'action=base.open_module_tree', '.o_kanban_view, .o_kanban_renderer')
    search = page.locator('input.o_searchview_input:visible').first
    search.click()
    search.type('jwt', delay=50)  # key by key: 11.0's autocomplete listens to key events
    page.locator('.o_searchview_autocomplete:visible, .o_searchview_autocomplete li').first.wait_for()
    search.press('Enter')
    page.locator('.o_searchview_facet:has-text("jwt")').first.wait_for()
    card = page.locator('.o_kanban_record:has-text("JWT Provider")').first
    try:
        card.wait_for(timeout=20000)
        page.wait_for_function('() => [...document.querySelectorAll(".o_kanban_record")].filter(e => e.offsetParent'
                               ' && e.innerText.trim()).every(e => /jwt/i.test(e.innerText))')
    except Exception:
        shot(page, 'apps-not-found', rpc.series)
        raise AssertionError('searching "jwt" in Apps (default filter) does not find JWT Provider; '
                             'the default "Apps" filter lists only modules with "application": True')
    settle(page)
    shot(page, 'apps', rpc.series)
    icon = card.locator('img').first
    src = icon.get_attribute('src') or ''
    assert 'jwt_provider/static/description/icon.png' in src, src
    icon.evaluate('e => e.complete || new Promise(resolve => e.addEventListener("load", resolve))')
    assert icon.evaluate('e => e.naturalWidth') >= 128, 'the icon did not load'


# -- API clients -------------------------------------------------------------------------------

def test_api_client_secret_is_shown_once_and_works(page, rpc):
    client_id = rpc.call('jwt_provider.client', 'create', {'name': 'Browser RS %s' % uuid.uuid4().hex[:6]})
    # Reached from the settings page.
    open_settings(page)
    page.locator('button:has-text("API clients")').first.click()
    page.wait_for_selector('.o_list_view, .o_list_renderer', state='visible', timeout=PAGE_TIMEOUT)
    settle(page)
    open_web(page, 'action=jwt_provider.action_jwt_provider_client&id=%d&model=jwt_provider.client'
                   '&view_type=form' % client_id, '.o_form_view')
    # (11.0 renders header buttons without their name)
    page.locator('button[name=action_generate_secret]:visible, '
                 'button:has-text("Generate secret"):visible').first.click()
    modal = page.locator(MODAL).last
    modal.wait_for()
    settle(page)
    shot(page, 'secret-dialog', rpc.series)
    secret = modal.locator('.o_field_widget[name=secret]').first.inner_text().strip()
    public_id = modal.locator('.o_field_widget[name=client_id]').first.inner_text().strip()
    assert len(secret) >= 40 and public_id
    close_modal(page)
    # Nothing kept the secret: the dialog saved no row, the client holds a hash.
    assert rpc.call('jwt_provider.client.secret', 'search', []) == []
    answer = requests.post(URL + '/api/oauth/introspect', auth=(public_id, secret), data={'token': 'x'},
                           timeout=TIMEOUT)
    assert answer.status_code == 200 and answer.json() == {'active': False}, answer.text
