import type { VNode } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { languageNames, languages, useI18n, type MessageKey } from './i18n';
import { HomePage } from './pages/home';
import { NotFoundPage } from './pages/not_found';
import { ServicePage } from './pages/service';
import { StatusPage } from './pages/status';
import { Link, usePath } from './router';
import { services } from './services';

interface Route {
  title: MessageKey;
  render: () => VNode;
}

const routes: Record<string, Route> = {
  '/': { title: 'home.title', render: () => <HomePage /> },
  '/status': { title: 'status.title', render: () => <StatusPage /> },
  ...Object.fromEntries(
    services.map((service) => [
      service.path,
      { title: service.name, render: () => <ServicePage service={service} /> },
    ]),
  ),
};

const navItems: { path: string; label: MessageKey }[] = [
  { path: '/', label: 'nav.home' },
  ...services.map((service) => ({ path: service.path, label: service.name })),
  { path: '/status', label: 'nav.status' },
];

function resolve(path: string): Route | undefined {
  const normalised = path.length > 1 ? path.replace(/\/+$/, '') : path;
  return routes[normalised];
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
    document.querySelector<HTMLElement>('main h1')?.focus();
  }, [path]);
}

export function App() {
  const { t } = useI18n();
  const path = usePath();
  const route = resolve(path);
  useNavigationFocus(path);

  const title = t(route?.title ?? 'notfound.title');
  useEffect(() => {
    document.title = route?.title === 'home.title' ? t('app.name') : `${title} — ${t('app.name')}`;
  }, [route, title, t]);

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
          <LanguageSwitch />
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
        {route ? route.render() : <NotFoundPage path={path} />}
      </main>
      <footer class="site-footer">
        <div class="container">
          <p>{t('layout.footer')}</p>
        </div>
      </footer>
    </>
  );
}
