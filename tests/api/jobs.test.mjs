// Background jobs through the diagnostics routes: enqueue, run, retry with backoff, give up,
// delayed runs, and the counts reported by /api/v1/system/status and /metrics.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, backends } from '../support/server.mjs';
import {
  get, request, postJson, expectProblem, expectValidation, pollUntil, parseMetrics, sampleValue,
} from './lib.mjs';

const jobsPath = '/api/v1/diagnostics/jobs';
const isoPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/;
const fastJobs = { GUICHET_JOBS_POLL_MS: '20', GUICHET_JOBS_BACKOFF_BASE_MS: '20' };

async function createJob(server, body) {
  const r = await postJson(server, jobsPath, body);
  assert.equal(r.status, 202, `POST ${jobsPath} ${JSON.stringify(body)}: ${r.status} ${r.text}`);
  assert.ok(Number.isInteger(r.body.id) && r.body.id > 0, r.text);
  assert.equal(r.body.state, 'queued');
  assert.equal(r.headers.get('location'), `${jobsPath}/${r.body.id}`);
  return r.body.id;
}

async function readJob(server, id) {
  const r = await get(server, `${jobsPath}/${id}`);
  assert.equal(r.status, 200, r.text);
  return r.body;
}

function checkJobShape(job) {
  const text = JSON.stringify(job);
  assert.ok(Number.isInteger(job.id), text);
  assert.equal(job.kind, 'diagnostics.ping', text);
  assert.ok(['queued', 'running', 'succeeded', 'dead'].includes(job.state), text);
  assert.ok(Number.isInteger(job.attempts) && job.attempts >= 0, text);
  assert.ok(Number.isInteger(job.max_attempts) && job.max_attempts >= 1, text);
  assert.ok(job.last_error === null || typeof job.last_error === 'string', text);
  assert.match(job.run_at, isoPattern, text);
  assert.ok(!Number.isNaN(Date.parse(job.run_at)), text);
}

/** Polls the job until it is in `state`, failing if it reaches the other final state. */
function waitForState(server, id, state, timeoutMs = 15000) {
  return pollUntil(async () => {
    const job = await readJob(server, id);
    const final = job.state === 'succeeded' || job.state === 'dead';
    if (final && job.state !== state) throw new Error(`job ${id} ended ${job.state}, expected ${state}: ${JSON.stringify(job)}`);
    return job.state === state ? job : undefined;
  }, { timeoutMs, what: `job ${id} to be ${state}` });
}

for (const backend of backends()) {
  describe(`diagnostics jobs (${backend})`, () => {
    let server;
    // Jobs this suite leaves in each final state: the counters must at least include them (the
    // server also runs jobs of its own, such as jobs.purge).
    const expected = { succeeded: 0, dead: 0, queued: 0 };
    before(async () => { server = await startServer({ backend, env: fastJobs }); });
    after(async () => { await server?.stop(); });

    test('a job with defaults is queued, then runs once and succeeds', async () => {
      const id = await createJob(server, {});
      const first = await readJob(server, id);
      checkJobShape(first);
      assert.equal(first.id, id);
      assert.equal(first.max_attempts, 3, 'max_attempts defaults to 3');
      const job = await waitForState(server, id, 'succeeded');
      checkJobShape(job);
      assert.equal(job.attempts, 1);
      assert.equal(job.last_error, null);
      expected.succeeded += 1;
    });

    test('each job gets its own id and its Location resolves to it', async () => {
      const a = await createJob(server, {});
      const b = await createJob(server, {});
      assert.notEqual(a, b);
      for (const id of [a, b]) {
        const r = await get(server, `${jobsPath}/${id}`);
        assert.equal(r.body.id, id);
        await waitForState(server, id, 'succeeded');
        expected.succeeded += 1;
      }
    });

    test('a job that fails fewer times than allowed is retried until it succeeds', async () => {
      const id = await createJob(server, { fail_times: 2, max_attempts: 3 });
      const job = await waitForState(server, id, 'succeeded');
      checkJobShape(job);
      assert.equal(job.attempts, 3);
      assert.equal(job.max_attempts, 3);
      expected.succeeded += 1;
    });

    test('a job that keeps failing is dead after max_attempts, with its last error', async () => {
      const id = await createJob(server, { fail_times: 3, max_attempts: 2 });
      const job = await waitForState(server, id, 'dead');
      checkJobShape(job);
      assert.equal(job.attempts, 2, 'no attempt beyond max_attempts');
      assert.ok(typeof job.last_error === 'string' && job.last_error.length > 0, JSON.stringify(job));
      expected.dead += 1;
    });

    test('the largest fail_times with a single attempt dies at once', async () => {
      const id = await createJob(server, { fail_times: 10, max_attempts: 1 });
      const job = await waitForState(server, id, 'dead');
      assert.equal(job.attempts, 1);
      expected.dead += 1;
    });

    test('a delayed job waits for its run_at while others run', async () => {
      const before = Date.now();
      const delayed = await createJob(server, { delay_ms: 3600000 });
      const job = await readJob(server, delayed);
      checkJobShape(job);
      const runAt = Date.parse(job.run_at);
      assert.ok(Math.abs(runAt - (before + 3600000)) < 120000,
        `run_at ${job.run_at} should be about one hour from now`);
      // A job queued after it runs to completion first: the worker has had its chance.
      const immediate = await createJob(server, {});
      await waitForState(server, immediate, 'succeeded');
      expected.succeeded += 1;
      const still = await readJob(server, delayed);
      assert.equal(still.state, 'queued');
      assert.equal(still.attempts, 0);
      expected.queued += 1;
    });

    test('the largest delay_ms is accepted', async () => {
      const id = await createJob(server, { delay_ms: 86400000, fail_times: 10, max_attempts: 10 });
      const job = await readJob(server, id);
      assert.equal(job.state, 'queued');
      assert.equal(job.max_attempts, 10);
      expected.queued += 1;
    });

    const invalid = [
      [{ fail_times: 11 }, ['/fail_times']], [{ fail_times: -1 }, ['/fail_times']],
      [{ fail_times: '1' }, ['/fail_times']], [{ fail_times: 1.5 }, ['/fail_times']],
      [{ fail_times: null }, ['/fail_times']],
      [{ max_attempts: 0 }, ['/max_attempts']], [{ max_attempts: 11 }, ['/max_attempts']],
      [{ max_attempts: false }, ['/max_attempts']],
      [{ delay_ms: -1 }, ['/delay_ms']], [{ delay_ms: 86400001 }, ['/delay_ms']],
      [{ delay_ms: 1e300 }, ['/delay_ms']],
      [{ kind: 'other' }, ['/kind']],
      [{ fail_times: 99, max_attempts: 0, delay_ms: -5 }, ['/fail_times', '/max_attempts', '/delay_ms']],
    ];
    for (const [body, pointers] of invalid) {
      test(`refuses ${JSON.stringify(body)} with 422 at ${pointers.join(', ')}`, async () => {
        expectValidation(await postJson(server, jobsPath, body), pointers, { instance: jobsPath });
      });
    }

    test('refuses a body that is not an object, bad JSON and a wrong content type', async () => {
      expectProblem(await request(server, 'POST', jobsPath,
        { body: Buffer.from('[]'), headers: { 'content-type': 'application/json' } }), 422, 'validation_failed');
      expectProblem(await request(server, 'POST', jobsPath,
        { body: Buffer.from('{"fail_times":'), headers: { 'content-type': 'application/json' } }),
      400, 'malformed_json', { instance: jobsPath });
      expectProblem(await request(server, 'POST', jobsPath, { body: Buffer.from('{}') }),
        415, 'unsupported_media_type', { instance: jobsPath });
      expectProblem(await request(server, 'POST', jobsPath,
        { body: Buffer.from('{}'), headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_media_type');
    });

    test('a job id that is not a positive integer is 400 invalid_parameter', async () => {
      for (const id of ['abc', '0', '-1', '1.5', '1e3', '%20', '0x10', '1abc']) {
        const r = await get(server, `${jobsPath}/${id}`);
        expectProblem(r, 400, 'invalid_parameter', { instance: `${jobsPath}/${id}` });
      }
    });

    test('an id too large for the database is refused, not a crash', async () => {
      const r = await get(server, `${jobsPath}/99999999999999999999999999`);
      assert.ok(r.status === 400 || r.status === 404, `got ${r.status} ${r.text}`);
      expectProblem(r, r.status, r.status === 400 ? 'invalid_parameter' : 'job_not_found');
    });

    test('an unknown job id is 404 job_not_found', async () => {
      for (const id of ['999999', '9223372036854775807']) {
        const r = await get(server, `${jobsPath}/${id}`);
        expectProblem(r, 404, 'job_not_found', { instance: `${jobsPath}/${id}` });
      }
    });

    test('the job counts in /api/v1/system/status and /metrics follow the jobs', async () => {
      const counts = async () => (await get(server, '/api/v1/system/status')).body.jobs;
      const before = await counts();
      for (const state of ['succeeded', 'dead', 'queued']) {
        assert.ok(before[state] >= expected[state], `at least this suite's ${state} jobs: ${JSON.stringify(before)}`);
      }
      // The server's own periodic jobs (ledger expiry, message delivery…) run meanwhile: measure
      // again when one of them landed inside the window, the growth must then be exactly ours.
      let after;
      let grown;
      for (let attempt = 0; attempt < 5; attempt += 1) {
        const start = attempt === 0 ? before : await counts();
        const ok = await createJob(server, {});
        const dies = await createJob(server, { fail_times: 1, max_attempts: 1 });
        await createJob(server, { delay_ms: 3600000 });
        await waitForState(server, ok, 'succeeded');
        await waitForState(server, dies, 'dead');
        after = await counts();
        grown = Object.fromEntries(Object.keys(after).map((state) => [state, after[state] - start[state]]));
        if (grown.queued === 1 && grown.running === 0 && grown.succeeded === 1 && grown.dead === 1) break;
      }
      assert.deepEqual(grown, { queued: 1, running: 0, succeeded: 1, dead: 1 }, `after ${JSON.stringify(after)}`);
      // A gauge may be sampled rather than read at scrape time: allow it to catch up (with the
      // status read again, since periodic jobs keep moving both).
      await pollUntil(async () => {
        const samples = parseMetrics((await get(server, '/metrics')).text);
        const now = await counts();
        const gauges = Object.fromEntries(Object.keys(now)
          .map((state) => [state, sampleValue(samples, 'guichet_jobs', { state })]));
        return JSON.stringify(gauges) === JSON.stringify(now) ? gauges : undefined;
      }, { timeoutMs: 5000, what: 'guichet_jobs gauges to equal the status counts' });
    });
  });

  describe(`job retry backoff (${backend})`, () => {
    let server;
    const baseMs = 500;
    before(async () => {
      server = await startServer({
        backend, env: { GUICHET_JOBS_POLL_MS: '20', GUICHET_JOBS_BACKOFF_BASE_MS: String(baseMs) },
      });
    });
    after(async () => { await server?.stop(); });

    test('retries wait longer each time: exponential backoff from the base', async () => {
      const id = await createJob(server, { fail_times: 2, max_attempts: 3 });
      // Record, for each failed attempt, how far in the future the next run was scheduled.
      const waits = [];
      await pollUntil(async () => {
        const job = await readJob(server, id);
        if (job.state === 'queued' && job.attempts === waits.length + 1) {
          assert.ok(typeof job.last_error === 'string' && job.last_error.length > 0,
            `a failed attempt records its error: ${JSON.stringify(job)}`);
          waits.push(Date.parse(job.run_at) - Date.now());
        }
        if (job.state === 'dead') throw new Error(`job died: ${JSON.stringify(job)}`);
        return job.state === 'succeeded' ? job : undefined;
      }, { timeoutMs: 20000, intervalMs: 10, what: `job ${id} to succeed after two retries` });
      assert.equal(waits.length, 2, `saw both retries scheduled: ${JSON.stringify(waits)}`);
      // Jitter may shorten a wait, but not below half its nominal value (base, then 2 × base);
      // the allowance covers the time between the failure and this test seeing it.
      assert.ok(waits[0] >= baseMs / 2 - 100, `first retry waits about ${baseMs} ms: ${waits}`);
      assert.ok(waits[1] >= baseMs - 100, `second retry waits about ${2 * baseMs} ms: ${waits}`);
      assert.ok(waits[1] < 60000 && waits[0] < 60000, `waits stay in proportion: ${waits}`);
    });
  });
}
