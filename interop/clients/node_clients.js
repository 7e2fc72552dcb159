// Drive a gatehouse demonstration server with npm's OAuth clients (the
// versions pinned in ../node/package-lock.json): oauth-1.0a with and
// without its default body hash, ciaranj's oauth, and simple-oauth2's
// password grant. Reads GH_* from the environment (NODE_EXTRA_CA_CERTS must
// name the demo's cluster.crt), prints "ok NAME" or "FAIL NAME: why" per
// check. Run by interop/interop_test.go.
'use strict';
const crypto = require('crypto');
const https = require('https');
const path = require('path');
const modules = path.join(__dirname, '..', 'node', 'node_modules');
const OAuth1a = require(path.join(modules, 'oauth-1.0a'));
const { OAuth } = require(path.join(modules, 'oauth'));
const { ResourceOwnerPassword } = require(path.join(modules, 'simple-oauth2'));

const BASE = process.env.GH_BASE;
const KEY = process.env.GH_CONSUMER_KEY;
const SECRET = process.env.GH_CONSUMER_SECRET;
let failed = false;

async function check(name, fn) {
  try {
    await fn();
    console.log(`ok ${name}`);
  } catch (e) {
    failed = true;
    console.log(`FAIL ${name}: ${String(e && e.message || e).replace(/\n/g, ' ').slice(0, 300)}`);
  }
}

function request(method, url, headers, body) {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, headers }, (res) => {
      let data = '';
      res.on('data', (c) => { data += c; });
      res.on('end', () => resolve({ status: res.statusCode, body: data }));
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

function expectScheme(res, scheme) {
  if (res.status !== 200) throw new Error(`status ${res.status}: ${res.body}`);
  const got = JSON.parse(res.body).scheme;
  if (got !== scheme) throw new Error(`scheme ${got}, want ${scheme}`);
}

const hmac = (algo) => (base, key) => crypto.createHmac(algo, key).update(base).digest('base64');

async function main() {
  for (const [method, algo] of [['HMAC-SHA1', 'sha1'], ['HMAC-SHA256', 'sha256']]) {
    const oauth = OAuth1a({ consumer: { key: KEY, secret: SECRET }, signature_method: method, hash_function: hmac(algo) });
    await check(`oauth-1.0a ${method} GET`, async () => {
      const data = { url: `${BASE}/api/hosts`, method: 'GET' };
      const headers = Object.assign({ 'FOREMAN-USER': 'admin' }, oauth.toHeader(oauth.authorize(data)));
      expectScheme(await request('GET', data.url, headers), 'oauth1');
    });
    // With a JSON body, oauth-1.0a adds oauth_body_hash made with its
    // hash_function: an HMAC, not a digest. Foreman never compares it.
    await check(`oauth-1.0a ${method} POST json with its default body hash`, async () => {
      const body = JSON.stringify({ host: { name: 'web01' } });
      const data = { url: `${BASE}/api/hosts`, method: 'POST', data: body, includeBodyHash: true };
      const headers = Object.assign({ 'FOREMAN-USER': 'admin', 'Content-Type': 'application/json' }, oauth.toHeader(oauth.authorize(data)));
      if (!headers.Authorization.includes('oauth_body_hash')) throw new Error('no oauth_body_hash was sent');
      expectScheme(await request('POST', data.url, headers, body), 'oauth1');
    });
    await check(`oauth-1.0a ${method} POST json without body hash`, async () => {
      const body = JSON.stringify({ host: { name: 'web01' } });
      const data = { url: `${BASE}/api/hosts`, method: 'POST' };
      const headers = Object.assign({ 'FOREMAN-USER': 'admin', 'Content-Type': 'application/json' }, oauth.toHeader(oauth.authorize(data)));
      expectScheme(await request('POST', data.url, headers, body), 'oauth1');
    });
  }

  await check('oauth (ciaranj) HMAC-SHA1 GET', () => new Promise((resolve, reject) => {
    const client = new OAuth(null, null, KEY, SECRET, '1.0', null, 'HMAC-SHA1', null,
      { Accept: '*/*', Connection: 'close', 'FOREMAN-USER': 'admin' });
    client.get(`${BASE}/api/hosts`, '', '', (err, data) => {
      if (err) return reject(new Error(`status ${err.statusCode}: ${err.data}`));
      try { expectScheme({ status: 200, body: data }, 'oauth1'); resolve(); } catch (e) { reject(e); }
    });
  }));

  await check('simple-oauth2 password grant', async () => {
    const client = new ResourceOwnerPassword({
      client: { id: 'ovirt-engine-sdk', secret: 'unused' },
      auth: { tokenHost: BASE, tokenPath: '/ovirt-engine/sso/oauth/token' },
    });
    const token = await client.getToken({ username: 'admin@internal', password: 'ovirt-pw', scope: 'ovirt-app-api' });
    const res = await request('GET', `${BASE}/ovirt-engine/api`, { Authorization: `Bearer ${token.token.access_token}` });
    expectScheme(res, 'oauth2');
  });
}

main().then(() => process.exit(failed ? 1 : 0), (e) => { console.log(`FAIL node: ${e}`); process.exit(1); });
