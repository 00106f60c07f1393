// openid-client (panva, an OpenID-certified relying party) as an independent oracle
// for Janua's conformance runner: the code flow with PKCE, userinfo, refresh and
// RP-Initiated Logout, driven over stdin/stdout in JSON lines. The runner plays the
// browser: it follows each "url" this script prints and answers with the URL the OP
// finally sent the browser to ({"callback": "..."}).
//
// Usage: node oracle.mjs '<json: discoveryUrl, client_id, client_secret, redirect_uri, post_logout_redirect_uri>'
// TLS: the runner passes its run CA in NODE_EXTRA_CA_CERTS.
import readline from 'node:readline';
import * as client from 'openid-client';

const cfg = JSON.parse(process.argv[2]);
const rl = readline.createInterface({ input: process.stdin });
const lines = rl[Symbol.asyncIterator]();
const say = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const ask = async (o) => {
  say(o);
  const { value, done } = await lines.next();
  if (done) throw new Error('runner closed stdin');
  return JSON.parse(value);
};

try {
  const issuerURL = new URL(cfg.discoveryUrl.replace(/\/\.well-known\/openid-configuration$/, ''));
  const config = await client.discovery(issuerURL, cfg.client_id, undefined, client.ClientSecretBasic(cfg.client_secret));
  const verifier = client.randomPKCECodeVerifier();
  const challenge = await client.calculatePKCECodeChallenge(verifier);
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: cfg.redirect_uri, scope: 'openid offline_access profile email', prompt: 'consent',
    code_challenge: challenge, code_challenge_method: 'S256', state, nonce,
  });
  const cb = await ask({ step: 'authorize', url: url.href });
  const tokens = await client.authorizationCodeGrant(config, new URL(cb.callback),
    { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
  const claims = tokens.claims();
  say({ step: 'token', ok: true, sub: claims.sub, has_refresh_token: !!tokens.refresh_token });
  const ui = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  say({ step: 'userinfo', ok: true, sub: ui.sub, name: ui.name ?? null, email: ui.email ?? null });
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  const rclaims = refreshed.claims();
  if (rclaims && (rclaims.sub !== claims.sub || rclaims.iss !== claims.iss)) throw new Error('refreshed id_token changed sub or iss');
  await client.fetchUserInfo(config, refreshed.access_token, claims.sub);
  say({ step: 'refresh', ok: true });
  const logoutState = client.randomState();
  const end = client.buildEndSessionUrl(config, {
    id_token_hint: refreshed.id_token ?? tokens.id_token, post_logout_redirect_uri: cfg.post_logout_redirect_uri, state: logoutState,
  });
  const back = await ask({ step: 'logout', url: end.href });
  const got = new URL(back.callback);
  if (got.searchParams.get('state') !== logoutState) throw new Error(`post-logout redirect state ${got.searchParams.get('state')} != ${logoutState}`);
  say({ step: 'done', ok: true });
} catch (err) {
  say({ step: 'error', ok: false, error: `${err.name}: ${err.message}${err.cause ? ` (${JSON.stringify(err.cause).slice(0, 300)})` : ''}` });
  process.exitCode = 1;
} finally {
  rl.close();
}
