import { describe, expect, it } from 'vitest';
import { parseRoute } from './router';

describe('parseRoute', () => {
  it('knows the start page', () => {
    expect(parseRoute('/')).toEqual({ page: 'start' });
    expect(parseRoute('')).toEqual({ page: 'start' });
  });

  it('reads the join page with and without a code', () => {
    expect(parseRoute('/j')).toEqual({ page: 'join', code: null });
    expect(parseRoute('/j/')).toEqual({ page: 'join', code: null });
    expect(parseRoute('/j/abc-234')).toEqual({ page: 'join', code: 'ABC234' });
  });

  it('reads the board with a normalized code', () => {
    expect(parseRoute('/b/abc234')).toEqual({ page: 'board', code: 'ABC234' });
    expect(parseRoute('/b/ABC%20234')).toEqual({ page: 'board', code: 'ABC234' });
    expect(parseRoute('/b')).toEqual({ page: 'join', code: null });
  });

  it('reads the facilitator page, the key being in the fragment', () => {
    expect(parseRoute('/f/01HXYZ')).toEqual({ page: 'facilitator', sessionId: '01HXYZ' });
    expect(parseRoute('/f')).toEqual({ page: 'notFound' });
  });

  it('reads the projector page, with or without a key in the fragment', () => {
    expect(parseRoute('/p/01HXYZ')).toEqual({ page: 'projector', sessionId: '01HXYZ' });
    expect(parseRoute('/p/')).toEqual({ page: 'notFound' });
    expect(parseRoute('/p/01HXYZ/x')).toEqual({ page: 'notFound' });
  });

  it('sends anything else to not found', () => {
    expect(parseRoute('/x')).toEqual({ page: 'notFound' });
    expect(parseRoute('/j/ABC234/more')).toEqual({ page: 'notFound' });
    expect(parseRoute('/j/%E0%A4%A')).toEqual({ page: 'notFound' });
  });
});
