// A client for the jwt_provider Odoo addon's API. No dependencies: it needs
// only `fetch` (browsers, Node 18+, Deno, Bun, React Native). Copy this file
// into your app; the API is described at /api/openapi.json and /api/docs.
//
//   import { JwtProviderClient } from './jwt_provider_client.js';
//
//   const client = new JwtProviderClient({
//     baseUrl: 'https://odoo.example.com',
//     // Asked only when the user has two-factor authentication:
//     onTotpRequired: async ({ expiresIn }) => prompt('Authenticator code'),
//     // Persist the tokens (e.g. in secure storage) to survive a restart:
//     onTokens: (tokens) => save(tokens),
//   });
//   await client.login('me@example.com', 'secret');
//   const me = await client.me();               // {id, name, email, company_id, avatar}
//   const orders = await client.request('/api/my/orders');   // any auth='jwt' route
//   await client.logout();
//
// An answer of 498 (token invalid or expired) makes the client spend the
// refresh token once and retry the call once; concurrent calls share that
// one refresh (a refresh token works once: reusing it ends the session).
//
// A service that receives our tokens can check them without asking the
// server, when it signs with RS256 or ES256: `await client.verify(token)`
// checks the signature with the published keys (/.well-known/jwks.json,
// fetched again for a key id it has not seen: a rotation), the issuer of the
// server's metadata and the expiry, with WebCrypto. Revocation is the server's
// to know: a logged-out token verifies offline until it expires.

/** An answer with `success: false`, or a non-JSON error answer. */
export class ApiError extends Error {
  /**
   * @param {number} status HTTP status
   * @param {string} message the envelope's `message`
   * @param {*} [data] the envelope's `data`
   * @param {number|null} [retryAfter] seconds, from `Retry-After` (429, 503)
   */
  constructor(status, message, data = null, retryAfter = null) {
    super(message || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.data = data;
    this.retryAfter = retryAfter;
  }
}

/** A token that does not verify offline (see `JwtProviderClient.verify`). */
export class TokenError extends Error {
  constructor(message) {
    super(message);
    this.name = 'TokenError';
  }
}

const VERIFY_ALGORITHMS = {
  RS256: { importAs: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, verifyAs: { name: 'RSASSA-PKCS1-v1_5' } },
  ES256: { importAs: { name: 'ECDSA', namedCurve: 'P-256' }, verifyAs: { name: 'ECDSA', hash: 'SHA-256' } },
};

function base64UrlBytes(text) {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(text.length / 4) * 4, '=');
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

function base64UrlJson(text) {
  try {
    return JSON.parse(new TextDecoder().decode(base64UrlBytes(text)));
  } catch (e) {
    throw new TokenError('Malformed token');
  }
}

/**
 * @typedef {object} Tokens
 * @property {string} token          access token, sent as `Authorization: Bearer`
 * @property {string} refresh_token  spent by refresh()
 * @property {number} expires_in     lifetime of `token` in seconds
 * @property {{id: number, login: string, name: string, company_id: [number, string]}} [user]
 */

export class JwtProviderClient {
  /**
   * @param {object} options
   * @param {string} options.baseUrl  the Odoo server, e.g. `https://odoo.example.com`
   * @param {(challenge: {ticket: string, expiresIn: number}) => Promise<string>|string} [options.onTotpRequired]
   *        returns the authenticator code when a login needs a second factor
   * @param {(tokens: Tokens|null) => void} [options.onTokens]  called with new tokens, or null once logged out
   * @param {Tokens|null} [options.tokens]  tokens saved earlier
   * @param {typeof fetch} [options.fetch]  a fetch implementation (default: the global one)
   */
  constructor({ baseUrl, onTotpRequired = null, onTokens = null, tokens = null, fetch: fetchImpl = null }) {
    if (!baseUrl) throw new TypeError('baseUrl is required');
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.onTotpRequired = onTotpRequired;
    this.onTokens = onTokens;
    this.tokens = tokens;
    this._fetch = fetchImpl || globalThis.fetch.bind(globalThis);
    this._refreshing = null;
    this._keys = null;      // Promise of {issuer, keys: Map(kid -> CryptoKey promise)}
  }

  /** Whether the client holds tokens (they may still have expired). */
  get loggedIn() {
    return Boolean(this.tokens && this.tokens.token);
  }

  /**
   * Log in. When the user has two-factor authentication the server answers
   * 401 with a ticket: `onTotpRequired` is asked for the code, which is sent
   * to `/api/login/totp`. `options.scope` (space-separated) limits the tokens
   * to the routes whose `jwt_scopes` it grants.
   * @returns {Promise<Tokens>}
   */
  async login(email, password, options = {}) {
    const extra = options.scope ? { scope: options.scope } : {};
    let body;
    try {
      body = await this._call('POST', '/api/login', { ...extra, email, password });
    } catch (error) {
      const challenge = error instanceof ApiError && error.status === 401 && error.data;
      if (!challenge || !challenge.totp_required) throw error;
      if (!this.onTotpRequired) throw new ApiError(401, 'Two-factor code required but no onTotpRequired callback', challenge);
      const code = await this.onTotpRequired({ ticket: challenge.ticket, expiresIn: challenge.expires_in });
      body = await this._call('POST', '/api/login/totp', { ...extra, ticket: challenge.ticket, code: String(code) });
    }
    return this._setTokens(body.data);
  }

  /** Sign up (when the server allows free sign-up) and log in. @returns {Promise<Tokens>} */
  async register(email, password, name, options = {}) {
    const extra = options.scope ? { scope: options.scope } : {};
    const body = await this._call('POST', '/api/register', { ...extra, email, password, name });
    return this._setTokens(body.data);
  }

  /**
   * Exchange the refresh token for a new pair. Concurrent callers share one
   * request. On 498 the tokens are dropped and the error is thrown: log in again.
   * @returns {Promise<Tokens>}
   */
  refresh() {
    if (!this._refreshing) {
      const refreshToken = this.tokens && this.tokens.refresh_token;
      this._refreshing = (async () => {
        if (!refreshToken) throw new ApiError(498, 'Not logged in');
        try {
          const body = await this._call('POST', '/api/refresh', { refresh_token: refreshToken });
          return this._setTokens(body.data);
        } catch (error) {
          if (error instanceof ApiError && error.status === 498) this._setTokens(null);
          throw error;
        }
      })().finally(() => { this._refreshing = null; });
    }
    return this._refreshing;
  }

  /**
   * Call a route with the access token; on 498, refresh once and retry once.
   * @param {string} path e.g. `/api/me`
   * @param {{method?: string, body?: object, query?: object, headers?: object}} [options]
   * @returns {Promise<*>} the envelope's `data`
   */
  async request(path, { method = 'GET', body = undefined, query = undefined, headers = {} } = {}) {
    const token = this.tokens && this.tokens.token;
    try {
      return (await this._call(method, path, body, query, token, headers)).data;
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 498 || !this.tokens) throw error;
    }
    // The token was refused: refresh (unless another call already did) and retry once.
    if (this.tokens.token === token) await this.refresh();
    return (await this._call(method, path, body, query, this.tokens.token, headers)).data;
  }

  /** The user of the token: `{id, name, email, company_id, avatar}`. */
  me() {
    return this.request('/api/me');
  }

  /**
   * Revoke the token (and its refresh token); `everywhere` ends every session
   * of the user. The local tokens are dropped even if the server refuses.
   */
  async logout({ everywhere = false } = {}) {
    const token = this.tokens && this.tokens.token;
    try {
      if (token) await this._call('POST', '/api/logout', everywhere ? { all: '1' } : {}, undefined, token);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 498) throw error;
    } finally {
      this._setTokens(null);
    }
  }

  /**
   * Check `token` offline (RS256 or ES256): its signature with the server's
   * published key of the token's `kid`, its issuer and its expiry
   * (`leeway` seconds of clock skew). `audience`, when given, must match `aud`.
   * @returns {Promise<object>} the token's claims; rejects with TokenError
   */
  async verify(token = this.tokens && this.tokens.token, { audience = undefined, leeway = 10 } = {}) {
    const parts = typeof token === 'string' ? token.split('.') : [];
    if (parts.length !== 3) throw new TokenError('Malformed token');
    const header = base64UrlJson(parts[0]);
    const claims = base64UrlJson(parts[1]);
    const algorithm = VERIFY_ALGORITHMS[header.alg];
    if (!algorithm) throw new TokenError(`Cannot verify ${header.alg} offline (RS256 or ES256 only)`);
    const key = await this._publicKey(header.kid, header.alg);
    const signed = new TextEncoder().encode(`${parts[0]}.${parts[1]}`);
    if (!(await crypto.subtle.verify(algorithm.verifyAs, key, base64UrlBytes(parts[2]), signed))) {
      throw new TokenError('Bad signature');
    }
    const { issuer } = await this._keys;
    if (claims.iss !== issuer) throw new TokenError('Wrong issuer');
    if (audience !== undefined && claims.aud !== audience) throw new TokenError('Wrong audience');
    if (typeof claims.exp !== 'number' || claims.exp + leeway < Date.now() / 1000) throw new TokenError('Expired');
    return claims;
  }

  /** The CryptoKey of `kid`; the key set is fetched again once for a kid not seen yet. */
  async _publicKey(kid, alg) {
    for (const fresh of [false, true]) {
      if (!this._keys || fresh) this._keys = this._loadKeys();
      const { keys } = await this._keys;
      if (keys.has(kid)) {
        const jwk = keys.get(kid);
        if (jwk.alg !== alg) throw new TokenError('Key and token algorithms differ');
        return crypto.subtle.importKey('jwk', jwk, VERIFY_ALGORITHMS[alg].importAs, false, ['verify']);
      }
    }
    throw new TokenError('Unknown key id');
  }

  async _loadKeys() {
    const fetchJson = async (url) => {
      const response = await this._fetch(url, { headers: { Accept: 'application/json' } });
      if (!response.ok) throw new TokenError(`Cannot fetch ${url} (HTTP ${response.status})`);
      return response.json();
    };
    const loading = (async () => {
      const metadata = await fetchJson(`${this.baseUrl}/.well-known/oauth-authorization-server`);
      // The key set from the server this client talks to (the metadata's
      // jwks_uri names the public URL, which a client inside may not reach).
      const set = await fetchJson(`${this.baseUrl}/.well-known/jwks.json`);
      return { issuer: metadata.issuer, keys: new Map(set.keys.map((jwk) => [jwk.kid, jwk])) };
    })();
    loading.catch(() => { if (this._keys === loading) this._keys = null; });
    return loading;
  }

  _setTokens(tokens) {
    this.tokens = tokens;
    if (this.onTokens) this.onTokens(tokens);
    return tokens;
  }

  /** One HTTP call; resolves to the envelope, rejects with ApiError. */
  async _call(method, path, body, query, token, extraHeaders = {}) {
    let url = this.baseUrl + path;
    if (query && Object.keys(query).length) url += (url.includes('?') ? '&' : '?') + new URLSearchParams(query);
    /** @type {Record<string, string>} */
    const headers = { Accept: 'application/json', ...extraHeaders };
    if (token) headers.Authorization = `Bearer ${token}`;
    const init = { method, headers };
    if (body !== undefined && method !== 'GET' && method !== 'HEAD') {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const response = await this._fetch(url, init);
    const retryAfter = response.headers.get('Retry-After');
    let envelope = null;
    if ((response.headers.get('Content-Type') || '').includes('json')) {
      try { envelope = await response.json(); } catch (e) { envelope = null; }
    }
    if (!envelope || typeof envelope !== 'object' || !('success' in envelope)) {
      throw new ApiError(response.status, `Unexpected answer (HTTP ${response.status})`, null,
        retryAfter === null ? null : Number(retryAfter));
    }
    if (!response.ok || envelope.success === false) {
      throw new ApiError(response.status, envelope.message, envelope.data,
        retryAfter === null ? null : Number(retryAfter));
    }
    return envelope;
  }
}
