import { describe, expect, it } from 'vitest';
import { validateJoin, type JoinFields } from './validation';

const valid: JoinFields = {
  code: ' abc-234 ',
  name: ' Maria ',
  organization: '',
  sector: 'community',
  tier: 'strategic_extension',
  attendance: 'remote',
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
      },
    });
  });

  it('names every missing field', () => {
    const result = validateJoin({ code: '', name: '  ', organization: '', sector: '', tier: '', attendance: '' });
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
