import { useEffect, useState } from 'preact/hooks';
import { SelectField, Text } from '../components/form';
import { useI18n } from '../i18n';
import { getOrganisations, listStaff, type User } from '../identity';
import { baseDepth, organisationOption, profileName, statusName } from '../labels';
import { problemMessage } from '../problems';
import { Link, navigate, useLocation } from '../router';
import { useSession } from '../session';
import { useLoad } from '../use_load';

/** The profiles of a person with where they hold them, as a compact list. */
export function GrantsList({ user }: { user: User }) {
  const { t, lang } = useI18n();
  const { profiles } = useSession();
  if (user.grants.length === 0) return <span>{t('staff.grants.none')}</span>;
  return (
    <ul class="plain-list grant-list grant-list--compact">
      {user.grants.map((grant) => (
        <li key={grant.id}>
          <strong>{profileName(profiles, grant.profile, lang)}</strong>
          <span class="grant-list__where">
            {t('staff.grant.at', { organisation: grant.organisation_name })}
          </span>
        </li>
      ))}
    </ul>
  );
}

export function StatusBadge({ status }: { status: string }) {
  const { t } = useI18n();
  return <span class={`badge badge--${status}`}>{statusName(t, status)}</span>;
}

/** Staff accounts in one's scope, optionally those of one organisation (`?organisation=`). */
export function StaffListPage() {
  const { t, lang } = useI18n();
  const { permissions } = useSession();
  const { query } = useLocation();
  const filter = /^\d+$/.test(query.get('organisation') ?? '') ? query.get('organisation')! : '';
  const [choice, setChoice] = useState(filter);
  useEffect(() => setChoice(filter), [filter]);

  const organisations = useLoad(getOrganisations, []);
  const staff = useLoad((signal) => listStaff(filter ? Number(filter) : undefined, signal), [filter]);

  const orgList = organisations.value ?? [];
  const depth = baseDepth(orgList);
  const shownOrg = orgList.find((organisation) => String(organisation.id) === filter);
  const people = staff.value ?? [];
  const collator = new Intl.Collator(lang);
  const sorted = [...people].sort((a, b) => collator.compare(a.display_name, b.display_name));

  const apply = (event: Event) => {
    event.preventDefault();
    navigate(choice ? `/staff?organisation=${choice}` : '/staff', { replace: true });
  };

  let count = t('common.loading');
  if (!staff.loading && staff.value) {
    count = shownOrg
      ? t('staff.count.in', { count: people.length, organisation: shownOrg.name })
      : t('staff.count', { count: people.length });
  }

  return (
    <>
      <h1 tabIndex={-1}>{t('staff.title')}</h1>
      <p class="lead">{t('staff.lead')}</p>
      {permissions.has('identity.staff.manage') && (
        <p>
          <Link href="/staff/new" class="button button--primary">
            {t('staff.new.title')}
          </Link>
        </p>
      )}

      {orgList.length > 1 && (
        <form class="filter-bar" role="search" aria-label={t('staff.filter')} onSubmit={apply}>
          <SelectField
            id="staff-filter"
            label={t('staff.filter.organisation')}
            value={choice}
            onChange={setChoice}
            placeholder={t('staff.filter.all')}
            required={false}
            options={orgList.map((organisation) => organisationOption(t, organisation, depth))}
          />
          <button type="submit" class="button button--secondary">
            {t('staff.filter.apply')}
          </button>
        </form>
      )}

      <p role="status" class="result-count">
        {staff.problem ? '' : count}
      </p>
      {staff.problem && (
        <div class="notice notice--error" role="alert">
          <h2 class="notice__title">{t('staff.load_failed')}</h2>
          <p>
            <Text value={problemMessage(staff.problem, t)} />
          </p>
        </div>
      )}
      {staff.value && people.length > 0 && (
        <div class="table-wrap" aria-busy={staff.loading}>
          <table class="table table--stacked staff-table">
            <caption class="visually-hidden">{t('staff.table.caption')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('staff.field.name')}</th>
                <th scope="col">{t('staff.field.email')}</th>
                <th scope="col">{t('staff.field.profiles')}</th>
                <th scope="col">{t('staff.field.status')}</th>
              </tr>
            </thead>
            <tbody>
              {sorted.map((person) => (
                <tr key={person.id}>
                  <th scope="row">
                    <Link href={`/staff/${person.id}`}>{person.display_name}</Link>
                  </th>
                  <td data-label={t('staff.field.email')}>{person.email}</td>
                  <td data-label={t('staff.field.profiles')}>
                    <GrantsList user={person} />
                  </td>
                  <td data-label={t('staff.field.status')}>
                    <StatusBadge status={person.status} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
