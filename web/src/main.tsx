import { render } from 'preact';
import { App } from './app';
import { I18nProvider } from './i18n';
import './styles.css';

const root = document.getElementById('app');
if (!root) throw new Error('#app is missing from index.html');
// Drop the <noscript> fallback so Preact starts from an empty root.
root.replaceChildren();
render(
  <I18nProvider>
    <App />
  </I18nProvider>,
  root,
);
