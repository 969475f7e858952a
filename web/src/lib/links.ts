// Addresses the app builds: share links and the sync socket.

/** Upper-cases a typed join code and drops spaces and dashes, as the server does. */
export function normalizeJoinCode(code: string): string {
  return code.replace(/[\s-]+/g, '').toUpperCase();
}

/** The link a participant opens to join: `/j/<CODE>`. */
export function joinLink(origin: string, joinCode: string): string {
  return `${origin}/j/${encodeURIComponent(normalizeJoinCode(joinCode))}`;
}

/**
 * The facilitator's link. The key rides in the fragment, which browsers
 * never send to the server, so it stays out of logs and `Referer` headers.
 */
export function facilitatorLink(origin: string, sessionId: string, facilitatorKey: string): string {
  return `${origin}/f/${encodeURIComponent(sessionId)}#${encodeURIComponent(facilitatorKey)}`;
}

/** The sync socket's address for a page served from `location`. */
export function syncSocketUrl(location: { protocol: string; host: string }, ticket: string): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/sync?ticket=${encodeURIComponent(ticket)}`;
}

/** The projector's page in this browser: it asks for a viewer ticket with the facilitator's. */
export function projectorPath(sessionId: string): string {
  return `/p/${encodeURIComponent(sessionId)}`;
}

/** The projector's link for another computer: the key rides in the fragment, stripped once read. */
export function projectorLink(origin: string, sessionId: string, facilitatorKey: string): string {
  return `${origin}${projectorPath(sessionId)}#${encodeURIComponent(facilitatorKey)}`;
}
