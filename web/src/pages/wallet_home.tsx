// The holder's wallet: logged out, the login form and how an account is opened; logged in,
// the balance of each counter, the latest lines of the statement and what one can do next.
import { HolderLoginForm, HolderOnly } from '../components/holder';
import { Text } from '../components/form';
import { useI18n } from '../i18n';
import { problemMessage } from '../problems';
import { Link } from '../router';
import { useLoad } from '../use_load';
import { formatAmount, getMyAccounts, getMyStatement, holderLogout, useHolder, type Holder } from '../wallet';
import { StatementTable } from './wallet_statement';
import { MessagePreferencesPage } from './message_preferences';
import { holderPreferencesApi } from '../notify_content';

function Balances() {
  const { t, lang } = useI18n();
  const accounts = useLoad(getMyAccounts, []);
  if (accounts.problem) {
    return (
      <div class="notice notice--error" role="alert">
        <p>
          <Text value={problemMessage(accounts.problem, t)} />
        </p>
      </div>
    );
  }
  if (!accounts.value) return <p role="status">{t('common.loading')}</p>;
  return (
    <ul class="plain-list balances">
      {accounts.value.map((account) => (
        <li key={account.counter.code} class="balance" data-counter={account.counter.code}>
          <span class="balance__name">
            {account.counter.kind === 'euro' ? t('wallet.balance.euro') : account.counter.nature}
          </span>
          <span class="balance__amount">{formatAmount(account.available, account.counter, lang)}</span>
          {account.available !== account.balance && (
            <span class="balance__note">
              {t('wallet.balance.held', { amount: formatAmount(account.balance - account.available, account.counter, lang) })}
            </span>
          )}
        </li>
      ))}
    </ul>
  );
}

function Dashboard({ holder }: { holder: Holder }) {
  const { t } = useI18n();
  const latest = useLoad((signal) => getMyStatement({ limit: 5 }, signal), []);
  return (
    <>
      <p class="lead">{t('wallet.hello', { name: holder.first_name ?? '' })}</p>
      {holder.opposition !== 'none' && (
        <div class="notice notice--warning" role="status">
          <p>{t('wallet.opposed')}</p>
        </div>
      )}
      <section aria-labelledby="wallet-balances">
        <h2 id="wallet-balances">{t('wallet.balances')}</h2>
        <Balances />
        <p class="button-row">
          <Link class="button button--primary" href="/wallet/reload">
            {t('wallet.reload.title')}
          </Link>
        </p>
      </section>
      <section aria-labelledby="wallet-latest">
        <h2 id="wallet-latest">{t('wallet.latest')}</h2>
        {latest.value && <StatementTable lines={latest.value.lines} caption={t('wallet.latest')} />}
        {latest.problem && (
          <p role="alert">
            <Text value={problemMessage(latest.problem, t)} />
          </p>
        )}
        <p>
          <Link href="/wallet/statement">{t('wallet.statement.all')}</Link>
        </p>
      </section>
      <section aria-labelledby="wallet-more">
        <h2 id="wallet-more">{t('wallet.more')}</h2>
        <ul>
          <li>
            <Link href="/wallet/preferences">{t('prefs.title')}</Link>
          </li>
          <li>
            <button type="button" class="button button--secondary" onClick={() => void holderLogout()}>
              {t('wallet.logout')}
            </button>
          </li>
        </ul>
      </section>
    </>
  );
}

export function WalletHomePage() {
  const { t } = useI18n();
  const state = useHolder();
  return (
    <>
      <h1 tabIndex={-1}>{t('service.wallet.name')}</h1>
      {state.kind === 'loading' && <p role="status">{t('common.loading')}</p>}
      {state.kind === 'anonymous' && <HolderLoginForm />}
      {state.kind === 'active' && <Dashboard holder={state.holder} />}
    </>
  );
}

/** The holder's message preferences: the same screen as staff's, on the holder's routes. */
export function WalletPreferencesPage() {
  const { t } = useI18n();
  return (
    <HolderOnly title={t('prefs.title')} ownHeading>
      {() => <MessagePreferencesPage api={holderPreferencesApi} />}
    </HolderOnly>
  );
}
