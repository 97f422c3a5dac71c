import { useEffect, useState } from 'preact/hooks';
import { problemOf, type Problem } from './api';

export interface Loaded<T> {
  /** The last value read; kept while a reload runs so the screen does not flicker. */
  value?: T;
  problem?: Problem;
  loading: boolean;
}

/**
 * Reads something from the API when `deps` change (cancelling the previous read), with a
 * `reload` for after a change and a `set` for when a call already returned the new value.
 */
export function useLoad<T>(
  load: ((signal: AbortSignal) => Promise<T>) | null,
  deps: readonly unknown[],
) {
  const [state, setState] = useState<Loaded<T>>({ loading: load !== null });
  const [version, setVersion] = useState(0);
  useEffect(() => {
    if (!load) return;
    const controller = new AbortController();
    setState((current) => ({ value: current.value, loading: true }));
    load(controller.signal).then(
      (value) => setState({ value, loading: false }),
      (error: unknown) => {
        if (!controller.signal.aborted) setState({ problem: problemOf(error), loading: false });
      },
    );
    return () => controller.abort();
  }, [...deps, version, load === null]);
  return {
    ...state,
    reload: () => setVersion((count) => count + 1),
    set: (value: T) => setState({ value, loading: false }),
  };
}
