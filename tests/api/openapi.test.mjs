// GET /api/openapi.json: a well-formed OpenAPI 3 document, and every operation it documents is
// really routed by the server (no documented route answers 404 not_found or 405).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, backends } from '../support/server.mjs';
import { get, request } from './lib.mjs';

const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

function operations(document) {
  const list = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of methods) {
      if (item[method]) list.push({ path, method, item, operation: item[method] });
    }
  }
  return list;
}

for (const backend of backends()) {
  describe(`OpenAPI document (${backend})`, () => {
    let server;
    let document;
    before(async () => {
      server = await startServer({ backend });
      const r = await get(server, '/api/openapi.json');
      assert.equal(r.status, 200, r.text);
      document = r.body;
    });
    after(async () => { await server?.stop(); });

    test('is OpenAPI 3.x JSON with info and paths', async () => {
      const r = await get(server, '/api/openapi.json');
      assert.match(r.headers.get('content-type') ?? '', /^application\/(vnd\.oai\.openapi\+)?json\b/);
      assert.ok(document && typeof document === 'object', 'the document is JSON');
      assert.equal(typeof document.openapi, 'string');
      assert.ok(document.openapi.startsWith('3.'), `openapi: ${document.openapi}`);
      assert.ok(document.info && typeof document.info.title === 'string' && document.info.title.length > 0);
      assert.equal(typeof document.info.version, 'string');
      assert.ok(document.paths && Object.keys(document.paths).length > 0, 'paths is not empty');
    });

    test('documents the API routes, diagnostics included when they are on', () => {
      const expected = [['get', '/api/v1/system/status'], ['post', '/api/v1/diagnostics/echo'],
        ['post', '/api/v1/diagnostics/jobs'], ['get', '/api/v1/diagnostics/jobs/{id}']];
      const missing = expected.filter(([method, path]) => !document.paths[path]?.[method])
        .map(([method, path]) => `${method.toUpperCase()} ${path}`);
      assert.deepEqual(missing, []);
    });

    test('every operation has a summary, a unique operationId and responses', () => {
      const ids = new Set();
      for (const { path, method, operation } of operations(document)) {
        const what = `${method.toUpperCase()} ${path}`;
        assert.ok(typeof operation.summary === 'string' && operation.summary.length > 0, `${what}: summary`);
        assert.ok(typeof operation.operationId === 'string' && operation.operationId.length > 0,
          `${what}: operationId`);
        assert.ok(!ids.has(operation.operationId), `${what}: operationId ${operation.operationId} is unique`);
        ids.add(operation.operationId);
        assert.ok(operation.responses && Object.keys(operation.responses).length > 0, `${what}: responses`);
      }
    });

    test('templated paths use {name} and declare each path parameter', () => {
      for (const { path, method, item, operation } of operations(document)) {
        const what = `${method.toUpperCase()} ${path}`;
        assert.doesNotMatch(path, /\/:[A-Za-z_]|<[A-Za-z_]/, `${what}: parameters are written {name}`);
        const names = [...path.matchAll(/\{([^}/]+)\}/g)].map((match) => match[1]);
        const declared = [...(item.parameters ?? []), ...(operation.parameters ?? [])]
          .filter((parameter) => parameter.in === 'path');
        for (const name of names) {
          const parameter = declared.find((p) => p.name === name);
          assert.ok(parameter, `${what}: path parameter ${name} is declared`);
          assert.equal(parameter.required, true, `${what}: path parameter ${name} is required`);
        }
        for (const parameter of declared) {
          assert.ok(names.includes(parameter.name), `${what}: declared path parameter ${parameter.name} is in the path`);
        }
      }
    });

    test('every documented operation exists in the router', async () => {
      const list = operations(document);
      assert.ok(list.length > 0);
      const failures = [];
      for (const { path, method } of list) {
        const concrete = path.replace(/\{[^}/]+\}/g, '1');
        const upper = method.toUpperCase();
        const withBody = ['POST', 'PUT', 'PATCH'].includes(upper);
        const r = await request(server, upper, concrete, withBody ? { json: {} } : {});
        const what = `${upper} ${concrete} → ${r.status} ${r.body?.code ?? ''}`;
        if (r.status === 405 || (r.status === 404 && r.body?.code === 'not_found')) failures.push(what);
        else if (r.status >= 500 && r.status !== 503) failures.push(`${what} (server error)`);
      }
      assert.deepEqual(failures, [], 'documented operations the router does not serve');
    });
  });
}
