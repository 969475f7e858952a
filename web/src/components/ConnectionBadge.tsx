import { t, type MessageKey } from '../i18n';
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

/** Whether edits are reaching the others right now; the word says it, the dot only decorates. */
export function ConnectionBadge({ status }: { status: ConnectionStatus }) {
  const label = t(LABELS[status]);
  return (
    <span class={`connection-badge connection-${status}`} role="status" title={t('connection.label', { status: label })}>
      <span class="connection-dot" aria-hidden="true" />
      {label}
    </span>
  );
}
