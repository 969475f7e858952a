import { describe, expect, it } from 'vitest';
import { ApiError, NetworkError } from './api';
import { consoleActionError, grantError, parseKeyFragment, parseProjectorFragment } from './grants';

describe('parseKeyFragment', () => {
  it('reads the key after the #', () => {
    expect(parseKeyFragment('#k3y')).toBe('k3y');
    expect(parseKeyFragment('#%20k3y%20')).toBe('k3y');
  });

  it('is null when there is nothing usable', () => {
    expect(parseKeyFragment('')).toBeNull();
    expect(parseKeyFragment('#')).toBeNull();
    expect(parseKeyFragment('#%E0%A4%A')).toBeNull();
  });
});

describe('parseProjectorFragment', () => {
  it('reads a viewer ticket from #v=', () => {
    expect(parseProjectorFragment('#v=ab12')).toEqual({ viewerTicket: 'ab12' });
  });

  it('still reads the facilitator key of older projector links', () => {
    expect(parseProjectorFragment('#k3y')).toEqual({ facilitatorKey: 'k3y' });
  });

  it('is null for an empty fragment or an empty ticket', () => {
    expect(parseProjectorFragment('')).toBeNull();
    expect(parseProjectorFragment('#v=')).toBeNull();
  });
});

describe('grantError', () => {
  it('tells an expired or revoked ticket from a wrong key', () => {
    expect(grantError(new ApiError(401, 'unknown ticket'))).toEqual({ key: 'facilitator.error.expired' });
    expect(grantError(new ApiError(401, 'unknown ticket'), 'projector')).toEqual({ key: 'projector.error.linkExpired' });
    expect(grantError(new ApiError(403, 'wrong key'))).toEqual({ key: 'facilitator.error.wrongKey' });
  });

  it('says when the session or the network is missing', () => {
    expect(grantError(new ApiError(404, 'no such session'))).toEqual({ key: 'facilitator.error.unknownSession' });
    expect(grantError(new NetworkError('offline'))).toEqual({ key: 'common.networkError' });
  });
});

describe('consoleActionError', () => {
  it('says the console lost its access when the server turns its secret away', () => {
    expect(consoleActionError(new ApiError(401, 'unknown ticket'))).toEqual({ key: 'facilitator.error.expired' });
    expect(consoleActionError(new ApiError(403, 'wrong key'))).toEqual({ key: 'facilitator.error.expired' });
  });

  it('keeps the server’s words for anything else', () => {
    expect(consoleActionError(new ApiError(503, 'storage is unavailable'))).toEqual({
      key: 'console.access.failed',
      params: { message: 'storage is unavailable' },
    });
    expect(consoleActionError(new NetworkError('offline'))).toEqual({ key: 'common.networkError' });
  });
});
