import { choiceLabel, t } from '../i18n';
import { participantRows, presenceCounts } from '../lib/presence';
import type { PresenceView, Roster } from '../lib/types';

interface Props {
  roster: Roster | undefined;
  presence: PresenceView | undefined;
}

/** Everyone who joined, who is connected now, and from where. */
export function ParticipantsPanel({ roster, presence }: Props) {
  const counts = presenceCounts(presence);
  const rows = roster ? participantRows(roster, presence) : [];
  return (
    <section class="card console-participants" aria-labelledby="participants-heading">
      <h2 id="participants-heading">{t('console.participants.heading')}</h2>
      <p class="presence-counts" aria-live="polite">
        {t('console.participants.counts', { ...counts })}
      </p>
      {rows.length === 0 ? (
        <p class="muted">{roster ? t('console.participants.none') : t('common.loading')}</p>
      ) : (
        <div class="table-scroll">
          <table class="participants-table">
            <thead>
              <tr>
                <th scope="col">{t('console.col.name')}</th>
                <th scope="col">{t('console.col.organization')}</th>
                <th scope="col">{t('console.col.sector')}</th>
                <th scope="col">{t('console.col.tier')}</th>
                <th scope="col">{t('console.col.attendance')}</th>
                <th scope="col">{t('console.col.status')}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr key={row.id} class={row.online ? 'is-online' : 'is-offline'}>
                  <th scope="row">{row.participant.name}</th>
                  <td>{row.participant.organization || '—'}</td>
                  <td>{choiceLabel('sector', row.participant.sector)}</td>
                  <td>{choiceLabel('tier', row.participant.tier)}</td>
                  <td>{choiceLabel('attendance', row.attendance)}</td>
                  <td>
                    <span class={`online-tag ${row.online ? 'online-yes' : 'online-no'}`}>
                      {row.online ? t('console.online') : t('console.offline')}
                    </span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
