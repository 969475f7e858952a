import { Link } from '../components/Link';
import { TopBar } from '../components/TopBar';
import { t } from '../i18n';
import { useTitle } from '../lib/useTitle';

export function NotFoundPage() {
  useTitle(t('notFound.heading'));
  return (
    <>
      <TopBar />
      <main id="main" tabIndex={-1} class="page">
        <h1>{t('notFound.heading')}</h1>
        <p>{t('notFound.text')}</p>
        <Link href="/" class="button button-secondary">
          {t('common.home')}
        </Link>
      </main>
    </>
  );
}
