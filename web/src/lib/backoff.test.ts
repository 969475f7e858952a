import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_BACKOFF } from './backoff';

const almostOne = () => 0.999_999;

describe('backoffDelay', () => {
  it('grows exponentially from the base until the cap', () => {
    const ceilings = [0, 1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, DEFAULT_BACKOFF, almostOne));
    expect(ceilings).toEqual([499, 999, 1999, 3999, 7999, 9999, 9999]);
  });

  it('never exceeds the cap however many attempts failed', () => {
    expect(backoffDelay(1_000, DEFAULT_BACKOFF, almostOne)).toBeLessThan(DEFAULT_BACKOFF.capMs);
    expect(backoffDelay(Number.MAX_SAFE_INTEGER, DEFAULT_BACKOFF, almostOne)).toBeLessThan(10_000);
  });

  it('draws the whole range from zero to the ceiling (full jitter)', () => {
    expect(backoffDelay(3, DEFAULT_BACKOFF, () => 0)).toBe(0);
    expect(backoffDelay(3, DEFAULT_BACKOFF, () => 0.5)).toBe(2000);
  });

  it('treats nonsense attempts as the first one', () => {
    expect(backoffDelay(-3, DEFAULT_BACKOFF, almostOne)).toBe(499);
    expect(backoffDelay(Number.NaN, DEFAULT_BACKOFF, almostOne)).toBe(499);
  });

  it('honours custom options', () => {
    expect(backoffDelay(2, { baseMs: 100, capMs: 300 }, almostOne)).toBe(299);
  });

  it('uses Math.random by default and stays in range', () => {
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(i % 8);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(10_000);
    }
  });
});
