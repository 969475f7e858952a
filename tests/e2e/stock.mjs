// A stock automerge-repo client in Node, as any app would use it with
// Tavolo: a participant joins through the API and connects with its ticket.

import assert from 'node:assert/strict';
import { WebSocketClientAdapter } from '@automerge/automerge-repo-network-websocket';
import WebSocket from 'ws';

export async function joinByApi(server, code, name) {
  const response = await fetch(`${server.url}/api/join`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ join_code: code, name, organization: 'Archivio storico', sector: 'public', tier: 'strategic_extension', attendance: 'remote' }),
  });
  const body = await response.json();
  assert.equal(response.status, 201, JSON.stringify(body));
  return body;
}

/**
 * The stock adapter, opening its socket the way Tavolo wants it: the ticket
 * as a subprotocol after `tavolo`, never in the address (the stock one can
 * only take a URL). No reconnection: a test run is short.
 */
export class TicketedAdapter extends WebSocketClientAdapter {
  constructor(url, ticket) {
    super(url, 0);
    this.ticket = ticket;
  }

  connect(peerId, peerMetadata) {
    this.peerId = peerId;
    this.peerMetadata = peerMetadata ?? {};
    this.socket = new WebSocket(this.url, ['tavolo', `tavolo.ticket.${this.ticket}`]);
    this.socket.binaryType = 'arraybuffer';
    this.socket.addEventListener('open', this.onOpen);
    this.socket.addEventListener('close', this.onClose);
    this.socket.addEventListener('message', this.onMessage);
    this.socket.addEventListener('error', this.onError);
    this.join();
  }
}

/** Resolves once `handle`'s document satisfies `ok`. */
export function until(handle, ok, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timeout: ${what}`)), timeoutMs);
    const check = () => {
      if (!ok(handle.doc())) return;
      clearTimeout(timer);
      handle.off('change', check);
      resolve();
    };
    handle.on('change', check);
    check();
  });
}

