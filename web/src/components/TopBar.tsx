import type { ComponentChildren } from 'preact';
import { t } from '../i18n';
import { LanguageSwitch } from './LanguageSwitch';
import { Link } from './Link';

/** The thin bar on top of every page: the name, what the page adds, the language. */
export function TopBar({ children }: { children?: ComponentChildren }) {
  return (
    <header class="top-bar">
      <Link href="/" class="brand">
        {t('app.name')}
      </Link>
      <div class="top-bar-items">
        {children}
        <LanguageSwitch />
      </div>
    </header>
  );
}
