// Starts a Connection for a component's lifetime and re-renders the
// component whenever something it shows may have changed.

import { useEffect, useState } from 'preact/hooks';
import { ticketRejected } from './api';
import { Connection } from './connection';
import { syncSocketProtocols, syncSocketUrl } from './links';
import { indexedDbStore, ownerKey } from './localStore';
import type { SyncClient } from './types';
import { createClient } from './wasm';

export interface LiveSession {
  connection: Connection | null;
  /** The wasm client could not start (an old browser, a failed download). */
  failed: boolean;
}

export function useConnection(
  credentials: {
    ticket: string;
    sessionDoc: string;
    participantId: string | null;
    projector?: boolean;
    /** Puts the session in the socket's path (routing behind a proxy). */
    sessionId?: string;
  } | null,
): LiveSession {
  const [connection, setConnection] = useState<Connection | null>(null);
  const [failed, setFailed] = useState(false);
  const [, setVersion] = useState(0);
  const ticket = credentials?.ticket ?? null;
  // Who this client is: a new ticket for the same one (renewed, or the
  // facilitator key rotated) keeps the documents and only replaces the socket.
  const identity = credentials
    ? `${credentials.sessionDoc} ${credentials.participantId ?? ''} ${credentials.projector ? 'projector' : ''}`
    : null;

  useEffect(() => {
    if (!credentials) return;
    let live: Connection | null = null;
    let client: SyncClient | null = null;
    let cancelled = false;
    createClient(credentials.participantId, credentials.projector ?? false).then(
      async (created) => {
        client = created;
        if (cancelled) return void client.free?.();
        // A participant's phone keeps its own copy: notes written offline
        // survive a closed tab and go out on the next connection.
        const participant = credentials.projector ? null : credentials.participantId;
        const started = new Connection({
          client,
          sessionDoc: credentials.sessionDoc,
          socketUrl: syncSocketUrl(location, credentials.sessionId),
          protocols: syncSocketProtocols(credentials.ticket),
          ticketRejected: () => ticketRejected(credentials.ticket),
          localStore: participant ? indexedDbStore() : null,
          owner: participant ? ownerKey(credentials.sessionDoc, participant) : undefined,
        });
        live = started;
        await started.restore();
        if (cancelled) return;
        started.subscribe(() => setVersion(started.version));
        started.start();
        setConnection(started);
      },
      (e: unknown) => {
        console.error('tavolo: the wasm client did not start', e);
        if (!cancelled) setFailed(true);
      },
    );
    return () => {
      cancelled = true;
      live?.stop();
      // The documents live in wasm memory, which JavaScript's GC does not see.
      client?.free?.();
      setConnection(null);
    };
    // One connection per identity: the ticket may change under it (below).
  }, [identity]);

  // A no-op for the ticket the connection started with.
  useEffect(() => {
    if (!connection || !ticket) return;
    connection.switchTicket(syncSocketProtocols(ticket), () => ticketRejected(ticket));
  }, [connection, ticket]);

  return { connection, failed };
}
