// Reference OpenID Provider for Janua's conformance runner.
//
// panva/oidc-provider is OpenID-certified for the Basic, Implicit, Hybrid, Config,
// Form Post and RP-Initiated Logout OP profiles. This file configures it the way the
// runner's reference run needs: the three static clients of the OpenID suite's
// configuration (client, client2, client_secret_post), one test user with every
// standard claim (OpenID Connect Core 1.0 §5.1), every response type of the plans,
// form_post, the claims parameter and RP-Initiated Logout.
//
// It listens on plain HTTP on 127.0.0.1; the runner's TLS proxy fronts it, so the
// issuer is https and X-Forwarded-* headers are trusted (app.proxy).
//
// Usage: node server.mjs <runner-config.json>
//   env PORT (default 3780), ISSUER (default https://localhost:3743)
import fs from 'node:fs';
import Provider from 'oidc-provider';

const configPath = process.argv[2] || new URL('./config.json', import.meta.url).pathname;
const cfg = JSON.parse(fs.readFileSync(configPath, 'utf8'));
const port = Number(process.env.PORT || 3780);
const issuer = process.env.ISSUER || 'https://localhost:3743';

const redirectUris = [cfg.runner.redirect_uri];
const postLogout = [cfg.runner.post_logout_redirect_uri];
const responseTypes = ['code', 'id_token', 'id_token token', 'code id_token', 'code token', 'code id_token token'];

function client(c, method) {
  return {
    client_id: c.client_id,
    client_secret: c.client_secret,
    client_name: `conformance ${c.client_id}`,
    redirect_uris: redirectUris,
    post_logout_redirect_uris: postLogout,
    response_types: responseTypes,
    grant_types: ['authorization_code', 'implicit', 'refresh_token'],
    token_endpoint_auth_method: method,
  };
}

// OpenID Connect Core 1.0 §5.1: every standard claim.
const user = {
  name: 'Buffy Anne Summers',
  given_name: 'Buffy',
  family_name: 'Summers',
  middle_name: 'Anne',
  nickname: 'Buff',
  preferred_username: 'buffy',
  profile: 'https://example.com/buffy',
  picture: 'https://example.com/buffy.png',
  website: 'https://buffy.example.com',
  email: cfg.user.username,
  email_verified: true,
  gender: 'female',
  birthdate: '1981-01-19',
  zoneinfo: 'America/Los_Angeles',
  locale: 'en-US',
  phone_number: '+1 (310) 555-0123',
  phone_number_verified: true,
  address: {
    formatted: '1630 Revello Drive\nSunnydale, CA 95037\nUSA',
    street_address: '1630 Revello Drive',
    locality: 'Sunnydale',
    region: 'CA',
    postal_code: '95037',
    country: 'USA',
  },
  updated_at: 1700000000,
};

const page = (title, body) => `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>${title}</title>
<style>body{font-family:sans-serif;margin:25px}.container{padding:0 40px 10px;width:320px;background:#f7f7f7;margin:0 auto;border-radius:2px;box-shadow:0 2px 2px rgba(0,0,0,.3)}h1{font-weight:300;text-align:center}</style>
</head><body><div class="container">${body}</div></body></html>`;

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const configuration = {
  clients: [
    client(cfg.client, 'client_secret_basic'),
    client(cfg.client2, 'client_secret_basic'),
    client(cfg.client_secret_post, 'client_secret_post'),
  ],
  responseTypes: [...responseTypes, 'none'],
  scopes: ['openid', 'offline_access', 'profile', 'email', 'address', 'phone'],
  claims: {
    openid: ['sub'],
    profile: ['name', 'family_name', 'given_name', 'middle_name', 'nickname', 'preferred_username',
      'profile', 'picture', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale', 'updated_at'],
    email: ['email', 'email_verified'],
    address: ['address'],
    phone: ['phone_number', 'phone_number_verified'],
  },
  features: {
    devInteractions: { enabled: true },
    claimsParameter: { enabled: true },
    // As certified: request objects by value (signed; oidc-provider 9 has no alg none).
    requestObjects: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      // Same markup as the defaults, without the external web font (no internet here).
      logoutSource: async (ctx, form) => {
        ctx.body = page('Logout Request', `<h1>Do you want to sign-out from ${esc(ctx.host)}?</h1>${form}
<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button>`);
      },
      postLogoutSuccessSource: async (ctx) => {
        ctx.body = page('Sign-out Success', '<h1>Sign-out Success</h1><p>Your sign-out was successful.</p>');
      },
    },
  },
  renderError: async (ctx, out) => {
    ctx.type = 'html';
    ctx.body = page('oops! something went wrong', `<h1>oops! something went wrong</h1>${
      Object.entries(out).map(([k, v]) => `<pre><strong>${esc(k)}</strong>: ${esc(v)}</pre>`).join('')}`);
  },
  pkce: { required: (ctx, c) => c.clientAuthMethod === 'none' },
  // POST at the authorization and end-session endpoints (OIDCC 3.1.2.1) needs SameSite=None cookies.
  enableHttpPostMethods: true,
  cookies: { keys: ['conformance-reference-cookie-key'], long: { sameSite: 'none' }, short: { sameSite: 'none' } },
  ttl: { AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600, RefreshToken: 86400, Grant: 86400, Session: 86400, Interaction: 600 },
  async findAccount(ctx, id) {
    // The dev interactions take the login as the account id; only the test user exists.
    if (id !== cfg.user.username) return undefined;
    return {
      accountId: id,
      async claims() { return { ...user, sub: id }; },
    };
  },
};

const provider = new Provider(issuer, configuration);
provider.proxy = true;
provider.on('server_error', (ctx, err) => console.error('server_error', err));
provider.listen(port, '127.0.0.1', () => {
  console.log(`reference OP (oidc-provider) for ${issuer} on http://127.0.0.1:${port}`);
});
