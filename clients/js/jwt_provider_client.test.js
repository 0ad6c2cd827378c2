// node --test jwt_provider_client.test.js
// Live tests run against JWT_TEST_URL (a server with jwt_provider) as
// JWT_TEST_LOGIN / JWT_TEST_PASSWORD (default admin / admin); the others use
// a fake fetch. tests/blackbox/test_clients.py runs this file.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ApiError, JwtProviderClient } from './jwt_provider_client.js';

const URL = process.env.JWT_TEST_URL;
const LOGIN = process.env.JWT_TEST_LOGIN || 'admin';
const PASSWORD = process.env.JWT_TEST_PASSWORD || 'admin';
const live = { skip: !URL && 'JWT_TEST_URL is not set' };

// -- a fake server ------------------------------------------------------------
function answer(status, body, headers = {}) {
  return new Response(JSON.stringify(body), {
    status, headers: { 'Content-Type': 'application/json', ...headers },
  });
}
const ok = (data) => answer(200, { data, success: true, message: null });
const fail = (status, message, data = null, headers = {}) => answer(status, { data, success: false, message }, headers);
const pair = (n) => ({ user: { id: 7, login: 'u', name: 'U', company_id: [1, 'C'] },
  token: `access-${n}`, refresh_token: `refresh-${n}`, expires_in: 60 });

/** A fake fetch: `routes[path](init, calls)` answers; every call is recorded. */
function fakeFetch(routes) {
  const calls = [];
  const fetch = async (url, init) => {
    const path = new globalThis.URL(url).pathname;
    const call = { path, init, body: init.body ? JSON.parse(init.body) : undefined,
      token: (init.headers.Authorization || '').replace('Bearer ', '') };
    calls.push(call);
    await new Promise((resolve) => setTimeout(resolve, 5));  // let concurrent calls overlap
    return routes[path](call, calls);
  };
  return { fetch, calls };
}

test('login asks for the two-factor code and sends it with the ticket', async () => {
  const { fetch, calls } = fakeFetch({
    '/api/login': () => fail(401, 'Two-factor code required', { totp_required: true, ticket: 'T1', expires_in: 300 }),
    '/api/login/totp': (call) => (call.body.code === '123456' ? ok(pair(1)) : fail(400, 'Incorrect code')),
  });
  const asked = [];
  const client = new JwtProviderClient({ baseUrl: 'http://odoo.test/', fetch,
    onTotpRequired: async (challenge) => { asked.push(challenge); return '123456'; } });
  const tokens = await client.login('u', 'pw');
  assert.equal(tokens.token, 'access-1');
  assert.deepEqual(asked, [{ ticket: 'T1', expiresIn: 300 }]);
  assert.deepEqual(calls.map((c) => c.path), ['/api/login', '/api/login/totp']);
  assert.deepEqual(calls[1].body, { ticket: 'T1', code: '123456' });
});

test('a scope goes with the login and with its two-factor step', async () => {
  const { fetch, calls } = fakeFetch({
    '/api/login': () => fail(401, 'Two-factor code required', { totp_required: true, ticket: 'T1', expires_in: 300 }),
    '/api/login/totp': () => ok(pair(1)),
  });
  const client = new JwtProviderClient({ baseUrl: 'http://odoo.test', fetch, onTotpRequired: async () => '123456' });
  await client.login('u', 'pw', { scope: 'sale.read' });
  assert.deepEqual(calls.map((c) => c.body.scope), ['sale.read', 'sale.read']);
});

test('live: a scoped login cannot call a route that requires another scope', live, async () => {
  const client = new JwtProviderClient({ baseUrl: URL });
  await client.login(LOGIN, PASSWORD, { scope: 'sale.read' });
  // examples/jwt_provider_example: /example/jwt/partners/count requires partner.read
  await assert.rejects(client.request('/example/jwt/partners/count'), (e) => e.status === 403);
  await client.login(LOGIN, PASSWORD, { scope: 'partner.read' });
  assert.equal(typeof (await client.request('/example/jwt/partners/count')).count, 'number');
});

test('a two-factor login without a callback fails clearly', async () => {
  const { fetch } = fakeFetch({
    '/api/login': () => fail(401, 'Two-factor code required', { totp_required: true, ticket: 'T', expires_in: 300 }),
  });
  const client = new JwtProviderClient({ baseUrl: 'http://odoo.test', fetch });
  await assert.rejects(client.login('u', 'pw'), (e) => e instanceof ApiError && e.status === 401);
});

test('throttled logins expose Retry-After', async () => {
  const { fetch } = fakeFetch({ '/api/login': () => fail(429, 'Too many failed logins', null, { 'Retry-After': '42' }) });
  const client = new JwtProviderClient({ baseUrl: 'http://odoo.test', fetch });
  await assert.rejects(client.login('u', 'pw'), (e) => e.status === 429 && e.retryAfter === 42);
});

test('concurrent calls refused with 498 share one refresh, then retry once', async () => {
  let refreshes = 0;
  const { fetch } = fakeFetch({
    '/api/refresh': (call) => { refreshes += 1; return call.body.refresh_token === 'refresh-1' ? ok(pair(2)) : fail(498, 'Token invalid or expired'); },
    '/api/me': (call) => (call.token === 'access-2' ? ok({ id: 7 }) : fail(498, 'Token invalid or expired')),
  });
  const saved = [];
  const client = new JwtProviderClient({ baseUrl: 'http://odoo.test', fetch, tokens: pair(1), onTokens: (t) => saved.push(t) });
  const results = await Promise.all([client.me(), client.me(), client.me()]);
  assert.deepEqual(results, [{ id: 7 }, { id: 7 }, { id: 7 }]);
  assert.equal(refreshes, 1);
  assert.equal(client.tokens.token, 'access-2');
  assert.deepEqual(saved.map((t) => t.token), ['access-2']);
});

test('a call is retried only once', async () => {
  let refreshes = 0;
  const { fetch, calls } = fakeFetch({
    '/api/refresh': () => { refreshes += 1; return ok(pair(refreshes + 1)); },
    '/api/me': () => fail(498, 'Token invalid or expired'),
  });
  const client = new JwtProviderClient({ baseUrl: 'http://odoo.test', fetch, tokens: pair(1) });
  await assert.rejects(client.me(), (e) => e.status === 498);
  assert.equal(refreshes, 1);
  assert.equal(calls.filter((c) => c.path === '/api/me').length, 2);
});

test('a refused refresh drops the tokens', async () => {
  const { fetch } = fakeFetch({
    '/api/refresh': () => fail(498, 'Token invalid or expired'),
    '/api/me': () => fail(498, 'Token invalid or expired'),
  });
  const saved = [];
  const client = new JwtProviderClient({ baseUrl: 'http://odoo.test', fetch, tokens: pair(1), onTokens: (t) => saved.push(t) });
  await assert.rejects(client.me(), (e) => e.status === 498);
  assert.equal(client.tokens, null);
  assert.equal(client.loggedIn, false);
  assert.deepEqual(saved, [null]);
});

// -- against a live server -------------------------------------------------------
async function rawMe(token) {
  const response = await fetch(`${URL}/api/me`, { headers: { Authorization: `Bearer ${token}` } });
  return response.status;
}

test('live: login, me, logout', live, async () => {
  const client = new JwtProviderClient({ baseUrl: URL });
  const tokens = await client.login(LOGIN, PASSWORD);
  assert.equal(tokens.user.login, LOGIN);
  const me = await client.me();
  assert.equal(me.id, tokens.user.id);
  assert.ok(me.avatar.endsWith(`/web/avatar/${me.id}`));
  await client.logout();
  assert.equal(client.tokens, null);
  assert.equal(await rawMe(tokens.token), 498);
});

test('live: an expired access token is refreshed and the call retried', live, async () => {
  const client = new JwtProviderClient({ baseUrl: URL });
  const first = await client.login(LOGIN, PASSWORD);
  // A token the server refuses, as an expired one would be.
  client.tokens = { ...first, token: `${first.token.slice(0, -4)}AAAA` };
  const me = await client.me();
  assert.equal(me.id, first.user.id);
  assert.notEqual(client.tokens.token, first.token);
  assert.notEqual(client.tokens.refresh_token, first.refresh_token);
  assert.equal(await rawMe(client.tokens.token), 200);
  await client.logout();
});

test('live: logging out one session leaves the others', live, async () => {
  const client = new JwtProviderClient({ baseUrl: URL });
  const other = new JwtProviderClient({ baseUrl: URL });
  await client.login(LOGIN, PASSWORD);
  await other.login(LOGIN, PASSWORD);
  await client.logout();
  assert.ok((await other.me()).id > 0);
  await other.logout();
});

test('live: after "log out everywhere" the other sessions must log in again', live, async () => {
  const client = new JwtProviderClient({ baseUrl: URL });
  const other = new JwtProviderClient({ baseUrl: URL });
  await client.login(LOGIN, PASSWORD);
  await other.login(LOGIN, PASSWORD);
  await other.logout({ everywhere: true });
  // 498, the refresh token is refused too: the client drops its tokens.
  await assert.rejects(client.me(), (e) => e instanceof ApiError && e.status === 498);
  assert.equal(client.loggedIn, false);
});

test('live: a wrong password is an ApiError 400', live, async () => {
  const client = new JwtProviderClient({ baseUrl: URL });
  await assert.rejects(client.login(`nobody-${Date.now()}@example.com`, 'wrong'),
    (e) => e instanceof ApiError && e.status === 400 && e.message === 'Incorrect login');
});
