// A real OpenID Connect provider for hemkoll's staff sign-in tests (panva/oidc-provider, the
// certified implementation), started once per test session by tests/oidc/conftest.py.
//
//   node provider.mjs PORT ACCOUNTS_JSON CLIENT_ID CLIENT_SECRET
//
// Accounts (written by the tests from tests/oidc/accounts.py) carry Swedish HSA-style claims:
// the employee's HSA id and her assignments (medarbetaruppdrag), each with a care unit's HSA id
// and a purpose. Its login form is the library's development form (any password); consent is
// granted at once, as a region's own identity provider does for its own applications.
// Prints "ready <issuer>" on stdout once it listens.
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const [port, accountsFile, clientId, clientSecret] = process.argv.slice(2);
const accounts = JSON.parse(readFileSync(accountsFile, 'utf8'));
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    // Checked by redirectUriAllowed below: each test serves the app on a port of its own.
    redirect_uris: ['http://127.0.0.1/console/oidc/callback'],
  }],
  // The HSA claims in the ID token itself (not only at userinfo), as Inera's provider does.
  conformIdTokenClaims: false,
  claims: {
    openid: ['sub'],
    profile: ['name'],
    hsa: ['employeeHsaId', 'commissions'],
  },
  scopes: ['openid', 'profile', 'hsa'],
  pkce: { required: () => true },
  cookies: { keys: ['hemkoll-test-provider'] },
  async findAccount(ctx, id) {
    const claims = accounts[id];
    if (!claims) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...claims }; } };
  },
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid profile hsa');
    await grant.save();
    return grant;
  },
});

// Any loopback port, the console's callback path only.
provider.Client.prototype.redirectUriAllowed = function allowed(uri) {
  const url = new URL(uri);
  return url.protocol === 'http:' && ['127.0.0.1', 'localhost', 'testserver'].includes(url.hostname)
    && url.pathname === '/console/oidc/callback' && url.search === '';
};

provider.listen(Number(port), '127.0.0.1', () => {
  process.stdout.write(`ready ${issuer}\n`);
});
