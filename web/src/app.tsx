import type { VNode } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { FlashRegion } from './components/flash';
import { UserMenu } from './components/user_menu';
import { languageNames, languages, useI18n, type MessageKey } from './i18n';
import { needsEnrolment } from './identity';
import { AccountPage } from './pages/account';
import { ChangePasswordPage } from './pages/change_password';
import { EnrolSecondFactorPage } from './pages/enrol_second_factor';
import { ForbiddenPage } from './pages/forbidden';
import { ForgotPasswordPage } from './pages/forgot_password';
import { HomePage } from './pages/home';
import { LoginPage } from './pages/login';
import { BadAddressesPage } from './pages/bad_addresses';
import { CampaignsPage } from './pages/campaigns';
import { MessagePreferencesPage } from './pages/message_preferences';
import { PersonHistoryPage } from './pages/person_history';
import { TemplateEditPage } from './pages/template_edit';
import { TemplatesPage } from './pages/templates';
import { UnsubscribePage } from './pages/unsubscribe';
import { MessagesPage, messageSections } from './pages/messages';
import { WebhookDetailPage } from './pages/webhook_detail';
import { WebhooksPage } from './pages/webhooks';
import { NotFoundPage } from './pages/not_found';
import { ResetPasswordPage } from './pages/reset_password';
import { ServicePage } from './pages/service';
import { StaffDetailPage } from './pages/staff_detail';
import { StaffListPage } from './pages/staff_list';
import { StaffNewPage } from './pages/staff_new';
import { StatusPage } from './pages/status';
import { TillPage } from './pages/till';
import { WalletActivatePage } from './pages/wallet_activate';
import { WalletHomePage, WalletPreferencesPage } from './pages/wallet_home';
import { WalletReloadPage } from './pages/wallet_reload';
import { WalletStatementPage } from './pages/wallet_statement';
import { MerchantDetailPage, MerchantsPage } from './pages/wallet_merchants';
import { PointDetailPage } from './pages/wallet_point_detail';
import { PointNewPage, PointsPage } from './pages/wallet_points';
import { TestAccountPage } from './pages/wallet_test_account';
import { SettlementDetailPage, SettlementsPage } from './pages/wallet_settlements';
import { ReconciliationPage } from './pages/wallet_reconciliations';
import { settlementRight } from './settlement';
import { FraudAlertPage, FraudAlertsPage, FraudRulesPage } from './pages/wallet_fraud';
import { fraudRight } from './fraud';
import { posRight } from './pos';
import { Link, Redirect, matchPath, useLocation, withNext, type AppLocation } from './router';
import { services } from './services';
import { useSession } from './session';

/**
 * Who may open a page: anyone (the default); anyone logged in ('session'); someone in the
 * middle of setting up their authenticator ('enrolment') or of a forced password change
 * ('password'); or someone holding a permission somewhere.
 */
type Access = 'public' | 'session' | 'enrolment' | 'password' | { permission: string };

interface Route {
  pattern: string;
  title: MessageKey;
  access?: Access;
  render: (params: Record<string, string>) => VNode;
}

// First match wins: fixed segments before parameters (/staff/new before /staff/:id).
const routes: Route[] = [
  { pattern: '/', title: 'home.title', render: () => <HomePage /> },
  { pattern: '/status', title: 'status.title', render: () => <StatusPage /> },
  // The wallet's holders have their own session (the wallet pages show their login form).
  { pattern: '/wallet', title: 'service.wallet.name', render: () => <WalletHomePage /> },
  { pattern: '/wallet/activate', title: 'wallet.activate.title', render: () => <WalletActivatePage /> },
  { pattern: '/wallet/statement', title: 'wallet.statement.title', render: () => <WalletStatementPage /> },
  { pattern: '/wallet/reload', title: 'wallet.reload.title', render: () => <WalletReloadPage /> },
  {
    pattern: '/wallet/preferences',
    title: 'prefs.title',
    render: () => <WalletPreferencesPage />,
  },
  ...services.map((service) => ({
    pattern: service.path,
    title: service.name,
    render: () => <ServicePage service={service} />,
  })),
  { pattern: '/login', title: 'login.title', render: () => <LoginPage /> },
  { pattern: '/forgot-password', title: 'forgot.title', render: () => <ForgotPasswordPage /> },
  { pattern: '/reset-password', title: 'reset.title', render: () => <ResetPasswordPage /> },
  {
    pattern: '/change-password',
    title: 'password.change.title',
    access: 'password',
    render: () => <ChangePasswordPage />,
  },
  { pattern: '/account', title: 'account.title', access: 'session', render: () => <AccountPage /> },
  {
    pattern: '/account/second-factor',
    title: 'enrol.title',
    access: 'enrolment',
    render: () => <EnrolSecondFactorPage />,
  },
  {
    pattern: '/staff',
    title: 'staff.title',
    access: { permission: 'identity.staff.read' },
    render: () => <StaffListPage />,
  },
  {
    pattern: '/staff/new',
    title: 'staff.new.title',
    access: { permission: 'identity.staff.manage' },
    render: () => <StaffNewPage />,
  },
  {
    pattern: '/staff/:id',
    title: 'staff.detail.title',
    access: { permission: 'identity.staff.read' },
    render: ({ id }) => <StaffDetailPage id={id ?? ''} />,
  },
  {
    pattern: '/wallet/merchants',
    title: 'pos.merchants.title',
    access: { permission: posRight.pointsRead },
    render: () => <MerchantsPage />,
  },
  {
    pattern: '/wallet/merchants/:id',
    title: 'pos.merchant.detail.title',
    access: { permission: posRight.pointsRead },
    render: ({ id }) => <MerchantDetailPage id={id ?? ''} />,
  },
  {
    pattern: '/wallet/points',
    title: 'pos.points.title',
    access: { permission: posRight.pointsRead },
    render: () => <PointsPage />,
  },
  {
    pattern: '/wallet/points/new',
    title: 'pos.point.new.title',
    access: { permission: posRight.pointsManage },
    render: () => <PointNewPage />,
  },
  {
    pattern: '/wallet/points/:id',
    title: 'pos.point.detail.title',
    access: { permission: posRight.pointsRead },
    render: ({ id }) => <PointDetailPage id={id ?? ''} />,
  },
  {
    pattern: '/wallet/settlements',
    title: 'stl.runs.title',
    access: { permission: settlementRight.read },
    render: () => <SettlementsPage />,
  },
  {
    pattern: '/wallet/settlements/:id',
    title: 'stl.run.title',
    access: { permission: settlementRight.read },
    render: ({ id }) => <SettlementDetailPage id={id ?? ''} />,
  },
  {
    pattern: '/wallet/reconciliations/:id',
    title: 'recon.report.title',
    access: { permission: settlementRight.reconciliations },
    render: ({ id }) => <ReconciliationPage id={id ?? ''} />,
  },
  {
    pattern: '/wallet/test-account',
    title: 'pos.test.title',
    access: { permission: posRight.testAccount },
    render: () => <TestAccountPage />,
  },
  {
    pattern: '/wallet/fraud',
    title: 'fraud.alerts.title',
    access: { permission: fraudRight.read },
    render: () => <FraudAlertsPage />,
  },
  {
    pattern: '/wallet/fraud/rules',
    title: 'fraud.rules.title',
    access: { permission: fraudRight.read },
    render: () => <FraudRulesPage />,
  },
  {
    pattern: '/wallet/fraud/alerts/:id',
    title: 'fraud.alert.detail.title',
    access: { permission: fraudRight.read },
    render: ({ id }) => <FraudAlertPage id={id ?? ''} />,
  },
  { pattern: '/messages', title: 'messages.title', access: 'session', render: () => <MessagesPage /> },
  {
    pattern: '/messages/webhooks',
    title: 'webhooks.title',
    access: { permission: 'notify.webhooks.read' },
    render: () => <WebhooksPage />,
  },
  {
    pattern: '/messages/webhooks/:id',
    title: 'webhooks.detail.title',
    access: { permission: 'notify.webhooks.read' },
    render: ({ id }) => <WebhookDetailPage id={id ?? ''} />,
  },
  {
    pattern: '/messages/bad-addresses',
    title: 'bad.title',
    access: { permission: 'notify.addresses.read' },
    render: () => <BadAddressesPage />,
  },
  {
    pattern: '/messages/templates',
    title: 'templates.title',
    access: { permission: 'notify.templates.manage' },
    render: () => <TemplatesPage />,
  },
  {
    pattern: '/messages/templates/:organisation/:code/:language',
    title: 'templates.title',
    access: { permission: 'notify.templates.manage' },
    render: ({ organisation, code, language }) => (
      <TemplateEditPage organisation={organisation ?? ''} code={code ?? ''} language={language ?? ''} />
    ),
  },
  {
    pattern: '/messages/campaigns',
    title: 'campaigns.title',
    access: { permission: 'notify.campaigns.manage' },
    render: () => <CampaignsPage />,
  },
  {
    pattern: '/messages/people/:type/:id',
    title: 'history.title',
    access: { permission: 'notify.people.read' },
    render: ({ type, id }) => <PersonHistoryPage type={type ?? ''} id={id ?? ''} />,
  },
  {
    pattern: '/account/messages',
    title: 'prefs.title',
    access: 'session',
    render: () => <MessagePreferencesPage />,
  },
  { pattern: '/unsubscribe', title: 'unsubscribe.title', render: () => <UnsubscribePage /> },
  // A paired browser is a point of sale: its requests are signed by its own key, no session.
  { pattern: '/till', title: 'till.title', render: () => <TillPage /> },
];

function resolve(path: string): { route: Route; params: Record<string, string> } | undefined {
  const normalised = path.length > 1 ? path.replace(/\/+$/, '') : path;
  for (const route of routes) {
    const params = matchPath(route.pattern, normalised);
    if (params) return { route, params };
  }
  return undefined;
}

function LanguageSwitch() {
  const { lang, setLang, t } = useI18n();
  return (
    <div class="lang-switch" role="group" aria-label={t('layout.language')}>
      {languages.map((code) => (
        <button
          key={code}
          type="button"
          lang={code}
          aria-pressed={code === lang}
          onClick={() => setLang(code)}
        >
          {languageNames[code]}
        </button>
      ))}
    </div>
  );
}

/** After an in-app navigation, move focus and scroll as a full page load would. */
function useNavigationFocus(path: string) {
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    scrollTo(0, 0);
    const target =
      document.querySelector<HTMLElement>('main h1') ?? document.querySelector<HTMLElement>('main');
    target?.focus();
  }, [path]);
}

function Loading({ title }: { title: MessageKey }) {
  const { t } = useI18n();
  return (
    <>
      <h1 tabIndex={-1}>{t(title)}</h1>
      <p role="status">{t('common.loading')}</p>
    </>
  );
}

/** Renders a page once the session allows it, or sends the reader where they must go first. */
function Guarded({ route, params, at }: { route: Route; params: Record<string, string>; at: AppLocation }) {
  const session = useSession();
  const { state } = session;
  const access = route.access ?? 'public';
  if (access === 'public') return route.render(params);
  if (state.kind === 'loading') return <Loading title={route.title} />;
  if (state.kind !== 'active') return <Redirect to={withNext('/login', at.href)} />;
  const { user } = state;
  if (user.must_change_password && access !== 'password') {
    return <Redirect to={withNext('/change-password', at.href)} />;
  }
  if (!user.must_change_password && needsEnrolment(user) && access !== 'enrolment' && access !== 'password') {
    return <Redirect to={withNext('/account/second-factor', at.href)} />;
  }
  if (typeof access === 'object') {
    if (!session.profiles) return <Loading title={route.title} />;
    if (!session.permissions.has(access.permission)) return <ForbiddenPage />;
  }
  return route.render(params);
}

export function App() {
  const { t } = useI18n();
  const { permissions } = useSession();
  const at = useLocation();
  const { path } = at;
  const found = resolve(path);
  useNavigationFocus(path);

  const title = t(found?.route.title ?? 'notfound.title');
  useEffect(() => {
    document.title =
      found?.route.title === 'home.title' ? t('app.name') : `${title} — ${t('app.name')}`;
  }, [found?.route, title, t]);

  const navItems: { path: string; label: MessageKey }[] = [
    { path: '/', label: 'nav.home' },
    ...services.map((service) => ({ path: service.path, label: service.name })),
    ...(permissions.has('identity.staff.read')
      ? [{ path: '/staff', label: 'nav.staff' as MessageKey }]
      : []),
    ...(messageSections.some((section) => permissions.has(section.permission)) || permissions.has('notify.people.read')
      ? [{ path: '/messages', label: 'nav.messages' as MessageKey }]
      : []),
    ...(permissions.has(posRight.pointsRead)
      ? [{ path: '/wallet/points', label: 'nav.points' as MessageKey }]
      : []),
    ...(permissions.has(settlementRight.read)
      ? [{ path: '/wallet/settlements', label: 'nav.settlements' as MessageKey }]
      : []),
    ...(permissions.has(fraudRight.read)
      ? [{ path: '/wallet/fraud', label: 'nav.fraud' as MessageKey }]
      : []),
    ...(permissions.has(posRight.testAccount)
      ? [{ path: '/wallet/test-account', label: 'nav.test_account' as MessageKey }]
      : []),
    { path: '/status', label: 'nav.status' },
  ];

  return (
    <>
      <a class="skip-link" href="#main">
        {t('layout.skip')}
      </a>
      <header class="site-header">
        <div class="container site-header__inner">
          <Link href="/" class="brand">
            <span class="brand__name">{t('app.name')}</span>
            <span class="brand__tagline">{t('app.tagline')}</span>
          </Link>
          <div class="site-header__tools">
            <UserMenu />
            <LanguageSwitch />
          </div>
        </div>
        <nav class="site-nav" aria-label={t('layout.nav')}>
          <ul class="container site-nav__list">
            {navItems.map((item) => (
              <li key={item.path}>
                <Link href={item.path} aria-current={item.path === path ? 'page' : undefined}>
                  {t(item.label)}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      <main id="main" class="container site-main" tabIndex={-1}>
        <FlashRegion path={path} />
        {found ? (
          <Guarded key={path} route={found.route} params={found.params} at={at} />
        ) : (
          <NotFoundPage path={path} />
        )}
      </main>
      <footer class="site-footer">
        <div class="container">
          <p>{t('layout.footer')}</p>
        </div>
      </footer>
    </>
  );
}
