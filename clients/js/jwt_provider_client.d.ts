// Types of jwt_provider_client.js, for TypeScript apps.

export interface LoginUser {
  id: number;
  login: string;
  name: string;
  company_id: [number, string];
}

export interface Tokens {
  /** access token, sent as `Authorization: Bearer` */
  token: string;
  /** spent by refresh(): it works once */
  refresh_token: string;
  /** lifetime of `token`, in seconds */
  expires_in: number;
  user?: LoginUser;
}

export interface Profile {
  id: number;
  name: string;
  email: string | false;
  company_id: [number, string] | false;
  avatar: string;
}

export interface TotpChallenge {
  ticket: string;
  expiresIn: number;
}

export interface ClientOptions {
  /** the Odoo server, e.g. `https://odoo.example.com` */
  baseUrl: string;
  /** returns the authenticator code when a login needs a second factor */
  onTotpRequired?: ((challenge: TotpChallenge) => string | number | Promise<string | number>) | null;
  /** called with new tokens, or null once logged out */
  onTokens?: ((tokens: Tokens | null) => void) | null;
  /** tokens saved earlier */
  tokens?: Tokens | null;
  fetch?: typeof fetch | null;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  query?: Record<string, string>;
  headers?: Record<string, string>;
}

export class ApiError extends Error {
  constructor(status: number, message: string | null, data?: unknown, retryAfter?: number | null);
  /** HTTP status: 400, 401, 405, 413, 429, 498, 501, 503, ... */
  status: number;
  /** the envelope's `data` (the two-factor challenge of a 401) */
  data: unknown;
  /** seconds, from `Retry-After` (429, 503) */
  retryAfter: number | null;
}

/** A token that does not verify offline. */
export class TokenError extends Error {
  constructor(message: string);
}

export class JwtProviderClient {
  constructor(options: ClientOptions);
  baseUrl: string;
  tokens: Tokens | null;
  readonly loggedIn: boolean;
  /** `scope`: space-separated; limits the tokens to routes whose `jwt_scopes` it grants */
  login(email: string, password: string, options?: { scope?: string }): Promise<Tokens>;
  register(email: string, password: string, name: string, options?: { scope?: string }): Promise<Tokens>;
  refresh(): Promise<Tokens>;
  /** the envelope's `data`; refreshes once and retries once on 498 */
  request<T = unknown>(path: string, options?: RequestOptions): Promise<T>;
  me(): Promise<Profile>;
  logout(options?: { everywhere?: boolean }): Promise<void>;
  /** offline check of an RS256/ES256 token with the published keys; the claims, or rejects with TokenError */
  verify(token?: string, options?: { audience?: string; leeway?: number }): Promise<Record<string, unknown>>;
}
