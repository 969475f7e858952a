import { describe, expect, it } from 'vitest';
import { clusterErrorMessage, voteErrorMessage } from './voteErrors';

describe('voteErrorMessage', () => {
  it('explains the refusals the client gives', () => {
    expect(voteErrorMessage(new Error('voting is closed on this question'), 3)).toEqual({ key: 'vote.error.closed' });
    expect(voteErrorMessage(new Error('no dots left: the budget is 5'), 3)).toEqual({ key: 'vote.error.noDots', params: { budget: 5 } });
    expect(voteErrorMessage(new Error('this phase is locked'), 3)).toEqual({ key: 'board.phaseLocked' });
    expect(voteErrorMessage(new Error('offline: dots are placed while connected to the server'), 3)).toEqual({ key: 'vote.error.offline' });
    expect(voteErrorMessage(new Error('boom'), 3)).toEqual({ key: 'vote.error.generic', params: { message: 'boom' } });
  });
});

describe('clusterErrorMessage', () => {
  it('explains a long title and a locked phase', () => {
    expect(clusterErrorMessage(new Error('a cluster title may be at most 120 characters long'))).toEqual({ key: 'cluster.error.titleTooLong' });
    expect(clusterErrorMessage(new Error('this phase is locked'))).toEqual({ key: 'board.phaseLocked' });
  });
});
