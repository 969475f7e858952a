import { describe, expect, it } from 'vitest';
import { ApiError, NetworkError } from './api';
import { confirmsDeletion, deletionError } from './deletion';

const TITLE = 'Prima sessione del Tavolo di Negoziazione';

describe('confirmsDeletion', () => {
  it('takes the confirmation word, in any case', () => {
    expect(confirmsDeletion('ELIMINA', TITLE, 'ELIMINA')).toBe(true);
    expect(confirmsDeletion(' elimina ', TITLE, 'ELIMINA')).toBe(true);
  });

  it('takes the session’s title, ignoring case and extra spaces', () => {
    expect(confirmsDeletion(TITLE, TITLE, 'ELIMINA')).toBe(true);
    expect(confirmsDeletion('prima  sessione del tavolo di negoziazione ', TITLE, 'ELIMINA')).toBe(true);
  });

  it('takes the same accented letters however they were composed', () => {
    expect(confirmsDeletion('Citta\u0300', 'Città', 'ELIMINA')).toBe(true);
  });

  it('refuses anything else', () => {
    expect(confirmsDeletion('', TITLE, 'ELIMINA')).toBe(false);
    expect(confirmsDeletion('   ', '', 'ELIMINA')).toBe(false);
    expect(confirmsDeletion('ELIMIN', TITLE, 'ELIMINA')).toBe(false);
    expect(confirmsDeletion('Prima sessione', TITLE, 'ELIMINA')).toBe(false);
    expect(confirmsDeletion('sì', TITLE, 'ELIMINA')).toBe(false);
  });

  it('does not take an empty title as typed', () => {
    expect(confirmsDeletion('', '', 'ELIMINA')).toBe(false);
  });
});

describe('deletionError', () => {
  it('says the console may not delete when the server refuses its key or ticket', () => {
    expect(deletionError(new ApiError(401, 'missing bearer'))).toEqual({ key: 'console.delete.error.denied' });
    expect(deletionError(new ApiError(403, 'wrong key'))).toEqual({ key: 'console.delete.error.denied' });
  });

  it('says the session is not there any more', () => {
    expect(deletionError(new ApiError(404, 'no such session'))).toEqual({ key: 'console.delete.error.notFound' });
  });

  it('tells an unreachable server apart', () => {
    expect(deletionError(new NetworkError(new TypeError('Failed to fetch')))).toEqual({ key: 'common.networkError' });
  });

  it('carries the server’s own words otherwise', () => {
    expect(deletionError(new ApiError(503, 'storage unavailable'))).toEqual({
      key: 'console.delete.error.failed',
      params: { message: 'storage unavailable' },
    });
  });
});
