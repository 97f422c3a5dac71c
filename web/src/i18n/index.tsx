import { createContext, type ComponentChildren } from 'preact';
import { useCallback, useContext, useEffect, useMemo, useState } from 'preact/hooks';
import { en } from './en';
import { fr, type MessageKey, type Messages } from './fr';

export type Lang = 'fr' | 'en';
export type { MessageKey };

const catalogues: Record<Lang, Messages> = { fr, en };

/** Each language is named in itself, so a reader finds theirs whatever is shown now. */
export const languageNames: Record<Lang, string> = { fr: 'Français', en: 'English' };
export const languages = Object.keys(catalogues) as Lang[];

const storageKey = 'guichet.lang';

/** Whether `key` names a message (for texts chosen by a code the API sends). */
export function isMessageKey(key: string): key is MessageKey {
  return key in fr;
}

function isLang(value: unknown): value is Lang {
  return typeof value === 'string' && value in catalogues;
}

/** The stored choice wins; otherwise the first browser language we have, else French. */
export function initialLang(): Lang {
  try {
    const stored = localStorage.getItem(storageKey);
    if (isLang(stored)) return stored;
  } catch {
    // Storage can be disabled (privacy settings); the browser languages still apply.
  }
  for (const tag of navigator.languages ?? [navigator.language]) {
    const primary = tag.toLowerCase().split('-')[0];
    if (isLang(primary)) return primary;
  }
  return 'fr';
}

function storeLang(lang: Lang) {
  try {
    localStorage.setItem(storageKey, lang);
  } catch {
    // Not fatal: the choice then lasts until the page is reloaded.
  }
}

export type Translate = (key: MessageKey, params?: Record<string, string | number>) => string;

interface I18n {
  lang: Lang;
  setLang: (lang: Lang) => void;
  t: Translate;
}

const I18nContext = createContext<I18n | null>(null);

export function I18nProvider({ children }: { children: ComponentChildren }) {
  const [lang, setLangState] = useState<Lang>(initialLang);

  // Screen readers and the browser's spell checking read the language from <html lang>.
  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);

  const setLang = useCallback((next: Lang) => {
    storeLang(next);
    setLangState(next);
  }, []);

  const value = useMemo<I18n>(() => {
    const messages = catalogues[lang];
    const t: Translate = (key, params) =>
      messages[key].replace(/\{(\w+)\}/g, (match, name: string) =>
        params && name in params ? String(params[name]) : match,
      );
    return { lang, setLang, t };
  }, [lang, setLang]);

  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const i18n = useContext(I18nContext);
  if (!i18n) throw new Error('useI18n outside I18nProvider');
  return i18n;
}
