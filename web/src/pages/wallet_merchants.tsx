// Merchants of the acceptance network (W12): the list in one's scope, declaring a new one with
// its bank account (only the IBAN's last four characters are ever shown back), and one
// merchant with its points of sale.
import { useState } from 'preact/hooks';
import { ErrorSummary, LiveMessage, SelectField, SubmitButton, Text, TextField, errorFor, useSubmission } from '../components/form';
import { useI18n, type MessageKey, type Translate } from '../i18n';
import { getOrganisations } from '../identity';
import { baseDepth, organisationOption } from '../labels';
import { problemOf } from '../api';
import {
  bicIsValid, compactIban, createMerchant, formatBasisPoints, getMerchant, ibanIsValid, listMerchants, listPoints,
  percentToBasisPoints, posLimits, posRight, type Merchant, type NewMerchant,
} from '../pos';
import { formErrors, problemMessage, type FormError, type Localised } from '../problems';
import { Link } from '../router';
import { useSession } from '../session';
import { useLoad } from '../use_load';
import { PointsTable } from './wallet_points';
import { MerchantAwaitingFunds } from './wallet_offline';
import { ReconciliationScheduleForm } from './wallet_reconciliations';
import { MerchantSettlements } from './wallet_settlements';
import { MerchantFeesSection } from './wallet_merchant_fees';

/** "•••• 0189": the only part of the IBAN the server gives back. */
export const maskedIban = (last4: string) => `•••• ${last4}`;

interface MerchantForm {
  region: string;
  name: string;
  email: string;
  iban: string;
  bic: string;
  commission: string;
  period: string;
}

const emptyMerchantForm: MerchantForm = {
  region: '', name: '', email: '', iban: '', bic: '', commission: '',
  period: String(posLimits.settlementPeriodDaysMax),
};

/** The request a filled form makes, or what is wrong with it, in words, field by field. */
function readMerchantForm(form: MerchantForm, t: Translate): { merchant: NewMerchant } | { errors: FormError[] } {
  const errors: FormError[] = [];
  const refuse = (field: string, key: MessageKey) => errors.push({ field: `merchant-${field}`, text: t(key) });
  const name = form.name.trim();
  if (!form.region) refuse('region', 'pos.merchant.region.missing');
  if (!name) refuse('name', 'pos.merchant.name.missing');
  else if (name.length > posLimits.nameLengthMax) refuse('name', 'pos.merchant.name.long');
  if (!/^[^\s@<>]+@[^\s@<>]+$/.test(form.email.trim())) refuse('email', 'pos.merchant.email.invalid');
  if (!form.iban.trim()) refuse('iban', 'pos.merchant.iban.missing');
  else if (!ibanIsValid(form.iban)) refuse('iban', 'pos.merchant.iban.invalid');
  if (!bicIsValid(form.bic)) refuse('bic', 'pos.merchant.bic.invalid');
  const commission = percentToBasisPoints(form.commission);
  if (commission === null) refuse('commission', 'pos.merchant.commission.invalid');
  const days = /^\d{1,2}$/.test(form.period.trim()) ? Number(form.period.trim()) : 0;
  if (days < 1 || days > posLimits.settlementPeriodDaysMax) refuse('period', 'pos.merchant.period.invalid');
  if (errors.length > 0 || commission === null) return { errors };
  return {
    merchant: {
      region_id: Number(form.region), name, iban: compactIban(form.iban), bic: form.bic.trim().toUpperCase(),
      commission_bp: commission, settlement_period_days: days, contact_email: form.email.trim(),
    },
  };
}

// The server's field pointers and the form's element ids.
const merchantFields = {
  '/region_id': 'merchant-region', '/name': 'merchant-name', '/iban': 'merchant-iban', '/bic': 'merchant-bic',
  '/commission_bp': 'merchant-commission', '/settlement_period_days': 'merchant-period',
  '/contact_email': 'merchant-email',
};

function NewMerchantForm({ onCreated }: { onCreated: (merchant: Merchant) => void }) {
  const { t } = useI18n();
  const organisations = useLoad(getOrganisations, []);
  const regions = (organisations.value ?? []).filter((organisation) => organisation.kind === 'region');
  const [form, setForm] = useState(emptyMerchantForm);
  const submission = useSubmission();
  // With one region in scope, it is the one.
  const region = form.region || (regions.length === 1 ? String(regions[0]?.id) : '');
  const field = (name: keyof MerchantForm) => ({
    id: `merchant-${name}`,
    value: form[name],
    onInput: (value: string) => setForm({ ...form, [name]: value }),
    error: errorFor(submission.errors, `merchant-${name}`),
  });

  const submit = async (event: Event) => {
    event.preventDefault();
    if (submission.busy) return;
    const read = readMerchantForm({ ...form, region }, t);
    if ('errors' in read) {
      submission.fail(read.errors);
      return;
    }
    submission.setBusy(true);
    try {
      const created = await createMerchant(read.merchant);
      submission.clear();
      setForm(emptyMerchantForm);
      onCreated(created);
    } catch (error) {
      submission.fail(formErrors(problemOf(error), t, merchantFields));
    } finally {
      submission.setBusy(false);
    }
  };

  return (
    <form noValidate onSubmit={submit} aria-labelledby="merchant-new-title">
      <h2 id="merchant-new-title">{t('pos.merchant.new')}</h2>
      <ErrorSummary errors={submission.errors} attempt={submission.attempt} />
      <SelectField
        id="merchant-region"
        label={t('pos.merchant.field.region')}
        value={region}
        onChange={(value) => setForm({ ...form, region: value })}
        placeholder={t('pos.merchant.region.choose')}
        options={regions.map((item) => organisationOption(t, item, baseDepth(regions)))}
        error={errorFor(submission.errors, 'merchant-region')}
      />
      <TextField {...field('name')} label={t('pos.merchant.field.name')} autocomplete="organization" />
      <TextField {...field('email')} label={t('pos.merchant.field.email')} type="email" autocomplete="email"
        inputMode="email" spellcheck={false} />
      <TextField {...field('iban')} label={t('pos.merchant.field.iban')} hint={t('pos.merchant.iban.hint')}
        autocomplete="off" spellcheck={false} />
      <TextField {...field('bic')} label={t('pos.merchant.field.bic')} hint={t('pos.merchant.bic.hint')}
        autocomplete="off" spellcheck={false} />
      <TextField {...field('commission')} label={t('pos.merchant.field.commission')}
        hint={t('pos.merchant.commission.hint')} autocomplete="off" />
      <TextField {...field('period')} label={t('pos.merchant.field.period')} hint={t('pos.merchant.period.hint')}
        inputMode="numeric" autocomplete="off" />
      <SubmitButton busy={submission.busy}>{t('pos.merchant.create')}</SubmitButton>
    </form>
  );
}

function ProblemNotice({ value }: { value: Localised }) {
  return (
    <div class="notice notice--error" role="alert">
      <p>
        <Text value={value} />
      </p>
    </div>
  );
}

export function MerchantsPage() {
  const { t, lang } = useI18n();
  const { permissions } = useSession();
  const merchants = useLoad(listMerchants, []);
  const [message, setMessage] = useState<Localised | null>(null);
  const items = [...(merchants.value ?? [])].sort((a, b) => new Intl.Collator(lang).compare(a.name, b.name));

  return (
    <>
      <h1 tabIndex={-1}>{t('pos.merchants.title')}</h1>
      <p class="lead">{t('pos.merchants.lead')}</p>
      <p>
        <Link href="/wallet/points">{t('pos.points.title')}</Link>
      </p>
      <LiveMessage message={message} />
      {merchants.problem && <ProblemNotice value={problemMessage(merchants.problem, t)} />}
      <p role="status" class="result-count">
        {merchants.value ? t('pos.merchants.count', { count: items.length }) : t('common.loading')}
      </p>
      {items.length > 0 && (
        <div class="table-wrap">
          <table class="table table--stacked">
            <caption class="visually-hidden">{t('pos.merchants.caption')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('pos.merchant.field.name')}</th>
                <th scope="col">{t('pos.merchant.field.iban')}</th>
                <th scope="col">{t('pos.merchant.field.commission')}</th>
                <th scope="col">{t('pos.merchant.field.period')}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((merchant) => (
                <tr key={merchant.id}>
                  <th scope="row">
                    <Link href={`/wallet/merchants/${merchant.id}`}>{merchant.name}</Link>
                  </th>
                  <td data-label={t('pos.merchant.field.iban')}>{maskedIban(merchant.iban_last4)}</td>
                  <td data-label={t('pos.merchant.field.commission')}>{formatBasisPoints(merchant.commission_bp, lang)}</td>
                  <td data-label={t('pos.merchant.field.period')}>
                    {t('pos.merchant.period.value', { days: merchant.settlement_period_days })}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {permissions.has(posRight.merchantsManage) && (
        <NewMerchantForm
          onCreated={(merchant) => {
            setMessage({ text: t('pos.merchant.created', { name: merchant.name }) });
            merchants.reload();
          }}
        />
      )}
    </>
  );
}

export function MerchantDetailPage({ id }: { id: string }) {
  const { t, lang } = useI18n();
  const { permissions } = useSession();
  const valid = /^\d+$/.test(id);
  const merchant = useLoad(valid ? (signal) => getMerchant(Number(id), signal) : null, [id]);
  const points = useLoad(valid ? listPoints : null, [id]);
  const own = (points.value ?? []).filter((point) => point.merchant_id === Number(id));

  if (!valid || merchant.problem?.status === 404) {
    return (
      <>
        <h1 tabIndex={-1}>{t('pos.merchant.not_found')}</h1>
        <p>
          <Link href="/wallet/merchants">{t('pos.merchants.back')}</Link>
        </p>
      </>
    );
  }
  const value = merchant.value;
  return (
    <>
      <h1 tabIndex={-1}>{value ? value.name : t('pos.merchant.detail.title')}</h1>
      <p>
        <Link href="/wallet/merchants">{t('pos.merchants.back')}</Link>
      </p>
      {merchant.problem && <ProblemNotice value={problemMessage(merchant.problem, t)} />}
      {!value && !merchant.problem && <p role="status">{t('common.loading')}</p>}
      {value && (
        <dl class="details" data-testid="merchant-summary">
          <div>
            <dt>{t('pos.merchant.field.email')}</dt>
            <dd>{value.contact_email}</dd>
          </div>
          <div>
            <dt>{t('pos.merchant.field.iban')}</dt>
            <dd>{maskedIban(value.iban_last4)}</dd>
          </div>
          <div>
            <dt>{t('pos.merchant.field.bic')}</dt>
            <dd>{value.bic}</dd>
          </div>
          <div>
            <dt>{t('pos.merchant.field.commission')}</dt>
            <dd>{formatBasisPoints(value.commission_bp, lang)}</dd>
          </div>
          <div>
            <dt>{t('pos.merchant.field.period')}</dt>
            <dd>{t('pos.merchant.period.value', { days: value.settlement_period_days })}</dd>
          </div>
        </dl>
      )}
      {value && <MerchantFeesSection merchantId={value.id} />}
      <h2>{t('pos.merchant.points')}</h2>
      {permissions.has(posRight.pointsManage) && value && (
        <p>
          <Link href={`/wallet/points/new?merchant=${value.id}`} class="button button--primary">
            {t('pos.point.new.title')}
          </Link>
        </p>
      )}
      {points.problem && <ProblemNotice value={problemMessage(points.problem, t)} />}
      <p role="status" class="result-count">
        {points.value ? t('pos.points.count', { count: own.length }) : t('common.loading')}
      </p>
      {own.length > 0 && <PointsTable points={own} />}
      {value && (
        <>
          <MerchantSettlements merchant={value} />
          <MerchantAwaitingFunds merchant={value} />
          <ReconciliationScheduleForm merchant={value} />
        </>
      )}
    </>
  );
}
