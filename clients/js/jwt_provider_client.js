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
