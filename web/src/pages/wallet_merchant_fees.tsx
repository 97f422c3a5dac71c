// A merchant's fee schedule (W19 "autres frais de gestion") on the merchant page: the schedule in
// force and its history, and, for a regional administrator of the merchant, a small editor that
// sets a new version from a date. The server side is modules/wallet/settlement_fees.cpp; how a
// settlement run bills the fees is docs/settlement.md ("Fees").
import { useState } from 'preact/hooks';
import { getJson, problemOf, sendJson, type Problem } from '../api';
import { ErrorSummary, LiveMessage, SubmitButton, Text, TextField, errorFor, useSubmission } from '../components/form';
import { useI18n, type MessageKey, type Translate } from '../i18n';
import { posRight } from '../pos';
import { formErrors, problemMessage, type FormError, type Localised } from '../problems';
import { useSession } from '../session';
import { useLoad } from '../use_load';
import { eurosToCents, formatEuros } from '../wallet/pos_input';

export const feeKinds = ['per_run', 'per_debit', 'per_point_month'] as const;
export type FeeKind = (typeof feeKinds)[number];

// The server's limits (settlement_calc.h).
const feeAmountCentsMax = 100_000;
const feeLabelLengthMax = 100;

export interface FeeLine {
  kind: FeeKind | string;
  label_fr: string;
  label_en: string;
  amount_cents: number;
}

export interface FeeSchedule {
  id: number;
  effective_from: string;
  created_at: string;
  lines: FeeLine[];
}

export interface MerchantFees {
  merchant_id: number;
  current: FeeSchedule | null;
  schedules: FeeSchedule[];
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  !!value && typeof value === 'object' && !Array.isArray(value);

const isSchedule = (value: unknown): value is FeeSchedule =>
  isObject(value) && typeof value.id === 'number' && typeof value.effective_from === 'string' &&
  Array.isArray(value.lines);

export const isMerchantFees = (body: unknown): body is MerchantFees =>
  isObject(body) && typeof body.merchant_id === 'number' &&
  (body.current === null || isSchedule(body.current)) &&
  Array.isArray(body.schedules) && body.schedules.every(isSchedule);

export const getMerchantFees = (merchantId: number, signal?: AbortSignal) =>
  getJson(`/api/v1/wallet/merchants/${merchantId}/fees`, isMerchantFees, signal);

export const setMerchantFees = (merchantId: number, body: { effective_from: string; lines: FeeLine[] }) =>
  sendJson('PUT', `/api/v1/wallet/merchants/${merchantId}/fees`, body, isMerchantFees);

const kindKey: Record<FeeKind, MessageKey> = {
  per_run: 'pos.fees.kind.per_run',
  per_debit: 'pos.fees.kind.per_debit',
  per_point_month: 'pos.fees.kind.per_point_month',
};

const kindName = (kind: string, t: Translate) =>
  kind in kindKey ? t(kindKey[kind as FeeKind]) : kind;

// Refusals of PUT …/fees (docs/settlement.md) in the reader's language.
const feeProblems: Record<string, MessageKey> = {
  merchant_fee_kind_unknown: 'pos.fees.problem.kind',
  merchant_fee_kind_repeated: 'pos.fees.problem.kind',
  merchant_fee_amount_out_of_range: 'pos.fees.problem.amount',
  merchant_fee_label_invalid: 'pos.fees.problem.label',
  merchant_fee_lines_too_many: 'pos.fees.problem.kind',
  merchant_fee_effective_date_invalid: 'pos.fees.problem.date',
  merchant_fee_effective_date_past: 'pos.fees.problem.date_past',
};

/** Today in Paris as YYYY-MM-DD: the earliest date a schedule may take effect. */
export const parisToday = () =>
  new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris' }).format(new Date());

interface LineForm {
  amount: string;
  label_fr: string;
  label_en: string;
}
type FeesForm = { from: string } & Record<FeeKind, LineForm>;

const defaultLabels: Record<FeeKind, { fr: string; en: string }> = {
  per_run: { fr: 'Frais de gestion', en: 'Management fee' },
  per_debit: { fr: 'Frais par débit', en: 'Fee per debit' },
  per_point_month: { fr: 'Location du terminal', en: 'Terminal rental' },
};

function formOf(current: FeeSchedule | null, lang: 'fr' | 'en'): FeesForm {
  const amountText = (cents: number) => (lang === 'fr' ? (cents / 100).toFixed(2).replace('.', ',') : (cents / 100).toFixed(2));
  const line = (kind: FeeKind): LineForm => {
    const found = current?.lines.find((l) => l.kind === kind);
    return {
      amount: found ? amountText(found.amount_cents) : '',
      label_fr: found?.label_fr ?? defaultLabels[kind].fr,
      label_en: found?.label_en ?? defaultLabels[kind].en,
    };
  };
  return { from: parisToday(), per_run: line('per_run'), per_debit: line('per_debit'), per_point_month: line('per_point_month') };
}

/** The lines a filled form makes (an empty amount leaves the kind out), or what is wrong. */
function readFeesForm(form: FeesForm, t: Translate): { lines: FeeLine[] } | { errors: FormError[] } {
  const errors: FormError[] = [];
  const lines: FeeLine[] = [];
  if (!/^\d{4}-\d{2}-\d{2}$/.test(form.from)) errors.push({ field: 'fees-from', text: t('pos.fees.problem.date') });
  else if (form.from < parisToday()) errors.push({ field: 'fees-from', text: t('pos.fees.problem.date_past') });
  for (const kind of feeKinds) {
    const line = form[kind];
    if (!line.amount.trim()) continue;
    const cents = eurosToCents(line.amount);
    if (cents === null || cents > feeAmountCentsMax) {
      errors.push({ field: `fees-${kind}-amount`, text: t('pos.fees.problem.amount') });
      continue;
    }
    for (const [lang, label] of [['fr', line.label_fr], ['en', line.label_en]] as const) {
      const text = label.trim();
      if (text.length < 1 || [...text].length > feeLabelLengthMax) {
        errors.push({ field: `fees-${kind}-label-${lang}`, text: t('pos.fees.problem.label') });
      }
    }
    lines.push({ kind, amount_cents: cents, label_fr: line.label_fr.trim(), label_en: line.label_en.trim() });
  }
  return errors.length > 0 ? { errors } : { lines };
}

function feeErrors(problem: Problem, t: Translate): FormError[] {
  const key = problem.code ? feeProblems[problem.code] : undefined;
  if (key) {
    // A line's pointer counts the lines sent, not the form's rows: the message says which part.
    const onDate = problem.errors?.[0]?.pointer === '/effective_from';
    return [onDate ? { field: 'fees-from', text: t(key) } : { text: t(key) }];
  }
  return formErrors(problem, t, { '/effective_from': 'fees-from' });
}

function FeesEditor({ merchantId, current, onSaved }: {
  merchantId: number;
  current: FeeSchedule | null;
  onSaved: (fees: MerchantFees) => void;
}) {
  const { t, lang } = useI18n();
  const [form, setForm] = useState<FeesForm>(() => formOf(current, lang));
  const submission = useSubmission();
  const lineField = (kind: FeeKind, part: keyof LineForm) => ({
    id: `fees-${kind}-${part === 'amount' ? 'amount' : part === 'label_fr' ? 'label-fr' : 'label-en'}`,
    value: form[kind][part],
    onInput: (value: string) => setForm({ ...form, [kind]: { ...form[kind], [part]: value } }),
    error: errorFor(submission.errors,
      `fees-${kind}-${part === 'amount' ? 'amount' : part === 'label_fr' ? 'label-fr' : 'label-en'}`),
    autocomplete: 'off',
  });

  const submit = async (event: Event) => {
    event.preventDefault();
    if (submission.busy) return;
    const read = readFeesForm(form, t);
    if ('errors' in read) {
      submission.fail(read.errors);
      return;
    }
    submission.setBusy(true);
    try {
      const saved = await setMerchantFees(merchantId, { effective_from: form.from, lines: read.lines });
      submission.clear();
      onSaved(saved);
    } catch (error) {
      submission.fail(feeErrors(problemOf(error), t));
    } finally {
      submission.setBusy(false);
    }
  };

  return (
    <form noValidate onSubmit={submit} aria-labelledby="fees-edit-title" data-testid="fees-editor">
      <h3 id="fees-edit-title">{t('pos.fees.edit')}</h3>
      <p>{t('pos.fees.edit.lead')}</p>
      <ErrorSummary errors={submission.errors} attempt={submission.attempt} />
      <TextField id="fees-from" label={t('pos.fees.field.from')} hint={t('pos.fees.field.from.hint')}
        value={form.from} onInput={(value) => setForm({ ...form, from: value })}
        error={errorFor(submission.errors, 'fees-from')} autocomplete="off" />
      {feeKinds.map((kind) => (
        <fieldset class="fieldset" key={kind}>
          <legend>{kindName(kind, t)}</legend>
          <p class="field__hint">{t(`pos.fees.kind.${kind}.hint` as MessageKey)}</p>
          <TextField {...lineField(kind, 'amount')} label={t('pos.fees.field.amount')}
            hint={t('pos.fees.field.amount.hint')} required={false} />
          <TextField {...lineField(kind, 'label_fr')} label={t('pos.fees.field.label_fr')} />
          <TextField {...lineField(kind, 'label_en')} label={t('pos.fees.field.label_en')} />
        </fieldset>
      ))}
      <SubmitButton busy={submission.busy}>{t('pos.fees.save')}</SubmitButton>
    </form>
  );
}

function ScheduleTable({ schedule, caption }: { schedule: FeeSchedule; caption: string }) {
  const { t, lang } = useI18n();
  return (
    <div class="table-wrap">
      <table class="table table--stacked">
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">{t('pos.fees.field.kind')}</th>
            <th scope="col">{t('pos.fees.field.label')}</th>
            <th scope="col">{t('pos.fees.field.amount')}</th>
          </tr>
        </thead>
        <tbody>
          {schedule.lines.map((line) => (
            <tr key={line.kind}>
              <th scope="row">{kindName(line.kind, t)}</th>
              <td data-label={t('pos.fees.field.label')}>{lang === 'fr' ? line.label_fr : line.label_en}</td>
              <td data-label={t('pos.fees.field.amount')}>{formatEuros(line.amount_cents, lang)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The merchant's fees, mounted on the merchant page. */
export function MerchantFeesSection({ merchantId }: { merchantId: number }) {
  const { t } = useI18n();
  const { permissions } = useSession();
  const fees = useLoad((signal) => getMerchantFees(merchantId, signal), [merchantId]);
  const [message, setMessage] = useState<Localised | null>(null);
  const [editing, setEditing] = useState(false);
  const value = fees.value;
  const canEdit = permissions.has(posRight.merchantsManage);
  const today = parisToday();
  const upcoming = (value?.schedules ?? []).filter((schedule) => schedule.effective_from > today).reverse();

  return (
    <section aria-labelledby="fees-title" data-testid="merchant-fees">
      <h2 id="fees-title">{t('pos.fees.title')}</h2>
      <p>{t('pos.fees.lead')}</p>
      <LiveMessage message={message} />
      {fees.problem && (
        <div class="notice notice--error" role="alert">
          <p>
            <Text value={problemMessage(fees.problem, t)} />
          </p>
        </div>
      )}
      {!value && !fees.problem && <p role="status">{t('common.loading')}</p>}
      {value && !value.current && <p>{t('pos.fees.none')}</p>}
      {value?.current && (
        <ScheduleTable schedule={value.current}
          caption={t('pos.fees.current', { date: value.current.effective_from })} />
      )}
      {upcoming.map((schedule) => (
        <ScheduleTable key={schedule.id} schedule={schedule}
          caption={t('pos.fees.upcoming', { date: schedule.effective_from })} />
      ))}
      {value && value.schedules.length > 0 && (
        <p class="result-count">{t('pos.fees.versions', { count: value.schedules.length })}</p>
      )}
      {canEdit && value && !editing && (
        <p>
          <button type="button" class="button" onClick={() => setEditing(true)}>{t('pos.fees.edit')}</button>
        </p>
      )}
      {canEdit && value && editing && (
        <FeesEditor merchantId={merchantId} current={value.current}
          onSaved={(saved) => {
            setEditing(false);
            setMessage({ text: t('pos.fees.saved', { date: saved.schedules[0]?.effective_from ?? '' }) });
            fees.reload();
          }} />
      )}
    </section>
  );
}
