import type { EventStore } from './eventStore.ts';

export const APPENDED_CHANNEL = 'strangler_appended';

/**
 * Tells listening projection runners that events were appended, at most once per
 * `minIntervalMs` (trailing edge, so the last append of a burst is always signalled).
 *
 * The NOTIFY runs in its own tiny transaction after the append committed, never inside
 * the append: NOTIFY takes a cluster-wide lock at commit, which would serialise every
 * append behind it. Debounced like this it costs a few statements per second. Failures
 * are ignored: it is only a wake-up, and runners poll anyway.
 */
export function createAppendSignal(store: Pick<EventStore, 'signalAppended'>, minIntervalMs = 50): () => void {
  let last = 0;
  let timer: NodeJS.Timeout | null = null;
  const send = () => {
    timer = null;
    last = Date.now();
    store.signalAppended().catch(() => {});
  };
  return () => {
    if (timer) return;
    const wait = last + minIntervalMs - Date.now();
    if (wait <= 0) send();
    else {
      timer = setTimeout(send, wait);
      timer.unref();
    }
  };
}
