import { useEffect, useState } from 'preact/hooks';
import { problemOf } from '../api';
import {
  ChoiceFieldset,
  ErrorSummary,
  PasswordField,
  PasswordRules,
  SelectField,
  SubmitButton,
  Text,
  TextField,
  errorFor,
  useSubmission,
} from '../components/form';
import { setFlash } from '../components/flash';
import { isMessageKey, languageNames, languages, useI18n, type Lang } from '../i18n';
import { createStaff, getOrganisations, type NewStaff, type Organisation, type Profile } from '../identity';
import { baseDepth, organisationOption } from '../labels';
import { formErrors, problemMessage, type FormError } from '../problems';
import { Link, navigate } from '../router';
import { useSession } from '../session';
import { useLoad } from '../use_load';

const pointers = {
  '/email': 'staff-email',
  '/display_name': 'staff-name',
  '/language': 'staff-language',
  '/organisation_id': 'staff-organisation',
  '/profiles': 'staff-profiles',
  '/initial_password': 'staff-password',
  '/password': 'staff-password',
};

const looksLikeEmail = (value: string) => /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value);

/** The profiles that may be held in an organisation of this kind. */
export const profilesFor = (profiles: readonly Profile[], organisation: Organisation | undefined) =>
  organisation ? profiles.filter((profile) => profile.organisation_kinds.includes(organisation.kind)) : [];

/** "Portail famille · double authentification" under a profile's name. */
export function useProfileHint() {
  const { t } = useI18n();
  return (profile: Profile) => {
    const key = `service.${profile.product}.name`;
    const product = isMessageKey(key) ? t(key) : profile.product;
    return profile.strong_authentication ? `${product} · ${t('staff.profile.strong')}` : product;
  };
}

export function StaffNewPage() {
  const { t, lang } = useI18n();
  const { profiles } = useSession();
  const organisations = useLoad(getOrganisations, []);
  const form = useSubmission();
  const profileHint = useProfileHint();
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [language, setLanguage] = useState<Lang>(lang);
  const [organisationId, setOrganisationId] = useState('');
  const [chosen, setChosen] = useState<string[]>([]);
  const [access, setAccess] = useState<'invite' | 'password'>('invite');
  const [password, setPassword] = useState('');

  const orgList = organisations.value ?? [];
  const organisation = orgList.find((candidate) => String(candidate.id) === organisationId);
  const allowed = profilesFor(profiles ?? [], organisation);

  // With a single organisation in scope there is nothing to choose.
  useEffect(() => {
    if (orgList.length === 1 && !organisationId) setOrganisationId(String(orgList[0]?.id));
  }, [orgList.length]);

  const chooseOrganisation = (id: string) => {
    setOrganisationId(id);
    const kind = orgList.find((candidate) => String(candidate.id) === id)?.kind;
    // Profiles that cannot be held there are dropped rather than sent to be refused.
    setChosen((current) =>
      current.filter((code) =>
        profiles?.find((profile) => profile.code === code)?.organisation_kinds.includes(kind ?? ''),
      ),
    );
  };

  const onSubmit = async (event: Event) => {
    event.preventDefault();
    if (form.busy) return;
    const errors: FormError[] = [];
    if (!name.trim()) errors.push({ field: 'staff-name', text: t('staff.name.missing') });
    if (!looksLikeEmail(email.trim())) {
      errors.push({ field: 'staff-email', text: t('forgot.email.invalid') });
    }
    if (!organisation) {
      errors.push({ field: 'staff-organisation', text: t('staff.organisation.missing') });
    } else if (chosen.length === 0) {
      errors.push({ field: 'staff-profiles', text: t('staff.profiles.missing') });
    }
    if (access === 'password' && !password) {
      errors.push({ field: 'staff-password', text: t('password.new.missing') });
    }
    if (errors.length > 0 || !organisation) return form.fail(errors);
    const staff: NewStaff = {
      email: email.trim(),
      display_name: name.trim(),
      language,
      organisation_id: organisation.id,
      profiles: chosen,
    };
    if (access === 'password') staff.initial_password = password;
    form.setBusy(true);
    try {
      const created = await createStaff(staff);
      form.clear();
      const path = `/staff/${created.id}`;
      setFlash(
        t(access === 'password' ? 'staff.created.password' : 'staff.created.invited', {
          name: created.display_name,
        }),
        path,
      );
      navigate(path);
    } catch (error) {
      form.fail(formErrors(problemOf(error), t, pointers));
    } finally {
      form.setBusy(false);
    }
  };

  if (organisations.problem) {
    return (
      <>
        <h1 tabIndex={-1}>{t('staff.new.title')}</h1>
        <div class="notice notice--error" role="alert">
          <p>
            <Text value={problemMessage(organisations.problem, t)} />
          </p>
        </div>
      </>
    );
  }

  return (
    <>
      <h1 tabIndex={-1}>{t('staff.new.title')}</h1>
      <p class="lead">{t('staff.new.lead')}</p>
      <ErrorSummary errors={form.errors} attempt={form.attempt} />
      <form class="form narrow" noValidate onSubmit={onSubmit} aria-busy={form.busy}>
        <p class="field__hint">{t('form.all_required')}</p>
        <TextField
          id="staff-name"
          label={t('staff.field.name')}
          hint={t('staff.name.hint')}
          autocomplete="off"
          value={name}
          onInput={setName}
          error={errorFor(form.errors, 'staff-name')}
        />
        <TextField
          id="staff-email"
          label={t('staff.field.email')}
          type="email"
          autocomplete="off"
          spellcheck={false}
          value={email}
          onInput={setEmail}
          error={errorFor(form.errors, 'staff-email')}
        />
        <ChoiceFieldset
          id="staff-language"
          legend={t('staff.field.language')}
          type="radio"
          options={languages.map((code) => ({ value: code, label: languageNames[code] }))}
          selected={[language]}
          onChange={(values) => setLanguage((values[0] as Lang | undefined) ?? 'fr')}
          error={errorFor(form.errors, 'staff-language')}
        />
        <SelectField
          id="staff-organisation"
          label={t('staff.field.organisation')}
          hint={t('staff.organisation.hint')}
          value={organisationId}
          onChange={chooseOrganisation}
          placeholder={organisations.loading ? t('common.loading') : t('staff.organisation.choose')}
          options={orgList.map((candidate) => organisationOption(t, candidate, baseDepth(orgList)))}
          error={errorFor(form.errors, 'staff-organisation')}
        />
        <ChoiceFieldset
          id="staff-profiles"
          legend={t('staff.field.profiles')}
          hint={organisation ? t('staff.profiles.hint', { organisation: organisation.name }) : undefined}
          type="checkbox"
          options={allowed.map((profile) => ({
            value: profile.code,
            label: lang === 'fr' ? profile.name_fr : profile.name_en,
            hint: profileHint(profile),
          }))}
          selected={chosen}
          onChange={setChosen}
          error={errorFor(form.errors, 'staff-profiles')}
          empty={
            <p class="field__hint">
              {organisation ? t('staff.profiles.none') : t('staff.profiles.choose_first')}
            </p>
          }
        />
        <ChoiceFieldset
          id="staff-access"
          legend={t('staff.access')}
          type="radio"
          options={[
            { value: 'invite', label: t('staff.access.invite'), hint: t('staff.access.invite.hint') },
            {
              value: 'password',
              label: t('staff.access.password'),
              hint: t('staff.access.password.hint'),
            },
          ]}
          selected={[access]}
          onChange={(values) => setAccess(values[0] === 'password' ? 'password' : 'invite')}
        />
        {access === 'password' && (
          <div class="conditional">
            <PasswordRules id="staff-password-rules" />
            <PasswordField
              id="staff-password"
              label={t('staff.field.initial_password')}
              autocomplete="new-password"
              describedBy="staff-password-rules"
              value={password}
              onInput={setPassword}
              error={errorFor(form.errors, 'staff-password')}
            />
          </div>
        )}
        <p class="button-row">
          <SubmitButton busy={form.busy}>{t('staff.new.submit')}</SubmitButton>
          <Link href="/staff" class="button button--secondary">
            {t('common.cancel')}
          </Link>
        </p>
      </form>
    </>
  );
}
