import fc from 'fast-check';
import { BadRequestError, PayloadTooLargeError } from '../../lambdas/core/errors.js';
import {
  DEFAULT_PUBLIC_PROFILE_FIELDS,
  defaultPublicFields,
  parseRoom,
  publicProfile,
  readFrame,
} from '../../lambdas/core/protocol.js';
import {
  ackFrame,
  batchFrame,
  type ChatMessage,
  CONTROL_FRAME_TYPES,
  compareIds,
  encodeClientFrame,
  encodeServerFrame,
  errorFrame,
  isValidRoom,
  KEEP_ALIVE_FRAME,
  KEEP_ALIVE_REPLY,
  messageFrame,
  parseServerFrame,
  type ServerFrame,
  utf8Length,
} from '../../protocol/index.js';

const RULES = {
  maxMessageBytes: 1024,
  maxBodyDepth: 32,
  messageTypes: ['message', 'notification'],
  ephemeralTypes: ['typing'],
};

describe('room names', () => {
  it.each(['lobby', 'a-b.c:d,e_f', 'x'.repeat(128), 'room/'])('accepts %s', (room) => {
    expect(parseRoom(room)).toBe(room.replace(/\/$/, ''));
  });

  it.each(['', '/', 'a/b', 'a b', 'x'.repeat(129), 'ü', 'room//'])('refuses %j with a 400', (room) => {
    expect(() => parseRoom(room)).toThrow(BadRequestError);
  });
});

describe('client frames', () => {
  it('reads {"type":"message","body":...}', () => {
    expect(readFrame('{"type":"message","body":"hi","clientId":"c1"}', RULES)).toMatchObject({
      kind: 'send',
      type: 'message',
      body: 'hi',
      clientId: 'c1',
    });
  });

  it('defaults the type to message and takes Hipochat\'s "message" field as the body', () => {
    expect(readFrame('{"message":"hi"}', RULES)).toMatchObject({ kind: 'send', type: 'message', body: 'hi' });
  });

  it.each([
    ['not json', 'frame is not valid JSON'],
    ['[]', 'frame must be a JSON object with a body'],
    ['{"type":"message"}', 'missing body'],
    ['{"type":"nope","body":1}', 'unknown message type: nope'],
    ['', 'missing frame'],
  ])('refuses %j: %s', (frame, message) => {
    expect(() => readFrame(frame, RULES)).toThrow(message);
  });

  it('refuses a frame over the size limit with a 413', () => {
    expect(() => readFrame(JSON.stringify({ body: 'x'.repeat(2000) }), RULES)).toThrow(PayloadTooLargeError);
  });
});

describe('public profile', () => {
  const fields = defaultPublicFields('id');
  /** What a careless customer profile endpoint answers. */
  const profile = {
    id: 7,
    username: 'ann',
    name: 'Ann Example',
    avatar_url: 'https://example.com/a.png',
    accessToken: 'at-0123456789',
    apiKey: 'k-1',
    session: { token: 's-1' },
    email: 'ann@example.com',
    login: 'short-tok',
  };

  it('keeps only the id field, username, names and avatars by default', () => {
    expect(publicProfile(profile, fields)).toEqual({
      id: 7,
      username: 'ann',
      name: 'Ann Example',
      avatar_url: 'https://example.com/a.png',
    });
  });

  it.each([['accessToken'], ['apiKey'], ['session'], ['email'], ['login']])(
    'never lets %s out, however short or nested',
    (field) => {
      expect(JSON.stringify(publicProfile(profile, fields))).not.toContain(field);
    },
  );

  it('puts the configured id field first in the default list, then id and user_id, once', () => {
    expect(defaultPublicFields('uid')).toEqual(['uid', 'id', 'user_id', ...DEFAULT_PUBLIC_PROFILE_FIELDS]);
    expect(defaultPublicFields('id')).toEqual(['id', 'user_id', ...DEFAULT_PUBLIC_PROFILE_FIELDS]);
    expect(defaultPublicFields('username')).toEqual([
      'username',
      'id',
      'user_id',
      'name',
      ...DEFAULT_PUBLIC_PROFILE_FIELDS.slice(2),
    ]);
    expect(DEFAULT_PUBLIC_PROFILE_FIELDS).toEqual(expect.arrayContaining(['username', 'name', 'avatar_url']));
  });

  it('publishes exactly the configured fields', () => {
    expect(publicProfile(profile, ['email'])).toEqual({ email: 'ann@example.com' });
  });

  it.each([
    ['a string', 'x', true],
    ['a number', 3, true],
    ['a boolean', false, true],
    ['null', null, true],
    ['an object', { token: 's' }, false],
    ['an array', ['s'], false],
    ['a non-finite number', Number.POSITIVE_INFINITY, false],
  ])('keeps an allowed field holding %s only when it is a primitive', (_what, value, kept) => {
    expect(publicProfile({ picture: value }, ['picture'])).toEqual(kept ? { picture: value } : {});
  });

  it('is not fooled by a __proto__ key', () => {
    const hostile = JSON.parse('{"__proto__":{"polluted":true},"name":"x"}') as Record<string, unknown>;
    const copy = publicProfile(hostile, ['__proto__', 'name']);
    expect(copy).toEqual({ name: 'x' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('lets out only allowed top-level primitives, whatever shape the profile endpoint answers', () => {
    const SECRET = 'secret-marker';
    // Allowed and credential-like names, values of any JSON shape, secrets nested anywhere.
    const key = fc.oneof(
      fc.constantFrom(...fields, 'token', 'accessToken', 'login', 'session', 'email', '__proto__'),
      fc.string(),
    );
    const value = fc.oneof(
      fc.jsonValue(),
      fc.constant(SECRET),
      fc.jsonValue().map((inner) => ({ inner, token: SECRET })),
      fc.constant([SECRET]),
    );
    fc.assert(
      fc.property(fc.dictionary(key, value), (profile) => {
        const shown = publicProfile(profile, fields);
        for (const [name, kept] of Object.entries(shown)) {
          expect(fields).toContain(name);
          expect(kept === null || ['string', 'number', 'boolean'].includes(typeof kept)).toBe(true);
          expect(kept).toBe(profile[name]);
        }
        // A secret gets out only as the plain value of an allowed field, never from inside one.
        const nested = Object.values(shown).filter((kept) => kept === SECRET).length;
        expect(JSON.stringify(shown).split(SECRET).length - 1).toBe(nested);
      }),
      { numRuns: 300 },
    );
  });

  it("keeps the dev identity's name, which equals its token", () => {
    expect(publicProfile({ id: 'alice', username: 'alice' }, fields)).toEqual({
      id: 'alice',
      username: 'alice',
    });
  });
});

describe('message ids', () => {
  it.each([
    ['1-0', '1-1', -1],
    ['2-0', '1-9', 1],
    ['10-0', '9-0', 1],
    ['5-5', '5-5', 0],
  ])('orders %s against %s', (a, b, sign) => {
    expect(Math.sign(compareIds(a, b))).toBe(sign);
  });
});

describe('the wire (protocol/)', () => {
  const message: ChatMessage = {
    id: '1700000000000-0',
    type: 'message',
    room: 'lobby',
    token: 'lobby',
    timestamp: 1700000000,
    body: 'hi',
    author: { username: 'ann' },
    senderId: 'ann',
    clientId: 'c1',
  };

  it.each<[ServerFrame, string]>([
    [messageFrame(message), JSON.stringify(message)],
    [
      batchFrame('lobby', [message]),
      `{"type":"batch","room":"lobby","messages":[${JSON.stringify(message)}]}`,
    ],
    [ackFrame('1-0', 'c1'), '{"type":"ack","id":"1-0","clientId":"c1"}'],
    [errorFrame('missing body', 'c1'), '{"ERROR":"missing body","clientId":"c1"}'],
    [errorFrame('missing body'), '{"ERROR":"missing body"}'],
    [{ kind: 'pong' }, '{"type":"pong"}'],
    [{ kind: 'ack', clientId: 'c1' }, '{"type":"ack","clientId":"c1"}'],
    [
      { kind: 'presence', event: 'join', room: 'lobby', user: { id: 'ann' } },
      '{"type":"presence","event":"join","room":"lobby","user":{"id":"ann"}}',
    ],
    [
      { kind: 'typing', room: 'lobby', author: { id: 'ann' }, senderId: 'ann' },
      '{"type":"typing","room":"lobby","author":{"id":"ann"},"senderId":"ann"}',
    ],
    [
      { kind: 'read', room: 'lobby', user: { id: 'ann' }, id: '1-0' },
      '{"type":"read","room":"lobby","user":{"id":"ann"},"id":"1-0"}',
    ],
  ])('encodes %j in its historical wire shape and reads it back', (frame, wire) => {
    expect(encodeServerFrame(frame)).toBe(wire);
    expect(parseServerFrame(wire)).toEqual(frame);
  });

  it('keeps the keep-alive frames byte for byte', () => {
    expect(KEEP_ALIVE_FRAME).toBe('{"type":"ping"}');
    expect(KEEP_ALIVE_REPLY).toBe('{"type":"pong"}');
  });

  it('encodes a send as {"type","body","clientId"}, defaulting the type to message', () => {
    expect(encodeClientFrame({ kind: 'send', body: 'hi', clientId: 'c1' })).toBe(
      '{"type":"message","body":"hi","clientId":"c1"}',
    );
    expect(encodeClientFrame({ kind: 'send', type: 'notification', body: 1 })).toBe(
      '{"type":"notification","body":1}',
    );
    expect(encodeClientFrame({ kind: 'typing' })).toBe('{"type":"typing"}');
  });

  it.each([
    ['not json', { kind: 'unreadable', reason: 'not-json' }],
    ['null', { kind: 'unreadable', reason: 'unknown' }],
    ['[]', { kind: 'unreadable', reason: 'unknown' }],
    ['{"type":"presence","who":[]}', { kind: 'unreadable', reason: 'unknown' }],
    ['{"type":"toString"}', { kind: 'unreadable', reason: 'unknown' }],
  ])('reads %s as unreadable, never throwing', (wire, result) => {
    expect(parseServerFrame(wire)).toEqual(result);
  });

  it('drops batch entries that are no message, and reads a malformed control frame as a message', () => {
    expect(
      parseServerFrame(`{"type":"batch","room":"r","messages":[null,{"id":1},${JSON.stringify(message)}]}`),
    ).toEqual(batchFrame('r', [message]));
    expect(parseServerFrame('{"type":"ack","id":"2-0"}')).toEqual({
      kind: 'message',
      message: { type: 'ack', id: '2-0' },
    });
  });

  it('names the control frame types a message type must avoid', () => {
    expect([...CONTROL_FRAME_TYPES].sort()).toEqual([
      'ack',
      'batch',
      'delete',
      'edit',
      'pong',
      'presence',
      'reaction',
      'read',
      'reads',
      'replies',
      'subscribed',
      'typing',
      'unread',
      'unsubscribed',
    ]);
  });

  it.each(['lobby', 'a-b.c:d,e_f', 'x'.repeat(128)])('accepts the room %s', (room) => {
    expect(isValidRoom(room)).toBe(true);
  });

  it.each(['', 'room/', 'a b', 'x'.repeat(129), 'ü'])('refuses the room %j', (room) => {
    expect(isValidRoom(room)).toBe(false);
  });

  it('orders ids numerically and falls back to string order for malformed ones', () => {
    expect(Math.sign(compareIds('999-5', '1000-0'))).toBe(-1);
    expect(Math.sign(compareIds('9999999999999999-1', '9999999999999999-0'))).toBe(1);
    expect(Math.sign(compareIds('b', 'a'))).toBe(1);
  });

  it('counts UTF-8 bytes, not characters', () => {
    expect(utf8Length('aé€😀')).toBe(1 + 2 + 3 + 4);
  });
});
