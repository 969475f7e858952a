// How the phase timer reads. The arithmetic (running, paused, finished,
// remaining) is done in Rust; this only turns milliseconds into digits.

import type { TimerStatus } from './types';

/**
 * `m:ss` (or `h:mm:ss` from an hour), rounding *up* to the second, so
 * "0:00" appears only when the time is really over and every screen that
 * rounds the same remaining time shows the same digits.
 */
export function formatRemaining(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** Whole minutes typed by the facilitator, or null when not a sensible duration (1–180). */
export function parseMinutes(raw: string): number | null {
  const text = raw.trim().replace(',', '.');
  if (!/^\d+(\.\d+)?$/.test(text)) return null;
  const minutes = Number(text);
  if (!(minutes > 0) || minutes > 180) return null;
  return Math.round(minutes * 60_000);
}

/**
 * What a screen reader hears: the status when it changes, and a minute
 * mark once a minute at most — never every second.
 */
export function timerAnnouncement(status: TimerStatus, remainingMs: number): string {
  if (status !== 'running') return status;
  const minutes = Math.ceil(remainingMs / 60_000);
  return `running:${minutes}`;
}

/** Presets offered to the facilitator, in minutes. */
export const TIMER_PRESETS = [5, 10, 15, 20] as const;
