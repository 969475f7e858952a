import { t, tCount, type MessageKey } from '../i18n';
import type { ConnectionStatus } from '../lib/connection';

const LABELS: Record<ConnectionStatus, MessageKey> = {
  connecting: 'connection.connecting',
  connected: 'connection.connected',
  reconnecting: 'connection.reconnecting',
  offline: 'connection.offline',
  rejected: 'connection.offline',
  replaced: 'connection.replaced',
  deleted: 'connection.deleted',
};

/**
 * Whether edits are reaching the others right now, and how many written
 * here have not reached the server yet; the words say it, the dot only
 * decorates.
 */
export function ConnectionBadge({ status, pending = 0 }: { status: ConnectionStatus; pending?: number }) {
  const label = t(LABELS[status]);
  const waiting = pending > 0 && status !== 'deleted' ? tCount('connection.pending', pending) : null;
  return (
    <span
      class={`connection-badge connection-${status}${waiting ? ' connection-syncing' : ''}`}
      role="status"
      title={t('connection.label', { status: label })}
    >
      <span class="connection-dot" aria-hidden="true" />
      {label}
      {waiting && (
        // A number fits the top bar of a small phone; the words are for screen readers.
        <span class="connection-pending">
          <span aria-hidden="true">{pending}</span>
          <span class="visually-hidden">{waiting}</span>
        </span>
      )}
    </span>
  );
}
