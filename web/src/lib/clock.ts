// The server's clock, as seen from this device. Phones' clocks are often
// seconds off, and the phase timer must read the same on every screen, so
// every time passed to the wasm client is `Date.now() + offset`, the offset
// estimated from a few `GET /api/time` probes (the one with the shortest
// round trip wins: its answer was least delayed either way).

import { useEffect, useState } from 'preact/hooks';
import { serverTime } from './api';

export interface ClockProbe {
  /** Local `Date.now()` when the request left. */
  sentAt: number;
  /** Local `Date.now()` when the answer arrived. */
  receivedAt: number;
  /** The server's clock in the answer. */
  serverNow: number;
}

/**
 * server clock − local clock, from the probe with the smallest round trip,
 * assuming the server read its clock halfway through it. Null without probes.
 */
export function offsetFromProbes(probes: readonly ClockProbe[]): number | null {
  let best: ClockProbe | null = null;
  for (const p of probes) {
    if (p.receivedAt < p.sentAt) continue; // the local clock jumped meanwhile
    if (!best || p.receivedAt - p.sentAt < best.receivedAt - best.sentAt) best = p;
  }
  if (!best) return null;
  const rtt = best.receivedAt - best.sentAt;
  return Math.round(best.serverNow + rtt / 2 - best.receivedAt);
}

/** Probes the server `count` times in a row; failed probes are skipped. */
export async function measureOffset(
  count = 3,
  ask: () => Promise<number> = serverTime,
  now: () => number = Date.now,
): Promise<number | null> {
  const probes: ClockProbe[] = [];
  for (let i = 0; i < count; i++) {
    const sentAt = now();
    try {
      const serverNow = await ask();
      probes.push({ sentAt, receivedAt: now(), serverNow });
    } catch {
      // A lost probe: the others may do.
    }
  }
  return offsetFromProbes(probes);
}

/** The offset of the last estimate this page made; 0 (trust the device) until then. */
let currentOffset = 0;

/** The server's time now, as best this page knows it. */
export function serverNow(): number {
  return Date.now() + currentOffset;
}

/**
 * Estimates the offset once per connection: whenever `connected` turns true.
 * Returns the offset in use (re-rendering when it changes).
 */
export function useServerClock(connected: boolean): number {
  const [offset, setOffset] = useState(currentOffset);
  useEffect(() => {
    if (!connected) return;
    let cancelled = false;
    void measureOffset().then((measured) => {
      if (cancelled || measured === null) return;
      currentOffset = measured;
      setOffset(measured);
    });
    return () => void (cancelled = true);
  }, [connected]);
  return offset;
}
