import { t } from '../i18n';
import { Link } from './Link';
import { Notice } from './Notice';

/** The board's last word when the facilitator deleted the session: nothing to reconnect to. */
export function SessionDeletedNotice() {
  return (
    <Notice tone="warning">
      <h2>{t('session.deleted.heading')}</h2>
      <p>{t('session.deleted.text')}</p>
      <Link href="/" class="button button-secondary button-wide">
        {t('common.home')}
      </Link>
    </Notice>
  );
}
