import { describe, expect, it } from 'vitest';
import { formatRemaining, parseMinutes, timerAnnouncement } from './timer';

describe('formatRemaining', () => {
  it('shows minutes and seconds, rounding up', () => {
    expect(formatRemaining(600_000)).toBe('10:00');
    expect(formatRemaining(599_001)).toBe('10:00');
    expect(formatRemaining(599_000)).toBe('9:59');
    expect(formatRemaining(61_000)).toBe('1:01');
    expect(formatRemaining(1)).toBe('0:01');
  });

  it('never goes below zero', () => {
    expect(formatRemaining(0)).toBe('0:00');
    expect(formatRemaining(-5000)).toBe('0:00');
  });

  it('shows hours past sixty minutes', () => {
    expect(formatRemaining(3_600_000)).toBe('1:00:00');
    expect(formatRemaining(3_725_000)).toBe('1:02:05');
  });
});

describe('parseMinutes', () => {
  it('reads whole and decimal minutes', () => {
    expect(parseMinutes('7')).toBe(420_000);
    expect(parseMinutes(' 2,5 ')).toBe(150_000);
    expect(parseMinutes('0.5')).toBe(30_000);
  });

  it('refuses what is not a sensible duration', () => {
    for (const raw of ['', '0', '-3', 'abc', '181', '1e3']) expect(parseMinutes(raw), raw).toBeNull();
  });
});

describe('timerAnnouncement', () => {
  it('changes with the status and once a minute while running, not every second', () => {
    expect(timerAnnouncement('running', 300_000)).toBe(timerAnnouncement('running', 240_001));
    expect(timerAnnouncement('running', 240_000)).not.toBe(timerAnnouncement('running', 240_001));
    expect(timerAnnouncement('paused', 10_000)).toBe('paused');
    expect(timerAnnouncement('finished', 0)).toBe('finished');
  });
});
