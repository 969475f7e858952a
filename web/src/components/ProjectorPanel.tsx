import { t } from '../i18n';
import { projectorLink, projectorPath } from '../lib/links';
import { CopyButton } from './CopyButton';

interface Props {
  sessionId: string;
  /** A viewer ticket for the room's screen; null until the server has given one. */
  viewerTicket: string | null;
}

/**
 * How the room's screen gets the session: a button that opens it in a new
 * tab, and its link for another computer. The link carries a viewer ticket,
 * which shows the session and cannot lead it; it is copied, not shown.
 */
export function ProjectorPanel({ sessionId, viewerTicket }: Props) {
  const link = viewerTicket ? projectorLink(location.origin, sessionId, viewerTicket) : null;
  return (
    <section class="card" aria-labelledby="projector-heading">
      <h2 id="projector-heading">{t('console.projector.heading')}</h2>
      {/* Until the viewer ticket comes, the plain page, which asks with this tab's ticket. */}
      <a class="button button-primary button-wide" href={link ?? projectorPath(sessionId)} target="_blank" rel="noopener">
        {t('console.projector.open')}
      </a>
      <p class="field-hint">{t('console.projector.hint')}</p>
      {link && (
        <>
          <CopyButton text={link} caption={t('console.projector.copyLink')} secret />
          <p class="field-hint">{t('console.projector.linkHint')}</p>
        </>
      )}
    </section>
  );
}
