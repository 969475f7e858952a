// Reconnection delays: exponential backoff with "full jitter" (a uniform
// random delay between 0 and the exponential ceiling), so that a room full
// of phones that lost the server at the same moment does not come back in
// lockstep.

export interface BackoffOptions {
  /** Ceiling of the first retry, in milliseconds. */
  baseMs: number;
  /** No delay ever exceeds this, in milliseconds. */
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, capMs: 10_000 };

/**
 * The delay before retry number `attempt` (0 for the first retry after a
 * failure). `random` returns a number in [0, 1), like `Math.random`.
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = DEFAULT_BACKOFF,
  random: () => number = Math.random,
): number {
  // 2 ** 30 * base is far past any cap; clamping keeps the arithmetic exact.
  const exponent = Number.isFinite(attempt) ? Math.min(Math.max(0, Math.floor(attempt)), 30) : 0;
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** exponent);
  return Math.floor(random() * ceiling);
}
