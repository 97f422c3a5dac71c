import { useState } from 'preact/hooks';
import { Text } from '../components/form';
import { PushSubscribe } from '../components/push_subscribe';
import { useSignOut } from '../components/user_menu';
import { useI18n } from '../i18n';
import { languageName, profileName, statusName } from '../labels';
import type { Localised } from '../problems';
import { Link } from '../router';
import { useSession, useUser } from '../session';

/** One's own account. Details are read-only for now: only staff administrators change them. */
export function AccountPage() {
  const { t, lang } = useI18n();
  const user = useUser();
  const { profiles } = useSession();
  const signOut = useSignOut();
  const [problem, setProblem] = useState<Localised | null>(null);
  const out = async (everywhere: boolean) => setProblem(await signOut(everywhere));

  return (
    <>
      <h1 tabIndex={-1}>{t('account.title')}</h1>

      <section aria-labelledby="account-details-title">
        <h2 id="account-details-title">{t('account.details')}</h2>
        <dl class="details">
          <div>
            <dt>{t('staff.field.name')}</dt>
            <dd>{user.display_name}</dd>
          </div>
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
            <dd>{statusName(t, user.status)}</dd>
          </div>
        </dl>
        <p class="field__hint">{t('account.details.readonly')}</p>
      </section>

      <section aria-labelledby="account-profiles-title">
        <h2 id="account-profiles-title">{t('account.profiles')}</h2>
        {user.grants.length === 0 ? (
          <p>{t('account.profiles.none')}</p>
        ) : (
          <ul class="grant-list">
            {user.grants.map((grant) => (
              <li key={grant.id}>
                <span>
                  <strong>{profileName(profiles, grant.profile, lang)}</strong>
                  <span class="grant-list__where">
                    {t('staff.grant.at', { organisation: grant.organisation_name })}
                  </span>
                </span>
              </li>
            ))}
          </ul>
        )}
      </section>

      <section aria-labelledby="account-security-title">
        <h2 id="account-security-title">{t('account.security')}</h2>
        <h3>{t('account.second_factor')}</h3>
        <p data-testid="second-factor-status">
          {user.second_factor_enabled
            ? t('account.second_factor.on')
            : user.second_factor_required
              ? t('account.second_factor.required')
              : t('account.second_factor.off')}
        </p>
        <p>
          <Link href="/account/second-factor">
            {user.second_factor_enabled
              ? t('account.second_factor.replace')
              : t('account.second_factor.enrol')}
          </Link>
        </p>
        <h3>{t('account.password')}</h3>
        <p>
          <Link href="/change-password">{t('account.password.change')}</Link>
        </p>
      </section>

      <p>
        <Link href="/account/messages">{t('prefs.link')}</Link>
      </p>
      <PushSubscribe />

      <section aria-labelledby="account-sessions-title">
        <h2 id="account-sessions-title">{t('account.sessions')}</h2>
        <p>{t('account.sessions.body')}</p>
        <p class="button-row">
          <button type="button" class="button button--secondary" onClick={() => void out(false)}>
            {t('menu.logout')}
          </button>
          <button type="button" class="button button--secondary" onClick={() => void out(true)}>
            {t('menu.logout_everywhere')}
          </button>
        </p>
        {problem && (
          <div class="notice notice--error" role="alert">
            <p>
              <Text value={problem} />
            </p>
          </div>
        )}
      </section>
    </>
  );
}
