import { useEffect } from 'preact/hooks';
import { applyToDocument, t, useLanguage } from './i18n';
import { useRoute } from './lib/router';
import { BoardPage } from './pages/BoardPage';
import { FacilitatorPage } from './pages/FacilitatorPage';
import { JoinPage } from './pages/JoinPage';
import { NotFoundPage } from './pages/NotFoundPage';
import { ProjectorPage } from './pages/ProjectorPage';
import { StartPage } from './pages/StartPage';

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
