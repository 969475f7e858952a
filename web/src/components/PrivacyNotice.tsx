import { t } from '../i18n';
import { partyLine, type JoinInfoState, type NoticeLine } from '../lib/privacy';

const say = (line: NoticeLine) => ('text' in line ? line.text : t(line.key));

/** The things each person at the table can see, one per line. */
const VISIBILITY = [
  'privacy.visibility.table',
  'privacy.visibility.signed',
  'privacy.visibility.anonymous',
  'privacy.visibility.report',
  'privacy.visibility.dots',
] as const;

/** What the person can do about it. */
const RIGHTS = ['privacy.rights.notes', 'privacy.rights.session', 'privacy.rights.ask'] as const;

/**
 * "How your data is used" (GDPR art. 13), on the join form above the
 * button, before anything personal is sent: who holds the data, why, who
 * sees what, for how long, whom to ask. All of it open, no taps needed:
 * it is short, and a folded notice is a notice nobody reads.
 */
export function PrivacyNotice({ info }: { info: JoinInfoState }) {
  return (
    <section class="privacy-notice" aria-labelledby="privacy-heading">
      <h2 id="privacy-heading">{t('privacy.heading')}</h2>
      <dl class="privacy-list">
        <div>
          <dt>{t('privacy.controller.label')}</dt>
          <dd class="privacy-controller">{say(partyLine(info, 'controller'))}</dd>
        </div>
        <div>
          <dt>{t('privacy.purpose.label')}</dt>
          <dd>{t('privacy.purpose.text')}</dd>
        </div>
        <div>
          <dt>{t('privacy.visibility.label')}</dt>
          <dd>
            <ul>
              {VISIBILITY.map((key) => (
                <li key={key}>{t(key)}</li>
              ))}
            </ul>
          </dd>
        </div>
        <div>
          <dt>{t('privacy.retention.label')}</dt>
          <dd>{t('privacy.retention.text')}</dd>
        </div>
        <div>
          <dt>{t('privacy.contact.label')}</dt>
          <dd class="privacy-contact">{say(partyLine(info, 'contact'))}</dd>
        </div>
        <div>
          <dt>{t('privacy.rights.label')}</dt>
          <dd>
            <ul>
              {RIGHTS.map((key) => (
                <li key={key}>{t(key)}</li>
              ))}
            </ul>
          </dd>
        </div>
      </dl>
    </section>
  );
}
