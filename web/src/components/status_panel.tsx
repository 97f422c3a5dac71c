import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, getSystemStatus, type Problem, type SystemStatus } from '../api';
import { useI18n, type Lang, type Translate } from '../i18n';

// Often enough to feel live, rarely enough to cost the server nothing.
const refreshIntervalMs = 30_000;

type State =
  | { kind: 'loading' }
  | { kind: 'ready'; status: SystemStatus; at: Date }
  | { kind: 'failed'; problem: Problem };

const backendNames: Record<SystemStatus['backend'], string> = {
  sqlite: 'SQLite',
  postgres: 'PostgreSQL',
};

function formatUptime(seconds: number, lang: Lang): string {
  const parts: [number, string][] = [
    [Math.floor(seconds / 86_400), 'day'],
    [Math.floor((seconds % 86_400) / 3_600), 'hour'],
    [Math.floor((seconds % 3_600) / 60), 'minute'],
  ];
  const shown = parts.filter(([value], index) => value > 0 || index === parts.length - 1);
  return shown
    .map(([value, unit]) => new Intl.NumberFormat(lang, { style: 'unit', unit }).format(value))
    .join(' ');
}

function problemText(problem: Problem, t: Translate): string {
  switch (problem.kind) {
    case 'problem':
      return [problem.title, problem.detail].filter(Boolean).join(' — ');
    case 'http':
      return t('status.error.http', { status: problem.status ?? 0 });
    case 'network':
      return t('status.error.network');
    case 'invalid':
      return t('status.error.invalid');
  }
}

function useSystemStatus() {
  const [state, setState] = useState<State>({ kind: 'loading' });
  const current = useRef<AbortController | null>(null);

  const load = useCallback(async () => {
    current.current?.abort();
    const controller = new AbortController();
    current.current = controller;
    try {
      const status = await getSystemStatus(controller.signal);
      setState({ kind: 'ready', status, at: new Date() });
    } catch (error) {
      if (controller.signal.aborted) return;
      const problem = error instanceof ApiError ? error.problem : { kind: 'network' as const };
      setState({ kind: 'failed', problem });
    }
  }, []);

  useEffect(() => {
    void load();
    // Skip refreshes while the tab is hidden; nobody is looking.
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') void load();
    }, refreshIntervalMs);
    return () => {
      clearInterval(timer);
      current.current?.abort();
    };
  }, [load]);

  return { state, reload: load };
}

export function StatusPanel({ headingLevel = 2 }: { headingLevel?: 2 | 3 }) {
  const { t, lang } = useI18n();
  const { state, reload } = useSystemStatus();
  const Heading = headingLevel === 2 ? 'h2' : 'h3';
  const number = new Intl.NumberFormat(lang);

  return (
    <div class="status-panel" aria-busy={state.kind === 'loading'}>
      {state.kind === 'loading' && (
        <p role="status" class="status-panel__message">
          {t('status.loading')}
        </p>
      )}
      {state.kind === 'failed' && (
        <div role="alert" class="notice notice--error">
          <Heading class="notice__title">{t('status.error.title')}</Heading>
          <p>{problemText(state.problem, t)}</p>
        </div>
      )}
      {state.kind === 'ready' && (
        <>
          <dl class="status-list">
            <div>
              <dt>{t('status.version')}</dt>
              <dd>{state.status.version}</dd>
            </div>
            <div>
              <dt>{t('status.backend')}</dt>
              <dd data-testid="status-backend">{backendNames[state.status.backend]}</dd>
            </div>
            <div>
              <dt>{t('status.schema')}</dt>
              <dd>{number.format(state.status.schema_version)}</dd>
            </div>
            <div>
              <dt>{t('status.uptime')}</dt>
              <dd>{formatUptime(state.status.uptime_s, lang)}</dd>
            </div>
          </dl>
          <Heading class="status-panel__subtitle">{t('status.jobs')}</Heading>
          <dl class="status-list status-list--jobs">
            {(['queued', 'running', 'succeeded', 'dead'] as const).map((key) => (
              <div key={key} class={key === 'dead' && state.status.jobs.dead > 0 ? 'is-bad' : ''}>
                <dt>{t(`status.jobs.${key}`)}</dt>
                <dd>{number.format(state.status.jobs[key])}</dd>
              </div>
            ))}
          </dl>
          <p class="status-panel__updated">
            {t('status.updated', { time: state.at.toLocaleTimeString(lang) })}
          </p>
        </>
      )}
      <button type="button" class="button button--secondary" onClick={() => void reload()}>
        {t('status.refresh')}
      </button>
    </div>
  );
}
