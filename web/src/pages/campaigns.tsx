// Campaigns: a message to an audience (people of a type matching criteria), sent now or at a
// chosen time, with their delivery statistics.
import { useLayoutEffect, useState } from 'preact/hooks';
import {
  ChoiceFieldset, ErrorSummary, LiveMessage, SelectField, SubmitButton, Text, TextField, errorFor, useSubmission,
} from '../components/form';
import { useI18n } from '../i18n';
import { getOrganisations } from '../identity';
import { baseDepth, named, organisationOption } from '../labels';
import {
  cancelCampaign, createCampaign, getCampaignStats, listAudiences, listCampaigns, listTemplateCodes,
  scheduleCampaign, type Campaign, type CampaignStats,
} from '../notify_content';
import { formErrors, problemMessage, type FormError, type Localised } from '../problems';
import { problemOf } from '../api';
import { useLoad } from '../use_load';

function Stats({ campaign }: { campaign: Campaign }) {
  const { t } = useI18n();
  const stats = useLoad((signal) => getCampaignStats(campaign.id, signal), [campaign.id, campaign.state]);
  if (!stats.value) return <>{stats.problem ? '—' : t('common.loading')}</>;
  const s: CampaignStats = stats.value;
  return (
    <span data-testid={`stats-${campaign.id}`}>
      {t('campaigns.stats', {
        audience: s.audience, queued: s.queued, sent: s.sent, delivered: s.delivered, failed: s.failed,
        bounced: s.bounced, opened: s.opened,
      })}
    </span>
  );
}

function CampaignActions({ campaign, onDone }: { campaign: Campaign; onDone: (text: Localised) => void }) {
  const { t } = useI18n();
  const [at, setAt] = useState('');
  const [problem, setProblem] = useState<Localised | null>(null);
  const run = async (work: () => Promise<unknown>, done: string) => {
    setProblem(null);
    try {
      await work();
      onDone({ text: done });
    } catch (error) {
      setProblem(problemMessage(problemOf(error), t));
    }
  };
  if (campaign.state !== 'draft' && campaign.state !== 'scheduled') return null;
  const id = `campaign-${campaign.id}-at`;
  return (
    <div class="inline-form">
      {campaign.state === 'draft' && (
        <>
          <button type="button" class="button button--primary button--small"
            onClick={() => void run(() => scheduleCampaign(campaign.id), t('campaigns.sent_now', { name: campaign.name }))}>
            {t('campaigns.send_now')}
            <span class="visually-hidden"> : {campaign.name}</span>
          </button>
          <label class="field__label" for={id}>
            {t('campaigns.at', { name: campaign.name })}
          </label>
          <input id={id} type="datetime-local" class="input" value={at} onInput={(event) => setAt(event.currentTarget.value)} />
          <button type="button" class="button button--secondary button--small"
            onClick={() => {
              const ms = at ? new Date(at).getTime() : Number.NaN;
              if (Number.isNaN(ms)) {
                setProblem({ text: t('campaigns.at.missing') });
                return;
              }
              void run(() => scheduleCampaign(campaign.id, ms), t('campaigns.scheduled', { name: campaign.name }));
            }}>
            {t('campaigns.schedule')}
            <span class="visually-hidden"> : {campaign.name}</span>
          </button>
        </>
      )}
      <button type="button" class="button button--secondary button--small"
        onClick={() => void run(() => cancelCampaign(campaign.id), t('campaigns.cancelled', { name: campaign.name }))}>
        {t('campaigns.cancel')}
        <span class="visually-hidden"> : {campaign.name}</span>
      </button>
      {problem && (
        <p class="field__error" role="alert">
          <Text value={problem} />
        </p>
      )}
    </div>
  );
}

// Filled for each person by the server, not by the campaign.
const personal = new Set(['display_name']);

function NewCampaignForm({ onCreated }: { onCreated: (campaign: Campaign) => void }) {
  const { t } = useI18n();
  const organisations = useLoad(getOrganisations, []);
  const codes = useLoad(listTemplateCodes, []);
  const audiences = useLoad(listAudiences, []);
  const [organisation, setOrganisation] = useState('');
  const [name, setName] = useState('');
  const [code, setCode] = useState('');
  const [channel, setChannel] = useState<'email' | 'sms'>('email');
  const [personType, setPersonType] = useState('');
  const [criteria, setCriteria] = useState<Record<string, string>>({});
  const [variables, setVariables] = useState<Record<string, string>>({});
  const submission = useSubmission();
  const list = organisations.value ?? [];
  const depth = baseDepth(list);
  const audience = audiences.value?.find((item) => item.person_type === personType);
  const template = codes.value?.find((item) => item.code === code);
  useLayoutEffect(() => {
    if (!personType && audiences.value?.[0]) setPersonType(audiences.value[0].person_type);
  }, [audiences.value]);

  const submit = async (event: Event) => {
    event.preventDefault();
    if (submission.busy) return;
    const local: FormError[] = [];
    if (!organisation) local.push({ field: 'campaign-organisation', text: t('campaigns.organisation.missing') });
    if (!name.trim()) local.push({ field: 'campaign-name', text: t('campaigns.name.missing') });
    if (!code) local.push({ field: 'campaign-template', text: t('campaigns.template.missing') });
    if (local.length > 0) {
      submission.fail(local);
      return;
    }
    const given: Record<string, string | number> = {};
    for (const criterion of audience?.criteria ?? []) {
      const value = (criteria[criterion.name] ?? '').trim();
      if (value) given[criterion.name] = criterion.kind === 'integer' ? Number(value) : value;
    }
    const values: Record<string, string> = {};
    for (const variable of template?.variables ?? []) {
      const value = (variables[variable.name] ?? '').trim();
      if (value) values[variable.name] = value;
    }
    submission.setBusy(true);
    try {
      const created = await createCampaign({
        organisation_id: Number(organisation), name: name.trim(), template_code: code, channel,
        audience: { person_type: personType, criteria: given }, variables: values,
      });
      submission.clear();
      setName('');
      onCreated(created);
    } catch (error) {
      submission.fail(formErrors(problemOf(error), t, {
        '/name': 'campaign-name', '/template_code': 'campaign-template', '/organisation_id': 'campaign-organisation',
      }));
    } finally {
      submission.setBusy(false);
    }
  };

  return (
    <form noValidate onSubmit={submit} aria-labelledby="campaign-new-title">
      <h2 id="campaign-new-title">{t('campaigns.new')}</h2>
      <ErrorSummary errors={submission.errors} attempt={submission.attempt} />
      <SelectField id="campaign-organisation" label={t('campaigns.organisation')} value={organisation}
        onChange={setOrganisation} placeholder={t('webhooks.organisation.choose')}
        options={list.map((item) => organisationOption(t, item, depth))}
        error={errorFor(submission.errors, 'campaign-organisation')} />
      <TextField id="campaign-name" label={t('campaigns.name')} value={name} onInput={setName}
        error={errorFor(submission.errors, 'campaign-name')} />
      <SelectField id="campaign-template" label={t('campaigns.template')} value={code} onChange={setCode}
        placeholder={t('campaigns.template.choose')}
        options={(codes.value ?? []).map((item) => ({ value: item.code, label: `${item.code} — ${item.description}` }))}
        error={errorFor(submission.errors, 'campaign-template')} />
      {(template?.variables ?? []).filter((variable) => (variable.kind === 'text' || variable.kind === 'url') && !personal.has(variable.name)).map((variable) => (
        <TextField key={variable.name} id={`campaign-variable-${variable.name}`}
          label={t('campaigns.variable', { name: variable.name })}
          hint={<span lang="en">{variable.description}</span>}
          value={variables[variable.name] ?? ''} required={false}
          onInput={(value) => setVariables({ ...variables, [variable.name]: value })} />
      ))}
      <ChoiceFieldset id="campaign-channel" legend={t('campaigns.channel')} type="radio"
        options={[{ value: 'email', label: named(t, 'prefs.channel', 'email') }, { value: 'sms', label: named(t, 'prefs.channel', 'sms') }]}
        selected={[channel]} onChange={(values) => setChannel(values[0] === 'sms' ? 'sms' : 'email')} />
      <SelectField id="campaign-audience" label={t('campaigns.audience')} value={personType} onChange={setPersonType}
        options={(audiences.value ?? []).map((item) => ({ value: item.person_type, label: named(t, 'campaigns.person_type', item.person_type) }))} />
      {(audience?.criteria ?? []).map((criterion) => (
        <TextField key={criterion.name} id={`campaign-criterion-${criterion.name}`}
          label={t('campaigns.criterion', { name: criterion.name })}
          hint={<span lang="en">{criterion.description}</span>}
          value={criteria[criterion.name] ?? ''} required={false}
          inputMode={criterion.kind === 'integer' ? 'numeric' : 'text'}
          onInput={(value) => setCriteria({ ...criteria, [criterion.name]: value })} />
      ))}
      <SubmitButton busy={submission.busy}>{t('campaigns.create')}</SubmitButton>
    </form>
  );
}

export function CampaignsPage() {
  const { t, lang } = useI18n();
  const campaigns = useLoad(listCampaigns, []);
  const [message, setMessage] = useState<Localised | null>(null);
  const items = campaigns.value ?? [];
  const format = new Intl.DateTimeFormat(lang, { dateStyle: 'short', timeStyle: 'short' });
  return (
    <>
      <h1 tabIndex={-1}>{t('campaigns.title')}</h1>
      <p class="lead">{t('campaigns.lead')}</p>
      <LiveMessage message={message} />
      {campaigns.problem && (
        <div class="notice notice--error" role="alert">
          <p>
            <Text value={problemMessage(campaigns.problem, t)} />
          </p>
        </div>
      )}
      <p role="status" class="result-count">
        {campaigns.value ? t('campaigns.count', { count: items.length }) : t('common.loading')}
      </p>
      {items.length > 0 && (
        <div class="table-wrap">
          <table class="table table--stacked" data-testid="campaigns">
            <caption class="visually-hidden">{t('campaigns.title')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('campaigns.name')}</th>
                <th scope="col">{t('campaigns.template')}</th>
                <th scope="col">{t('campaigns.state')}</th>
                <th scope="col">{t('campaigns.statistics')}</th>
                <th scope="col">{t('campaigns.actions')}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((campaign) => (
                <tr key={campaign.id}>
                  <th scope="row">{campaign.name}</th>
                  <td data-label={t('campaigns.template')}>{campaign.template_code}</td>
                  <td data-label={t('campaigns.state')}>
                    {named(t, 'campaigns.state', campaign.state)}
                    {campaign.scheduled_at && campaign.state === 'scheduled' && (
                      <> — {format.format(new Date(campaign.scheduled_at))}</>
                    )}
                  </td>
                  <td data-label={t('campaigns.statistics')}>
                    <Stats campaign={campaign} />
                  </td>
                  <td data-label={t('campaigns.actions')}>
                    <CampaignActions campaign={campaign} onDone={(text) => { setMessage(text); campaigns.reload(); }} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <NewCampaignForm onCreated={(campaign) => {
        setMessage({ text: t('campaigns.created', { name: campaign.name }) });
        campaigns.reload();
      }} />
    </>
  );
}
