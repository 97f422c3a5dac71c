import { useEffect, useState } from 'preact/hooks';
import { LiveMessage } from './form';

// A message for the next page ("You are logged out", "Account created"): shown and announced
// on the page at `path`, dropped once the reader moves on.
const flashEvent = 'guichet:flash';
let current: { text: string; path: string } | null = null;

/** Shows `text` on the page at `path` (usually the one about to be navigated to). */
export function setFlash(text: string, path: string) {
  current = { text, path: new URL(path, location.origin).pathname };
  dispatchEvent(new Event(flashEvent));
}

export function FlashRegion({ path }: { path: string }) {
  const [, setVersion] = useState(0);
  useEffect(() => {
    const update = () => setVersion((version) => version + 1);
    addEventListener(flashEvent, update);
    return () => removeEventListener(flashEvent, update);
  }, []);
  useEffect(() => {
    if (current && current.path !== path) current = null;
  }, [path]);
  const text = current && current.path === path ? current.text : null;
  return <LiveMessage message={text ? { text } : null} />;
}
