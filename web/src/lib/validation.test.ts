import { describe, expect, it } from 'vitest';
import { validateJoin, type JoinFields } from './validation';

const valid: JoinFields = {
  code: ' abc-234 ',
  name: ' Maria ',
  organization: '',
  sector: 'community',
  tier: 'strategic_extension',
  attendance: 'remote',
  listOrganization: true,
};

describe('validateJoin', () => {
  it('builds the request with trimmed fields and a normalized code', () => {
    expect(validateJoin(valid)).toEqual({
      request: {
        join_code: 'ABC234',
        name: 'Maria',
        organization: '',
        sector: 'community',
        tier: 'strategic_extension',
        attendance: 'remote',
        list_organization: false,
      },
    });
  });

  it('asks to list the organization only when there is one, and only on request', () => {
    const withOrg = { ...valid, organization: ' Pro Loco ' };
    expect(validateJoin(withOrg)).toMatchObject({
      request: { organization: 'Pro Loco', list_organization: true },
    });
    expect(validateJoin({ ...withOrg, listOrganization: false })).toMatchObject({
      request: { list_organization: false },
    });
    expect(validateJoin({ ...valid, organization: '   ' })).toMatchObject({
      request: { organization: '', list_organization: false },
    });
  });

  it('names every missing field', () => {
    const result = validateJoin({ code: '', name: '  ', organization: '', sector: '', tier: '', attendance: '', listOrganization: false });
    expect(result).toEqual({
      errors: {
        code: { key: 'join.error.codeRequired' },
        name: { key: 'join.error.nameRequired' },
        sector: { key: 'join.error.sectorRequired' },
        tier: { key: 'join.error.tierRequired' },
        attendance: { key: 'join.error.attendanceRequired' },
      },
    });
  });

  it('checks lengths in characters, not UTF-16 units', () => {
    expect(validateJoin({ ...valid, name: 'è'.repeat(80) })).toHaveProperty('request');
    expect(validateJoin({ ...valid, name: '😀'.repeat(80) })).toHaveProperty('request');
    expect(validateJoin({ ...valid, name: 'a'.repeat(81) })).toEqual({
      errors: { name: { key: 'join.error.nameTooLong', params: { max: 80 } } },
    });
    expect(validateJoin({ ...valid, organization: 'a'.repeat(121) })).toEqual({
      errors: { organization: { key: 'join.error.organizationTooLong', params: { max: 120 } } },
    });
  });

  it('wants a six-character code', () => {
    expect(validateJoin({ ...valid, code: 'ABC23' })).toEqual({
      errors: { code: { key: 'join.error.codeLength', params: { length: 6 } } },
    });
  });
});
