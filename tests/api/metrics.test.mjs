// GET /metrics: Prometheus text with request counts and durations labelled by route template,
// database pool and job gauges.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, backends } from '../support/server.mjs';
import { get, request, parseMetrics, findSamples, sampleValue, pollUntil } from './lib.mjs';

const requests = 'guichet_http_requests_total';
const duration = 'guichet_http_request_duration_seconds';

for (const backend of backends()) {
  describe(`metrics (${backend})`, () => {
    let server;
    before(async () => { server = await startServer({ backend }); });
    after(async () => { await server?.stop(); });

    async function scrape() {
      const r = await get(server, '/metrics');
      assert.equal(r.status, 200, r.text);
      return { response: r, samples: parseMetrics(r.text) };
    }

    test('is Prometheus text format 0.0.4', async () => {
      await get(server, '/healthz');
      const { response } = await scrape();
      const type = response.headers.get('content-type') ?? '';
      assert.match(type, /^text\/plain\b/);
      assert.match(type, /version=0\.0\.4/);
      assert.match(response.text, /^# TYPE guichet_http_requests_total counter$/m);
      assert.match(response.text, /^# TYPE guichet_http_request_duration_seconds histogram$/m);
      assert.ok(response.text.endsWith('\n'), 'the exposition ends with a newline');
    });

    test('counts requests by method, route and status', async () => {
      const labels = { method: 'GET', route: '/healthz', status: '200' };
      const before = sampleValue((await scrape()).samples, requests, labels) ?? 0;
      for (let i = 0; i < 3; i += 1) assert.equal((await get(server, '/healthz')).status, 200);
      const after = sampleValue((await scrape()).samples, requests, labels);
      assert.equal(after - before, 3, `${requests}{route="/healthz"} went from ${before} to ${after}`);
    });

    test('labels routes by template, and unknown paths as "unmatched"', async () => {
      await get(server, '/api/v1/diagnostics/jobs/424242');
      await get(server, '/api/v1/diagnostics/jobs/434343');
      await get(server, '/no/such/path-7d1e');
      await request(server, 'DELETE', '/healthz');
      const { response, samples } = await scrape();
      const jobs = sampleValue(samples, requests,
        { method: 'GET', route: '/api/v1/diagnostics/jobs/{id}', status: '404' });
      assert.ok(jobs >= 2, `job lookups counted under the template: ${jobs}`);
      const unmatched = sampleValue(samples, requests, { method: 'GET', route: 'unmatched', status: '404' });
      assert.ok(unmatched >= 1, `unknown path counted as unmatched: ${unmatched}`);
      const wrongMethod = findSamples(samples, requests, { method: 'DELETE', status: '405' });
      assert.ok(wrongMethod.length >= 1, 'a 405 is counted');
      // Raw paths never become labels: that would let any client grow the series without bound.
      assert.doesNotMatch(response.text, /424242|434343|path-7d1e/);
    });

    test('has a request duration histogram per route, consistent with itself', async () => {
      for (let i = 0; i < 2; i += 1) await get(server, '/healthz');
      const { samples } = await scrape();
      const buckets = findSamples(samples, `${duration}_bucket`, { route: '/healthz' });
      assert.ok(buckets.length >= 2, 'several buckets');
      for (const bucket of buckets) assert.ok('le' in bucket.labels, 'every bucket has le');
      // Buckets of one series (same labels but le) are cumulative and end with +Inf = _count.
      const series = new Map();
      for (const bucket of buckets) {
        const { le, ...rest } = bucket.labels;
        const key = JSON.stringify(rest);
        if (!series.has(key)) series.set(key, []);
        series.get(key).push({ le: le === '+Inf' ? Infinity : Number(le), value: bucket.value });
      }
      let total = 0;
      for (const [key, list] of series) {
        list.sort((a, b) => a.le - b.le);
        assert.equal(list.at(-1).le, Infinity, `series ${key} has a +Inf bucket`);
        for (let i = 1; i < list.length; i += 1) {
          assert.ok(list[i].value >= list[i - 1].value, `buckets of ${key} are cumulative`);
        }
        const labels = JSON.parse(key);
        const count = sampleValue(samples, `${duration}_count`, labels);
        const sum = sampleValue(samples, `${duration}_sum`, labels);
        assert.equal(count, list.at(-1).value, `${key}: _count equals the +Inf bucket`);
        assert.ok(sum >= 0 && sum < count * 10, `${key}: _sum is a plausible number of seconds: ${sum}`);
        total += count;
      }
      assert.ok(total >= 2, `the /healthz requests are observed: ${total}`);
    });

    test('exposes database pool and job gauges', async () => {
      const { samples } = await scrape();
      for (const state of ['idle', 'busy']) {
        const value = sampleValue(samples, 'guichet_db_pool_connections', { state });
        assert.ok(Number.isFinite(value) && value >= 0, `guichet_db_pool_connections{state="${state}"}: ${value}`);
      }
      for (const state of ['queued', 'running', 'succeeded', 'dead']) {
        const value = sampleValue(samples, 'guichet_jobs', { state });
        assert.ok(Number.isInteger(value) && value >= 0, `guichet_jobs{state="${state}"}: ${value}`);
      }
    });

    test('job gauges follow the jobs', async () => {
      // Periodic jobs come and go in guichet_jobs{state="queued"}: follow the diagnostics kind,
      // which only this test enqueues on this server.
      const kind = 'diagnostics.ping';
      const queued = async () => sampleValue((await scrape()).samples, 'guichet_jobs_by_kind',
        { kind, state: 'queued' }) ?? 0;
      const before = await queued();
      const r = await request(server, 'POST', '/api/v1/diagnostics/jobs',
        { json: { delay_ms: 3600000 } });
      assert.equal(r.status, 202, r.text);
      await pollUntil(async () => await queued() === before + 1,
        { what: `guichet_jobs_by_kind{kind="${kind}",state="queued"} to go from ${before} to ${before + 1}` });
      const { samples } = await scrape();
      const total = findSamples(samples, 'guichet_jobs_by_kind', { state: 'queued' })
        .reduce((sum, sample) => sum + sample.value, 0);
      assert.ok(total >= before + 1, `the kinds add up to at least our job: ${total}`);
    });
  });
}
