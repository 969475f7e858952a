import { t } from '../i18n';
import type { NoteView } from './types';

/** A contribution's timing and condition as one line ("Subito · Condizione: …"), or null. */
export function pledgeTerms(note: Pick<NoteView, 'when' | 'condition'>): string | null {
  const parts = [note.when && t(`pledge.when.${note.when}`), note.condition && t('note.condition', { condition: note.condition })].filter(Boolean);
  return parts.length > 0 ? parts.join(' · ') : null;
}
