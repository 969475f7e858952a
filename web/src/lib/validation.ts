// Checks run before a request, so people get a clear Italian message at the
// field instead of the server's English one. The server validates again and
// stays the authority; these limits mirror server/src/sessions.rs.

import type { Message } from '../i18n';
import { normalizeJoinCode } from './links';
import { ATTENDANCES, SECTORS, TIERS, type Attendance, type JoinRequest, type Sector, type Tier } from './types';

export const JOIN_CODE_LENGTH = 6;
export const MAX_NAME_CHARS = 80;
export const MAX_ORGANIZATION_CHARS = 120;
export const MAX_TITLE_CHARS = 200;

export interface JoinFields {
  code: string;
  name: string;
  organization: string;
  sector: Sector | '';
  tier: Tier | '';
  attendance: Attendance | '';
  /** The resoconto may list the organization among those present. */
  listOrganization: boolean;
}

export type JoinErrors = Partial<Record<keyof JoinFields, Message>>;

/** Characters as people count them (and as the server does: Unicode scalar values). */
export const charCount = (s: string) => [...s].length;

export function validateJoin(fields: JoinFields): { request: JoinRequest } | { errors: JoinErrors } {
  const errors: JoinErrors = {};
  const code = normalizeJoinCode(fields.code);
  const name = fields.name.trim();
  const organization = fields.organization.trim();

  if (code === '') errors.code = { key: 'join.error.codeRequired' };
  else if (charCount(code) !== JOIN_CODE_LENGTH)
    errors.code = { key: 'join.error.codeLength', params: { length: JOIN_CODE_LENGTH } };

  if (name === '') errors.name = { key: 'join.error.nameRequired' };
  else if (charCount(name) > MAX_NAME_CHARS)
    errors.name = { key: 'join.error.nameTooLong', params: { max: MAX_NAME_CHARS } };

  if (charCount(organization) > MAX_ORGANIZATION_CHARS)
    errors.organization = { key: 'join.error.organizationTooLong', params: { max: MAX_ORGANIZATION_CHARS } };

  const sector = SECTORS.find((s) => s === fields.sector);
  const tier = TIERS.find((s) => s === fields.tier);
  const attendance = ATTENDANCES.find((s) => s === fields.attendance);
  if (!sector) errors.sector = { key: 'join.error.sectorRequired' };
  if (!tier) errors.tier = { key: 'join.error.tierRequired' };
  if (!attendance) errors.attendance = { key: 'join.error.attendanceRequired' };

  if (Object.keys(errors).length > 0 || !sector || !tier || !attendance) return { errors };
  // Nothing to list without an organization.
  const list_organization = fields.listOrganization && organization !== '';
  return { request: { join_code: code, name, organization, sector, tier, attendance, list_organization } };
}
