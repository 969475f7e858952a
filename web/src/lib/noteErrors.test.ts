import { describe, expect, it } from 'vitest';
import { noteErrorMessage } from './noteErrors';

describe('noteErrorMessage', () => {
  it('explains the errors the model raises', () => {
    expect(noteErrorMessage(new Error('a note needs some text'))).toEqual({ key: 'noteError.empty' });
    expect(noteErrorMessage(new Error('a note may be at most 1000 characters long'))).toEqual({
      key: 'noteError.tooLong',
      params: { max: 1000 },
    });
    expect(noteErrorMessage(new Error('only the author can edit a note'))).toEqual({ key: 'noteError.notYours' });
    expect(noteErrorMessage(new Error('unknown category spazi'))).toEqual({ key: 'noteError.unknownCategory' });
  });

  it('keeps anything else as a detail', () => {
    expect(noteErrorMessage(new Error('document is not open'))).toEqual({
      key: 'noteError.generic',
      params: { message: 'document is not open' },
    });
    expect(noteErrorMessage('boom')).toEqual({ key: 'noteError.generic', params: { message: 'boom' } });
  });
});
