// Fraud screens for admins (W20): the alerts list with a state filter, one alert with its facts
// in words and its closure (a required note, in a dialog), and the rules in force at an
// organisation the admin picks — each kind with its parameters in minutes and euros, where it
// is set (built in, above, here), edited in a form, inherited again with one button.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ErrorSummary, LiveMessage, SelectField, SubmitButton, Text, TextField, ChoiceFieldset, errorFor, useSubmission } from '../components/form';
import { problemOf } from '../api';
import {
  actionTakenName, alertStateName, alertStates, alertSummary, clearFraudRule, closeFraudAlert, factLines, fraudKinds,
  fraudLimits, fraudRight, getFraudAlert, kindFields, oneAlertStateName, kindName, listFraudAlerts, listFraudRules, readRuleForm,
  ruleFormOf, ruleInWords, setFraudRule, type FraudAlert, type FraudKind, type FraudRule, type RuleForm,
} from '../fraud';
import { useI18n, type MessageKey, type Translate } from '../i18n';
import { getOrganisations, type Organisation, type Profile, type User } from '../identity';
import { baseDepth, organisationOption } from '../labels';
import { formatDateTime } from '../pos';
import { formErrors, problemMessage, type FormError, type Localised } from '../problems';
import { Link, navigate, useLocation } from '../router';
import { useSession } from '../session';
import { useLoad } from '../use_load';

function Detail({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

function ProblemNotice({ problem }: { problem: Parameters<typeof problemMessage>[0] | undefined }) {
  const { t } = useI18n();
  if (!problem) return null;
  return (
    <div class="notice notice--error" role="alert">
      <p>
        <Text value={problemMessage(problem, t)} />
      </p>
    </div>
  );
}

/** The summary in the reader's language when the facts say enough, else the server's (English). */
function Summary({ alert }: { alert: FraudAlert }) {
  const { t, lang } = useI18n();
  const words = alertSummary(t, alert, lang);
  return words !== null ? <>{words}</> : <span lang="en">{alert.summary}</span>;
}

const takenBadge: Record<string, string> = { support_opposed: 'suspended', already_opposed: 'suspended', none: 'pending' };

function TakenBadge({ action }: { action: string }) {
  const { t } = useI18n();
  return <span class={`badge badge--${takenBadge[action] ?? 'pending'}`}>{actionTakenName(t, action)}</span>;
}

// ---- Alerts -------------------------------------------------------------------------------------

const oneOf = (value: string | null, allowed: readonly string[], fallback: string) =>
  value && allowed.includes(value) ? value : fallback;

export function FraudAlertsPage() {
  const { t, lang } = useI18n();
  const { query } = useLocation();
  const state = oneOf(query.get('state'), alertStates, 'open');
  const [choice, setChoice] = useState(state);
  useEffect(() => setChoice(state), [state]);
  const alerts = useLoad((signal) => listFraudAlerts(state, signal), [state]);

  const apply = (event: Event) => {
    event.preventDefault();
    navigate(choice === 'open' ? '/wallet/fraud' : `/wallet/fraud?state=${choice}`, { replace: true });
  };
  const list = alerts.value ?? [];
  return (
    <>
      <h1 tabIndex={-1}>{t('fraud.alerts.title')}</h1>
      <p class="lead">{t('fraud.alerts.lead')}</p>
      <p>
        <Link href="/wallet/fraud/rules">{t('fraud.rules.title')}</Link>
      </p>
      <form class="filter-bar" role="search" aria-label={t('fraud.alerts.filter')} onSubmit={apply}>
        <SelectField id="alerts-state" label={t('fraud.alert.field.state')} value={choice} onChange={setChoice}
          options={alertStates.map((value) => ({ value, label: alertStateName(t, value) }))} />
        <button type="submit" class="button button--secondary">
          {t('pos.points.filter.apply')}
        </button>
      </form>
      <ProblemNotice problem={alerts.problem} />
      <p role="status" class="result-count">
        {alerts.value ? t('fraud.alerts.count', { count: list.length }) : t('common.loading')}
      </p>
      {list.length > 0 && (
        <div class="table-wrap">
          <table class="table table--stacked" data-testid="fraud-alerts">
            <caption class="visually-hidden">{t('fraud.alerts.caption')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('fraud.alert.field.rule')}</th>
                <th scope="col">{t('fraud.alert.field.summary')}</th>
                <th scope="col">{t('fraud.alert.field.action_taken')}</th>
                <th scope="col">{t('fraud.alert.field.when')}</th>
                {state !== 'open' && <th scope="col">{t('fraud.alert.field.state')}</th>}
              </tr>
            </thead>
            <tbody>
              {list.map((alert) => (
                <tr key={alert.id}>
                  <th scope="row">
                    <Link href={`/wallet/fraud/alerts/${alert.id}`}>
                      {kindName(t, alert.rule)}
                      <span class="visually-hidden"> — {t('fraud.alert.number', { id: alert.id })}</span>
                    </Link>
                  </th>
                  <td data-label={t('fraud.alert.field.summary')}>
                    <Summary alert={alert} />
                  </td>
                  <td data-label={t('fraud.alert.field.action_taken')}>
                    <TakenBadge action={alert.action_taken} />
                  </td>
                  <td data-label={t('fraud.alert.field.when')}>
                    <time dateTime={alert.created_at}>{formatDateTime(alert.created_at, lang)}</time>
                  </td>
                  {state !== 'open' && <td data-label={t('fraud.alert.field.state')}>{oneAlertStateName(t, alert.state)}</td>}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

/** The closing dialog: a required note on what was found (native <dialog>: focus kept inside). */
function CloseDialog({ onConfirm, onClose }: { onConfirm: (note: string) => Promise<void>; onClose: () => void }) {
  const { t } = useI18n();
  const dialog = useRef<HTMLDialogElement>(null);
  const field = useRef<HTMLTextAreaElement>(null);
  const [note, setNote] = useState('');
  const submission = useSubmission();

  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    element.showModal();
    field.current?.focus();
    return () => element.close();
  }, []);

  const confirm = async (event: Event) => {
    event.preventDefault();
    if (submission.busy) return;
    const text = note.trim();
    if (!text || text.length > fraudLimits.noteLengthMax) {
      submission.fail([{ field: 'close-note', text: t(text ? 'fraud.close.note.long' : 'fraud.close.note.missing') }]);
      return;
    }
    submission.setBusy(true);
    try {
      await onConfirm(text);
      dialog.current?.close();
    } catch (error) {
      submission.fail([problemMessage(problemOf(error), t)]);
      submission.setBusy(false);
    }
  };

  const error = errorFor(submission.errors, 'close-note');
  return (
    <dialog ref={dialog} class="dialog" aria-labelledby="close-title" aria-describedby="close-body" onClose={onClose}>
      <form noValidate onSubmit={confirm}>
        <h2 id="close-title" class="dialog__title">
          {t('fraud.close.title')}
        </h2>
        <p id="close-body">{t('fraud.close.body')}</p>
        <ErrorSummary errors={submission.errors} attempt={submission.attempt} />
        <div class={`field${error ? ' field--error' : ''}`}>
          <label class="field__label" for="close-note">
            {t('fraud.close.note')}
          </label>
          {error && (
            <p class="field__error" id="close-note-error">
              <Text value={error} />
            </p>
          )}
          <textarea id="close-note" class="input" rows={4} ref={field} value={note} required
            maxLength={fraudLimits.noteLengthMax} aria-invalid={error ? 'true' : undefined}
            aria-describedby={error ? 'close-note-error' : undefined}
            onInput={(event) => setNote(event.currentTarget.value)} />
        </div>
        <p class="button-row">
          <button type="submit" class="button button--primary" aria-disabled={submission.busy}>
            {t('fraud.close.confirm')}
          </button>
          <button type="button" class="button button--secondary" onClick={() => dialog.current?.close()}>
            {t('common.cancel')}
          </button>
        </p>
      </form>
    </dialog>
  );
}

/** The rule as it stood when the alert was raised (kept in its facts), if the facts have it. */
function ruleOfAlert(alert: FraudAlert): FraudRule | null {
  const rule = alert.facts.rule;
  if (!rule || typeof rule !== 'object' || Array.isArray(rule)) return null;
  const r = rule as Record<string, unknown>;
  const number = (value: unknown) => (typeof value === 'number' ? value : undefined);
  return {
    kind: alert.rule, enabled: true, action: typeof r.action === 'string' ? r.action : 'alert', set_at: null,
    count: number(r.count), window_s: number(r.window_s), amount_cents: number(r.amount_cents),
    site_depth: number(r.site_depth),
  };
}

export function FraudAlertPage({ id }: { id: string }) {
  const { t, lang } = useI18n();
  const { permissions } = useSession();
  const alertId = /^\d+$/.test(id) ? Number(id) : 0;
  const alert = useLoad((signal) => getFraudAlert(alertId, signal), [alertId]);
  const [closing, setClosing] = useState(false);
  const [done, setDone] = useState<Localised | null>(null);
  const value = alert.value;
  const title = value ? t('fraud.alert.title', { rule: kindName(t, value.rule), id: value.id }) : t('fraud.alert.detail.title');

  return (
    <>
      <p>
        <Link href="/wallet/fraud">{t('fraud.alerts.back')}</Link>
      </p>
      <h1 tabIndex={-1}>{title}</h1>
      <ProblemNotice problem={alert.problem} />
      {!value && !alert.problem && <p role="status">{t('common.loading')}</p>}
      <LiveMessage message={done} tone="success" />
      {value && (
        <>
          <p class="lead">
            <Summary alert={value} />
          </p>
          {ruleOfAlert(value) && (
            <p data-testid="alert-rule">
              {t('fraud.alert.rule_then', { rule: ruleInWords(t, ruleOfAlert(value) as FraudRule, lang) })}
            </p>
          )}
          <dl class="details">
            <Detail label={t('fraud.alert.field.state')}>
              <span data-testid="alert-state">{oneAlertStateName(t, value.state)}</span>
            </Detail>
            <Detail label={t('fraud.alert.field.action_taken')}>
              <TakenBadge action={value.action_taken} />
            </Detail>
            <Detail label={t('fraud.alert.field.when')}>
              <time dateTime={value.created_at}>{formatDateTime(value.created_at, lang)}</time>
            </Detail>
            <Detail label={t('fraud.alert.field.subject')}>
              <code>{value.subject}</code>
            </Detail>
            {value.point_id !== null && (
              <Detail label={t('fraud.alert.field.point')}>
                <Link href={`/wallet/points/${value.point_id}`}>{t('fraud.alert.point', { id: value.point_id })}</Link>
              </Detail>
            )}
            {value.support_id !== null && <Detail label={t('fraud.alert.field.support')}>{value.support_id}</Detail>}
            {value.holder_id !== null && <Detail label={t('fraud.alert.field.holder')}>{value.holder_id}</Detail>}
            {value.phone_id !== null && <Detail label={t('fraud.alert.field.phone')}>{value.phone_id}</Detail>}
            {value.closed_at && (
              <Detail label={t('fraud.alert.field.closed_at')}>
                <time dateTime={value.closed_at}>{formatDateTime(value.closed_at, lang)}</time>
              </Detail>
            )}
            {value.note && (
              <Detail label={t('fraud.close.note')}>
                <span data-testid="alert-note">{value.note}</span>
              </Detail>
            )}
          </dl>
          <h2>{t('fraud.alert.facts')}</h2>
          <dl class="details" data-testid="alert-facts">
            {factLines(t, value.facts, lang).map((line) => (
              <Detail key={line.key} label={line.label}>
                {line.points ? (
                  line.points.map((point, index) => (
                    <span key={point}>
                      {index > 0 && ', '}
                      <Link href={`/wallet/points/${point}`}>{t('fraud.alert.point', { id: point })}</Link>
                    </span>
                  ))
                ) : (
                  line.value
                )}
              </Detail>
            ))}
          </dl>
          {value.action_taken === 'support_opposed' && <p class="notice">{t('fraud.alert.opposed_stays')}</p>}
          {value.state === 'open' && permissions.has(fraudRight.manage) && (
            <p class="button-row">
              <button type="button" class="button button--primary" onClick={() => setClosing(true)}>
                {t('fraud.close.open')}
              </button>
            </p>
          )}
          {closing && (
            <CloseDialog
              onClose={() => setClosing(false)}
              onConfirm={async (note) => {
                const closed = await closeFraudAlert(value.id, note);
                alert.set(closed);
                setDone({ text: t('fraud.close.done') });
              }}
            />
          )}
        </>
      )}
    </>
  );
}

// ---- Rules --------------------------------------------------------------------------------------

/** Where a rule is set, in words: built in, here, or the organisation above that set it. */
function whereSet(t: Translate, rule: FraudRule, here: number, organisations: readonly Organisation[]): string {
  if (!rule.set_at) return t('fraud.rule.set.builtin');
  if (rule.set_at.organisation_id === here) return t('fraud.rule.set.here');
  const above = organisations.find((org) => org.id === rule.set_at?.organisation_id);
  if (above?.kind === 'national') return t('fraud.rule.set.national', { name: above.name });
  return t('fraud.rule.set.above', { name: above?.name ?? `#${rule.set_at.organisation_id}` });
}

const ruleFieldIds: Record<string, string> = {
  count: 'count', minutes: 'minutes', euros: 'euros', depth: 'depth', action: 'action',
};
const errorKeys: Record<string, MessageKey> = {
  count: 'fraud.rule.count.invalid', minutes: 'fraud.rule.minutes.invalid', euros: 'fraud.rule.euros.invalid',
  depth: 'fraud.rule.depth.invalid', action: 'fraud.rule.action.invalid',
};

function RuleEditor({ kind, rule, organisationId, onSaved, onCancel }: {
  kind: FraudKind;
  rule: FraudRule;
  organisationId: number;
  onSaved: (rule: FraudRule) => void;
  onCancel: () => void;
}) {
  const { t, lang } = useI18n();
  const [form, setForm] = useState<RuleForm>(() => ruleFormOf(rule, lang));
  const submission = useSubmission();
  const fields = kindFields[kind];
  const prefix = `rule-${kind}`;
  const set = (change: Partial<RuleForm>) => setForm({ ...form, ...change });
  const error = (field: string) => errorFor(submission.errors, `${prefix}-${field}`);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);

  const submit = async (event: Event) => {
    event.preventDefault();
    if (submission.busy) return;
    const read = readRuleForm(kind, form);
    if ('errors' in read) {
      submission.fail(read.errors.map((field): FormError => ({
        field: `${prefix}-${ruleFieldIds[field] ?? field}`,
        text: t(errorKeys[field] ?? 'problem.invalid', { max: fraudLimits.countMax }),
      })));
      return;
    }
    submission.setBusy(true);
    try {
      onSaved(await setFraudRule(organisationId, kind, read.body));
    } catch (caught) {
      submission.fail(formErrors(problemOf(caught), t, {
        '/count': `${prefix}-count`, '/window_s': `${prefix}-minutes`, '/amount_cents': `${prefix}-euros`,
        '/site_depth': `${prefix}-depth`, '/action': `${prefix}-action`,
      }));
      submission.setBusy(false);
    }
  };

  return (
    <form noValidate onSubmit={submit} class="rule-editor" aria-labelledby={`${prefix}-edit-title`}>
      <h4 id={`${prefix}-edit-title`} tabIndex={-1} ref={heading}>
        {t('fraud.rule.edit.title', { kind: kindName(t, kind) })}
      </h4>
      <ErrorSummary errors={submission.errors} attempt={submission.attempt} />
      <ChoiceFieldset id={`${prefix}-enabled`} legend={t('fraud.rule.field.enabled')} type="checkbox"
        options={[{ value: 'on', label: t('fraud.rule.enabled.label') }]} selected={form.enabled ? ['on'] : []}
        onChange={(selected) => set({ enabled: selected.includes('on') })} />
      {fields.count && (
        <TextField id={`${prefix}-count`} label={t('fraud.rule.field.count')} hint={t(`fraud.rule.count.hint.${kind}` as MessageKey)}
          value={form.count} onInput={(count) => set({ count })} inputMode="numeric" autocomplete="off" error={error('count')} />
      )}
      {fields.window && (
        <TextField id={`${prefix}-minutes`} label={t('fraud.rule.field.minutes')} hint={t('fraud.rule.minutes.hint')}
          value={form.minutes} onInput={(minutes) => set({ minutes })} inputMode="numeric" autocomplete="off"
          error={error('minutes')} />
      )}
      {fields.amount && (
        <TextField id={`${prefix}-euros`} label={t('fraud.rule.field.euros')} hint={t('fraud.rule.euros.hint')}
          value={form.euros} onInput={(euros) => set({ euros })} autocomplete="off" error={error('euros')} />
      )}
      {fields.depth && (
        <TextField id={`${prefix}-depth`} label={t('fraud.rule.field.depth')} hint={t('fraud.rule.depth.hint')}
          value={form.depth} onInput={(depth) => set({ depth })} inputMode="numeric" autocomplete="off"
          error={error('depth')} />
      )}
      <ChoiceFieldset id={`${prefix}-action`} legend={t('fraud.rule.field.action')} type="radio"
        options={[
          { value: 'alert', label: t('fraud.action.alert') },
          { value: 'oppose', label: t('fraud.action.oppose'), hint: t('fraud.action.oppose.hint') },
        ]}
        selected={[form.action]} onChange={(selected) => set({ action: selected[0] ?? 'alert' })} error={error('action')} />
      <p class="button-row">
        <SubmitButton busy={submission.busy}>{t('fraud.rule.save')}</SubmitButton>
        <button type="button" class="button button--secondary" onClick={onCancel}>
          {t('common.cancel')}
        </button>
      </p>
    </form>
  );
}

function RuleCard({ rule, organisationId, organisations, onChanged }: {
  rule: FraudRule;
  organisationId: number;
  organisations: readonly Organisation[];
  onChanged: (message: Localised) => void;
}) {
  const { t, lang } = useI18n();
  const { permissions } = useSession();
  const [editing, setEditing] = useState(false);
  const [problem, setProblem] = useState<Localised | null>(null);
  const kind = rule.kind as FraudKind;
  const known = (fraudKinds as readonly string[]).includes(rule.kind);
  const mine = rule.set_at?.organisation_id === organisationId;
  const manage = permissions.has(fraudRight.manage) && known;
  // After a save or "inherit again" the button pressed is gone: the focus goes to the rule's heading.
  const heading = useRef<HTMLHeadingElement>(null);
  const focusHeading = () => setTimeout(() => heading.current?.focus(), 0);

  const inherit = async () => {
    setProblem(null);
    try {
      await clearFraudRule(organisationId, rule.kind);
      onChanged({ text: t('fraud.rule.inherited', { kind: kindName(t, rule.kind) }) });
      focusHeading();
    } catch (caught) {
      setProblem(problemMessage(problemOf(caught), t));
    }
  };

  return (
    <section class="card" aria-labelledby={`rule-${rule.kind}-title`} data-testid={`rule-${rule.kind}`}>
      <h3 id={`rule-${rule.kind}-title`} tabIndex={-1} ref={heading}>
        {kindName(t, rule.kind)}
      </h3>
      <p data-testid={`rule-${rule.kind}-words`}>
        {rule.enabled ? ruleInWords(t, rule, lang) : t('fraud.rule.disabled')}
      </p>
      <dl class="details">
        <Detail label={t('fraud.rule.field.action')}>
          {rule.action === 'oppose' ? t('fraud.action.oppose') : t('fraud.action.alert')}
        </Detail>
        <Detail label={t('fraud.rule.field.set_at')}>
          <span data-testid={`rule-${rule.kind}-set`}>{whereSet(t, rule, organisationId, organisations)}</span>
        </Detail>
      </dl>
      {problem && (
        <div class="notice notice--error" role="alert">
          <p>
            <Text value={problem} />
          </p>
        </div>
      )}
      {manage && !editing && (
        <p class="button-row">
          <button type="button" class="button button--secondary" onClick={() => setEditing(true)}>
            {t('fraud.rule.edit', { kind: kindName(t, rule.kind) })}
          </button>
          {mine && (
            <button type="button" class="button button--secondary" onClick={() => void inherit()}>
              {t('fraud.rule.inherit', { kind: kindName(t, rule.kind) })}
            </button>
          )}
        </p>
      )}
      {manage && editing && (
        <RuleEditor kind={kind} rule={rule} organisationId={organisationId}
          onCancel={() => {
            setEditing(false);
            focusHeading();
          }}
          onSaved={() => {
            setEditing(false);
            onChanged({ text: t('fraud.rule.saved', { kind: kindName(t, rule.kind) }) });
            focusHeading();
          }} />
      )}
    </section>
  );
}

/**
 * The organisations where the reader may read fraud rules: those under an organisation where one
 * of their grants gives wallet.fraud.read (the server still judges; it answers 404 elsewhere).
 */
function fraudScope(all: readonly Organisation[], user: User | undefined, profiles: readonly Profile[] | null) {
  const roots = (user?.grants ?? [])
    .filter((grant) => profiles?.find((profile) => profile.code === grant.profile)?.permissions.includes(fraudRight.read))
    .map((grant) => all.find((org) => org.id === grant.organisation_id)?.path)
    .filter((path): path is string => !!path);
  return roots.length > 0 ? all.filter((org) => roots.some((root) => org.path.startsWith(root))) : [...all];
}

export function FraudRulesPage() {
  const { t } = useI18n();
  const { query } = useLocation();
  const session = useSession();
  const organisations = useLoad(getOrganisations, []);
  const list = fraudScope(organisations.value ?? [], session.state.kind === 'active' ? session.state.user : undefined,
    session.profiles);
  const depth = baseDepth(list);
  const asked = query.get('organisation');
  const chosen = asked && /^\d+$/.test(asked) ? Number(asked) : (list[0]?.id ?? 0);
  const [choice, setChoice] = useState(String(chosen || ''));
  useEffect(() => setChoice(String(chosen || '')), [chosen]);
  const rules = useLoad(chosen ? (signal) => listFraudRules(chosen, signal) : null, [chosen]);
  const [message, setMessage] = useState<Localised | null>(null);

  const apply = (event: Event) => {
    event.preventDefault();
    if (choice) navigate(`/wallet/fraud/rules?organisation=${choice}`, { replace: true });
  };
  const here = list.find((org) => org.id === chosen);
  return (
    <>
      <p>
        <Link href="/wallet/fraud">{t('fraud.alerts.back')}</Link>
      </p>
      <h1 tabIndex={-1}>{t('fraud.rules.title')}</h1>
      <p class="lead">{t('fraud.rules.lead')}</p>
      <form class="filter-bar" aria-label={t('fraud.rules.pick')} onSubmit={apply}>
        <SelectField id="rules-organisation" label={t('fraud.rules.organisation')} value={choice} onChange={setChoice}
          options={list.map((org) => organisationOption(t, org, depth))} />
        <button type="submit" class="button button--secondary">
          {t('fraud.rules.show')}
        </button>
      </form>
      <ProblemNotice problem={organisations.problem ?? rules.problem} />
      <LiveMessage message={message} tone="success" />
      {here && rules.value && <h2>{t('fraud.rules.at', { name: here.name })}</h2>}
      {!rules.value && !rules.problem && chosen > 0 && <p role="status">{t('common.loading')}</p>}
      {rules.value && (
        <div class="cards">
          {rules.value.map((rule) => (
            <RuleCard key={`${chosen}-${rule.kind}`} rule={rule}
              organisationId={chosen} organisations={list}
              onChanged={(done) => {
                setMessage(done);
                rules.reload();
              }} />
          ))}
        </div>
      )}
    </>
  );
}
