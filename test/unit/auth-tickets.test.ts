import { Authenticator } from '../../lambdas/core/auth.js';
import { UnauthorizedError } from '../../lambdas/core/errors.js';
import { MemoryStore } from '../../lambdas/core/store/memory-store.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const alice = { userId: 'alice', profile: { id: 'alice', name: 'Alice Example' } };
const bob = { userId: 'bob', profile: { id: 'bob', name: 'Bob Example' } };

/** An authenticator over a fresh in-memory store; tickets never reach the profile endpoint. */
const authenticator = () => new Authenticator(new MemoryStore(), { idField: 'id', cacheSeconds: 0 });

describe('Authenticator tickets', () => {
  afterEach(() => jest.useRealTimers());

  it.each([
    ['alice', alice],
    ['bob', bob],
  ])('connects as the identity the ticket was made for (%s)', async (_name, identity) => {
    // Prepare
    const auth = authenticator();
    const { ticket } = await auth.issueTicket('lobby', identity);

    // Act
    const redeemed = await auth.redeemTicket(ticket, 'lobby');

    // Assess
    expect(redeemed).toEqual(identity);
  });

  it('gives each ticket its own value, so one user cannot guess the next', async () => {
    // Prepare
    const auth = authenticator();

    // Act
    const issued = await Promise.all(Array.from({ length: 20 }, () => auth.issueTicket('lobby', alice)));

    // Assess
    expect(new Set(issued.map((i) => i.ticket)).size).toBe(20);
  });

  it('refuses a ticket the second time', async () => {
    // Prepare
    const auth = authenticator();
    const { ticket } = await auth.issueTicket('lobby', alice);
    await auth.redeemTicket(ticket, 'lobby');

    // Act
    const second = auth.redeemTicket(ticket, 'lobby');

    // Assess
    await expect(second).rejects.toThrow(UnauthorizedError);
  });

  it('refuses a ticket for another room', async () => {
    // Prepare
    const auth = authenticator();
    const { ticket } = await auth.issueTicket('room-a', alice);

    // Act
    const elsewhere = auth.redeemTicket(ticket, 'room-b');

    // Assess
    await expect(elsewhere).rejects.toThrow(UnauthorizedError);
  });

  it('spends a ticket tried in another room, so it cannot be probed room by room', async () => {
    // Prepare
    const auth = authenticator();
    const { ticket } = await auth.issueTicket('room-a', alice);
    await expect(auth.redeemTicket(ticket, 'room-b')).rejects.toThrow(UnauthorizedError);

    // Act
    const home = auth.redeemTicket(ticket, 'room-a');

    // Assess
    await expect(home).rejects.toThrow(UnauthorizedError);
  });

  it.each([
    { outcome: 'accepts', when: 'a millisecond before', offsetMs: -1 },
    { outcome: 'refuses', when: 'a second after', offsetMs: 1_000 },
    { outcome: 'refuses', when: 'an hour after', offsetMs: 3_600_000 },
  ])('$outcome a ticket $when the end of the lifetime it announced', async ({ outcome, offsetMs }) => {
    // Prepare
    jest.useFakeTimers({ now: NOW });
    const auth = authenticator();
    const { ticket, expiresIn } = await auth.issueTicket('lobby', alice);
    jest.setSystemTime(NOW.getTime() + expiresIn * 1000 + offsetMs);

    // Act
    const redeeming = auth.redeemTicket(ticket, 'lobby');

    // Assess
    if (outcome === 'accepts') await expect(redeeming).resolves.toEqual(alice);
    else await expect(redeeming).rejects.toThrow(UnauthorizedError);
  });

  it('announces a lifetime of 30 seconds', async () => {
    // Act
    const { expiresIn } = await authenticator().issueTicket('lobby', alice);

    // Assess
    expect(expiresIn).toBe(30);
  });

  it.each([
    ['empty', ''],
    ['too short', 'abc'],
    ['not base64url', 'not a ticket at all!!'],
    ['too long', 'a'.repeat(65)],
    ['well formed but never issued', 'A'.repeat(32)],
  ])('refuses a ticket that is %s', async (_what, ticket) => {
    // Prepare
    const auth = authenticator();
    await auth.issueTicket('lobby', alice);

    // Act
    const redeeming = auth.redeemTicket(ticket, 'lobby');

    // Assess
    await expect(redeeming).rejects.toThrow(UnauthorizedError);
  });
});

describe('Authenticator profiles', () => {
  const profileAnswer = (profile: object) =>
    jest.spyOn(globalThis, 'fetch').mockResolvedValue(new Response(JSON.stringify(profile), { status: 200 }));
  const withFields = (publicFields?: string[], idField = 'id') =>
    new Authenticator(new MemoryStore(), {
      profileUrl: 'https://profiles.example.com/me',
      idField,
      cacheSeconds: 30,
      ...(publicFields ? { publicFields } : {}),
    });

  afterEach(() => jest.restoreAllMocks());

  it.each([
    [
      'a Hipochat profile by default',
      undefined,
      { user_id: 1001, name: 'Old Client' },
      { user_id: 1001, name: 'Old Client' },
    ],
    ['a profile with id by default', undefined, { id: 7, user_id: 1001 }, { id: 7, user_id: 1001 }],
    [
      'HIPOCHAT_PROFILE_PUBLIC_FIELDS without the id field',
      ['name'],
      { user_id: 1001, name: 'Old' },
      { user_id: 1001, name: 'Old' },
    ],
  ])('keeps the field the user id was read from: %s', async (_what, publicFields, profile, author) => {
    profileAnswer(profile);
    const auth = withFields(publicFields);
    const first = await auth.authenticate('tok-1');
    // The cached identity is published by the same rule.
    const cached = await auth.authenticate('tok-1');
    expect(first.profile).toEqual(author);
    expect(cached).toEqual(first);
  });
});
