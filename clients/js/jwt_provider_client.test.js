// node --test jwt_provider_client.test.js
// The tests run against JWT_TEST_URL (a server with jwt_provider) as
// JWT_TEST_LOGIN / JWT_TEST_PASSWORD (default admin / admin); the two-factor
// ones as JWT_TEST_TOTP_LOGIN / JWT_TEST_TOTP_PASSWORD, a user whose TOTP
// secret is JWT_TEST_TOTP_SECRET (base32; Odoo 14.0+). One test uses a fake
// fetch: the case it needs (a server refusing the token it has just issued)
// no real server produces. tests/blackbox/test_clients.py runs this file.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';

import { ApiError, JwtProviderClient, TokenError } from './jwt_provider_client.js';

const URL = process.env.JWT_TEST_URL;
const LOGIN = process.env.JWT_TEST_LOGIN || 'admin';
const PASSWORD = process.env.JWT_TEST_PASSWORD || 'admin';
const TOTP_LOGIN = process.env.JWT_TEST_TOTP_LOGIN;
const TOTP_PASSWORD = process.env.JWT_TEST_TOTP_PASSWORD;
const TOTP_SECRET = process.env.JWT_TEST_TOTP_SECRET;
const live = { skip: !URL && 'JWT_TEST_URL is not set' };
// Set when the server signs with RS256 or ES256 (tokens a service can verify offline).
const liveOffline = { skip: (!URL && 'JWT_TEST_URL is not set') || (!process.env.JWT_TEST_OFFLINE && 'JWT_TEST_OFFLINE is not set') };
const liveTotp = { skip: (!URL && 'JWT_TEST_URL is not set') || (!TOTP_SECRET && 'JWT_TEST_TOTP_SECRET is not set') };

/** RFC 6238 (SHA-1, 30 s, 6 digits) of a base32 secret, as authenticator apps compute it. */
function totpCode(secret, at = Date.now()) {
  let bits = '';
  for (const char of secret.replace(/[\s=]/g, '').toUpperCase()) {
    bits += 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'.indexOf(char).toString(2).padStart(5, '0');
  }
  const key = Buffer.from(bits.match(/.{8}/g).map((byte) => parseInt(byte, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 30000)));
  const digest = createHmac('sha1', key).update(counter).digest();
  const offset = digest[digest.length - 1] & 0x0f;
  return String((digest.readUInt32BE(offset) & 0x7fffffff) % 1000000).padStart(6, '0');
}

/** The global fetch, every call's path recorded (a spy: the server is real). */
function spiedFetch() {
  const paths = [];
  const fetch = (url, init) => {
    paths.push(new globalThis.URL(url).pathname);
    return globalThis.fetch(url, init);
  };
  return { fetch, paths };
}

// -- a fake server, for the one case no real server produces ---------------------
function answer(status, body, headers = {}) {
  return new Response(JSON.stringify(body), {
    status, headers: { 'Content-Type': 'application/json', ...headers },
  });
}
const ok = (data) => answer(200, { data, success: true, message: null });
const fail = (status, message, data = null, headers = {}) => answer(status, { data, success: false, message }, headers);
const pair = (n) => ({ user: { id: 7, login: 'u', name: 'U', company_id: [1, 'C'] },
  token: `access-${n}`, refresh_token: `refresh-${n}`, expires_in: 60 });

/** A fake fetch: `routes[path](call, calls)` answers; every call is recorded. */
function fakeFetch(routes) {
  const calls = [];
  const fetch = async (url, init) => {
    const path = new globalThis.URL(url).pathname;
    const call = { path, init, body: init.body ? JSON.parse(init.body) : undefined,
      token: (init.headers.Authorization || '').replace('Bearer ', '') };
    calls.push(call);
    return routes[path](call, calls);
  };
  return { fetch, calls };
}

test('a call is retried only once (a server refusing the token it has just issued)', async () => {
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

test('live: after "log out everywhere" a refused refresh drops the tokens', live, async () => {
  const saved = [];
  const client = new JwtProviderClient({ baseUrl: URL, onTokens: (t) => saved.push(t) });
  const other = new JwtProviderClient({ baseUrl: URL });
  await client.login(LOGIN, PASSWORD);
  await other.login(LOGIN, PASSWORD);
  await other.logout({ everywhere: true });
  // 498, the refresh token is refused too: the client drops its tokens.
  await assert.rejects(client.me(), (e) => e instanceof ApiError && e.status === 498);
  assert.equal(client.loggedIn, false);
  assert.equal(client.tokens, null);
  assert.equal(saved.length, 2);
  assert.equal(saved[1], null);
});

test('live: a wrong password is an ApiError 400', live, async () => {
  const client = new JwtProviderClient({ baseUrl: URL });
  await assert.rejects(client.login(`nobody-${Date.now()}@example.com`, 'wrong'),
    (e) => e instanceof ApiError && e.status === 400 && e.message === 'Incorrect login');
});

test('live: throttled logins expose Retry-After', live, async () => {
  const client = new JwtProviderClient({ baseUrl: URL });
  const email = `throttled-${Date.now()}@example.com`;
  let refused;
  for (let attempt = 0; attempt < 20 && !refused; attempt += 1) {
    await client.login(email, 'wrong').catch((e) => { if (e.status === 429) refused = e; else assert.equal(e.status, 400); });
  }
  assert.ok(refused instanceof ApiError, 'no 429 after 20 wrong passwords');
  assert.ok(Number.isInteger(refused.retryAfter) && refused.retryAfter > 0, `Retry-After: ${refused.retryAfter}`);
});

test('live: concurrent calls refused with 498 share one refresh, then retry once', live, async () => {
  const { fetch, paths } = spiedFetch();
  const saved = [];
  const client = new JwtProviderClient({ baseUrl: URL, fetch, onTokens: (t) => saved.push(t) });
  const first = await client.login(LOGIN, PASSWORD);
  client.tokens = { ...first, token: `${first.token.slice(0, -4)}AAAA` };  // refused, as an expired one would be
  const results = await Promise.all([client.me(), client.me(), client.me()]);
  assert.deepEqual(results.map((me) => me.id), [first.user.id, first.user.id, first.user.id]);
  assert.equal(paths.filter((path) => path === '/api/refresh').length, 1);
  assert.equal(paths.filter((path) => path === '/api/me').length, 6);
  assert.equal(saved.length, 2);  // the login's pair, then the refreshed one
  assert.equal(saved[1].token, client.tokens.token);
  assert.equal(await rawMe(client.tokens.token), 200);
  await client.logout();
});

test('live: a scoped login cannot call a route that requires another scope', live, async () => {
  const client = new JwtProviderClient({ baseUrl: URL });
  await client.login(LOGIN, PASSWORD, { scope: 'sale.read' });
  // examples/jwt_provider_example: /example/jwt/partners/count requires partner.read
  await assert.rejects(client.request('/example/jwt/partners/count'), (e) => e.status === 403);
  await client.login(LOGIN, PASSWORD, { scope: 'partner.read' });
  assert.equal(typeof (await client.request('/example/jwt/partners/count')).count, 'number');
});

test('live: verify() checks a token offline with the published keys', liveOffline, async () => {
  const { fetch, paths } = spiedFetch();
  const client = new JwtProviderClient({ baseUrl: URL, fetch });
  const tokens = await client.login(LOGIN, PASSWORD);
  const claims = await client.verify();
  assert.equal(claims.sub, String(tokens.user.id));
  assert.equal(claims.typ, 'access');
  assert.equal((await client.verify(tokens.token, { audience: claims.aud })).jti, claims.jti);
  // A payload changed after signing, another audience, or a key id the server never had: refused.
  const [head, payload, signature] = tokens.token.split('.');
  const other = Buffer.from(JSON.stringify({ ...claims, sub: '1' })).toString('base64url');
  await assert.rejects(client.verify(`${head}.${other}.${signature}`), (e) => e instanceof TokenError && e.message === 'Bad signature');
  await assert.rejects(client.verify(tokens.token, { audience: 'elsewhere' }), (e) => e instanceof TokenError);
  const unknownKid = Buffer.from(JSON.stringify({ alg: JSON.parse(Buffer.from(head, 'base64url')).alg, kid: 'nope' })).toString('base64url');
  await assert.rejects(client.verify(`${unknownKid}.${payload}.${signature}`), (e) => e instanceof TokenError && e.message === 'Unknown key id');
  // The key set was fetched once, and once more for the unknown kid: never per token.
  assert.equal(paths.filter((path) => path === '/.well-known/jwks.json').length, 2);
  await client.logout();
});

test('live: login asks for the two-factor code and sends it with the ticket', liveTotp, async () => {
  const { fetch, paths } = spiedFetch();
  const asked = [];
  const client = new JwtProviderClient({ baseUrl: URL, fetch,
    onTotpRequired: async (challenge) => { asked.push(challenge); return totpCode(TOTP_SECRET); } });
  const tokens = await client.login(TOTP_LOGIN, TOTP_PASSWORD);
  assert.equal(tokens.user.login, TOTP_LOGIN);
  assert.equal(asked.length, 1);
  assert.deepEqual(Object.keys(asked[0]).sort(), ['expiresIn', 'ticket']);
  assert.ok(asked[0].expiresIn > 0);
  assert.deepEqual(paths, ['/api/login', '/api/login/totp']);
  assert.equal((await client.me()).id, tokens.user.id);
  await client.logout();
});

test('live: a two-factor login without a callback fails clearly', liveTotp, async () => {
  const client = new JwtProviderClient({ baseUrl: URL });
  await assert.rejects(client.login(TOTP_LOGIN, TOTP_PASSWORD),
    (e) => e instanceof ApiError && e.status === 401 && e.data.totp_required === true && Boolean(e.data.ticket));
  assert.equal(client.loggedIn, false);
});
