import { useEffect } from 'preact/hooks';
import { t } from '../i18n';

/** Names the tab (and what a screen reader announces on arrival) after the page. */
export function useTitle(title: string | null | undefined): void {
  useEffect(() => {
    document.title = title ? `${title} · ${t('app.name')}` : t('app.name');
  }, [title]);
}
