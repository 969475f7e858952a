import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { applyToDocument, t, useLanguage } from './i18n';
import { useRoute } from './lib/router';
import { BoardPage } from './pages/BoardPage';
import { JoinPage } from './pages/JoinPage';
import { NotFoundPage } from './pages/NotFoundPage';

/**
 * A page loaded when first shown: a phone on venue Wi-Fi downloads the
 * join page and the board, not the facilitator's console, the projector
 * or the template editor (the service worker keeps them all for offline).
 */
function lazyPage<P extends object>(load: () => Promise<ComponentType<P>>): ComponentType<P> {
  let loaded: ComponentType<P> | null = null;
  let loading: Promise<ComponentType<P>> | null = null;
  return function LazyPage(props: P) {
    const [Page, setPage] = useState<ComponentType<P> | null>(() => loaded);
    const [failed, setFailed] = useState(false);
    useEffect(() => {
      if (Page) return;
      loading ??= load().then((c) => (loaded = c));
      loading.then(
        (c) => setPage(() => c),
        (e: unknown) => {
          loading = null; // the next attempt downloads it again
          console.error('tavolo: a page did not load', e);
          setFailed(true);
        },
      );
    }, []);
    if (Page) return <Page {...props} />;
    return (
      <main id="main" tabIndex={-1} class="page">
        <p role="status">{t(failed ? 'app.pageFailed' : 'app.pageLoading')}</p>
      </main>
    );
  };
}

const FacilitatorPage = lazyPage(() => import('./pages/FacilitatorPage').then((m) => m.FacilitatorPage));
const ProjectorPage = lazyPage(() => import('./pages/ProjectorPage').then((m) => m.ProjectorPage));
const StartPage = lazyPage(() => import('./pages/StartPage').then((m) => m.StartPage));

function Page() {
  const route = useRoute();
  switch (route.page) {
    case 'start':
      return <StartPage />;
    case 'join':
      return <JoinPage code={route.code} />;
    case 'board':
      return <BoardPage key={route.code} code={route.code} />;
    case 'facilitator':
      return <FacilitatorPage key={route.sessionId} sessionId={route.sessionId} />;
    case 'projector':
      return <ProjectorPage key={route.sessionId} sessionId={route.sessionId} />;
    case 'notFound':
      return <NotFoundPage />;
  }
}

function skipToContent(e: MouseEvent) {
  e.preventDefault();
  document.getElementById('main')?.focus();
}

export function App() {
  // Reading the language here re-renders every page when it changes.
  const lang = useLanguage();
  useEffect(applyToDocument, [lang]);
  // The projector is a screen, not a page to navigate: no skip link, no chrome.
  if (useRoute().page === 'projector') return <Page />;
  return (
    <>
      {/* Not a plain #main link: the facilitator's key lives in the fragment. */}
      <a class="skip-link" href="#main" onClick={skipToContent}>
        {t('app.skipToContent')}
      </a>
      <Page />
    </>
  );
}
