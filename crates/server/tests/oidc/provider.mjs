// A test OpenID Provider for Rampart's SSO tests: npm `oidc-provider` (installed by
// scripts/test-deps into $RAMPART_OIDC_PROVIDER_DIR) on 127.0.0.1.
//
// Environment:
//   RAMPART_OIDC_PROVIDER_DIR  where `npm install --prefix` put oidc-provider (required)
//   OIDC_PORT                  port to listen on (or the first argument; 0 picks a free one)
//   OIDC_CLIENTS               JSON array of {client_id, client_secret, redirect_uri}
//
// Accounts: the dev-interaction login form signs in any login name. The login name is the
// account id and, when it contains '@', its email (otherwise `<name>@example.test`). A login
// name starting with `unverified` gets `email_verified: false`; every other one `true`.
//
// Prints `oidc-provider ready <issuer>` on stdout once listening.
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = process.env.RAMPART_OIDC_PROVIDER_DIR;
if (!dir) {
  console.error('RAMPART_OIDC_PROVIDER_DIR is not set: run eval "$(scripts/test-deps)"');
  process.exit(2);
}
const require = createRequire(path.join(dir, 'package.json'));
const { default: Provider } = await import(pathToFileURL(require.resolve('oidc-provider')).href);

const port = Number(process.argv[2] ?? process.env.OIDC_PORT ?? 0);
const clients = JSON.parse(process.env.OIDC_CLIENTS ?? '[]').map((c) => ({
  client_id: c.client_id,
  client_secret: c.client_secret,
  redirect_uris: [c.redirect_uri],
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
}));

function claimsOf(login) {
  const email = login.includes('@') ? login.toLowerCase() : `${login.toLowerCase()}@example.test`;
  return {
    sub: login,
    email,
    email_verified: !login.toLowerCase().startsWith('unverified'),
    name: login,
  };
}

const server = await new Promise((resolve) => {
  const s = http.createServer();
  s.listen(port, '127.0.0.1', () => resolve(s));
});

const issuer = `http://127.0.0.1:${server.address().port}`;
const provider = new Provider(issuer, {
  clients,
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  // Claims go into the ID token itself (Rampart reads them there, not from userinfo).
  conformIdTokenClaims: false,
  async findAccount(_ctx, sub) {
    return { accountId: sub, async claims() { return claimsOf(sub); } };
  },
  cookies: { keys: ['rampart-test-cookie-key-0123456789'] },
  ttl: { Session: 600, Interaction: 600, Grant: 600, AuthorizationCode: 60, IdToken: 300, AccessToken: 300 },
});
// Plain HTTP on loopback: tell koa not to expect a TLS-terminating proxy.
provider.proxy = false;
server.on('request', provider.callback());
console.log(`oidc-provider ready ${issuer}`);

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
