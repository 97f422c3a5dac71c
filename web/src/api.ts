// The front end talks to the server only through the public REST API. Errors arrive as
// application/problem+json (RFC 9457); anything else is reduced to the same shape.

/** One refused field of a request body, named by its JSON pointer ("/email"). */
export interface FieldProblem {
  pointer: string;
  message: string;
}

export interface Problem {
  kind: 'problem' | 'http' | 'network' | 'invalid';
  status?: number;
  title?: string;
  detail?: string;
  /** The server's stable error code (`invalid_credentials`, `weak_password`…). */
  code?: string;
  errors?: FieldProblem[];
}

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.title ?? problem.kind);
  }
}

/** The problem carried by whatever a call threw (an abort is rethrown by the caller first). */
export function problemOf(error: unknown): Problem {
  return error instanceof ApiError ? error.problem : { kind: 'network' };
}

const requestTimeoutMs = 10_000;

// ---- Session plumbing ----------------------------------------------------------------------
// The session cookie is HttpOnly: scripts never see it. What they keep is the CSRF token the
// server hands out with the session, sent back on every state-changing request.

let csrfToken: string | null = null;

export function setCsrfToken(token: string | null) {
  csrfToken = token;
}

const unauthorizedEvent = 'guichet:unauthorized';

/**
 * Called when a protected call is refused for want of a (complete) session, so the app can
 * send the person to the login page and back. Returns the function that stops listening.
 */
export function onUnauthorized(listener: (problem: Problem) => void): () => void {
  const handler = (event: Event) => listener((event as CustomEvent<Problem>).detail);
  addEventListener(unauthorizedEvent, handler);
  return () => removeEventListener(unauthorizedEvent, handler);
}

// ---- Requests ------------------------------------------------------------------------------

function isFieldProblem(value: unknown): value is FieldProblem {
  if (!value || typeof value !== 'object') return false;
  const { pointer, message } = value as Record<string, unknown>;
  return typeof pointer === 'string' && typeof message === 'string';
}

async function readProblem(response: Response): Promise<Problem> {
  const type = response.headers.get('content-type') ?? '';
  if (type.includes('json')) {
    try {
      const body: unknown = await response.json();
      if (body && typeof body === 'object') {
        const { title, detail, code, errors } = body as Record<string, unknown>;
        if (typeof title === 'string') {
          const problem: Problem = { kind: 'problem', status: response.status, title };
          if (typeof detail === 'string') problem.detail = detail;
          if (typeof code === 'string') problem.code = code;
          if (Array.isArray(errors)) problem.errors = errors.filter(isFieldProblem);
          return problem;
        }
      }
    } catch {
      // A broken error body is reported by its status alone.
    }
  }
  return { kind: 'http', status: response.status };
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RequestOptions {
  signal?: AbortSignal | undefined;
  /**
   * Whether a 401 means "this page needs a session" (the default). Calls whose 401 is an
   * ordinary answer — a wrong password, a wrong code — set it to false.
   */
  sessionRequired?: boolean;
}

async function send(
  method: Method,
  path: string,
  body: unknown,
  options: RequestOptions,
): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  const timeout = AbortSignal.timeout(requestTimeoutMs);
  const { signal } = options;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? null : JSON.stringify(body),
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new ApiError({ kind: 'network' });
  }
  if (!response.ok) {
    const problem = await readProblem(response);
    if (response.status === 401 && options.sessionRequired !== false) {
      dispatchEvent(new CustomEvent(unauthorizedEvent, { detail: problem }));
    }
    throw new ApiError(problem);
  }
  return response;
}

async function readBody<T>(response: Response, isValid: (body: unknown) => body is T): Promise<T> {
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    throw new ApiError({ kind: 'invalid', status: response.status });
  }
  if (!isValid(body)) throw new ApiError({ kind: 'invalid', status: response.status });
  return body;
}

/** GET a JSON resource; `isValid` guards the shape so screens never render half-read data. */
export async function getJson<T>(
  path: string,
  isValid: (body: unknown) => body is T,
  signal?: AbortSignal,
  options: RequestOptions = {},
): Promise<T> {
  return readBody(await send('GET', path, undefined, { ...options, signal }), isValid);
}

/** A state-changing call whose answer has a JSON body. */
export async function sendJson<T>(
  method: Exclude<Method, 'GET'>,
  path: string,
  body: unknown,
  isValid: (body: unknown) => body is T,
  options: RequestOptions = {},
): Promise<T> {
  return readBody(await send(method, path, body, options), isValid);
}

/** A state-changing call whose answer carries nothing to read (204, 202). */
export async function sendEmpty(
  method: Exclude<Method, 'GET'>,
  path: string,
  body?: unknown,
  options: RequestOptions = {},
): Promise<void> {
  await send(method, path, body, options);
}

// ---- System status -------------------------------------------------------------------------

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
