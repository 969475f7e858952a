import { useState } from 'preact/hooks';
import { choiceLabel, t } from '../i18n';
import { participantRows, presenceCounts } from '../lib/presence';
import type { PresenceView, Roster } from '../lib/types';

interface Props {
  roster: Roster | undefined;
  presence: PresenceView | undefined;
  /** Removes a participant (their ticket stops working); rejects on failure. */
  onRemove?: (participantId: string) => Promise<unknown>;
}

/** Everyone who joined, who is connected now, and from where. */
export function ParticipantsPanel({ roster, presence, onRemove }: Props) {
  const [confirming, setConfirming] = useState<string | null>(null);
  const [removed, setRemoved] = useState<ReadonlySet<string>>(new Set());
  const [failed, setFailed] = useState(false);
  const remove = (id: string) => {
    setConfirming(null);
    onRemove?.(id).then(
      () => setRemoved((r) => new Set([...r, id])),
      () => setFailed(true),
    );
  };
  const counts = presenceCounts(presence);
  const rows = roster ? participantRows(roster, presence) : [];
  return (
    <section class="card console-participants" aria-labelledby="participants-heading">
      <h2 id="participants-heading">{t('console.participants.heading')}</h2>
      <p class="presence-counts" aria-live="polite">
        {t('console.participants.counts', { ...counts })}
      </p>
      {failed && <p class="field-error">{t('console.excludeFailed')}</p>}
      {rows.length === 0 ? (
        <p class="muted">{roster ? t('console.participants.none') : t('common.loading')}</p>
      ) : (
        <div class="table-scroll">
          <table class="participants-table">
            <thead>
              <tr>
                <th scope="col">
                  {t('console.col.name')}
                  <span class="col-sub">{t('console.col.organization')}</span>
                </th>
                <th scope="col">
                  {t('console.col.sector')}
                  <span class="col-sub">{t('console.col.tier')}</span>
                </th>
                <th scope="col">
                  {t('console.col.status')}
                  <span class="col-sub">{t('console.col.attendance')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr key={row.id} class={row.online ? 'is-online' : 'is-offline'}>
                  <th scope="row">
                    {row.participant.name}
                    <span class="col-sub">{row.participant.organization || '—'}</span>
                  </th>
                  <td>
                    {choiceLabel('sector', row.participant.sector)}
                    <span class="col-sub">{choiceLabel('tier', row.participant.tier)}</span>
                  </td>
                  <td>
                    <span class={`online-tag ${row.online ? 'online-yes' : 'online-no'}`}>
                      {row.online ? t('console.online') : t('console.offline')}
                    </span>
                    <span class="col-sub">{choiceLabel('attendance', row.attendance)}</span>
                    {removed.has(row.id) ? (
                      <span class="col-sub">{t('console.excluded')}</span>
                    ) : confirming === row.id ? (
                      <span class="remove-confirm">
                        <button type="button" class="button button-danger" onClick={() => remove(row.id)}>
                          {t('console.excludeYes', { name: row.participant.name })}
                        </button>
                        <button type="button" class="button button-secondary" onClick={() => setConfirming(null)}>
                          {t('common.cancel')}
                        </button>
                      </span>
                    ) : (
                      onRemove && (
                        <button type="button" class="button button-link" onClick={() => setConfirming(row.id)}>
                          {t('console.exclude')}
                        </button>
                      )
                    )}
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
