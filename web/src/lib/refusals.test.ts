import { describe, expect, it } from 'vitest';
import { refusalMessage } from './refusals';

describe('refusalMessage', () => {
  it('explains a known code in the catalogue’s words', () => {
    expect(refusalMessage({ code: 'phase_locked', message: 'the phase is locked' })).toEqual({ key: 'refusal.phase_locked' });
  });

  it('explains a participant who reached the quota on a question', () => {
    expect(refusalMessage({ code: 'quota_exceeded', message: 'too many notes on this question' })).toEqual({
      key: 'refusal.quota_exceeded',
    });
  });

  it('keeps the server’s text for a code it does not know', () => {
    expect(refusalMessage({ code: 'brand_new', message: 'something new' })).toEqual({
      key: 'refusal.unknown',
      params: { message: 'something new' },
    });
  });
});
