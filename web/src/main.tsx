import { render } from 'preact';
import { App } from './app';
import { I18nProvider } from './i18n';
import { SessionProvider } from './session';
import './styles.css';

const root = document.getElementById('app');
if (!root) throw new Error('#app is missing from index.html');
// Drop the <noscript> fallback so Preact starts from an empty root.
root.replaceChildren();
render(
  <I18nProvider>
    <SessionProvider>
      <App />
    </SessionProvider>
  </I18nProvider>,
  root,
);
