import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';

// History API routing: the server answers index.html for any unknown non-API path asked for as
// HTML, so every client route is also a real, shareable address.
const changeEvent = 'guichet:navigate';

export function navigate(path: string) {
  if (path === location.pathname) return;
  history.pushState(null, '', path);
  dispatchEvent(new Event(changeEvent));
}

export function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const update = () => setPath(location.pathname);
    addEventListener('popstate', update);
    addEventListener(changeEvent, update);
    return () => {
      removeEventListener('popstate', update);
      removeEventListener(changeEvent, update);
    };
  }, []);
  return path;
}

interface LinkProps {
  href: string;
  class?: string;
  'aria-current'?: 'page' | undefined;
  children: ComponentChildren;
}

/** An ordinary link that navigates in place; modified clicks (new tab…) keep browser behaviour. */
export function Link({ href, children, ...rest }: LinkProps) {
  const onClick = (event: MouseEvent) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
      return;
    }
    event.preventDefault();
    navigate(href);
  };
  return (
    <a href={href} onClick={onClick} {...rest}>
      {children}
    </a>
  );
}
