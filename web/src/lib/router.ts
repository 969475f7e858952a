// The app's few routes, read from `location.pathname`. The server answers
// every one of them with index.html; history.pushState moves between them.

import { useEffect, useState } from 'preact/hooks';
import { normalizeJoinCode } from './links';

export type Route =
  | { page: 'start' }
  | { page: 'join'; code: string | null }
  | { page: 'board'; code: string }
  | { page: 'facilitator'; sessionId: string }
  | { page: 'projector'; sessionId: string }
  | { page: 'notFound' };

function segment(raw: string): string | null {
  try {
    const s = decodeURIComponent(raw).trim();
    return s.length > 0 ? s : null;
  } catch {
    return null;
  }
}

export function parseRoute(pathname: string): Route {
  const parts = pathname.split('/').filter((p) => p.length > 0);
  const [head, arg, ...rest] = parts;
  if (head === undefined) return { page: 'start' };
  if (rest.length > 0) return { page: 'notFound' };
  const value = arg === undefined ? null : segment(arg);
  if (arg !== undefined && value === null) return { page: 'notFound' };
  switch (head) {
    case 'j':
      return { page: 'join', code: value === null ? null : normalizeJoinCode(value) };
    case 'b':
      return value === null ? { page: 'join', code: null } : { page: 'board', code: normalizeJoinCode(value) };
    case 'f':
      return value === null ? { page: 'notFound' } : { page: 'facilitator', sessionId: value };
    case 'p':
      return value === null ? { page: 'notFound' } : { page: 'projector', sessionId: value };
    default:
      return { page: 'notFound' };
  }
}

const listeners = new Set<() => void>();

/** Moves to `path` inside the app without reloading the page. */
export function navigate(path: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  window.scrollTo(0, 0);
  for (const listener of listeners) listener();
}

/** The current route; re-renders on navigate() and on back/forward. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.pathname));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.pathname));
    listeners.add(update);
    window.addEventListener('popstate', update);
    // Children's effects run first: one of them may have navigated already.
    update();
    return () => {
      listeners.delete(update);
      window.removeEventListener('popstate', update);
    };
  }, []);
  return route;
}
