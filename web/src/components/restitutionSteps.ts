import type { MessageKey } from '../i18n';
import type { RestitutionStep } from '../lib/types';

/** What each view of the results is called, on the console's buttons and the projector's heading. */
export const STEP_TITLES: Record<RestitutionStep, MessageKey> = {
  map: 'restitution.map',
  ledger: 'restitution.ledger',
  needs: 'restitution.needs',
  matrix: 'restitution.matrix',
  conclusions: 'restitution.conclusions',
};
