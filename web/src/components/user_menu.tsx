import { useEffect, useRef, useState } from 'preact/hooks';
import { problemOf } from '../api';
import { useI18n } from '../i18n';
import { problemMessage, type Localised } from '../problems';
import { Link, navigate, useLocation, withNext } from '../router';
import { useSession } from '../session';
import { setFlash } from './flash';
import { Text } from './form';

/** Logs out (of this session or all of them) and lands on the login page with a word about it. */
export function useSignOut() {
  const { t } = useI18n();
  const session = useSession();
  return async (everywhere: boolean): Promise<Localised | null> => {
    try {
      await session.signOut(everywhere);
    } catch (error) {
      return problemMessage(problemOf(error), t);
    }
    setFlash(t(everywhere ? 'logout.everywhere.done' : 'logout.done'), '/login');
    navigate('/login');
    return null;
  };
}

/**
 * The logged-in person in the header: a disclosure button with their name that opens the
 * account links. (A disclosure, not an ARIA menu: its items are ordinary links and buttons
 * reached with Tab.) Anonymous visitors get a login link instead.
 */
export function UserMenu() {
  const { t } = useI18n();
  const { state } = useSession();
  const { path, href } = useLocation();
  const signOut = useSignOut();
  const [open, setOpen] = useState(false);
  const [problem, setProblem] = useState<Localised | null>(null);
  const container = useRef<HTMLDivElement>(null);
  const toggle = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    setOpen(false);
    setProblem(null);
  }, [href]);

  useEffect(() => {
    if (!open) return;
    const onPointerDown = (event: PointerEvent) => {
      if (!container.current?.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener('pointerdown', onPointerDown);
    return () => document.removeEventListener('pointerdown', onPointerDown);
  }, [open]);

  if (state.kind === 'loading') return null;
  if (state.kind !== 'active') {
    if (path === '/login') return null;
    return (
      <Link href={withNext('/login', href)} class="button button--secondary header-login">
        {t('menu.login')}
      </Link>
    );
  }

  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === 'Escape' && open) {
      setOpen(false);
      toggle.current?.focus();
    }
  };
  const onFocusOut = (event: FocusEvent) => {
    const target = event.relatedTarget as Node | null;
    if (target && !container.current?.contains(target)) setOpen(false);
  };
  const out = async (everywhere: boolean) => setProblem(await signOut(everywhere));

  return (
    <div class="user-menu" ref={container} onKeyDown={onKeyDown} onFocusOut={onFocusOut}>
      <button
        type="button"
        class="user-menu__toggle"
        ref={toggle}
        aria-expanded={open}
        aria-controls="user-menu-panel"
        onClick={() => setOpen(!open)}
      >
        <span class="visually-hidden">{t('menu.label')} </span>
        <span class="user-menu__name">{state.user.display_name}</span>
      </button>
      <div id="user-menu-panel" class="user-menu__panel" hidden={!open}>
        <p class="user-menu__email">{state.user.email}</p>
        <ul class="plain-list">
          <li>
            <Link href="/account" class="user-menu__item">
              {t('menu.account')}
            </Link>
          </li>
          <li>
            <button type="button" class="user-menu__item" onClick={() => void out(false)}>
              {t('menu.logout')}
            </button>
          </li>
          <li>
            <button type="button" class="user-menu__item" onClick={() => void out(true)}>
              {t('menu.logout_everywhere')}
            </button>
          </li>
        </ul>
        {problem && (
          <p role="alert" class="user-menu__problem">
            <Text value={problem} />
          </p>
        )}
      </div>
    </div>
  );
}
