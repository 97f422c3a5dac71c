// POST /api/v1/diagnostics/echo: the reference for how every JSON endpoint parses, validates and
// refuses input (415, 400 malformed_json, 422 validation_failed with JSON Pointers).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, backends } from '../support/server.mjs';
import { get, request, postJson, expectProblem, expectValidation, withDeadline } from './lib.mjs';

const path = '/api/v1/diagnostics/echo';

for (const backend of backends()) {
  describe(`diagnostics echo (${backend})`, () => {
    let server;
    before(async () => { server = await startServer({ backend }); });
    after(async () => { await server?.stop(); });

    const send = (body, headers) => request(server, 'POST', path, {
      body: typeof body === 'string' ? Buffer.from(body) : body,
      headers: { 'content-type': 'application/json', ...headers },
    });

    test('echoes a minimal body, with tags defaulting to []', async () => {
      const r = await postJson(server, path, { message: 'bonjour', count: 1 });
      assert.equal(r.status, 200, r.text);
      assert.match(r.headers.get('content-type') ?? '', /^application\/json\b/);
      assert.deepEqual(Object.keys(r.body).sort(), ['count', 'message', 'request_id', 'tags']);
      assert.equal(r.body.message, 'bonjour');
      assert.equal(r.body.count, 1);
      assert.deepEqual(r.body.tags, []);
      assert.equal(r.body.request_id, r.headers.get('x-request-id'));
    });

    test('echoes every field at its upper bounds', async () => {
      const tags = Array.from({ length: 10 }, (_, i) => String(i).padEnd(32, 't'));
      const message = 'm'.repeat(200);
      const r = await postJson(server, path, { message, count: 100, tags, delay_ms: 0 },
        { headers: { 'x-request-id': 'echo-bounds' } });
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.body, { message, count: 100, tags, request_id: 'echo-bounds' });
    });

    test('counts characters, not bytes, and keeps Unicode intact', async () => {
      const message = 'é'.repeat(200);   // 200 characters, 400 bytes of UTF-8
      const tags = ['ü'.repeat(32), 'Fête ✓ 🎉'];
      const r = await postJson(server, path, { message, count: 2, tags });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.message, message);
      assert.deepEqual(r.body.tags, tags);
    });

    test('accepts a charset parameter on the content type', async () => {
      for (const type of ['application/json; charset=utf-8', 'application/json;charset=UTF-8']) {
        const r = await send('{"message":"x","count":3}', { 'content-type': type });
        assert.equal(r.status, 200, `${type}: ${r.text}`);
        assert.equal(r.body.count, 3);
      }
    });

    test('parses the content type as RFC 9110 §8.3 says (case, spaces, quoted charset)', async () => {
      for (const type of ['Application/JSON', 'application/json ; charset="utf-8"']) {
        const r = await send('{"message":"x","count":3}', { 'content-type': type });
        assert.equal(r.status, 200, `${type}: ${r.text}`);
      }
    });

    test('refuses a missing or non-JSON content type with 415', async () => {
      const body = Buffer.from('{"message":"x","count":1}');
      const none = await request(server, 'POST', path, { body });
      expectProblem(none, 415, 'unsupported_media_type', { instance: path });
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x',
        'application/jsonx', 'text/json']) {
        const r = await request(server, 'POST', path, { body, headers: { 'content-type': type } });
        expectProblem(r, 415, 'unsupported_media_type', { instance: path });
      }
    });

    test('refuses unparsable JSON with 400 malformed_json', async () => {
      const bodies = ['{"message":', '{message: "x", count: 1}', '{"message":"x","count":1,}', '',
        "{'message':'x'}", '{"message":"x","count":1} trailing', 'nul', '{"message":"\\x"}',
        '{"count":01}'];
      for (const body of bodies) {
        const r = await send(body);
        expectProblem(r, 400, 'malformed_json', { instance: path });
      }
    });

    test('refuses invalid UTF-8 without crashing', async () => {
      const body = Buffer.concat([Buffer.from('{"message":"'), Buffer.from([0xff, 0xfe, 0xc0]),
        Buffer.from('","count":1}')]);
      const r = await request(server, 'POST', path, { body, headers: { 'content-type': 'application/json' } });
      assert.ok(r.status === 400 || r.status === 422, `expected 400 or 422, got ${r.status} ${r.text}`);
      expectProblem(r, r.status, r.status === 400 ? 'malformed_json' : 'validation_failed');
    });

    test('survives deeply nested JSON', async () => {
      const depth = 100000;
      const r = await send('['.repeat(depth) + ']'.repeat(depth));
      assert.ok([400, 413, 422].includes(r.status), `got ${r.status} ${r.text.slice(0, 300)}`);
      assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/);
      assert.equal((await get(server, '/healthz')).status, 200, 'the server is still up');
    });

    test('refuses a body that is not an object with 422', async () => {
      for (const body of ['[]', '"text"', '42', 'null', 'true']) {
        const r = await send(body);
        expectProblem(r, 422, 'validation_failed', { instance: path });
      }
    });

    test('names each missing required field', async () => {
      expectValidation(await postJson(server, path, {}), ['/message', '/count'], { instance: path });
      expectValidation(await postJson(server, path, { count: 1 }), ['/message']);
      expectValidation(await postJson(server, path, { message: 'x' }), ['/count']);
    });

    const invalid = [
      [{ message: '', count: 1 }, ['/message'], 'empty message'],
      [{ message: 'm'.repeat(201), count: 1 }, ['/message'], 'message of 201 characters'],
      [{ message: 'é'.repeat(201), count: 1 }, ['/message'], 'message of 201 two-byte characters'],
      [{ message: 42, count: 1 }, ['/message'], 'message not a string'],
      [{ message: null, count: 1 }, ['/message'], 'message null'],
      [{ message: ['x'], count: 1 }, ['/message'], 'message an array'],
      [{ message: 'x', count: 0 }, ['/count'], 'count 0'],
      [{ message: 'x', count: -1 }, ['/count'], 'count negative'],
      [{ message: 'x', count: 101 }, ['/count'], 'count 101'],
      [{ message: 'x', count: 1.5 }, ['/count'], 'count not an integer'],
      [{ message: 'x', count: '3' }, ['/count'], 'count a string'],
      [{ message: 'x', count: null }, ['/count'], 'count null'],
      [{ message: 'x', count: true }, ['/count'], 'count a boolean'],
      [{ message: 'x', count: 1e20 }, ['/count'], 'count huge'],
      [{ message: 'x', count: 1, tags: 'a' }, ['/tags'], 'tags not an array'],
      [{ message: 'x', count: 1, tags: null }, ['/tags'], 'tags null'],
      [{ message: 'x', count: 1, tags: Array(11).fill('a') }, ['/tags'], '11 tags'],
      [{ message: 'x', count: 1, tags: [''] }, ['/tags/0'], 'empty tag'],
      [{ message: 'x', count: 1, tags: ['ok', 't'.repeat(33)] }, ['/tags/1'], 'tag of 33 characters'],
      [{ message: 'x', count: 1, tags: ['ok', 'ok', 7] }, ['/tags/2'], 'tag not a string'],
      [{ message: 'x', count: 1, delay_ms: -1 }, ['/delay_ms'], 'delay_ms negative'],
      [{ message: 'x', count: 1, delay_ms: 10001 }, ['/delay_ms'], 'delay_ms 10001'],
      [{ message: 'x', count: 1, delay_ms: '5' }, ['/delay_ms'], 'delay_ms a string'],
      [{ message: 'x', count: 1, delay_ms: 0.5 }, ['/delay_ms'], 'delay_ms not an integer'],
      [{ message: 'x', count: 1, extra: 1 }, ['/extra'], 'unknown field'],
      [{ message: 'x', count: 1, 'a/b': 1 }, ['/a~1b'], 'unknown field with a slash, escaped'],
      [{ message: '', count: 0, tags: [''] }, ['/message', '/count', '/tags/0'], 'several errors at once'],
    ];
    for (const [body, pointers, what] of invalid) {
      test(`refuses ${what} with 422 at ${pointers.join(', ')}`, async () => {
        expectValidation(await postJson(server, path, body), pointers, { instance: path });
      });
    }

    test('waits delay_ms without holding up other requests', async () => {
      let settled = false;
      const slow = postJson(server, path, { message: 'slow', count: 1, delay_ms: 1500 })
        .finally(() => { settled = true; });
      // Several requests answered while the slow one waits: the wait does not block the loop.
      for (let i = 0; i < 5; i += 1) {
        const r = await get(server, '/healthz');
        assert.equal(r.status, 200);
      }
      const quick = await postJson(server, path, { message: 'quick', count: 1 });
      assert.equal(quick.status, 200);
      assert.equal(settled, false, 'the delayed echo answered before quicker requests');
      const r = await withDeadline(slow, 10000, 'delayed echo');
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.message, 'slow');
    });

    test('many delayed echoes in flight at once all complete', async () => {
      const all = Array.from({ length: 40 }, (_, i) =>
        postJson(server, path, { message: `n${i}`, count: i + 1, delay_ms: 300 }));
      const results = await withDeadline(Promise.all(all), 15000, '40 concurrent delayed echoes');
      results.forEach((r, i) => {
        assert.equal(r.status, 200, r.text);
        assert.equal(r.body.message, `n${i}`);
        assert.equal(r.body.count, i + 1);
      });
    });
  });
}
