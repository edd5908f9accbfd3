// Test-only OpenID Connect provider for the kafka-auth-proxy integration
// tests, built on the certified `oidc-provider` package. Started and stopped
// by the Go package in this folder (see oidc.go); not for production.
//
// Usage: node server.mjs CONFIG.json
//
// CONFIG.json:
//   {
//     "host": "127.0.0.1",          // loopback only
//     "port": 0,                    // 0 = any free port
//     "audience": "kafka",          // `aud` of every access token
//     "resource": "urn:...",        // default RFC 8707 resource indicator
//     "accessTokenTTL": 300,        // seconds
//     "readyFile": "/tmp/.../ready.json",
//     "clients": [{"client_id": "...", "client_secret": "...", "groups": ["..."]}]
//   }
//
// The server listens first (so the port is known), then builds the Provider
// with issuer http://HOST:PORT, then writes {"issuer": ...} to readyFile
// (atomically, by rename). Access tokens from the client-credentials grant are
// RS256 JWTs (typ at+jwt) signed with an RSA key generated at startup whose
// kid is in the header and in the JWKS; they carry a `groups` claim from the
// client's entry above.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';

import Provider from 'oidc-provider';

function fatal(msg, err) {
  console.error(`oidc test provider: ${msg}:`, err);
  process.exit(1);
}

const configPath = process.argv[2];
if (!configPath) fatal('usage', 'node server.mjs CONFIG.json');

let cfg;
try {
  cfg = JSON.parse(fs.readFileSync(configPath, 'utf8'));
} catch (err) {
  fatal(`reading ${configPath}`, err);
}

const host = cfg.host || '127.0.0.1';
const audience = cfg.audience || 'kafka';
const resource = cfg.resource || `urn:kafka-auth-proxy:audience:${audience}`;
const accessTokenTTL = cfg.accessTokenTTL || 300;
const clients = cfg.clients || [];
// A client without a groups array gets no groups claim at all.
const groupsByClient = new Map(
  clients.filter((c) => Array.isArray(c.groups)).map((c) => [c.client_id, c.groups]),
);

// One RSA signing key per run; the kid is what a verifier looks up in the JWKS.
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = privateKey.export({ format: 'jwk' });
const kid = `test-rsa-${crypto.randomBytes(6).toString('hex')}`;

const server = http.createServer();
server.on('error', (err) => fatal('http server', err));

server.listen(cfg.port || 0, host, () => {
  const { port } = server.address();
  const issuer = `http://${host}:${port}`;

  const provider = new Provider(issuer, {
    clients: clients.map((c) => ({
      client_id: c.client_id,
      client_secret: c.client_secret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    jwks: { keys: [{ ...jwk, kid, alg: 'RS256', use: 'sig' }] },
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // No `resource` parameter in the token request: use ours, so a plain
        // client-credentials request yields a JWT access token.
        defaultResource: async () => resource,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, indicator) => {
          if (indicator !== resource) {
            throw new Provider.errors.InvalidTarget(`unknown resource indicator ${indicator}`);
          }
          return {
            scope: 'kafka',
            audience,
            accessTokenTTL,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    extraTokenClaims: async (_ctx, token) => {
      const groups = groupsByClient.get(token.clientId);
      return groups ? { groups } : undefined;
    },
    ttl: { ClientCredentials: accessTokenTTL },
    // Log every error the provider hides from the client.
    renderError: async (ctx, out) => {
      ctx.type = 'json';
      ctx.body = out;
    },
  });
  provider.on('server_error', (_ctx, err) => console.error('server_error:', err));
  provider.on('grant.error', (_ctx, err) => console.error('grant.error:', err.message, err.error_description || ''));
  provider.on('grant.success', (ctx) => console.log('grant.success:', ctx.oidc.client?.clientId));

  server.on('request', provider.callback());

  const ready = `${cfg.readyFile}.tmp`;
  fs.writeFileSync(ready, JSON.stringify({ issuer, kid, pid: process.pid }));
  fs.renameSync(ready, cfg.readyFile);
  console.log(`oidc test provider listening, issuer ${issuer}, kid ${kid}`);
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    server.close();
    process.exit(0);
  });
}
