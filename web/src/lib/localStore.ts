// The phone's own copy of a session's documents, in IndexedDB: what was
// written here survives a closed or killed tab and a reload while
// offline, and reaches the server on the next connection.
//
// One record per (owner, document): the owner is who this copy belongs to
// on this device (session document and participant), so two people who
// use the same browser never load each other's copy. A record holds the
// document's saved bytes and the heads the server had confirmed, which
// tell the client what is still to send.

export interface KeptDoc {
  url: string;
  bytes: Uint8Array;
  /** Heads (hex) the server had confirmed when the copy was kept. */
  confirmed: string[];
}

export interface LocalStore {
  load(owner: string): Promise<KeptDoc[]>;
  save(owner: string, docs: KeptDoc[]): Promise<void>;
  /** Forgets every document of `owner` (the person left the session). */
  clear(owner: string): Promise<void>;
}

const DB = 'tavolo';
const STORE = 'docs';

interface Row extends KeptDoc {
  owner: string;
  savedAt: number;
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed'));
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
  });
}

/** The device's store, or null where IndexedDB is missing (some private modes). */
export function indexedDbStore(factory: IDBFactory | undefined = globalThis.indexedDB): LocalStore | null {
  if (!factory) return null;
  let opening: Promise<IDBDatabase> | null = null;
  const db = (): Promise<IDBDatabase> => {
    opening ??= new Promise<IDBDatabase>((resolve, reject) => {
      const r = factory.open(DB, 1);
      r.onupgradeneeded = () => {
        const store = r.result.createObjectStore(STORE, { keyPath: ['owner', 'url'] });
        store.createIndex('owner', 'owner');
      };
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error ?? new Error('IndexedDB did not open'));
      r.onblocked = () => reject(new Error('IndexedDB is blocked by another tab'));
    }).catch((e: unknown) => {
      opening = null; // a later call tries again
      throw e;
    });
    return opening;
  };
  return {
    async load(owner) {
      const tx = (await db()).transaction(STORE, 'readonly');
      const rows = await request(tx.objectStore(STORE).index('owner').getAll(IDBKeyRange.only(owner)));
      return (rows as Row[]).map(({ url, bytes, confirmed }) => ({ url, bytes, confirmed }));
    },
    async save(owner, docs) {
      if (docs.length === 0) return;
      const tx = (await db()).transaction(STORE, 'readwrite');
      const store = tx.objectStore(STORE);
      const savedAt = Date.now();
      for (const d of docs) store.put({ owner, url: d.url, bytes: d.bytes, confirmed: d.confirmed, savedAt } satisfies Row);
      await done(tx);
    },
    async clear(owner) {
      const tx = (await db()).transaction(STORE, 'readwrite');
      const store = tx.objectStore(STORE);
      const keys = await request(store.index('owner').getAllKeys(IDBKeyRange.only(owner)));
      for (const k of keys) store.delete(k);
      await done(tx);
    },
  };
}

/** Whose copy: the session and the person (a facilitator or projector has none). */
export function ownerKey(sessionDoc: string, participantId: string): string {
  return `${sessionDoc} ${participantId}`;
}
