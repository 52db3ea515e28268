import { callerKey, checkIdempotencyKey, isRecord, scopeOf } from '../../lambdas/core/caller-keys.js';

describe('caller keys', () => {
  it.each([
    ['a user named backend', 'backend'],
    ['a user named u', 'u'],
    ['a user whose id holds a colon', 'backend:x'],
  ])('never give %s the scope of the backend', (_what, userId) => {
    expect(scopeOf(userId)).not.toBe(scopeOf(null));
    expect(callerKey('x', userId, 'X')).not.toBe(callerKey('x', null, 'X'));
  });

  it('keep two users apart whatever their ids hold', () => {
    expect(callerKey('c', 'a:b', 'c')).not.toBe(callerKey('c', 'a', 'b:c'));
    expect(scopeOf('a%3Ab')).not.toBe(scopeOf('a:b'));
  });

  it('scope each purpose apart', () => {
    expect(new Set(['c', 'i', 'x'].map((p) => callerKey(p as 'c' | 'i' | 'x', 'ann', 'k'))).size).toBe(3);
  });

  it.each([['k-1'], ['x'.repeat(128)], [undefined]])('takes the Idempotency-Key %j', (key) => {
    expect(checkIdempotencyKey(key)).toBe(key);
  });

  it.each([[''], ['has space'], ['x'.repeat(129)], ['é']])(
    'refuses the Idempotency-Key %j with a 400',
    (key) => {
      expect(() => checkIdempotencyKey(key)).toThrow('Idempotency-Key must be 1-128 printable characters');
    },
  );

  it.each([
    [{}, true],
    [[], false],
    [null, false],
    ['x', false],
  ])('tells a JSON object (%j: %s)', (value, expected) => {
    expect(isRecord(value)).toBe(expected);
  });
});
