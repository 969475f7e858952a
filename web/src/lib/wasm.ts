// Loads the wasm client (generated into src/wasm/ by wasm-bindgen from
// client-wasm/; see web/README.md) once per page.

import init, { TavoloClient } from '../wasm/tavolo_client_wasm.js';
import type { SyncClient } from './types';

let loading: Promise<unknown> | null = null;

/**
 * A client for a participant, or for the facilitator when `participantId` is
 * null — or, with `projector`, for the room's screen, which sees only what
 * the room may see (no hidden notes, totals only once revealed).
 */
/**
 * Starts downloading and compiling the client while the person is still on
 * the join form (a phone on venue Wi-Fi spends seconds on 450 KB), so the
 * board opens as soon as they press "Entra". Failures are left for
 * `createClient` to report.
 */
export function preloadClient(): void {
  loading ??= init();
  loading.catch(() => {
    loading = null;
  });
}

export async function createClient(participantId: string | null, projector = false): Promise<SyncClient> {
  loading ??= init();
  try {
    await loading;
  } catch (e) {
    loading = null; // let a later attempt try again
    throw e;
  }
  // The generated class types its views as `any`; SyncClient names their shapes.
  return new TavoloClient(participantId, projector) as SyncClient;
}
