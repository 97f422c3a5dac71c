// The built web app served from web/dist: caching headers, conditional requests, gzip, the SPA
// fallback, and no way out of the web root. Skipped while web/dist/index.html does not exist.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, extname, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { startServer, backends, projectRoot } from '../support/server.mjs';
import { get, rawRequest, rawGet, expectProblem, expectSecurityHeaders } from './lib.mjs';

const webRoot = join(projectRoot, 'web/dist');
const indexFile = join(webRoot, 'index.html');
const skip = existsSync(indexFile) ? false
  : `web/dist/index.html is missing: build the web app first (cd web && npm run build)`;

function filesUnder(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

const urlOf = (file) => '/' + relative(webRoot, file).split('/').map(encodeURIComponent).join('/');
const textExtensions = new Set(['.js', '.mjs', '.css', '.html', '.svg', '.json', '.webmanifest', '.txt', '.map']);
const contentTypes = {
  '.js': /^(text|application)\/javascript\b/, '.mjs': /^(text|application)\/javascript\b/,
  '.css': /^text\/css\b/, '.html': /^text\/html\b/, '.svg': /^image\/svg\+xml\b/,
  '.json': /^application\/json\b/, '.png': /^image\/png\b/, '.woff2': /^font\/woff2\b/,
};

const traversals = [
  '/../etc/passwd', '/../../../../../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd',
  '/%2E%2E/%2E%2E/%2E%2E/%2E%2E/etc/passwd', '/assets/..%2f..%2f..%2fetc%2fpasswd',
  '/assets/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd', '/assets/../../../../etc/passwd',
  '/..%5c..%5c..%5cetc%5cpasswd', '/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd', '//etc/passwd',
  '/assets/%252e%252e/%252e%252e/etc/passwd', '/index.html%00', '/index.html%00.js', '/%00',
  '/assets/%00/../../etc/passwd', '/.%2e/.%2e/.%2e/etc/passwd', '/assets/....//....//etc/passwd',
  '/..;/..;/etc/passwd', '/etc/passwd',
];

for (const backend of backends()) {
  describe(`static web app (${backend})`, { skip }, () => {
    let server;
    let index;
    before(async () => {
      server = await startServer({ backend });
      index = readFileSync(indexFile, 'utf8');
    });
    after(async () => { await server?.stop(); });

    test('/ serves index.html, revalidated on every use', async () => {
      const r = await get(server, '/');
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') ?? '', /^text\/html\b/);
      assert.equal(r.text, index);
      assert.match(r.headers.get('cache-control') ?? '', /\bno-cache\b/);
      assert.ok(r.headers.get('etag'), 'an ETag');
      expectSecurityHeaders(r.headers, 'GET /');
    });

    test('If-None-Match with the current ETag answers 304 without a body', async () => {
      const etag = (await get(server, '/')).headers.get('etag');
      const r = await rawRequest(server.port, rawGet('/', { 'If-None-Match': etag }));
      assert.equal(r.status, 304);
      assert.equal(r.raw.length, 0);
      assert.equal(r.headers.get('etag'), etag);
      expectSecurityHeaders(r.headers, '304');
      const other = await get(server, '/', { headers: { 'if-none-match': '"not-the-etag"' } });
      assert.equal(other.status, 200);
      assert.equal(other.text, index);
    });

    test('files under /assets/ are cached for a year as immutable', async (t) => {
      const assets = filesUnder(join(webRoot, 'assets'));
      if (assets.length === 0) { t.skip('web/dist/assets is empty'); return; }
      for (const file of assets.slice(0, 10)) {
        const r = await rawRequest(server.port, rawGet(urlOf(file)));
        assert.equal(r.status, 200, urlOf(file));
        assert.equal(r.headers.get('content-encoding'), null, 'no gzip unless asked');
        assert.ok(r.raw.equals(readFileSync(file)), `${urlOf(file)} has the file's bytes`);
        const cache = r.headers.get('cache-control') ?? '';
        for (const directive of ['public', 'max-age=31536000', 'immutable']) {
          assert.ok(cache.split(/\s*,\s*/).includes(directive), `${urlOf(file)}: Cache-Control ${cache}`);
        }
        const expectedType = contentTypes[extname(file)];
        if (expectedType) assert.match(r.headers.get('content-type') ?? '', expectedType, urlOf(file));
      }
    });

    test('a text file over 1 KiB is gzipped for a client that accepts it', async (t) => {
      const file = filesUnder(webRoot).find((f) => textExtensions.has(extname(f)) && statSync(f).size > 1024);
      if (!file) { t.skip('no text file over 1 KiB in web/dist'); return; }
      const r = await rawRequest(server.port, rawGet(urlOf(file), { 'Accept-Encoding': 'gzip, deflate, br' }));
      assert.equal(r.status, 200, urlOf(file));
      assert.equal(r.headers.get('content-encoding'), 'gzip', urlOf(file));
      assert.match(r.headers.get('vary') ?? '', /accept-encoding/i);
      assert.ok(r.raw.length < statSync(file).size, 'smaller than the file');
      assert.ok(gunzipSync(r.raw).equals(readFileSync(file)), 'decompresses to the file');
      const plain = await rawRequest(server.port, rawGet(urlOf(file)));
      assert.equal(plain.headers.get('content-encoding'), null);
      assert.ok(plain.raw.equals(readFileSync(file)));
    });

    test('gzip is not used when the client refuses it', async (t) => {
      const file = filesUnder(webRoot).find((f) => textExtensions.has(extname(f)) && statSync(f).size > 1024);
      if (!file) { t.skip('no text file over 1 KiB in web/dist'); return; }
      for (const accept of ['identity', 'gzip;q=0', 'br']) {
        const r = await rawRequest(server.port, rawGet(urlOf(file), { 'Accept-Encoding': accept }));
        assert.equal(r.status, 200);
        assert.equal(r.headers.get('content-encoding'), null, `Accept-Encoding: ${accept}`);
        assert.ok(r.raw.equals(readFileSync(file)), `Accept-Encoding: ${accept}`);
      }
    });

    test('a path outside web/dist is never served', async () => {
      const served = [];
      for (const path of traversals) {
        for (const accept of ['*/*', 'text/html']) {
          let r;
          try {
            r = await rawRequest(server.port, rawGet(path, { Accept: accept }));
          } catch {
            continue;   // closing the connection on such a request is acceptable
          }
          assert.doesNotMatch(r.text, /root:.*:0:0:/, `${path} returned /etc/passwd`);
          const ok = r.status === 400 || r.status === 404 ||
            (accept === 'text/html' && r.status === 200 && r.text === index);   // SPA fallback
          if (!ok) served.push(`${path} (Accept ${accept}) → ${r.status} ${r.text.slice(0, 80)}`);
        }
      }
      assert.deepEqual(served, [], 'answers other than 400, 404 or the SPA fallback');
      assert.equal((await get(server, '/healthz')).status, 200);
    });

    test('an unknown page asked for as HTML gets index.html (client-side routing)', async () => {
      for (const path of ['/wallet', '/pass/applications/42', '/family/children?tab=school']) {
        const r = await get(server, path, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
        assert.equal(r.status, 200, path);
        assert.match(r.headers.get('content-type') ?? '', /^text\/html\b/);
        assert.equal(r.text, index, path);
        expectSecurityHeaders(r.headers, `SPA fallback ${path}`);
      }
    });

    test('an unknown /api path is a 404 problem even when HTML is asked for', async () => {
      const r = await get(server, '/api/v1/no-such-route', { headers: { accept: 'text/html' } });
      expectProblem(r, 404, 'not_found', { instance: '/api/v1/no-such-route' });
    });

    test('a missing asset is a 404, not index.html', async () => {
      const r = await get(server, '/assets/no-such-file-3f9a.js', { headers: { accept: '*/*' } });
      assert.equal(r.status, 404);
      assert.notEqual(r.text, index);
    });
  });
}
