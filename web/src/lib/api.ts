// The HTTP contract (shared/DESIGN.md, "Public contract"). Errors come back
// as `{"error": "…"}` with a 4xx status, some with a stable `"code"`;
// callers show their own Italian messages (chosen by status and code) first
// and the server's text only as a fallback.

import type {
  CreatedSession,
  FacilitatorGrant,
  JoinInfo,
  JoinRequest,
  Joined,
  ProjectorGrant,
  ResultsReport,
  RotatedKey,
  TemplateInfo,
  TicketGrant,
} from './types';
import type { TemplateOutline, TemplateProblem } from './templateProblems';

/** A request that reached the server and was answered with an error. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** The server's stable `code` (`joining_closed`, `session_full`…), when it sent one. */
    readonly code: string | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The server could not be reached at all (offline, DNS, server down). */
export class NetworkError extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'NetworkError';
  }
}

/**
 * One JSON request. `secret` (a facilitator key or a ticket) goes in an
 * `Authorization` header, never in the address, which ends up in logs.
 */
async function call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, secret?: string): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (secret !== undefined) headers.Authorization = `Bearer ${secret}`;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new NetworkError(e);
  }
  if (!response.ok) throw await apiError(response);
  return (await response.json()) as T;
}

/** An error answer as an `ApiError`: the server's text and code, or the status line when the body is not ours. */
export async function apiError(response: Response): Promise<ApiError> {
  try {
    const body: unknown = await response.json();
    if (body && typeof body === 'object' && 'error' in body && typeof body.error === 'string') {
      const code = 'code' in body && typeof body.code === 'string' ? body.code : null;
      return new ApiError(response.status, body.error, code);
    }
  } catch {
    // Not JSON (a proxy's error page, say): fall through.
  }
  return new ApiError(response.status, response.statusText || `HTTP ${response.status}`);
}

export function listTemplates(): Promise<TemplateInfo[]> {
  return call('GET', '/api/templates');
}

export function createSession(template: string, title?: string): Promise<CreatedSession> {
  return call('POST', '/api/sessions', title ? { template, title } : { template });
}

/** A template the server refused (422), with where and why. */
export class TemplateRejected extends ApiError {
  constructor(
    message: string,
    readonly problems: TemplateProblem[],
  ) {
    super(422, message);
    this.name = 'TemplateRejected';
  }
}

/** The problems of a 422 answer about a template, if it carries any. */
function problemsOf(body: unknown): TemplateProblem[] | null {
  if (!body || typeof body !== 'object' || !('problems' in body) || !Array.isArray(body.problems)) return null;
  const problems = body.problems.filter(
    (p): p is TemplateProblem =>
      !!p && typeof p === 'object' && typeof p.code === 'string' && typeof p.line === 'number' && typeof p.column === 'number',
  );
  return problems.length > 0 ? problems.map((p) => ({ ...p, params: p.params ?? {}, path: p.path ?? '' })) : null;
}

/** Like `call`, but a 422 that names template problems throws `TemplateRejected`. */
async function callWithTemplate<T>(path: string, body: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch (e) {
    throw new NetworkError(e);
  }
  if (response.ok) return (await response.json()) as T;
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not ours: the status line below.
  }
  const problems = response.status === 422 ? problemsOf(parsed) : null;
  const error =
    parsed && typeof parsed === 'object' && 'error' in parsed && typeof parsed.error === 'string'
      ? parsed.error
      : response.statusText || `HTTP ${response.status}`;
  if (problems) throw new TemplateRejected(error, problems);
  throw new ApiError(response.status, error);
}

/** The TOML of a built-in template, to edit a copy of. */
export async function templateSource(id: string): Promise<string> {
  let response: Response;
  try {
    response = await fetch(`/api/templates/${encodeURIComponent(id)}/source`);
  } catch (e) {
    throw new NetworkError(e);
  }
  if (!response.ok) throw await apiError(response);
  return response.text();
}

export type TemplateCheck = { valid: true; template: TemplateOutline } | { valid: false; problems: TemplateProblem[] };

/** Checks a template's TOML: its outline, or where it is wrong. */
export async function checkTemplate(source: string): Promise<TemplateCheck> {
  try {
    const body = await callWithTemplate<{ template: TemplateOutline }>('/api/templates/check', { source });
    return { valid: true, template: body.template };
  } catch (e) {
    if (e instanceof TemplateRejected) return { valid: false, problems: e.problems };
    throw e;
  }
}

/** Creates a session from a template's TOML; a refused one throws `TemplateRejected`. */
export function createSessionFromSource(source: string, title?: string): Promise<CreatedSession> {
  return callWithTemplate('/api/sessions', title ? { template_source: source, title } : { template_source: source });
}

/**
 * What the join page shows before anything personal is sent: the
 * session's title and the privacy notice's parties. A 404 for a code no
 * session has; a body of another shape is an error, never half a notice.
 */
export async function joinInfo(joinCode: string): Promise<JoinInfo> {
  const body = await call<unknown>('GET', `/api/join/${encodeURIComponent(joinCode)}`);
  const info = parseJoinInfo(body);
  if (!info) throw new ApiError(200, 'unexpected join info');
  return info;
}

/** The join info in `body`, or null when it is not one. */
export function parseJoinInfo(body: unknown): JoinInfo | null {
  if (!body || typeof body !== 'object') return null;
  const b = body as Record<string, unknown>;
  const privacy = b.privacy as Record<string, unknown> | null | undefined;
  if (typeof b.title !== 'string' || typeof b.joining_open !== 'boolean') return null;
  if (!privacy || typeof privacy !== 'object') return null;
  if (typeof privacy.controller !== 'string' || typeof privacy.contact !== 'string') return null;
  return {
    title: b.title,
    joining_open: b.joining_open,
    privacy: { controller: privacy.controller, contact: privacy.contact },
  };
}

export function join(request: JoinRequest): Promise<Joined> {
  return call('POST', '/api/join', request);
}

export function facilitatorTicket(sessionId: string, facilitatorKey: string): Promise<FacilitatorGrant> {
  return call('POST', '/api/facilitator', {
    session_id: sessionId,
    facilitator_key: facilitatorKey,
  });
}

/** A read-only viewer ticket for the projector, traded for the key or the facilitator's ticket. */
export function projectorTicket(
  sessionId: string,
  proof: { facilitatorKey: string } | { ticket: string },
): Promise<ProjectorGrant> {
  return call(
    'POST',
    '/api/projector',
    'facilitatorKey' in proof
      ? { session_id: sessionId, facilitator_key: proof.facilitatorKey }
      : { session_id: sessionId, ticket: proof.ticket },
  );
}

/** What a ticket is good for (its role, its session, whether joining is open); 401 once it is not. */
export function ticketGrant(ticket: string): Promise<TicketGrant> {
  return call('GET', '/api/grant', undefined, ticket);
}

const sessionPath = (sessionId: string) => `/api/sessions/${encodeURIComponent(sessionId)}`;

/**
 * Replaces the facilitator key. `secret` is the key or the console's
 * ticket. Every other console and projector is disconnected, and with
 * `revokeParticipants` every participant too; the old key stops working.
 */
export function rotateKey(sessionId: string, secret: string, revokeParticipants: boolean): Promise<RotatedKey> {
  return call('POST', `${sessionPath(sessionId)}/rotate-key`, { revoke_participants: revokeParticipants }, secret);
}

/**
 * Deletes the session and everything in it from the server, for good.
 * `secret` is the key or the console's ticket (as for the report). Every
 * open socket of the session is closed with 4017 and its tickets stop
 * working.
 */
export function deleteSession(sessionId: string, secret: string): Promise<{ deleted: boolean }> {
  return call('DELETE', sessionPath(sessionId), undefined, secret);
}

/**
 * The session's results as the public report has them (no person named,
 * small groups merged), for the projector's results view; `ticket` is the
 * projector's viewer ticket or the console's.
 */
export function sessionResults(sessionId: string, ticket: string, lang: string): Promise<ResultsReport> {
  return call('GET', `${sessionPath(sessionId)}/results?${new URLSearchParams({ lang })}`, undefined, ticket);
}

/**
 * Starts the next meeting from this one: the same questions, this meeting's
 * commitments to follow up, the questions it left and the organizations
 * that took part. Answers like creating a session.
 */
export function followUp(sessionId: string, secret: string): Promise<CreatedSession> {
  return call('POST', `${sessionPath(sessionId)}/follow-up`, {}, secret);
}

/** Opens or closes the session to newcomers; those already in stay. */
export function setJoining(sessionId: string, secret: string, open: boolean): Promise<{ joining_open: boolean }> {
  return call('POST', `${sessionPath(sessionId)}/joining`, { open }, secret);
}

/** Removes a participant: their ticket stops working, their screens close. */
export function revokeParticipant(sessionId: string, ticket: string, participantId: string): Promise<unknown> {
  return call('POST', '/api/revoke', { session_id: sessionId, ticket, participant_id: participantId });
}

/** The server's clock, milliseconds since the epoch. */
export async function serverTime(): Promise<number> {
  const body = await call<{ now: unknown }>('GET', '/api/time');
  if (typeof body.now !== 'number' || !Number.isFinite(body.now)) throw new ApiError(200, 'no time in the answer');
  return body.now;
}

/**
 * Whether the sync endpoint turns this ticket away. A browser WebSocket
 * cannot see the HTTP status of a refused upgrade, so after a socket fails
 * to open, a plain GET with the ticket in the header tells an expired or
 * revoked ticket (401, checked before the upgrade) from a network or server
 * problem.
 */
export async function ticketRejected(ticket: string, fetchImpl: typeof fetch = fetch): Promise<boolean> {
  try {
    const response = await fetchImpl('/sync', { headers: { Authorization: `Bearer ${ticket}` }, cache: 'no-store' });
    return response.status === 401;
  } catch {
    return false;
  }
}
