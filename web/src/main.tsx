import { render } from 'preact';
import { App } from './app';
import { startLanguage } from './i18n';
import './styles.css';

void startLanguage().then(() => render(<App />, document.getElementById('app')!));

// Keeps the app on the phone for when the network is gone (see sw/sw.js);
// only in a build, where the server serves /sw.js.
if (import.meta.env.PROD && 'serviceWorker' in navigator) {
  window.addEventListener('load', () => {
    navigator.serviceWorker.register('/sw.js').catch((e: unknown) => {
      console.warn('tavolo: the app cannot be kept for offline use', e);
    });
  });
}
