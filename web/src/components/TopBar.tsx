import type { ComponentChildren } from 'preact';
import { t } from '../i18n';
import { LanguageSwitch } from './LanguageSwitch';
import { Link } from './Link';

/** The thin bar on top of every page: the name, what the page adds, the language; `strip` is a second, full-width row (the phase timer). */
export function TopBar({ children, strip }: { children?: ComponentChildren; strip?: ComponentChildren }) {
  return (
    <header class={`top-bar${strip ? ' top-bar-with-strip' : ''}`}>
      <Link href="/" class="brand">
        {t('app.name')}
      </Link>
      <div class="top-bar-items">
        {children}
        <LanguageSwitch />
      </div>
      {strip && <div class="top-bar-strip">{strip}</div>}
    </header>
  );
}
