// Redraws the phase timer a few times a second while one is set. The
// remaining time is computed in Rust from the session document and the
// server's clock; this only decides when to ask.

import { useEffect, useState } from 'preact/hooks';
import { serverNow } from './clock';
import type { Connection } from './connection';
import type { TimerState } from './types';

const TICK_MS = 250;

export function useTimer(connection: Connection | null): TimerState | null {
  const hasTimer = Boolean(connection?.session()?.timer);
  const read = () => (connection && hasTimer ? connection.timer(serverNow()) : null);
  const [state, setState] = useState<TimerState | null>(read);
  const version = connection?.version ?? 0;

  useEffect(() => {
    const update = () =>
      setState((old) => {
        const next = read();
        // Same second, same status: keep the old object so nothing re-renders.
        if (
          old &&
          next &&
          old.status === next.status &&
          old.durationMs === next.durationMs &&
          Math.ceil(old.remainingMs / 1000) === Math.ceil(next.remainingMs / 1000)
        ) {
          return old;
        }
        return next;
      });
    update();
    if (!hasTimer) return;
    const id = setInterval(update, TICK_MS);
    return () => clearInterval(id);
    // A new version may have changed the timer (started, paused, time added).
  }, [connection, hasTimer, version]);

  return state;
}
