import { describe, expect, it } from 'vitest';
import { ApiError, NetworkError } from './api';
import { joinFailure } from './joinErrors';

describe('joinFailure', () => {
  it('puts an unknown code on the code field', () => {
    expect(joinFailure(new ApiError(404, 'no session has this join code'))).toEqual({
      on: 'code',
      message: { key: 'join.error.unknownCode' },
    });
  });

  it('says the facilitator closed joining', () => {
    expect(joinFailure(new ApiError(403, 'joining is closed', 'joining_closed'))).toEqual({
      on: 'form',
      message: { key: 'join.error.joiningClosed' },
    });
  });

  it('says the session is full', () => {
    expect(joinFailure(new ApiError(409, 'the session is full', 'session_full'))).toEqual({
      on: 'form',
      message: { key: 'join.error.sessionFull' },
    });
  });

  it('says the session cannot take newcomers now on a 503', () => {
    expect(joinFailure(new ApiError(503, 'damaged'))).toEqual({ on: 'form', message: { key: 'join.error.unavailable' } });
  });

  it('keeps the server’s text for anything else, and tells a network failure apart', () => {
    expect(joinFailure(new ApiError(403, 'forbidden'))).toEqual({
      on: 'form',
      message: { key: 'common.serverError', params: { message: 'forbidden' } },
    });
    expect(joinFailure(new NetworkError(new TypeError('Failed to fetch')))).toEqual({
      on: 'form',
      message: { key: 'common.networkError' },
    });
  });
});
