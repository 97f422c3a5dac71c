import type { ComponentChildren } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';

// History API routing: the server answers index.html for any unknown non-API path asked for as
// HTML, so every client route is also a real, shareable address.
const changeEvent = 'guichet:navigate';

const here = () => location.pathname + location.search;

export interface NavigateOptions {
  /** Replace the current history entry (redirects), so Back does not bounce. */
  replace?: boolean;
}

export function navigate(target: string, options: NavigateOptions = {}) {
  if (target === here()) return;
  if (options.replace) history.replaceState(null, '', target);
  else history.pushState(null, '', target);
  dispatchEvent(new Event(changeEvent));
}

export interface AppLocation {
  path: string;
  query: URLSearchParams;
  /** Path and query together, as given back to `navigate` after a detour (login…). */
  href: string;
}

export function useLocation(): AppLocation {
  const [href, setHref] = useState(here);
  useEffect(() => {
    const update = () => setHref(here());
    addEventListener('popstate', update);
    addEventListener(changeEvent, update);
    // Children's effects run first: a redirect made while mounting would otherwise be missed.
    update();
    return () => {
      removeEventListener('popstate', update);
      removeEventListener(changeEvent, update);
    };
  }, []);
  return useMemo(() => {
    const url = new URL(href, location.origin);
    return { path: url.pathname, query: url.searchParams, href };
  }, [href]);
}

export function usePath(): string {
  return useLocation().path;
}

/**
 * Where to go back after a detour: only a path of this site ("/staff?x=1"), never another
 * origin ("//evil.example", "https://…"), whatever a crafted link puts in `?next=`.
 */
export function safeNext(value: string | null | undefined, fallback = '/'): string {
  if (!value || !value.startsWith('/') || value.startsWith('//') || value.includes('\\')) {
    return fallback;
  }
  return value;
}

/** A path with the page to come back to afterwards, e.g. `/login?next=%2Fstaff`. */
export const withNext = (path: string, next: string) =>
  next === '/' ? path : `${path}?next=${encodeURIComponent(next)}`;

/**
 * Matches `path` against a pattern with `:name` segments; returns the parameters or null.
 * `/staff/:id` matches `/staff/12` with `{ id: '12' }`.
 */
export function matchPath(pattern: string, path: string): Record<string, string> | null {
  const wanted = pattern.split('/');
  const given = path.split('/');
  if (wanted.length !== given.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < wanted.length; i += 1) {
    const segment = wanted[i] ?? '';
    const actual = given[i] ?? '';
    if (segment.startsWith(':')) {
      if (!actual) return null;
      params[segment.slice(1)] = decodeURIComponent(actual);
    } else if (segment !== actual) {
      return null;
    }
  }
  return params;
}

/** Sends the reader elsewhere as soon as it renders (an access guard). */
export function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return null;
}

interface LinkProps {
  href: string;
  class?: string;
  'aria-current'?: 'page' | undefined;
  'aria-describedby'?: string;
  onClick?: () => void;
  children: ComponentChildren;
}

/** An ordinary link that navigates in place; modified clicks (new tab…) keep browser behaviour. */
export function Link({ href, children, onClick: then, ...rest }: LinkProps) {
  const onClick = (event: MouseEvent) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
      return;
    }
    event.preventDefault();
    then?.();
    navigate(href);
  };
  return (
    <a href={href} onClick={onClick} {...rest}>
      {children}
    </a>
  );
}
