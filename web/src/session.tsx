import { createContext, type ComponentChildren } from 'preact';
import { useCallback, useContext, useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, onUnauthorized, setCsrfToken } from './api';
import { setFlash } from './components/flash';
import { useI18n } from './i18n';
import {
  getProfiles,
  getSession,
  logout,
  logoutEverywhere,
  permissionsOf,
  type Profile,
  type SessionInfo,
  type User,
} from './identity';

export type SessionState =
  | { kind: 'loading' }
  | { kind: 'anonymous' }
  /** The password was right; the authenticator code is awaited. */
  | { kind: 'pending'; user: User }
  | { kind: 'active'; user: User };

interface Session {
  state: SessionState;
  /** The profile catalogue, once loaded (null before, or when nobody is logged in). */
  profiles: Profile[] | null;
  /** Every permission the person holds somewhere; empty until the profiles are loaded. */
  permissions: ReadonlySet<string>;
  /** Takes in the answer of a login or of the second-factor step. */
  signedIn: (info: SessionInfo) => void;
  /** Reads the session again (after a password change, an enrolment…). */
  refresh: () => Promise<void>;
  /** Logs out of this session or of every one; throws when the server refuses. */
  signOut: (everywhere: boolean) => Promise<void>;
}

// The cookie is HttpOnly, so scripts cannot tell whether there is one. This flag remembers
// that a login happened in this browser: visitors who never logged in are not asked for a
// session they cannot have (which would only log a 401 in their console).
const hintKey = 'guichet.session';

function readHint(): boolean {
  try {
    return localStorage.getItem(hintKey) === '1';
  } catch {
    return true; // Without storage, ask the server each time.
  }
}

function writeHint(present: boolean) {
  try {
    if (present) localStorage.setItem(hintKey, '1');
    else localStorage.removeItem(hintKey);
  } catch {
    // Not fatal: the server is simply asked at every page load.
  }
}

const SessionContext = createContext<Session | null>(null);

function stateOf(info: SessionInfo): SessionState {
  return info.second_factor_pending
    ? { kind: 'pending', user: info.user }
    : { kind: 'active', user: info.user };
}

export function SessionProvider({ children }: { children: ComponentChildren }) {
  const { t } = useI18n();
  const [state, setState] = useState<SessionState>(() =>
    readHint() ? { kind: 'loading' } : { kind: 'anonymous' },
  );
  const [profiles, setProfiles] = useState<Profile[] | null>(null);

  const ended = useCallback(() => {
    setCsrfToken(null);
    writeHint(false);
    setState({ kind: 'anonymous' });
  }, []);

  const signedIn = useCallback((info: SessionInfo) => {
    setCsrfToken(info.csrf_token);
    writeHint(true);
    setState(stateOf(info));
  }, []);

  const refresh = useCallback(async () => {
    try {
      signedIn(await getSession());
    } catch (error) {
      if (error instanceof ApiError && error.problem.status === 401) ended();
      else setState((current) => (current.kind === 'loading' ? { kind: 'anonymous' } : current));
    }
  }, [signedIn, ended]);

  useEffect(() => {
    if (state.kind === 'loading') void refresh();
    // Only the first render decides whether to ask.
  }, []);

  // A protected call refused for want of a session: the session is gone (or half done).
  useEffect(
    () =>
      onUnauthorized((problem) => {
        if (problem.code === 'second_factor_required') {
          void refresh();
          return;
        }
        // Tell why the login page shows up in the middle of the work.
        setFlash(t('problem.unauthenticated'), '/login');
        ended();
      }),
    [refresh, ended, t],
  );

  const active = state.kind === 'active';
  useEffect(() => {
    if (!active || profiles) return;
    const controller = new AbortController();
    getProfiles(controller.signal).then(setProfiles, () => {
      // Without the catalogue, profile codes show as they are and the menu stays minimal.
    });
    return () => controller.abort();
  }, [active, profiles]);

  const signOut = useCallback(
    async (everywhere: boolean) => {
      try {
        await (everywhere ? logoutEverywhere() : logout());
      } catch (error) {
        // Already logged out elsewhere: the goal is reached all the same.
        if (!(error instanceof ApiError && error.problem.status === 401)) throw error;
      }
      ended();
    },
    [ended],
  );

  const value = useMemo<Session>(() => {
    const permissions =
      state.kind === 'active' && profiles ? permissionsOf(state.user, profiles) : new Set<string>();
    return { state, profiles, permissions, signedIn, refresh, signOut };
  }, [state, profiles, signedIn, refresh, signOut]);

  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionProvider');
  return session;
}

/** The logged-in person: only for screens rendered behind the session guard. */
export function useUser(): User {
  const { state } = useSession();
  if (state.kind !== 'active') throw new Error('useUser without an active session');
  return state.user;
}
