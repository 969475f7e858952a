import { describe, expect, it } from 'vitest';
import { askableCode, partyLine, type JoinInfoState } from './privacy';

const ready = (controller: string, contact: string): JoinInfoState => ({
  status: 'ready',
  code: 'ABC234',
  info: { title: 'Prima', joining_open: true, privacy: { controller, contact } },
});

describe('partyLine', () => {
  it('says the session’s own words, trimmed', () => {
    const state = ready('  Comune di Santarcangelo ', 'segreteria@example.org');
    expect(partyLine(state, 'controller')).toEqual({ text: 'Comune di Santarcangelo' });
    expect(partyLine(state, 'contact')).toEqual({ text: 'segreteria@example.org' });
  });

  it('falls back to general words when the session says nothing', () => {
    const state = ready('', '   ');
    expect(partyLine(state, 'controller')).toEqual({ key: 'privacy.controller.fallback' });
    expect(partyLine(state, 'contact')).toEqual({ key: 'privacy.contact.fallback' });
  });

  it('falls back when the server could not be asked, or there is no code yet', () => {
    for (const state of [{ status: 'failed', code: 'ABC234' }, { status: 'none' }] as JoinInfoState[]) {
      expect(partyLine(state, 'controller')).toEqual({ key: 'privacy.controller.fallback' });
      expect(partyLine(state, 'contact')).toEqual({ key: 'privacy.contact.fallback' });
    }
  });

  it('says it is loading while the answer is on its way', () => {
    expect(partyLine({ status: 'loading', code: 'ABC234' }, 'controller')).toEqual({ key: 'common.loading' });
  });
});

describe('askableCode', () => {
  it('takes a whole code, however it was typed', () => {
    expect(askableCode('abc234')).toBe('ABC234');
    expect(askableCode(' ab-c 234 ')).toBe('ABC234');
  });

  it('waits for the whole code', () => {
    expect(askableCode('')).toBeNull();
    expect(askableCode('ABC23')).toBeNull();
    expect(askableCode('ABC2345')).toBeNull();
  });

  it('never asks about something that cannot be a code', () => {
    expect(askableCode('AB/../')).toBeNull();
    expect(askableCode('ÀBC234')).toBeNull();
  });
});
