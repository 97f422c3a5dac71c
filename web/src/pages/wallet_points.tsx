// Points of sale (W13): the list in one's scope with filters (state, type, merchant), and
// declaring a new point with every attribute — the institution's own id, the location in its
// nomenclature, address, type and permissions, per-counter loads and debits included. A new
// point waits for a regional admin's approval.
import { useEffect, useState } from 'preact/hooks';
import {
  ChoiceFieldset, ErrorSummary, SelectField, SubmitButton, Text, TextField, errorFor, useSubmission,
} from '../components/form';
import { setFlash } from '../components/flash';
import { getJson, problemOf } from '../api';
import { useI18n, type MessageKey, type Translate } from '../i18n';
import { named } from '../labels';
import {
  createPoint, listMerchants, listPoints, locationIsValid, pointPermissions, pointStates, pointTypes, posLimits,
  posRight, type Merchant, type NewPoint, type Point,
} from '../pos';
import { formErrors, problemMessage, type FormError } from '../problems';
import { Link, navigate, useLocation } from '../router';
import { useSession } from '../session';
import { useLoad } from '../use_load';

export const pointTypeName = (t: Translate, type: string) => named(t, 'pos.type', type);
export const pointStateName = (t: Translate, state: string) => named(t, 'pos.state', state);

/** A point's permission in words: "Debit of MEAL" for debit:MEAL. */
export function permissionName(t: Translate, permission: string): string {
  const [kind, counter] = permission.split(':');
  if (counter && kind === 'load') return t('pos.permission.load_counter', { counter });
  if (counter && kind === 'debit') return t('pos.permission.debit_counter', { counter });
  return named(t, 'pos.permission', permission);
}

const stateBadge: Record<string, string> = { approved: 'active', opposed: 'suspended', pending: 'pending' };

export function PointStateBadge({ state }: { state: string }) {
  const { t } = useI18n();
  return (
    <span class={`badge badge--${stateBadge[state] ?? 'pending'}`} data-testid="point-state">
      {pointStateName(t, state)}
    </span>
  );
}

export function PointsTable({ points, merchants }: { points: Point[]; merchants?: Merchant[] | undefined }) {
  const { t } = useI18n();
  const merchantName = (id: number) => merchants?.find((merchant) => merchant.id === id)?.name ?? `#${id}`;
  return (
    <div class="table-wrap">
      <table class="table table--stacked">
        <caption class="visually-hidden">{t('pos.points.caption')}</caption>
        <thead>
          <tr>
            <th scope="col">{t('pos.point.field.location')}</th>
            <th scope="col">{t('pos.point.field.institution_id')}</th>
            {merchants && <th scope="col">{t('pos.point.field.merchant')}</th>}
            <th scope="col">{t('pos.point.field.type')}</th>
            <th scope="col">{t('pos.point.field.state')}</th>
          </tr>
        </thead>
        <tbody>
          {points.map((point) => (
            <tr key={point.id}>
              <th scope="row">
                <Link href={`/wallet/points/${point.id}`}>{point.location}</Link>
                {point.is_test && <span class="badge"> {t('pos.point.test')}</span>}
              </th>
              <td data-label={t('pos.point.field.institution_id')}>{point.institution_id}</td>
              {merchants && <td data-label={t('pos.point.field.merchant')}>{merchantName(point.merchant_id)}</td>}
              <td data-label={t('pos.point.field.type')}>{pointTypeName(t, point.type)}</td>
              <td data-label={t('pos.point.field.state')}>
                <PointStateBadge state={point.state} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const digits = (value: string | null) => (value && /^\d+$/.test(value) ? value : '');
const oneOf = (value: string | null, allowed: readonly string[]) => (value && allowed.includes(value) ? value : '');

export function PointsPage() {
  const { t, lang } = useI18n();
  const { query } = useLocation();
  const filter = {
    state: oneOf(query.get('state'), pointStates),
    type: oneOf(query.get('type'), pointTypes),
    merchant: digits(query.get('merchant')),
  };
  const [choice, setChoice] = useState(filter);
  useEffect(() => setChoice(filter), [filter.state, filter.type, filter.merchant]);
  const points = useLoad(listPoints, []);
  const merchants = useLoad(listMerchants, []);
  const merchantList = [...(merchants.value ?? [])].sort((a, b) => new Intl.Collator(lang).compare(a.name, b.name));
  const shown = (points.value ?? []).filter(
    (point) =>
      (!filter.state || point.state === filter.state) &&
      (!filter.type || point.type === filter.type) &&
      (!filter.merchant || String(point.merchant_id) === filter.merchant),
  );

  const apply = (event: Event) => {
    event.preventDefault();
    const params = new URLSearchParams();
    if (choice.state) params.set('state', choice.state);
    if (choice.type) params.set('type', choice.type);
    if (choice.merchant) params.set('merchant', choice.merchant);
    const search = params.toString();
    navigate(search ? `/wallet/points?${search}` : '/wallet/points', { replace: true });
  };

  return (
    <>
      <h1 tabIndex={-1}>{t('pos.points.title')}</h1>
      <p class="lead">{t('pos.points.lead')}</p>
      <p>
        <Link href="/wallet/merchants">{t('pos.merchants.title')}</Link>
      </p>
      <PointsNewLink />
      <form class="filter-bar" role="search" aria-label={t('pos.points.filter')} onSubmit={apply}>
        <SelectField id="points-state" label={t('pos.point.field.state')} value={choice.state} required={false}
          onChange={(state) => setChoice({ ...choice, state })} placeholder={t('pos.points.filter.all')}
          options={pointStates.map((state) => ({ value: state, label: pointStateName(t, state) }))} />
        <SelectField id="points-type" label={t('pos.point.field.type')} value={choice.type} required={false}
          onChange={(type) => setChoice({ ...choice, type })} placeholder={t('pos.points.filter.all')}
          options={pointTypes.map((type) => ({ value: type, label: pointTypeName(t, type) }))} />
        <SelectField id="points-merchant" label={t('pos.point.field.merchant')} value={choice.merchant}
          required={false} onChange={(merchant) => setChoice({ ...choice, merchant })}
          placeholder={t('pos.points.filter.all')}
          options={merchantList.map((merchant) => ({ value: String(merchant.id), label: merchant.name }))} />
        <button type="submit" class="button button--secondary">
          {t('pos.points.filter.apply')}
        </button>
      </form>
      {points.problem && (
        <div class="notice notice--error" role="alert">
          <p>
            <Text value={problemMessage(points.problem, t)} />
          </p>
        </div>
      )}
      <p role="status" class="result-count">
        {points.value ? t('pos.points.count', { count: shown.length }) : t('common.loading')}
      </p>
      {shown.length > 0 && <PointsTable points={shown} merchants={merchantList} />}
    </>
  );
}

function PointsNewLink() {
  const { t } = useI18n();
  const { permissions } = useSession();
  if (!permissions.has(posRight.pointsManage)) return null;
  return (
    <p>
      <Link href="/wallet/points/new" class="button button--primary">
        {t('pos.point.new.title')}
      </Link>
    </p>
  );
}

interface Counter {
  code: string;
  kind: string;
}

const isCounters = (body: unknown): body is { counters: Counter[] } =>
  !!body &&
  typeof body === 'object' &&
  Array.isArray((body as { counters?: unknown }).counters) &&
  (body as { counters: unknown[] }).counters.every(
    (item) => !!item && typeof item === 'object' && typeof (item as Counter).code === 'string',
  );

/** The token counters, for per-counter load and debit permissions (empty when not readable). */
const listTokenCounters = (signal: AbortSignal) =>
  getJson('/api/v1/wallet/counters', isCounters, signal).then(
    (body) => body.counters.filter((counter) => counter.kind === 'token').map((counter) => counter.code),
    () => [] as string[],
  );

interface PointForm {
  merchant: string;
  institutionId: string;
  location: string;
  address: string;
  type: string[];
  permissions: string[];
  counterPermissions: string[];
  test: string[];
}

/** The request a filled form makes, or what is wrong with it, in words, field by field. */
function readPointForm(form: PointForm, t: Translate): { point: NewPoint } | { errors: FormError[] } {
  const errors: FormError[] = [];
  const refuse = (field: string, key: MessageKey) => errors.push({ field: `point-${field}`, text: t(key) });
  const institutionId = form.institutionId.trim();
  const address = form.address.trim();
  if (!form.merchant) refuse('merchant', 'pos.point.merchant.missing');
  if (!institutionId || institutionId.length > posLimits.institutionIdLengthMax) {
    refuse('institution', 'pos.point.institution_id.invalid');
  }
  if (!locationIsValid(form.location)) refuse('location', 'pos.point.location.invalid');
  if (!address || address.length > posLimits.addressLengthMax) refuse('address', 'pos.point.address.invalid');
  const type = form.type[0];
  if (!type) refuse('type', 'pos.point.type.missing');
  if (errors.length > 0 || !type) return { errors };
  return {
    point: {
      merchant_id: Number(form.merchant), institution_id: institutionId, location: form.location.trim(), address,
      type, permissions: [...form.permissions, ...form.counterPermissions], is_test: form.test.length > 0,
    },
  };
}

// The server's field pointers and the form's element ids.
const pointFields = {
  '/merchant_id': 'point-merchant', '/institution_id': 'point-institution', '/location': 'point-location',
  '/address': 'point-address', '/type': 'point-type', '/permissions': 'point-permissions',
};

export function PointNewPage() {
  const { t, lang } = useI18n();
  const { query } = useLocation();
  const merchants = useLoad(listMerchants, []);
  const counters = useLoad(listTokenCounters, []);
  const merchantList = [...(merchants.value ?? [])].sort((a, b) => new Intl.Collator(lang).compare(a.name, b.name));
  const [form, setForm] = useState<PointForm>({
    merchant: digits(query.get('merchant')), institutionId: '', location: '', address: '', type: ['till'],
    permissions: ['clock_check', 'debit'], counterPermissions: [], test: [],
  });
  const submission = useSubmission();
  // With one merchant in scope, it is the one.
  const merchant = form.merchant || (merchantList.length === 1 ? String(merchantList[0]?.id) : '');
  const set = (change: Partial<PointForm>) => setForm({ ...form, ...change });

  const submit = async (event: Event) => {
    event.preventDefault();
    if (submission.busy) return;
    const read = readPointForm({ ...form, merchant }, t);
    if ('errors' in read) {
      submission.fail(read.errors);
      return;
    }
    submission.setBusy(true);
    try {
      const created = await createPoint(read.point);
      setFlash(t('pos.point.created', { location: created.location }), `/wallet/points/${created.id}`);
      navigate(`/wallet/points/${created.id}`);
    } catch (error) {
      const problem = problemOf(error);
      submission.fail(
        problem.code === 'point_duplicate'
          ? [{ field: 'point-institution', text: t('problem.point_duplicate') }]
          : formErrors(problem, t, pointFields),
      );
      submission.setBusy(false);
    }
  };

  const tokenCounters = counters.value ?? [];
  const error = (id: string) => errorFor(submission.errors, id);
  return (
    <>
      <h1 tabIndex={-1}>{t('pos.point.new.title')}</h1>
      <p class="lead">{t('pos.point.new.lead')}</p>
      <form noValidate onSubmit={submit}>
        <ErrorSummary errors={submission.errors} attempt={submission.attempt} />
        <SelectField id="point-merchant" label={t('pos.point.field.merchant')} value={merchant}
          onChange={(value) => set({ merchant: value })} placeholder={t('pos.point.merchant.choose')}
          options={merchantList.map((item) => ({ value: String(item.id), label: item.name }))}
          error={error('point-merchant')} />
        <TextField id="point-institution" label={t('pos.point.field.institution_id')}
          hint={t('pos.point.institution_id.hint')} value={form.institutionId}
          onInput={(value) => set({ institutionId: value })} autocomplete="off" spellcheck={false}
          error={error('point-institution')} />
        <TextField id="point-location" label={t('pos.point.field.location')} hint={t('pos.point.location.hint')}
          value={form.location} onInput={(value) => set({ location: value })} autocomplete="off" spellcheck={false}
          error={error('point-location')} />
        <TextField id="point-address" label={t('pos.point.field.address')} value={form.address}
          onInput={(value) => set({ address: value })} autocomplete="street-address" error={error('point-address')} />
        <ChoiceFieldset id="point-type" legend={t('pos.point.field.type')} type="radio"
          options={pointTypes.map((value) => ({ value, label: pointTypeName(t, value) }))}
          selected={form.type} onChange={(type) => set({ type })} error={error('point-type')} />
        <ChoiceFieldset id="point-permissions" legend={t('pos.point.field.permissions')} type="checkbox"
          hint={t('pos.point.permissions.hint')}
          options={pointPermissions.map((value) => ({ value, label: permissionName(t, value) }))}
          selected={form.permissions} onChange={(permissions) => set({ permissions })}
          error={error('point-permissions')} />
        {tokenCounters.length > 0 && (
          <ChoiceFieldset id="point-counter-permissions" legend={t('pos.point.field.counter_permissions')}
            type="checkbox" hint={t('pos.point.counter_permissions.hint')}
            options={tokenCounters.flatMap((code) => [
              { value: `load:${code}`, label: permissionName(t, `load:${code}`) },
              { value: `debit:${code}`, label: permissionName(t, `debit:${code}`) },
            ])}
            selected={form.counterPermissions} onChange={(counterPermissions) => set({ counterPermissions })} />
        )}
        <ChoiceFieldset id="point-test" legend={t('pos.point.field.test')} type="checkbox"
          options={[{ value: 'test', label: t('pos.point.test.label'), hint: t('pos.point.test.hint') }]}
          selected={form.test} onChange={(test) => set({ test })} />
        <p class="button-row">
          <SubmitButton busy={submission.busy}>{t('pos.point.create')}</SubmitButton>
          <Link href="/wallet/points" class="button button--secondary">
            {t('common.cancel')}
          </Link>
        </p>
      </form>
    </>
  );
}
