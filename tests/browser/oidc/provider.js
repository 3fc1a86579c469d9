// A local OpenID Connect provider for the browser login tests (tests/browser/test_login.py), built on
// the npm package oidc-provider with its development login form: type an account's email, any password.
//
//   node provider.js --port 9000 --client-id ID --client-secret SECRET --redirect-uri URI
//                    [--post-logout-uri URI] [--accounts accounts.json] [--host 127.0.0.1]
//
// The issuer is http://HOST:PORT. Every account in accounts.json can sign in; its `email` claim is put
// in the ID token itself (conformIdTokenClaims: false), because Streamlit's st.login reads the user from
// the ID token and never calls the userinfo endpoint. Prints "OIDC provider ready at ISSUER" when serving.
//
// package.json pins oidc-provider 8.8.1, which runs on Debian 12's Node.js 18 as well as on Node.js 20 and
// later; 9.x needs Node.js 20.18 or newer (9.13.3 on Node 18.20: "TypeError: URL.parse is not a function").

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const here = dirname(fileURLToPath(import.meta.url));
const { values: opts } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
    'redirect-uri': { type: 'string' },
    'post-logout-uri': { type: 'string' },
    accounts: { type: 'string', default: join(here, 'accounts.json') },
  },
});
for (const required of ['port', 'client-id', 'client-secret', 'redirect-uri']) {
  if (!opts[required]) {
    console.error(`provider.js: --${required} is required`);
    process.exit(2);
  }
}

const accounts = new Map(
  JSON.parse(readFileSync(opts.accounts, 'utf8')).map((a) => [a.email.toLowerCase(), a]),
);
const issuer = `http://${opts.host}:${opts.port}`;
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

const provider = new Provider(issuer, {
  clients: [{
    client_id: opts['client-id'],
    client_secret: opts['client-secret'],
    redirect_uris: [opts['redirect-uri']],
    post_logout_redirect_uris: opts['post-logout-uri'] ? [opts['post-logout-uri']] : [],
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  conformIdTokenClaims: false,
  // lax, as oidc-provider 9 defaults to: a SameSite=None cookie needs https, which a localhost test has not
  cookies: { keys: [randomBytes(32).toString('hex')], long: { sameSite: 'lax' } },
  jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'test-key', use: 'sig', alg: 'RS256' }] },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    const account = accounts.get(String(id).toLowerCase());
    if (!account) return undefined;
    return {
      accountId: account.email,
      async claims() {
        return { sub: account.email, email: account.email, email_verified: true, name: account.name };
      },
    };
  },
});

provider.listen(Number(opts.port), opts.host, () => {
  console.log(`OIDC provider ready at ${issuer}`);
});
