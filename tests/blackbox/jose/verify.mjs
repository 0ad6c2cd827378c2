// Verifies tokens with the npm jose package's remote JWK Set, as a resource
// server would: node verify.mjs <jwks_uri> <issuer> <audience> <token>...
// Prints one JSON line per token: {"ok": true, "sub", "kid"} or {"ok": false, "error"}.
import { createRemoteJWKSet, jwtVerify } from 'jose';

const [jwksUri, issuer, audience, ...tokens] = process.argv.slice(2);
const keys = createRemoteJWKSet(new URL(jwksUri));
for (const token of tokens) {
  try {
    const { payload, protectedHeader } = await jwtVerify(token, keys, { issuer, audience });
    console.log(JSON.stringify({ ok: true, sub: payload.sub, kid: protectedHeader.kid }));
  } catch (error) {
    console.log(JSON.stringify({ ok: false, error: error.code || String(error) }));
  }
}
