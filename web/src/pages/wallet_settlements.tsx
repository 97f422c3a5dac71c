// Settlement runs (W19) as regional admins and merchants see them: the list in one's scope with
// filters (merchant, state, period), the SEPA transfer file paying the runs chosen among those to
// pay and the transfer files made so far; one run
// with its figures, its lines per point, every document and the regeneration of the documents
// (never of the figures); on a merchant's page, its runs and "settle now".
import { useEffect, useState } from 'preact/hooks';
import {
  ChoiceFieldset, ErrorSummary, LiveMessage, SelectField, Text, TextField, errorFor, useSubmission,
} from '../components/form';
import { problemOf, type Problem } from '../api';
import { useI18n, type MessageKey, type Translate } from '../i18n';
import { named } from '../labels';
import { formatBasisPoints, formatEuros, listMerchants, type Merchant } from '../pos';
import { problemMessage, type Localised } from '../problems';
import { Link, navigate, useLocation } from '../router';
import {
  exportTransfers, formatParis, getSettlement, listSettlements, listTransferFiles, regenerateSettlement, runSettlement,
  settlementLimits, settlementLinks, settlementRight, settlementStates, transferFileLink, type SettlementRun,
  type SettlementRunDetail, type TransferBatch, type TransferFilePage,
} from '../settlement';
import { useSession } from '../session';
import { useLoad } from '../use_load';
import { parisToEpochMs } from '../wallet/paris_time';
import './wallet_settlements.css';

const stateBadge: Record<string, string> = { to_pay: 'pending', paid: 'active', nothing_to_pay: 'suspended' };

export const settlementStateName = (t: Translate, state: string) => named(t, 'stl.state', state);

export function SettlementStateBadge({ state }: { state: string }) {
  const { t } = useI18n();
  return (
    <span class={`badge badge--${stateBadge[state] ?? 'pending'}`} data-testid="settlement-state">
      {settlementStateName(t, state)}
    </span>
  );
}

/** The problems of these screens in words; anything else as problems.ts says it. */
export function settlementProblem(problem: Problem, t: Translate): Localised {
  const key = problem.code ? settlementCodes[problem.code] : undefined;
  return key ? { text: t(key) } : problemMessage(problem, t);
}

const settlementCodes: Record<string, MessageKey> = {
  settlement_not_found: 'stl.problem.settlement_not_found',
  settlement_not_due: 'stl.problem.settlement_not_due',
  settlement_nothing_to_pay: 'stl.problem.settlement_nothing_to_pay',
  settlement_paid_meanwhile: 'stl.problem.settlement_paid_meanwhile',
  settlement_regenerated_meanwhile: 'stl.problem.settlement_regenerated_meanwhile',
  settlement_cutoff_invalid: 'stl.problem.settlement_cutoff_invalid',
  settlement_transfer_not_found: 'stl.problem.settlement_transfer_not_found',
  settlement_not_to_pay: 'stl.problem.settlement_not_to_pay',
  reconciliation_not_found: 'recon.problem.reconciliation_not_found',
  reconciliation_no_upload: 'recon.problem.reconciliation_no_upload',
  reconciliation_input_invalid: 'recon.problem.reconciliation_input_invalid',
};

function ProblemNotice({ value }: { value: Localised | null }) {
  if (!value) return null;
  return (
    <div class="notice notice--error" role="alert">
      <p>
        <Text value={value} />
      </p>
    </div>
  );
}

/** "du 1 nov. 2026, 00:00 au 29 nov. 2026, 14:05" in Paris time. */
export function periodText(run: { period_start_ms: number; period_end_ms: number }, t: Translate, lang: 'fr' | 'en') {
  return t('stl.period.value', { start: formatParis(run.period_start_ms, lang), end: formatParis(run.period_end_ms, lang) });
}

// ---- The list -----------------------------------------------------------------------------------

/** The runs of the list, newest first, with a link to each. */
function RunsTable({ runs, merchants }: { runs: SettlementRun[]; merchants: Merchant[] | null }) {
  const { t, lang } = useI18n();
  const merchantName = (id: number) => merchants?.find((merchant) => merchant.id === id)?.name ?? `#${id}`;
  return (
    <div class="table-wrap">
      <table class="table table--stacked" data-testid="settlement-runs">
        <caption class="visually-hidden">{t('stl.runs.caption')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('stl.field.statement')}</th>
            {merchants && <th scope="col">{t('stl.field.merchant')}</th>}
            <th scope="col">{t('stl.field.period')}</th>
            <th scope="col" class="num">{t('stl.field.net')}</th>
            <th scope="col">{t('stl.field.state')}</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((run) => (
            <tr key={run.id}>
              <th scope="row">
                <Link href={`/wallet/settlements/${run.id}`}>{run.statement_id}</Link>
              </th>
              {merchants && <td data-label={t('stl.field.merchant')}>{merchantName(run.merchant_id)}</td>}
              <td data-label={t('stl.field.period')}>{periodText(run, t, lang)}</td>
              <td class="num" data-label={t('stl.field.net')}>{formatEuros(run.net_cents, lang)}</td>
              <td data-label={t('stl.field.state')}>
                <SettlementStateBadge state={run.state} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const digits = (value: string | null) => (value && /^\d+$/.test(value) ? value : '');
const day = (value: string | null) => (value && /^\d{4}-\d{2}-\d{2}$/.test(value) ? value : '');

/**
 * The SEPA transfer: the runs to pay in scope, each with a checkbox (all checked at first); the
 * checked ones go in one pain.001 file and then count as paid.
 */
function TransferSection({ runs, onPaid }: { runs: SettlementRun[]; onPaid: () => void }) {
  const { t, lang } = useI18n();
  const [batch, setBatch] = useState<TransferBatch | null>(null);
  const [problem, setProblem] = useState<Localised | null>(null);
  const [busy, setBusy] = useState(false);
  const due = runs.filter((run) => run.state === 'to_pay');
  // null: every run due (also those a reload brings).
  const [chosen, setChosen] = useState<string[] | null>(null);
  const selected = chosen ?? due.map((run) => String(run.id));
  const picked = due.filter((run) => selected.includes(String(run.id)));
  const total = picked.reduce((sum, run) => sum + run.payable_cents, 0);
  const [filesVersion, setFilesVersion] = useState(0);

  const create = async () => {
    if (busy) return;
    setProblem(null);
    if (picked.length === 0) {
      setProblem({ text: t('stl.transfer.none_chosen') });
      return;
    }
    setBusy(true);
    try {
      setBatch(await exportTransfers(picked.map((run) => run.id)));
      setChosen(null);
      setFilesVersion((version) => version + 1);
      onPaid();
    } catch (error) {
      setProblem(settlementProblem(problemOf(error), t));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="wallet-section" aria-labelledby="transfer-title" data-testid="transfer-section">
      <h2 id="transfer-title">{t('stl.transfer.title')}</h2>
      <p>{t('stl.transfer.lead')}</p>
      <p role="status" class="result-count">
        {due.length === 0
          ? t('stl.transfer.none')
          : t('stl.transfer.chosen', { count: picked.length, due: due.length, total: formatEuros(total, lang) })}
      </p>
      {due.length > 0 && (
        <div data-testid="transfer-due">
          <ChoiceFieldset id="transfer-runs" legend={t('stl.transfer.choose')} type="checkbox"
            options={due.map((run) => ({
              value: String(run.id),
              label: `${run.statement_id} — ${formatEuros(run.payable_cents, lang)}`,
            }))}
            selected={selected} onChange={setChosen} />
        </div>
      )}
      <ProblemNotice value={problem} />
      {batch && (
        <div class="notice notice--success" data-testid="transfer-made">
          <p>
            {t('stl.transfer.made', { count: batch.runs, total: formatEuros(batch.total_cents, lang), id: batch.message_id })}
          </p>
          <p>
            <a href={batch.file} download>
              {t('stl.transfer.download')}
            </a>
          </p>
        </div>
      )}
      {due.length > 0 && (
        <p>
          <button type="button" class="button button--primary" aria-disabled={busy} onClick={() => void create()}>
            {t('stl.transfer.create')}
          </button>
        </p>
      )}
      <TransferFiles version={filesVersion} />
    </section>
  );
}

/** The transfer files made in scope, newest first, a page at a time, each with its runs. */
function TransferFiles({ version }: { version: number }) {
  const { t, lang } = useI18n();
  const [pages, setPages] = useState<TransferFilePage[]>([]);
  const [problem, setProblem] = useState<Localised | null>(null);
  const [loading, setLoading] = useState(true);

  const load = async (before: number | null, signal?: AbortSignal) => {
    setLoading(true);
    setProblem(null);
    try {
      const page = await listTransferFiles(before, signal);
      setPages((current) => (before === null ? [page] : [...current, page]));
    } catch (error) {
      if (!signal?.aborted) setProblem(settlementProblem(problemOf(error), t));
    } finally {
      if (!signal?.aborted) setLoading(false);
    }
  };
  useEffect(() => {
    const controller = new AbortController();
    void load(null, controller.signal);
    return () => controller.abort();
  }, [version]);

  const files = pages.flatMap((page) => page.transfer_files);
  const next = pages.length > 0 ? pages[pages.length - 1]!.next_before : null;
  return (
    <>
      <h3 id="transfer-files-title">{t('stl.transfer.files.title')}</h3>
      <ProblemNotice value={problem} />
      <p class="result-count" data-testid="transfer-files-count">
        {pages.length === 0 ? '' : t('stl.transfer.files.count', { count: files.length })}
      </p>
      {files.length > 0 && (
        <div class="table-wrap">
          <table class="table table--stacked" data-testid="transfer-files">
            <caption class="visually-hidden">{t('stl.transfer.files.title')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('stl.transfer.files.file')}</th>
                <th scope="col">{t('stl.field.created')}</th>
                <th scope="col">{t('stl.transfer.files.runs')}</th>
                <th scope="col" class="num">{t('stl.transfer.files.total')}</th>
              </tr>
            </thead>
            <tbody>
              {files.map((file) => (
                <tr key={file.id}>
                  <th scope="row">
                    <a href={file.file} download>
                      {file.message_id}
                      <span class="visually-hidden"> {t('stl.transfer.files.xml')}</span>
                    </a>
                  </th>
                  <td data-label={t('stl.field.created')}>{formatParis(file.created_at, lang)}</td>
                  <td data-label={t('stl.transfer.files.runs')}>
                    <ul class="plain-list">
                      {file.paid_runs.map((run) => (
                        <li key={run.id}>
                          <Link href={`/wallet/settlements/${run.id}`}>{run.statement_id}</Link> —{' '}
                          {formatEuros(run.payable_cents, lang)}
                        </li>
                      ))}
                    </ul>
                  </td>
                  <td class="num" data-label={t('stl.transfer.files.total')}>{formatEuros(file.total_cents, lang)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {next !== null && (
        <p>
          <button type="button" class="button button--secondary" aria-disabled={loading}
            onClick={() => { if (!loading) void load(next); }}>
            {t('stl.transfer.files.older')}
          </button>
        </p>
      )}
    </>
  );
}

export function SettlementsPage() {
  const { t, lang } = useI18n();
  const { permissions } = useSession();
  const { query } = useLocation();
  const filter = {
    merchant: digits(query.get('merchant')),
    state: settlementStates.includes(query.get('state') as never) ? (query.get('state') as string) : '',
    from: day(query.get('from')),
    to: day(query.get('to')),
  };
  const [choice, setChoice] = useState(filter);
  useEffect(() => setChoice(filter), [filter.merchant, filter.state, filter.from, filter.to]);
  const runs = useLoad((signal) => listSettlements(null, signal), []);
  const merchants = useLoad(listMerchants, []);
  const merchantList = [...(merchants.value ?? [])].sort((a, b) => new Intl.Collator(lang).compare(a.name, b.name));
  const fromMs = filter.from ? parisToEpochMs(filter.from, '00:00') : null;
  const toMs = filter.to ? parisToEpochMs(filter.to, '00:00') : null;
  // A run is shown when its period meets [from, to] (the "to" day included).
  const shown = (runs.value ?? []).filter(
    (run) =>
      (!filter.merchant || String(run.merchant_id) === filter.merchant) &&
      (!filter.state || run.state === filter.state) &&
      (fromMs === null || run.period_end_ms > fromMs) &&
      (toMs === null || run.period_start_ms < toMs + 24 * 3_600_000),
  );

  const apply = (event: Event) => {
    event.preventDefault();
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(choice)) if (value) params.set(key, value);
    const search = params.toString();
    navigate(search ? `/wallet/settlements?${search}` : '/wallet/settlements', { replace: true });
  };

  return (
    <>
      <h1 tabIndex={-1}>{t('stl.runs.title')}</h1>
      <p class="lead">{t('stl.runs.lead')}</p>
      <p>
        <Link href="/wallet/merchants">{t('pos.merchants.title')}</Link>
      </p>
      <form class="filter-bar" role="search" aria-label={t('stl.runs.filter')} onSubmit={apply}>
        <SelectField id="settlements-merchant" label={t('stl.field.merchant')} value={choice.merchant} required={false}
          onChange={(merchant) => setChoice({ ...choice, merchant })} placeholder={t('stl.filter.all')}
          options={merchantList.map((merchant) => ({ value: String(merchant.id), label: merchant.name }))} />
        <SelectField id="settlements-state" label={t('stl.field.state')} value={choice.state} required={false}
          onChange={(state) => setChoice({ ...choice, state })} placeholder={t('stl.filter.all')}
          options={settlementStates.map((state) => ({ value: state, label: settlementStateName(t, state) }))} />
        <DateField id="settlements-from" label={t('stl.filter.from')} value={choice.from}
          onInput={(from) => setChoice({ ...choice, from })} />
        <DateField id="settlements-to" label={t('stl.filter.to')} value={choice.to}
          onInput={(to) => setChoice({ ...choice, to })} />
        <button type="submit" class="button button--secondary">
          {t('stl.filter.apply')}
        </button>
      </form>
      <ProblemNotice value={runs.problem ? settlementProblem(runs.problem, t) : null} />
      <p role="status" class="result-count">
        {runs.value ? t('stl.runs.count', { count: shown.length }) : t('common.loading')}
      </p>
      {shown.length > 0 && <RunsTable runs={shown} merchants={merchantList} />}
      {permissions.has(settlementRight.manage) && runs.value && (
        <TransferSection runs={runs.value} onPaid={runs.reload} />
      )}
    </>
  );
}

/** A date box (the browser's date picker; the value is "YYYY-MM-DD"). */
export function DateField({ id, label, value, onInput, error, hint }: {
  id: string;
  label: string;
  value: string;
  onInput: (value: string) => void;
  error?: Localised | undefined;
  hint?: string;
}) {
  const { t } = useI18n();
  return (
    <div class={`field${error ? ' field--error' : ''}`}>
      <label class="field__label" for={id}>
        {label}
      </label>
      {hint && (
        <p class="field__hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {error && (
        <p class="field__error" id={`${id}-error`}>
          <span class="visually-hidden">{t('form.error.prefix')}</span>
          <Text value={error} />
        </p>
      )}
      <input
        id={id}
        name={id}
        class="input"
        type="date"
        value={value}
        onInput={(event) => onInput(event.currentTarget.value)}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={[hint && `${id}-hint`, error && `${id}-error`].filter(Boolean).join(' ') || undefined}
      />
    </div>
  );
}

// ---- One run ------------------------------------------------------------------------------------

function Line({ label, value, testId, total }: { label: string; value: string; testId: string; total?: boolean }) {
  return (
    <tr class={total ? 'statement-lines__total' : undefined}>
      <th scope="row">{label}</th>
      <td data-testid={testId}>{value}</td>
    </tr>
  );
}

/** The statement's lines, in the order docs/settlement.md adds them up. */
function Figures({ run }: { run: SettlementRunDetail }) {
  const { t, lang } = useI18n();
  const euros = (cents: number) => formatEuros(cents, lang);
  const minus = (cents: number) => `− ${euros(cents)}`;
  const balance = run.net_cents + run.brought_forward_cents;
  return (
    <table class="table statement-lines" data-testid="settlement-figures">
      <caption class="visually-hidden">{t('stl.figures.title')}</caption>
      <tbody>
        <Line label={t('stl.figure.debits')} value={euros(run.debits_cents)} testId="figure-debits" />
        <Line label={t('stl.figure.cancellations')} value={minus(run.cancellations_cents)} testId="figure-cancellations" />
        <Line label={t('stl.figure.commission', { rate: formatBasisPoints(run.commission_bp, lang) })}
          value={minus(run.commission_cents)} testId="figure-commission" />
        <Line label={t('stl.figure.cash_reloads')} value={minus(run.cash_reloads_cents)} testId="figure-cash" />
        <Line label={t('stl.figure.fees')} value={minus(run.fees_cents)} testId="figure-fees" />
        <Line label={t('stl.figure.balance')} value={euros(balance)} testId="figure-balance" />
        <Line label={t('stl.figure.brought_forward')} value={minus(run.brought_forward_cents)} testId="figure-brought" />
        <Line label={t('stl.figure.net')} value={euros(run.net_cents)} testId="figure-net" total />
        {run.payable_cents > 0 && (
          <Line label={t('stl.figure.payable')} value={euros(run.payable_cents)} testId="figure-payable" />
        )}
        {run.carried_forward_cents > 0 && (
          <Line label={t('stl.figure.carried_forward')} value={euros(run.carried_forward_cents)} testId="figure-carried" />
        )}
        <Line label={t('stl.figure.transactions')} value={String(run.transactions)} testId="figure-transactions" />
      </tbody>
    </table>
  );
}

function PointLines({ run }: { run: SettlementRunDetail }) {
  const { t, lang } = useI18n();
  const euros = (cents: number) => formatEuros(cents, lang);
  const links = settlementLinks(run.id);
  if (run.points.length === 0) return <p>{t('stl.points.none')}</p>;
  return (
    <div class="table-wrap">
      <table class="table table--stacked" data-testid="settlement-points">
        <caption class="visually-hidden">{t('stl.points.title')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('stl.field.point')}</th>
            <th scope="col" class="num">{t('stl.figure.debits')}</th>
            <th scope="col" class="num">{t('stl.figure.cancellations')}</th>
            <th scope="col" class="num">{t('stl.column.commission')}</th>
            <th scope="col" class="num">{t('stl.figure.cash_reloads')}</th>
            <th scope="col" class="num">{t('stl.figure.fees')}</th>
            <th scope="col" class="num">{t('stl.column.net')}</th>
            <th scope="col" class="num">{t('stl.column.statement')}</th>
          </tr>
        </thead>
        <tbody>
          {run.points.map((point) => (
            <tr key={point.point_id}>
              <th scope="row">
                <Link href={`/wallet/points/${point.point_id}`}>{point.location || point.label}</Link>
              </th>
              <td class="num" data-label={t('stl.figure.debits')}>{euros(point.debits_cents)}</td>
              <td class="num" data-label={t('stl.figure.cancellations')}>{euros(point.cancellations_cents)}</td>
              <td class="num" data-label={t('stl.column.commission')}>{euros(point.commission_cents)}</td>
              <td class="num" data-label={t('stl.figure.cash_reloads')}>{euros(point.cash_reloads_cents)}</td>
              <td class="num" data-label={t('stl.figure.fees')}>{euros(point.fees_cents)}</td>
              <td class="num" data-label={t('stl.column.net')}>{euros(point.net_cents)}</td>
              <td data-label={t('stl.column.statement')}>
                <a href={links.pointPdf(point.point_id)} download>
                  {t('stl.doc.point_pdf')}
                  <span class="visually-hidden"> {point.location || point.label}</span>
                </a>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Documents({ run, canManage }: { run: SettlementRunDetail; canManage: boolean }) {
  const { t, lang } = useI18n();
  const links = settlementLinks(run.id);
  return (
    <>
      <h2 id="documents-title">{t('stl.doc.title')}</h2>
      <p>{t('stl.doc.version', { version: run.document_version })}</p>
      <ul class="plain-list" aria-labelledby="documents-title" data-testid="settlement-documents">
        <li>
          <a href={links.statementPdf} download>{t('stl.doc.statement_pdf')}</a>
        </li>
        <li>
          <a href={links.statementXml} download>{t('stl.doc.statement_xml')}</a>
        </li>
        <li>
          <a href={links.journalCsv} download>{t('stl.doc.journal_csv')}</a>
        </li>
        {canManage && run.transfer_file_id !== undefined && (
          <li>
            <a href={transferFileLink(run.transfer_file_id)} download>{t('stl.doc.transfer_file')}</a>
          </li>
        )}
      </ul>
      {run.document_versions.length > 1 && (
        <ol class="timeline" data-testid="settlement-versions">
          {run.document_versions.map((version) => (
            <li key={version.version} class="timeline__entry">
              <h3 class="timeline__action">{t('stl.doc.version.item', { version: version.version })}</h3>
              <p class="timeline__meta">
                <time dateTime={version.generated_at}>{formatParis(version.generated_at, lang)}</time>
              </p>
              {version.reason && <p>{t('pos.event.reason', { reason: version.reason })}</p>}
            </li>
          ))}
        </ol>
      )}
    </>
  );
}

/** New documents for the same figures, with the reason kept beside the new version. */
function RegenerateForm({ run, onDone }: { run: SettlementRunDetail; onDone: (run: SettlementRunDetail) => void }) {
  const { t } = useI18n();
  const [reason, setReason] = useState('');
  const submission = useSubmission();
  const submit = async (event: Event) => {
    event.preventDefault();
    if (submission.busy) return;
    const text = reason.trim();
    if (!text || text.length > settlementLimits.reasonLengthMax) {
      submission.fail([{ field: 'regenerate-reason', text: t(text ? 'pos.reason.long' : 'pos.reason.missing') }]);
      return;
    }
    submission.setBusy(true);
    try {
      const done = await regenerateSettlement(run.id, text);
      submission.clear();
      setReason('');
      onDone(done);
    } catch (error) {
      const problem = problemOf(error);
      const onField = problem.errors?.some((item) => item.pointer === '/reason');
      submission.fail([{ ...settlementProblem(problem, t), ...(onField ? { field: 'regenerate-reason' } : {}) }]);
    } finally {
      submission.setBusy(false);
    }
  };
  return (
    <form noValidate onSubmit={submit} aria-labelledby="regenerate-title">
      <h2 id="regenerate-title">{t('stl.regenerate.title')}</h2>
      <p>{t('stl.regenerate.lead')}</p>
      <ErrorSummary errors={submission.errors} attempt={submission.attempt} />
      <TextField id="regenerate-reason" label={t('pos.reason.label')} value={reason} onInput={setReason}
        error={errorFor(submission.errors, 'regenerate-reason')} hint={t('stl.regenerate.hint')} />
      <button type="submit" class="button button--secondary" aria-disabled={submission.busy}>
        {t('stl.regenerate.submit')}
      </button>
    </form>
  );
}

export function SettlementDetailPage({ id }: { id: string }) {
  const { t, lang } = useI18n();
  const { permissions } = useSession();
  const valid = /^\d+$/.test(id);
  const run = useLoad(valid ? (signal) => getSettlement(Number(id), signal) : null, [id]);
  const merchants = useLoad(listMerchants, []);
  const [message, setMessage] = useState<Localised | null>(null);

  if (!valid || run.problem?.status === 404) {
    return (
      <>
        <h1 tabIndex={-1}>{t('stl.run.not_found')}</h1>
        <p>
          <Link href="/wallet/settlements">{t('stl.runs.back')}</Link>
        </p>
      </>
    );
  }
  const value = run.value;
  const merchant = value ? merchants.value?.find((item) => item.id === value.merchant_id) : undefined;
  const canManage = permissions.has(settlementRight.manage);
  return (
    <>
      <h1 tabIndex={-1}>{value ? t('stl.run.named', { id: value.statement_id }) : t('stl.run.title')}</h1>
      <p>
        <Link href="/wallet/settlements">{t('stl.runs.back')}</Link>
      </p>
      <LiveMessage message={message} />
      <ProblemNotice value={run.problem ? settlementProblem(run.problem, t) : null} />
      {!value && !run.problem && <p role="status">{t('common.loading')}</p>}
      {value && (
        <>
          <p>
            <SettlementStateBadge state={value.state} />
            {value.paid_at && <> {t('stl.run.paid_at', { at: formatParis(value.paid_at, lang) })}</>}
          </p>
          <dl class="details">
            <div>
              <dt>{t('stl.field.merchant')}</dt>
              <dd>
                {merchant ? <Link href={`/wallet/merchants/${merchant.id}`}>{merchant.name}</Link> : `#${value.merchant_id}`}
              </dd>
            </div>
            <div>
              <dt>{t('stl.field.period')}</dt>
              <dd data-testid="settlement-period">{periodText(value, t, lang)}</dd>
            </div>
            <div>
              <dt>{t('stl.field.created')}</dt>
              <dd>{formatParis(value.created_at, lang)}</dd>
            </div>
          </dl>
          <h2>{t('stl.figures.title')}</h2>
          <Figures run={value} />
          <h2>{t('stl.points.title')}</h2>
          <PointLines run={value} />
          <Documents run={value} canManage={canManage} />
          {canManage && (
            <RegenerateForm
              run={value}
              onDone={(done) => {
                run.set(done);
                setMessage({ text: t('stl.regenerate.done', { version: done.document_version }) });
              }}
            />
          )}
        </>
      )}
    </>
  );
}

// ---- On the merchant's page ---------------------------------------------------------------------

/** The merchant's runs, and "settle now" for those who may. */
export function MerchantSettlements({ merchant }: { merchant: Merchant }) {
  const { t, lang } = useI18n();
  const { permissions } = useSession();
  const allowed = permissions.has(settlementRight.read);
  const runs = useLoad(allowed ? (signal) => listSettlements(merchant.id, signal) : null, [merchant.id, allowed]);
  const [message, setMessage] = useState<Localised | null>(null);
  const [problem, setProblem] = useState<Localised | null>(null);
  const [busy, setBusy] = useState(false);
  if (!allowed) return null;
  const latest = runs.value?.[0];

  const run = async () => {
    if (busy) return;
    setBusy(true);
    setProblem(null);
    setMessage(null);
    try {
      const made = await runSettlement(merchant.id);
      setMessage({ text: t('stl.run_now.done', { id: made.statement_id, net: formatEuros(made.net_cents, lang) }) });
      runs.reload();
    } catch (error) {
      const found = problemOf(error);
      if (found.code === 'settlement_not_due' && latest) {
        const next = latest.period_end_ms + merchant.settlement_period_days * 24 * 3_600_000;
        setProblem({ text: t('stl.run_now.not_due', {
          last: formatParis(latest.period_end_ms, lang), days: merchant.settlement_period_days,
          next: formatParis(next, lang) }) });
      } else {
        setProblem(settlementProblem(found, t));
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="wallet-section" aria-labelledby="merchant-settlements-title" data-testid="merchant-settlements">
      <h2 id="merchant-settlements-title">{t('stl.merchant.title')}</h2>
      <p>{t('stl.merchant.lead', { days: merchant.settlement_period_days })}</p>
      <ProblemNotice value={runs.problem ? settlementProblem(runs.problem, t) : null} />
      <p role="status" class="result-count">
        {runs.value ? t('stl.runs.count', { count: runs.value.length }) : ''}
      </p>
      {runs.value && runs.value.length > 0 && <RunsTable runs={runs.value} merchants={null} />}
      <p>
        <Link href={`/wallet/settlements?merchant=${merchant.id}`}>{t('stl.merchant.all')}</Link>
      </p>
      {permissions.has(settlementRight.manage) && (
        <>
          <LiveMessage message={message} />
          <ProblemNotice value={problem} />
          <p>
            <button type="button" class="button button--primary" aria-disabled={busy} onClick={() => void run()}>
              {t('stl.run_now')}
            </button>
          </p>
          <p class="field__hint">{t('stl.run_now.hint')}</p>
        </>
      )}
    </section>
  );
}
