// The front end talks to the server only through the public REST API. Errors arrive as
// application/problem+json (RFC 9457); anything else is reduced to the same shape.

export interface Problem {
  kind: 'problem' | 'http' | 'network' | 'invalid';
  status?: number;
  title?: string;
  detail?: string;
}

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.title ?? problem.kind);
  }
}

const requestTimeoutMs = 10_000;

async function readProblem(response: Response): Promise<Problem> {
  const type = response.headers.get('content-type') ?? '';
  if (type.includes('json')) {
    try {
      const body: unknown = await response.json();
      if (body && typeof body === 'object') {
        const { title, detail } = body as Record<string, unknown>;
        if (typeof title === 'string') {
          const problem: Problem = { kind: 'problem', status: response.status, title };
          if (typeof detail === 'string') problem.detail = detail;
          return problem;
        }
      }
    } catch {
      // A broken error body is reported by its status alone.
    }
  }
  return { kind: 'http', status: response.status };
}

/** GET a JSON resource; `isValid` guards the shape so screens never render half-read data. */
export async function getJson<T>(
  path: string,
  isValid: (body: unknown) => body is T,
  signal?: AbortSignal,
): Promise<T> {
  const timeout = AbortSignal.timeout(requestTimeoutMs);
  let response: Response;
  try {
    response = await fetch(path, {
      headers: { Accept: 'application/json' },
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new ApiError({ kind: 'network' });
  }
  if (!response.ok) throw new ApiError(await readProblem(response));
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    throw new ApiError({ kind: 'invalid', status: response.status });
  }
  if (!isValid(body)) throw new ApiError({ kind: 'invalid', status: response.status });
  return body;
}

export interface SystemStatus {
  version: string;
  backend: 'sqlite' | 'postgres';
  schema_version: number;
  uptime_s: number;
  jobs: { queued: number; running: number; succeeded: number; dead: number };
}

export function isSystemStatus(body: unknown): body is SystemStatus {
  if (!body || typeof body !== 'object') return false;
  const status = body as Record<string, unknown>;
  const jobs = status.jobs as Record<string, unknown> | null | undefined;
  return (
    typeof status.version === 'string' &&
    (status.backend === 'sqlite' || status.backend === 'postgres') &&
    typeof status.schema_version === 'number' &&
    typeof status.uptime_s === 'number' &&
    !!jobs &&
    typeof jobs === 'object' &&
    ['queued', 'running', 'succeeded', 'dead'].every((key) => typeof jobs[key] === 'number')
  );
}

export const getSystemStatus = (signal?: AbortSignal) =>
  getJson('/api/v1/system/status', isSystemStatus, signal);
