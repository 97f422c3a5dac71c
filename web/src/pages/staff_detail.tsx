import { useEffect, useRef, useState } from 'preact/hooks';
import { problemOf } from '../api';
import { AuditTimeline } from '../components/audit_timeline';
import {
  ErrorSummary,
  LiveMessage,
  SelectField,
  SubmitButton,
  Text,
  errorFor,
  useSubmission,
} from '../components/form';
import { setFlash } from '../components/flash';
import { useI18n } from '../i18n';
import {
  addGrant,
  deleteStaff,
  getHistory,
  getOrganisations,
  getStaff,
  listStaff,
  removeGrant,
  updateStaff,
  type Grant,
  type User,
} from '../identity';
import { baseDepth, languageName, organisationOption, profileName } from '../labels';
import { formErrors, problemMessage, type FormError, type Localised } from '../problems';
import { Link, navigate } from '../router';
import { useSession, useUser } from '../session';
import { useLoad } from '../use_load';
import { StatusBadge } from './staff_list';
import { profilesFor, useProfileHint } from './staff_new';

export function StaffDetailPage({ id }: { id: string }) {
  const { t } = useI18n();
  const me = useUser();
  const { permissions } = useSession();
  const staffId = /^\d+$/.test(id) ? Number(id) : 0;
  const person = useLoad((signal) => getStaff(staffId, signal), [staffId]);
  const canAudit = permissions.has('audit.read');
  const history = useLoad(
    canAudit ? (signal) => getHistory('user', staffId, signal) : null,
    [staffId],
  );
  // Names for the "who" of the history; the ids alone if this list is not available.
  const colleagues = useLoad(canAudit ? (signal) => listStaff(undefined, signal) : null, []);
  const [message, setMessage] = useState<Localised | null>(null);
  const [problem, setProblem] = useState<Localised | null>(null);

  const user = person.value;
  const canManage = permissions.has('identity.staff.manage') && !!user && user.id !== me.id;

  /** After a change: show the new state, say what happened, and reread the history. */
  const changed = (updated: User, text: string) => {
    person.set(updated);
    setProblem(null);
    setMessage({ text });
    history.reload();
  };
  const refused = (error: unknown) => {
    setMessage(null);
    setProblem(problemMessage(problemOf(error), t));
  };

  if (!staffId || person.problem) {
    return (
      <>
        <h1 tabIndex={-1}>{t('staff.detail.title')}</h1>
        <div class="notice notice--error" role="alert">
          <p>
            {person.problem ? (
              <Text value={problemMessage(person.problem, t)} />
            ) : (
              t('problem.staff_not_found')
            )}
          </p>
        </div>
        <p class="back-link">
          <Link href="/staff">{t('staff.back')}</Link>
        </p>
      </>
    );
  }

  return (
    <>
      <p class="back-link back-link--top">
        <Link href="/staff">{t('staff.back')}</Link>
      </p>
      <h1 tabIndex={-1}>{user ? user.display_name : t('staff.detail.title')}</h1>
      {!user && <p role="status">{t('common.loading')}</p>}
      <LiveMessage message={message} />
      {problem && (
        <div class="notice notice--error" role="alert">
          <p>
            <Text value={problem} />
          </p>
        </div>
      )}
      {user && (
        <>
          <section aria-labelledby="staff-details-title">
            <h2 id="staff-details-title">{t('account.details')}</h2>
            <dl class="details">
              <div>
                <dt>{t('staff.field.email')}</dt>
                <dd>{user.email}</dd>
              </div>
              <div>
                <dt>{t('staff.field.language')}</dt>
                <dd>{languageName(user.language)}</dd>
              </div>
              <div>
                <dt>{t('staff.field.status')}</dt>
                <dd data-testid="staff-status">
                  <StatusBadge status={user.status} />
                </dd>
              </div>
              <div>
                <dt>{t('account.second_factor')}</dt>
                <dd>
                  {user.second_factor_enabled
                    ? t('staff.second_factor.on')
                    : user.second_factor_required
                      ? t('staff.second_factor.missing')
                      : t('staff.second_factor.off')}
                </dd>
              </div>
              {user.must_change_password && (
                <div>
                  <dt>{t('audit.field.must_change_password')}</dt>
                  <dd>{t('common.yes')}</dd>
                </div>
              )}
            </dl>
            {user.id === me.id && <p class="field__hint">{t('staff.self')}</p>}
            {canManage && (
              <AccountActions
                user={user}
                onChanged={changed}
                onRefused={refused}
              />
            )}
          </section>

          <section aria-labelledby="staff-profiles-title">
            <h2 id="staff-profiles-title" tabIndex={-1}>
              {t('staff.field.profiles')}
            </h2>
            <GrantList
              user={user}
              canManage={canManage}
              onChanged={changed}
              onRefused={refused}
            />
            {canManage && <AddGrantForm user={user} onChanged={changed} />}
          </section>
        </>
      )}

      {canAudit && (
        <section aria-labelledby="staff-history-title">
          <h2 id="staff-history-title">{t('audit.title')}</h2>
          <div aria-busy={history.loading}>
            {history.problem ? (
              <div class="notice notice--error">
                <p>
                  <Text value={problemMessage(history.problem, t)} />
                </p>
              </div>
            ) : history.value ? (
              history.value.length === 0 ? (
                <p>{t('audit.empty')}</p>
              ) : (
                <AuditTimeline
                  entries={history.value}
                  actorName={(actorId) =>
                    colleagues.value?.find((colleague) => colleague.id === actorId)?.display_name
                  }
                />
              )
            ) : (
              <p>{t('common.loading')}</p>
            )}
          </div>
        </section>
      )}
    </>
  );
}

interface ChangeProps {
  user: User;
  onChanged: (user: User, message: string) => void;
  onRefused: (error: unknown) => void;
}

function AccountActions({ user, onChanged, onRefused }: ChangeProps) {
  const { t } = useI18n();
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const suspended = user.status === 'suspended';

  const toggleStatus = async () => {
    if (busy) return;
    setBusy(true);
    try {
      const updated = await updateStaff(user.id, { status: suspended ? 'active' : 'suspended' });
      onChanged(
        updated,
        t(suspended ? 'staff.reactivated' : 'staff.suspended', { name: updated.display_name }),
      );
    } catch (error) {
      onRefused(error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <h3>{t('staff.actions')}</h3>
      <p class="button-row">
        <button
          type="button"
          class="button button--secondary"
          aria-disabled={busy}
          onClick={() => void toggleStatus()}
        >
          {suspended ? t('staff.reactivate') : t('staff.suspend')}
        </button>
        <button type="button" class="button button--danger" onClick={() => setConfirming(true)}>
          {t('staff.delete')}
        </button>
      </p>
      {confirming && <DeleteDialog user={user} onClose={() => setConfirming(false)} />}
    </>
  );
}

/** A modal dialog (native <dialog>: it keeps the focus inside and closes with Escape). */
function DeleteDialog({ user, onClose }: { user: User; onClose: () => void }) {
  const { t } = useI18n();
  const dialog = useRef<HTMLDialogElement>(null);
  const cancel = useRef<HTMLButtonElement>(null);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Localised | null>(null);

  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    element.showModal();
    // The safe choice has the focus: Enter must not delete by accident.
    cancel.current?.focus();
    return () => element.close();
  }, []);

  const confirm = async () => {
    if (busy) return;
    setBusy(true);
    try {
      await deleteStaff(user.id);
      setFlash(t('staff.deleted', { name: user.display_name }), '/staff');
      navigate('/staff');
    } catch (error) {
      setProblem(problemMessage(problemOf(error), t));
      setBusy(false);
    }
  };

  return (
    <dialog
      ref={dialog}
      class="dialog"
      aria-labelledby="delete-title"
      aria-describedby="delete-body"
      onClose={onClose}
    >
      <h2 id="delete-title" class="dialog__title">
        {t('staff.delete.title', { name: user.display_name })}
      </h2>
      <p id="delete-body">{t('staff.delete.body')}</p>
      {problem && (
        <div class="notice notice--error" role="alert">
          <p>
            <Text value={problem} />
          </p>
        </div>
      )}
      <p class="button-row">
        <button
          type="button"
          class="button button--danger"
          aria-disabled={busy}
          onClick={() => void confirm()}
        >
          {t('staff.delete.confirm')}
        </button>
        <button
          type="button"
          class="button button--secondary"
          ref={cancel}
          onClick={() => dialog.current?.close()}
        >
          {t('common.cancel')}
        </button>
      </p>
    </dialog>
  );
}

function GrantList({ user, canManage, onChanged, onRefused }: ChangeProps & { canManage: boolean }) {
  const { t, lang } = useI18n();
  const { profiles } = useSession();
  const [busy, setBusy] = useState(false);

  const remove = async (grant: Grant) => {
    if (busy) return;
    setBusy(true);
    const name = profileName(profiles, grant.profile, lang);
    try {
      const updated = await removeGrant(user.id, grant.id);
      onChanged(
        updated,
        t('staff.grant.removed', { profile: name, organisation: grant.organisation_name }),
      );
      // The button that had the focus is gone.
      document.getElementById('staff-profiles-title')?.focus();
    } catch (error) {
      onRefused(error);
    } finally {
      setBusy(false);
    }
  };

  if (user.grants.length === 0) return <p>{t('staff.grants.none')}</p>;
  return (
    <ul class="grant-list">
      {user.grants.map((grant) => {
        const name = profileName(profiles, grant.profile, lang);
        return (
          <li key={grant.id} class="grant-list__item">
            <span>
              <strong>{name}</strong>
              <span class="grant-list__where">
                {t('staff.grant.at', { organisation: grant.organisation_name })}
              </span>
            </span>
            {canManage && (
              <button
                type="button"
                class="button button--secondary button--small"
                aria-disabled={busy}
                onClick={() => void remove(grant)}
              >
                {t('staff.grant.remove')}
                <span class="visually-hidden">
                  {' '}
                  {t('staff.grant.remove.what', {
                    profile: name,
                    organisation: grant.organisation_name,
                  })}
                </span>
              </button>
            )}
          </li>
        );
      })}
    </ul>
  );
}

function AddGrantForm({ user, onChanged }: Omit<ChangeProps, 'onRefused'>) {
  const { t, lang } = useI18n();
  const { profiles } = useSession();
  const profileHint = useProfileHint();
  const organisations = useLoad(getOrganisations, []);
  const form = useSubmission();
  const [organisationId, setOrganisationId] = useState('');
  const [profile, setProfile] = useState('');

  const orgList = organisations.value ?? [];
  const organisation = orgList.find((candidate) => String(candidate.id) === organisationId);
  const allowed = profilesFor(profiles ?? [], organisation).filter(
    (candidate) =>
      !user.grants.some(
        (grant) => grant.profile === candidate.code && grant.organisation_id === organisation?.id,
      ),
  );

  const onSubmit = async (event: Event) => {
    event.preventDefault();
    if (form.busy) return;
    const errors: FormError[] = [];
    if (!organisation) {
      errors.push({ field: 'grant-organisation', text: t('staff.organisation.missing') });
    } else if (!profile) {
      errors.push({ field: 'grant-profile', text: t('staff.profile.missing') });
    }
    if (errors.length > 0 || !organisation) return form.fail(errors);
    form.setBusy(true);
    try {
      const updated = await addGrant(user.id, organisation.id, profile);
      form.clear();
      setProfile('');
      onChanged(
        updated,
        t('staff.grant.added', {
          profile: profileName(profiles, profile, lang),
          organisation: organisation.name,
        }),
      );
    } catch (error) {
      form.fail(
        formErrors(problemOf(error), t, {
          '/organisation_id': 'grant-organisation',
          '/profile': 'grant-profile',
        }),
      );
    } finally {
      form.setBusy(false);
    }
  };

  return (
    <>
      <h3 id="grant-add-title">{t('staff.grant.add')}</h3>
      <ErrorSummary errors={form.errors} attempt={form.attempt} />
      <form
        class="form narrow"
        noValidate
        onSubmit={onSubmit}
        aria-labelledby="grant-add-title"
        aria-busy={form.busy}
      >
        <SelectField
          id="grant-organisation"
          label={t('staff.field.organisation')}
          value={organisationId}
          onChange={(value) => {
            setOrganisationId(value);
            setProfile('');
          }}
          placeholder={t('staff.organisation.choose')}
          options={orgList.map((candidate) => organisationOption(t, candidate, baseDepth(orgList)))}
          error={errorFor(form.errors, 'grant-organisation')}
        />
        <SelectField
          id="grant-profile"
          label={t('staff.field.profile')}
          hint={organisation ? undefined : t('staff.profiles.choose_first')}
          value={profile}
          onChange={setProfile}
          placeholder={
            organisation && allowed.length === 0
              ? t('staff.profiles.none')
              : t('staff.profile.choose')
          }
          options={allowed.map((candidate) => ({
            value: candidate.code,
            label: `${lang === 'fr' ? candidate.name_fr : candidate.name_en} — ${profileHint(candidate)}`,
          }))}
          error={errorFor(form.errors, 'grant-profile')}
        />
        <SubmitButton busy={form.busy}>{t('staff.grant.submit')}</SubmitButton>
      </form>
    </>
  );
}
