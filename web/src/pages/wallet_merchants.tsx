// Merchants of the acceptance network (W12): the list in one's scope, declaring a new one with
// its bank account (only the IBAN's last four characters are ever shown back), and one
// merchant with its points of sale.
import { useState } from 'preact/hooks';
import { ErrorSummary, LiveMessage, SelectField, SubmitButton, Text, TextField, errorFor, useSubmission } from '../components/form';
import { useI18n } from '../i18n';
import { getOrganisations } from '../identity';
import { baseDepth, organisationOption } from '../labels';
import { problemOf } from '../api';
import {
  bicIsValid, compactIban, createMerchant, formatBasisPoints, getMerchant, ibanIsValid, listMerchants, listPoints,
  percentToBasisPoints, posLimits, posRight, type Merchant,
} from '../pos';
import { formErrors, problemMessage, type FormError, type Localised } from '../problems';
import { Link } from '../router';
import { useSession } from '../session';
import { useLoad } from '../use_load';
import { PointsTable } from './wallet_points';

/** "•••• 0189": the only part of the IBAN the server gives back. */
export const maskedIban = (last4: string) => `•••• ${last4}`;

function NewMerchantForm({ onCreated }: { onCreated: (merchant: Merchant) => void }) {
  const { t } = useI18n();
  const organisations = useLoad(getOrganisations, []);
  const regions = (organisations.value ?? []).filter((organisation) => organisation.kind === 'region');
  const depth = baseDepth(regions);
  const [region, setRegion] = useState('');
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [iban, setIban] = useState('');
  const [bic, setBic] = useState('');
  const [commission, setCommission] = useState('');
  const [period, setPeriod] = useState(String(posLimits.settlementPeriodDaysMax));
  const submission = useSubmission();
  const chosenRegion = region || (regions.length === 1 ? String(regions[0]?.id) : '');

  const submit = async (event: Event) => {
    event.preventDefault();
    if (submission.busy) return;
    const local: FormError[] = [];
    if (!chosenRegion) local.push({ field: 'merchant-region', text: t('pos.merchant.region.missing') });
    if (!name.trim()) local.push({ field: 'merchant-name', text: t('pos.merchant.name.missing') });
    else if (name.trim().length > posLimits.nameLengthMax)
      local.push({ field: 'merchant-name', text: t('pos.merchant.name.long') });
    if (!/^[^\s@<>]+@[^\s@<>]+$/.test(email.trim()))
      local.push({ field: 'merchant-email', text: t('pos.merchant.email.invalid') });
    if (!iban.trim()) local.push({ field: 'merchant-iban', text: t('pos.merchant.iban.missing') });
    else if (!ibanIsValid(iban)) local.push({ field: 'merchant-iban', text: t('pos.merchant.iban.invalid') });
    if (!bicIsValid(bic)) local.push({ field: 'merchant-bic', text: t('pos.merchant.bic.invalid') });
    const bp = percentToBasisPoints(commission);
    if (bp === null) local.push({ field: 'merchant-commission', text: t('pos.merchant.commission.invalid') });
    const days = /^\d{1,2}$/.test(period.trim()) ? Number(period.trim()) : 0;
    if (days < 1 || days > posLimits.settlementPeriodDaysMax)
      local.push({ field: 'merchant-period', text: t('pos.merchant.period.invalid') });
    if (local.length > 0) {
      submission.fail(local);
      return;
    }
    submission.setBusy(true);
    try {
      const created = await createMerchant({
        region_id: Number(chosenRegion),
        name: name.trim(),
        iban: compactIban(iban),
        bic: bic.trim().toUpperCase(),
        commission_bp: bp ?? 0,
        settlement_period_days: days,
        contact_email: email.trim(),
      });
      submission.clear();
      setName('');
      setEmail('');
      setIban('');
      setBic('');
      setCommission('');
      onCreated(created);
    } catch (error) {
      submission.fail(
        formErrors(problemOf(error), t, {
          '/region_id': 'merchant-region', '/name': 'merchant-name', '/iban': 'merchant-iban', '/bic': 'merchant-bic',
          '/commission_bp': 'merchant-commission', '/settlement_period_days': 'merchant-period',
          '/contact_email': 'merchant-email',
        }),
      );
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
        value={chosenRegion}
        onChange={setRegion}
        placeholder={t('pos.merchant.region.choose')}
        options={regions.map((item) => organisationOption(t, item, depth))}
        error={errorFor(submission.errors, 'merchant-region')}
      />
      <TextField id="merchant-name" label={t('pos.merchant.field.name')} value={name} onInput={setName}
        autocomplete="organization" error={errorFor(submission.errors, 'merchant-name')} />
      <TextField id="merchant-email" label={t('pos.merchant.field.email')} type="email" value={email}
        onInput={setEmail} autocomplete="email" inputMode="email" spellcheck={false}
        error={errorFor(submission.errors, 'merchant-email')} />
      <TextField id="merchant-iban" label={t('pos.merchant.field.iban')} hint={t('pos.merchant.iban.hint')}
        value={iban} onInput={setIban} autocomplete="off" spellcheck={false}
        error={errorFor(submission.errors, 'merchant-iban')} />
      <TextField id="merchant-bic" label={t('pos.merchant.field.bic')} hint={t('pos.merchant.bic.hint')}
        value={bic} onInput={setBic} autocomplete="off" spellcheck={false}
        error={errorFor(submission.errors, 'merchant-bic')} />
      <TextField id="merchant-commission" label={t('pos.merchant.field.commission')}
        hint={t('pos.merchant.commission.hint')} value={commission} onInput={setCommission} inputMode="text"
        autocomplete="off" error={errorFor(submission.errors, 'merchant-commission')} />
      <TextField id="merchant-period" label={t('pos.merchant.field.period')} hint={t('pos.merchant.period.hint')}
        value={period} onInput={setPeriod} inputMode="numeric" autocomplete="off"
        error={errorFor(submission.errors, 'merchant-period')} />
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
    </>
  );
}
