// Reconciliation (W18) in the back office: on a point's page, its reports and a form to reconcile
// it over a date/time range typed in Paris time; one report with its totals per counter and
// operation on both sides, its matched, differing and missing lines and its PDF and XML; on a
// merchant's page, its daily reconciliation hour as saved, and the form to change it.
import { useEffect, useState } from 'preact/hooks';
import { ErrorSummary, LiveMessage, SelectField, Text, errorFor, useSubmission } from '../components/form';
import { problemOf } from '../api';
import { useI18n, type Translate } from '../i18n';
import { named } from '../labels';
import { formatEuros, type Merchant } from '../pos';
import type { FormError, Localised } from '../problems';
import { Link } from '../router';
import {
  formatParis, getReconciliation, getReconciliationSchedule, listPointReconciliations, reconcilePoint,
  setReconciliationSchedule, settlementLimits, settlementRight, type Reconciliation, type ReconciliationLine,
  type ReconciliationPair, type ReconciliationSchedule, type ReconciliationTotal,
} from '../settlement';
import { useSession } from '../session';
import { useLoad } from '../use_load';
import { epochMsToParis, parisToEpochMs } from '../wallet/paris_time';
import { DateField, settlementProblem } from './wallet_settlements';

const dayMs = 24 * 3_600_000;

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

const amountOf = (line: ReconciliationLine, lang: 'fr' | 'en') =>
  line.counter === 'EUR' ? formatEuros(line.amount, lang) : `${line.amount} ${line.counter}`;

export const rangeText = (r: Reconciliation, t: Translate, lang: 'fr' | 'en') =>
  t('recon.range.value', { start: formatParis(r.range_start_ms, lang), end: formatParis(r.range_end_ms, lang) });

/** "Concordant" or how many lines differ or miss. */
export function ReconciliationVerdict({ report }: { report: Reconciliation }) {
  const { t } = useI18n();
  const gaps = report.differing.length + report.missing_at_service.length + report.missing_at_point.length;
  return (
    <span class={`badge badge--${report.reconciled ? 'active' : 'suspended'}`} data-testid="recon-verdict">
      {report.reconciled ? t('recon.verdict.reconciled') : t('recon.verdict.gaps', { count: gaps })}
    </span>
  );
}

// ---- On the point's page ------------------------------------------------------------------------

interface RangeForm {
  startDate: string;
  startTime: string;
  endDate: string;
  endTime: string;
}

/** Today from midnight to the next minute, in Paris time. */
function defaultRange(now: number): RangeForm {
  const [endDate, endTime] = epochMsToParis(now + 60_000);
  return { startDate: endDate, startTime: '00:00', endDate, endTime };
}

/** The range a filled form means, or what is wrong with it in words. */
function readRange(form: RangeForm, t: Translate): { start: number; end: number } | { errors: FormError[] } {
  const errors: FormError[] = [];
  const start = parisToEpochMs(form.startDate, form.startTime);
  const end = parisToEpochMs(form.endDate, form.endTime);
  if (start === null) errors.push({ field: 'recon-start-date', text: t('recon.form.start.invalid') });
  if (end === null) errors.push({ field: 'recon-end-date', text: t('recon.form.end.invalid') });
  if (start !== null && end !== null) {
    if (end <= start) errors.push({ field: 'recon-end-date', text: t('recon.form.order') });
    else if (end - start > settlementLimits.reconciliationRangeDaysMax * dayMs) {
      errors.push({ field: 'recon-end-date', text: t('recon.form.long', { days: settlementLimits.reconciliationRangeDaysMax }) });
    }
  }
  if (errors.length > 0 || start === null || end === null) return { errors };
  return { start, end };
}

function TimeField({ id, label, value, onInput }: { id: string; label: string; value: string; onInput: (v: string) => void }) {
  return (
    <div class="field">
      <label class="field__label" for={id}>
        {label}
      </label>
      <input id={id} name={id} class="input" type="time" value={value}
        onInput={(event) => onInput(event.currentTarget.value)} />
    </div>
  );
}

function ReconcileForm({ pointId, onDone }: { pointId: number; onDone: (report: Reconciliation) => void }) {
  const { t } = useI18n();
  const [form, setForm] = useState(() => defaultRange(Date.now()));
  const submission = useSubmission();
  const submit = async (event: Event) => {
    event.preventDefault();
    if (submission.busy) return;
    const read = readRange(form, t);
    if ('errors' in read) {
      submission.fail(read.errors);
      return;
    }
    submission.setBusy(true);
    try {
      const report = await reconcilePoint(pointId, read.start, read.end);
      submission.clear();
      onDone(report);
    } catch (error) {
      const problem = problemOf(error);
      const fields: Record<string, string> = { '/range_start_ms': 'recon-start-date', '/range_end_ms': 'recon-end-date' };
      const onFields = (problem.errors ?? []).filter((item) => fields[item.pointer])
        .map((item) => ({ field: fields[item.pointer], text: item.message, lang: 'en' as const }));
      submission.fail(onFields.length > 0 ? onFields : [settlementProblem(problem, t)]);
    } finally {
      submission.setBusy(false);
    }
  };
  const set = (key: keyof RangeForm) => (value: string) => setForm({ ...form, [key]: value });
  return (
    <form class="wallet-section" noValidate onSubmit={submit} aria-labelledby="recon-form-title" data-testid="recon-form">
      <h3 id="recon-form-title">{t('recon.form.title')}</h3>
      <p>{t('recon.form.lead')}</p>
      <ErrorSummary errors={submission.errors} attempt={submission.attempt} />
      <fieldset class="fieldset range-form__when">
        <legend class="field__label">{t('recon.form.start')}</legend>
        <DateField id="recon-start-date" label={t('recon.form.date')} value={form.startDate} onInput={set('startDate')}
          error={errorFor(submission.errors, 'recon-start-date')} />
        <TimeField id="recon-start-time" label={t('recon.form.time')} value={form.startTime} onInput={set('startTime')} />
      </fieldset>
      <fieldset class="fieldset range-form__when">
        <legend class="field__label">{t('recon.form.end')}</legend>
        <DateField id="recon-end-date" label={t('recon.form.date')} value={form.endDate} onInput={set('endDate')}
          error={errorFor(submission.errors, 'recon-end-date')} />
        <TimeField id="recon-end-time" label={t('recon.form.time')} value={form.endTime} onInput={set('endTime')} />
      </fieldset>
      <button type="submit" class="button button--primary" aria-disabled={submission.busy}>
        {t('recon.form.submit')}
      </button>
    </form>
  );
}

function ReconciliationsTable({ reports }: { reports: Reconciliation[] }) {
  const { t, lang } = useI18n();
  return (
    <div class="table-wrap">
      <table class="table table--stacked" data-testid="point-reconciliations">
        <caption class="visually-hidden">{t('recon.point.title')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('recon.field.report')}</th>
            <th scope="col">{t('recon.field.range')}</th>
            <th scope="col">{t('recon.field.source')}</th>
            <th scope="col">{t('recon.field.matched')}</th>
            <th scope="col">{t('recon.field.verdict')}</th>
          </tr>
        </thead>
        <tbody>
          {reports.map((report) => (
            <tr key={report.id}>
              <th scope="row">
                <Link href={`/wallet/reconciliations/${report.id}`}>{t('recon.report.named', { id: report.id })}</Link>
              </th>
              <td data-label={t('recon.field.range')}>{rangeText(report, t, lang)}</td>
              <td data-label={t('recon.field.source')}>{named(t, 'recon.source', report.source)}</td>
              <td data-label={t('recon.field.matched')}>{report.matched}</td>
              <td data-label={t('recon.field.verdict')}>
                <ReconciliationVerdict report={report} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The point's reports and the form, for those who may reconcile (merchants, regional admins). */
export function PointReconciliations({ pointId }: { pointId: number }) {
  const { t } = useI18n();
  const { permissions } = useSession();
  const allowed = permissions.has(settlementRight.reconciliations);
  const reports = useLoad(allowed ? (signal) => listPointReconciliations(pointId, signal) : null, [pointId, allowed]);
  const [message, setMessage] = useState<Localised | null>(null);
  if (!allowed) return null;
  return (
    <section class="wallet-section" aria-labelledby="point-recon-title" data-testid="point-reconciliation-section">
      <h2 id="point-recon-title">{t('recon.point.title')}</h2>
      <p>{t('recon.point.lead')}</p>
      <LiveMessage message={message} />
      <ProblemNotice value={reports.problem ? settlementProblem(reports.problem, t) : null} />
      <p role="status" class="result-count">
        {reports.value ? t('recon.point.count', { count: reports.value.length }) : ''}
      </p>
      {reports.value && reports.value.length > 0 && <ReconciliationsTable reports={reports.value} />}
      <ReconcileForm
        pointId={pointId}
        onDone={(report) => {
          setMessage({ text: report.reconciled
            ? t('recon.done.reconciled', { id: report.id, matched: report.matched })
            : t('recon.done.gaps', { id: report.id, matched: report.matched,
              gaps: report.differing.length + report.missing_at_service.length + report.missing_at_point.length }) });
          reports.reload();
        }}
      />
    </section>
  );
}

// ---- One report ---------------------------------------------------------------------------------

function LinesTable({ lines, testId, caption }: { lines: ReconciliationLine[]; testId: string; caption: string }) {
  const { t, lang } = useI18n();
  return (
    <div class="table-wrap">
      <table class="table table--stacked" data-testid={testId}>
        <caption class="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">{t('recon.field.txn')}</th>
            <th scope="col">{t('pos.txn.operation')}</th>
            <th scope="col" class="num">{t('pos.txn.amount')}</th>
            <th scope="col">{t('pos.txn.state')}</th>
            <th scope="col">{t('recon.field.at')}</th>
          </tr>
        </thead>
        <tbody>
          {lines.map((line) => (
            <tr key={line.point_txn_id}>
              <th scope="row">{line.point_txn_id}</th>
              <td data-label={t('pos.txn.operation')}>{named(t, 'pos.operation', line.operation)}</td>
              <td class="num" data-label={t('pos.txn.amount')}>{amountOf(line, lang)}</td>
              <td data-label={t('pos.txn.state')}>{named(t, 'pos.txn.state', line.state)}</td>
              <td data-label={t('recon.field.at')}>{formatParis(line.at_ms, lang)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Totals per counter and operation, the point's side beside the service's (as in the PDF). */
function TotalsTable({ report }: { report: Reconciliation }) {
  const { t, lang } = useI18n();
  const key = (total: ReconciliationTotal) => `${total.counter}\u0000${total.operation}`;
  const keys = [...new Set([...report.point_totals, ...report.service_totals].map(key))].sort();
  const find = (list: ReconciliationTotal[], k: string) => list.find((total) => key(total) === k);
  const amount = (counter: string, value: number) => (counter === 'EUR' ? formatEuros(value, lang) : `${value} ${counter}`);
  const cell = (total: ReconciliationTotal | undefined, counter: string) =>
    total ? t('recon.totals.cell', { amount: amount(counter, total.acknowledged_amount), count: total.acknowledged_count,
      all: total.count }) : '—';
  return (
    <div class="table-wrap">
      <table class="table table--stacked" data-testid="recon-totals">
        <caption class="visually-hidden">{t('recon.totals.title')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('recon.totals.line')}</th>
            <th scope="col" class="num">{t('recon.field.point_says')}</th>
            <th scope="col" class="num">{t('recon.field.service_says')}</th>
          </tr>
        </thead>
        <tbody>
          {keys.map((k) => {
            const point = find(report.point_totals, k);
            const service = find(report.service_totals, k);
            const [counter = '', operation = ''] = k.split('\u0000');
            const differs = point?.acknowledged_amount !== service?.acknowledged_amount ||
              point?.acknowledged_count !== service?.acknowledged_count;
            return (
              <tr key={k} class={differs ? 'recon-totals__differs' : undefined}>
                <th scope="row">
                  {named(t, 'pos.operation', operation)} ({counter})
                  {differs && <span class="visually-hidden"> {t('recon.totals.differs')}</span>}
                </th>
                <td class="num" data-label={t('recon.field.point_says')}>{cell(point, counter)}</td>
                <td class="num" data-label={t('recon.field.service_says')}>{cell(service, counter)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** The matched lines (the service's side: both agree), at most the first 1000. */
function MatchedTable({ pairs }: { pairs: ReconciliationPair[] }) {
  const { t } = useI18n();
  return <LinesTable lines={pairs.map((pair) => pair.service)} testId="recon-matched-lines" caption={t('recon.matched.title')} />;
}

function DifferingTable({ report }: { report: Reconciliation }) {
  const { t, lang } = useI18n();
  const show = (line: ReconciliationLine, field: string) =>
    field === 'amount' ? amountOf(line, lang)
      : field === 'operation' ? named(t, 'pos.operation', line.operation)
        : field === 'state' ? named(t, 'pos.txn.state', line.state) : line.counter;
  return (
    <div class="table-wrap">
      <table class="table table--stacked" data-testid="recon-differing">
        <caption class="visually-hidden">{t('recon.differing.title')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('recon.field.txn')}</th>
            <th scope="col">{t('recon.field.differences')}</th>
            <th scope="col">{t('recon.field.point_says')}</th>
            <th scope="col">{t('recon.field.service_says')}</th>
          </tr>
        </thead>
        <tbody>
          {report.differing.map((pair) => (
            <tr key={pair.point_txn_id}>
              <th scope="row">{pair.point_txn_id}</th>
              <td data-label={t('recon.field.differences')}>
                {pair.differences.map((field) => named(t, 'recon.difference', field)).join(', ')}
              </td>
              <td data-label={t('recon.field.point_says')}>
                {pair.differences.map((field) => show(pair.point, field)).join(', ')}
              </td>
              <td data-label={t('recon.field.service_says')}>
                {pair.differences.map((field) => show(pair.service, field)).join(', ')}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function ReconciliationPage({ id }: { id: string }) {
  const { t, lang } = useI18n();
  const valid = /^\d+$/.test(id);
  const report = useLoad(valid ? (signal) => getReconciliation(Number(id), signal) : null, [id]);
  if (!valid || report.problem?.status === 404) {
    return (
      <>
        <h1 tabIndex={-1}>{t('recon.report.not_found')}</h1>
        <p>
          <Link href="/wallet/points">{t('pos.points.back')}</Link>
        </p>
      </>
    );
  }
  const value = report.value;
  return (
    <>
      <h1 tabIndex={-1}>{value ? t('recon.report.named', { id: value.id }) : t('recon.report.title')}</h1>
      {value && (
        <p>
          <Link href={`/wallet/points/${value.point_id}`}>{t('recon.report.back')}</Link>
        </p>
      )}
      <ProblemNotice value={report.problem ? settlementProblem(report.problem, t) : null} />
      {!value && !report.problem && <p role="status">{t('common.loading')}</p>}
      {value && (
        <>
          <p>
            <ReconciliationVerdict report={value} />
          </p>
          <dl class="details" data-testid="recon-summary">
            <div>
              <dt>{t('recon.field.range')}</dt>
              <dd>{rangeText(value, t, lang)}</dd>
            </div>
            <div>
              <dt>{t('recon.field.source')}</dt>
              <dd>{named(t, 'recon.source', value.source)}</dd>
            </div>
            <div>
              <dt>{t('recon.field.generated')}</dt>
              <dd>{formatParis(value.generated_at, lang)}</dd>
            </div>
            <div>
              <dt>{t('recon.field.matched')}</dt>
              <dd data-testid="recon-matched">{value.matched}</dd>
            </div>
            <div>
              <dt>{t('recon.differing.title')}</dt>
              <dd data-testid="recon-differing-count">{value.differing.length}</dd>
            </div>
            <div>
              <dt>{t('recon.missing_at_service.title')}</dt>
              <dd>{value.missing_at_service.length}</dd>
            </div>
            <div>
              <dt>{t('recon.missing_at_point.title')}</dt>
              <dd>{value.missing_at_point.length}</dd>
            </div>
          </dl>
          <ul class="plain-list" data-testid="recon-documents">
            <li>
              <a href={value.links.pdf} download>{t('recon.doc.pdf')}</a>
            </li>
            <li>
              <a href={value.links.xml} download>{t('recon.doc.xml')}</a>
            </li>
          </ul>
          <h2>{t('recon.totals.title')}</h2>
          <p>{t('recon.totals.lead')}</p>
          {value.point_totals.length + value.service_totals.length === 0 ? <p>{t('recon.none')}</p> : (
            <TotalsTable report={value} />
          )}
          <h2>{t('recon.differing.title')}</h2>
          {value.differing.length === 0 ? <p>{t('recon.none')}</p> : <DifferingTable report={value} />}
          <h2>{t('recon.missing_at_service.title')}</h2>
          <p>{t('recon.missing_at_service.lead')}</p>
          {value.missing_at_service.length === 0 ? <p>{t('recon.none')}</p> : (
            <LinesTable lines={value.missing_at_service} testId="recon-missing-service"
              caption={t('recon.missing_at_service.title')} />
          )}
          <h2>{t('recon.missing_at_point.title')}</h2>
          <p>{t('recon.missing_at_point.lead')}</p>
          {value.missing_at_point.length === 0 ? <p>{t('recon.none')}</p> : (
            <LinesTable lines={value.missing_at_point} testId="recon-missing-point"
              caption={t('recon.missing_at_point.title')} />
          )}
          <h2>{t('recon.matched.title')}</h2>
          {(value.matched_lines ?? []).length === 0 ? <p>{t('recon.none')}</p> : (
            <>
              {value.matched_lines_truncated && (
                <p data-testid="recon-matched-truncated">
                  {t('recon.matched.truncated', { shown: value.matched_lines?.length ?? 0, count: value.matched })}
                </p>
              )}
              <MatchedTable pairs={value.matched_lines ?? []} />
            </>
          )}
        </>
      )}
    </>
  );
}

// ---- On the merchant's page ---------------------------------------------------------------------

/**
 * The merchant's daily reconciliation: at an hour (Paris), its points' uploaded lists are
 * reconciled and the reports e-mailed. The schedule as saved is read first; the form starts from
 * it (a schedule never set reads as disabled, and the form then offers 22 h).
 */
export function ReconciliationScheduleForm({ merchant }: { merchant: Merchant }) {
  const { t } = useI18n();
  const { permissions } = useSession();
  const allowed = permissions.has(settlementRight.reconciliations);
  const current = useLoad(allowed ? (signal) => getReconciliationSchedule(merchant.id, signal) : null, [merchant.id, allowed]);
  const [enabled, setEnabled] = useState(true);
  const [hour, setHour] = useState('22');
  const [saved, setSaved] = useState<ReconciliationSchedule | null>(null);
  const [message, setMessage] = useState<Localised | null>(null);
  const submission = useSubmission();
  useEffect(() => {
    const read = current.value;
    if (!read) return;
    setSaved(read);
    if (read.enabled) {
      setEnabled(true);
      setHour(String(read.hour));
    }
  }, [current.value]);
  if (!allowed) return null;
  const submit = async (event: Event) => {
    event.preventDefault();
    if (submission.busy) return;
    submission.setBusy(true);
    try {
      const schedule = await setReconciliationSchedule(merchant.id, enabled, Number(hour));
      submission.clear();
      setSaved(schedule);
      setMessage({ text: t('recon.schedule.saved') });
    } catch (error) {
      submission.fail([settlementProblem(problemOf(error), t)]);
    } finally {
      submission.setBusy(false);
    }
  };
  const describe = (schedule: ReconciliationSchedule) => {
    const state = schedule.enabled ? t('recon.schedule.on', { hour: schedule.hour }) : t('recon.schedule.off');
    return schedule.last_run_day ? `${state} ${t('recon.schedule.last_run', { day: schedule.last_run_day })}` : state;
  };
  return (
    <form class="wallet-section" noValidate onSubmit={submit} aria-labelledby="recon-schedule-title" data-testid="recon-schedule">
      <h2 id="recon-schedule-title">{t('recon.schedule.title')}</h2>
      <p>{t('recon.schedule.lead')}</p>
      <ProblemNotice value={current.problem ? settlementProblem(current.problem, t) : null} />
      <p data-testid="recon-schedule-current">{saved ? describe(saved) : ''}</p>
      <LiveMessage message={message} />
      <ErrorSummary errors={submission.errors} attempt={submission.attempt} />
      <div class="choice">
        <input id="recon-schedule-enabled" type="checkbox" checked={enabled}
          onChange={(event) => setEnabled(event.currentTarget.checked)} />
        <label for="recon-schedule-enabled">{t('recon.schedule.enabled')}</label>
      </div>
      <SelectField id="recon-schedule-hour" label={t('recon.schedule.hour')} value={hour} onChange={setHour}
        hint={t('recon.schedule.hour.hint')}
        options={Array.from({ length: 24 }, (_, h) => ({ value: String(h), label: t('recon.schedule.hour.value', { hour: h }) }))} />
      <button type="submit" class="button button--secondary" aria-disabled={submission.busy}>
        {t('recon.schedule.save')}
      </button>
    </form>
  );
}
