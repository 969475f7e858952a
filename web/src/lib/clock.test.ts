import { describe, expect, it } from 'vitest';
import { measureOffset, offsetFromProbes } from './clock';

describe('offsetFromProbes', () => {
  it('is null without probes', () => {
    expect(offsetFromProbes([])).toBeNull();
  });

  it('assumes the server answered halfway through the round trip', () => {
    // Local clock 5 s behind: sent at 1000, answered at 1100, server read 6050.
    expect(offsetFromProbes([{ sentAt: 1000, receivedAt: 1100, serverNow: 6050 }])).toBe(5000);
  });

  it('keeps the probe with the shortest round trip', () => {
    const probes = [
      { sentAt: 0, receivedAt: 900, serverNow: 10_000 }, // slow, skewed by queuing
      { sentAt: 1000, receivedAt: 1020, serverNow: 3010 },
      { sentAt: 2000, receivedAt: 2300, serverNow: 4500 },
    ];
    expect(offsetFromProbes(probes)).toBe(2000);
  });

  it('ignores a probe during which the local clock went backwards', () => {
    expect(
      offsetFromProbes([
        { sentAt: 5000, receivedAt: 10, serverNow: 0 },
        { sentAt: 0, receivedAt: 10, serverNow: -995 },
      ]),
    ).toBe(-1000);
  });
});

describe('measureOffset', () => {
  it('probes a few times and skips failures', async () => {
    let local = 0;
    const now = () => local;
    let calls = 0;
    const ask = async () => {
      calls += 1;
      local += calls === 2 ? 10 : 200; // the second probe is the quick one
      if (calls === 1) throw new Error('lost');
      return local - 5 + 30_000; // server read its clock 5 ms before the answer arrived
    };
    expect(await measureOffset(3, ask, now)).toBe(30_000);
    expect(calls).toBe(3);
  });

  it('is null when every probe fails', async () => {
    expect(await measureOffset(2, () => Promise.reject(new Error('down')))).toBeNull();
  });
});
