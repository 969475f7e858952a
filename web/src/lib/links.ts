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

/**
 * The sync socket's address for a page served from `location`: no ticket in
 * it (addresses end up in logs). With the session in the path, a proxy in
 * front of several servers sends all of a session's sockets to one of them.
 */
export function syncSocketUrl(location: { protocol: string; host: string }, sessionId?: string): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const path = sessionId ? `/sync/${encodeURIComponent(sessionId)}` : '/sync';
  return `${scheme}//${location.host}${path}`;
}

/** The subprotocol the server selects; the socket fails to open if it does not. */
export const SYNC_PROTOCOL = 'tavolo';

/**
 * The subprotocols the sync socket offers: Tavolo's, and the ticket as a
 * second one. A browser WebSocket cannot send an `Authorization` header, and
 * `Sec-WebSocket-Protocol` stays out of the address and the access logs.
 * Tickets are lowercase hex, which is a valid protocol token.
 */
export function syncSocketProtocols(ticket: string): string[] {
  return [SYNC_PROTOCOL, `${SYNC_PROTOCOL}.ticket.${ticket}`];
}

/** The projector's page with no secret: it uses what this tab keeps, or the facilitator's ticket. */
export function projectorPath(sessionId: string): string {
  return `/p/${encodeURIComponent(sessionId)}`;
}

/**
 * The projector's link: a viewer ticket (`#v=…`) that shows the session and
 * cannot lead it. In the fragment, which browsers never send to the server;
 * the projector removes it from the address bar once read.
 */
export function projectorLink(origin: string, sessionId: string, viewerTicket: string): string {
  return `${origin}${projectorPath(sessionId)}#v=${encodeURIComponent(viewerTicket)}`;
}
