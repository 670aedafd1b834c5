// A real OpenID provider (the certified `oidc-provider` package) shaped like ClaveÚnica,
// for the branch's login tests. Started by tests/oidc_provider.py on loopback:
//
//   node provider.mjs CONFIG.json
//
// CONFIG names the TLS files, the host name, the operator's token and the account table.
// The server listens on an ephemeral port and prints one line, `listening <port>`, once it
// serves.
//
// oidc-provider is pinned to its 8.x line, the newest that runs on Node.js 18 (Debian 12's
// nodejs): 9.x needs URL.parse (Node.js 20.18 and later) and names 22 as its minimum.
//
// Besides the provider under /openid, /control/* lets a test act as the provider's operator
// (bearer = the operator's token): register a client, rotate the signing key, publish a key
// late, count JWKS downloads.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const accounts = new Map(Object.entries(config.accounts));
const cookieKeys = [randomBytes(32).toString('hex')];
// Registered like ClaveÚnica's: one redirect URI each, client_secret_post.
const clients = [];
const PREFIX = '/openid';

// Newest key first: oidc-provider signs with the first key that fits the algorithm.
const signingKeys = [];
// Keys that sign but are left out of the JWKS until /control/publish, like a provider
// that starts using a key before announcing it.
const unpublished = new Set();
let jwksDownloads = 0;
const handlers = new WeakMap();

function newSigningKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = `k-${randomBytes(6).toString('hex')}`;
  signingKeys.unshift({ ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' });
  return kid;
}

function account(id) {
  const entry = accounts.get(id);
  if (!entry) return undefined;
  return {
    accountId: id,
    async claims() {
      return { sub: id, RolUnico: entry.RolUnico, name: entry.name };
    },
  };
}

function buildProvider(issuer) {
  const provider = new Provider(issuer, {
    clients,
    jwks: { keys: signingKeys },
    cookies: { keys: cookieKeys },
    // ClaveÚnica's shape: three scopes, two custom claims, endpoints with trailing slashes.
    scopes: ['openid', 'run', 'name'],
    claims: { openid: ['sub'], run: ['RolUnico'], name: ['name'] },
    routes: {
      authorization: '/authorize/',
      token: '/token/',
      userinfo: '/userinfo/',
      jwks: '/jwks',
      end_session: '/logout/',
    },
    responseTypes: ['code'],
    pkce: { required: () => true },
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
      id_token_signed_response_alg: 'RS256',
    },
    enabledJWA: { idTokenSigningAlgValues: ['RS256'] },
    ttl: {
      AuthorizationCode: 300, // ClaveÚnica's codes last about five minutes
      IdToken: 3600,
      AccessToken: 600,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
    },
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource(ctx, form) {
          ctx.body = `<!doctype html><title>Test provider logout</title>${form}
<button form="op.logoutForm" name="logout" value="yes">Salir</button>`;
        },
      },
    },
    findAccount: (_ctx, id) => account(id),
    interactions: { url: (_ctx, interaction) => `${PREFIX}/interaction/${interaction.uid}` },
    // A first-party login: the person is not asked to consent to the three scopes.
    async loadExistingGrant(ctx) {
      const { client, session, params } = ctx.oidc;
      const grant = new ctx.oidc.provider.Grant({
        clientId: client.clientId,
        accountId: session.accountId,
      });
      grant.addOIDCScope(String(params.scope));
      await grant.save();
      return grant;
    },
    renderError(ctx, out) {
      ctx.type = 'text/plain';
      ctx.body = `${out.error}: ${out.error_description}`;
    },
  });
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route === 'jwks') {
      jwksDownloads += 1;
      if (unpublished.size && ctx.body?.keys) {
        ctx.body = { keys: ctx.body.keys.filter((key) => !unpublished.has(key.kid)) };
      }
    }
    // An account with `userinfo_sub` answers userinfo as someone else: the mix-up a
    // relying party must catch by comparing with the ID token's sub.
    if (ctx.oidc?.route === 'userinfo' && ctx.status === 200 && ctx.body?.sub) {
      const other = accounts.get(ctx.body.sub)?.userinfo_sub;
      if (other) ctx.body = { ...ctx.body, sub: other };
    }
  });
  handlers.set(provider, provider.callback());
  return provider;
}

function html(text) {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

// The login page: the account id stands in for ClaveÚnica's RUN and password form.
async function interaction(provider, req, res, uid, submitted) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  if (!submitted) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>Test provider login</title>
<form method="post" action="${PREFIX}/interaction/${html(uid)}">
<input name="account" value=""><button>Ingresar</button></form>`);
    return;
  }
  const form = await readForm(req);
  const accountId = form.get('account') ?? '';
  const result = accounts.has(accountId)
    ? { login: { accountId } }
    : { error: 'access_denied', error_description: 'unknown account' };
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
}

async function control(req, res, path) {
  if (req.headers.authorization !== `Bearer ${config.operator_token}`) {
    res.writeHead(401).end();
    return;
  }
  let answer = {};
  if (path === '/control/clients') {
    const form = await readForm(req);
    clients.push({
      client_id: form.get('client_id'),
      client_secret: form.get('client_secret'),
      redirect_uris: [form.get('redirect_uri')],
      post_logout_redirect_uris: [form.get('post_logout_redirect_uri')],
    });
    rebuild();
  } else if (path === '/control/rotate') {
    const form = await readForm(req);
    const kid = newSigningKey();
    if (form.get('publish') === 'no') unpublished.add(kid);
    rebuild();
    answer = { kid };
  } else if (path === '/control/publish') {
    unpublished.clear();
  } else if (path === '/control/stats') {
    answer = { jwks_downloads: jwksDownloads };
  } else {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(answer));
}

let current;

// oidc-provider reads its clients and keys when it is built. The in-memory store (sessions,
// codes, grants) is shared by every instance in the process, so a new instance is the same
// running provider with the new client or key: nothing in flight is lost.
function rebuild() {
  current = buildProvider(current.issuer);
}

const server = createServer(
  { cert: readFileSync(config.tls_cert), key: readFileSync(config.tls_key) },
  async (req, res) => {
    const provider = current;
    const url = new URL(req.url, 'https://placeholder');
    try {
      const step = url.pathname.match(/^\/openid\/interaction\/([\w-]+)$/);
      if (step) {
        await interaction(provider, req, res, step[1], req.method === 'POST');
      } else if (url.pathname.startsWith('/control/') && req.method === 'POST') {
        await control(req, res, url.pathname);
      } else if (url.pathname === PREFIX || url.pathname.startsWith(`${PREFIX}/`)) {
        // As a framework's mount would: the provider rebuilds its URLs from originalUrl.
        req.originalUrl = req.url;
        req.url = req.url.slice(PREFIX.length) || '/';
        handlers.get(provider)(req, res);
      } else {
        res.writeHead(404).end();
      }
    } catch (error) {
      console.error(error);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    }
  },
);

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  newSigningKey();
  current = buildProvider(`https://${config.host}:${port}${PREFIX}`);
  console.log(`listening ${port}`);
});
