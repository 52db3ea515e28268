import { loadConfig } from '../../lambdas/core/config.js';
import { readFrame, receiveFrame } from '../../lambdas/core/protocol.js';
import {
  type ClientFrameRules,
  encodeClientFrame,
  encodeServerFrame,
  parseClientFrame,
  parseServerFrame,
  RESERVED_MESSAGE_TYPES,
  readClientFrame,
  SERVER_FIELDS,
  type SendFrame,
} from '../../protocol/index.js';

const RULES: ClientFrameRules = {
  messageTypes: ['message', 'notification'],
  ephemeralTypes: ['typing', 'stop-typing'],
};
const ID = '1700000000000-0';

const parse = (wire: unknown) => readClientFrame(wire, RULES);

describe('client frames (protocol/)', () => {
  describe('a message', () => {
    it('reads {"type":"message","body","clientId"} and keeps the custom fields that are not the server\'s', () => {
      expect(parse({ type: 'notification', body: 'hi', clientId: 'c1', mood: 'glad' })).toEqual({
        kind: 'send',
        type: 'notification',
        body: 'hi',
        clientId: 'c1',
        fields: { mood: 'glad' },
      });
    });

    it('reads a frame without a type as a message, as Hipochat clients sent it', () => {
      expect(parse({ body: 'hi' })).toEqual({ kind: 'send', type: 'message', body: 'hi', fields: {} });
    });

    it('takes Hipochat\'s {"message": ...} as the body, and not as a custom field', () => {
      expect(parse({ message: 'hi', user: 'x' })).toEqual({
        kind: 'send',
        type: 'message',
        body: 'hi',
        fields: {},
      });
    });

    it('drops every field the server owns, and __proto__, from the custom fields', () => {
      const wire = JSON.parse(
        '{"body":"x","__proto__":{"p":1},"color":"red",' +
          SERVER_FIELDS.filter((name) => !['body', 'type', 'clientId', 'parentId'].includes(name))
            .map((name) => `"${name}":"forged"`)
            .join(',') +
          '}',
      ) as unknown;
      // `room` names where the message goes (checked against the connection's rooms), never a field.
      expect(parse(wire)).toEqual({
        kind: 'send',
        type: 'message',
        body: 'x',
        fields: { color: 'red' },
        room: 'forged',
      });
    });

    it('reads a reply to a thread root and the users it mentions', () => {
      expect(parse({ body: 'yes', parentId: ID, mentions: ['bob', 'cy'] })).toEqual({
        kind: 'send',
        type: 'message',
        body: 'yes',
        fields: {},
        parentId: ID,
        mentions: ['bob', 'cy'],
      });
    });

    it('keeps each mentioned user once, strings only, at most 20, and never refuses for them', () => {
      const many = Array.from({ length: 25 }, (_, n) => `u${n}`);
      expect(parse({ body: 'x', mentions: ['bob', 'bob', 7, '', ...many] })).toMatchObject({
        kind: 'send',
        mentions: ['bob', ...many.slice(0, 19)],
      });
      expect(parse({ body: 'x', mentions: 'bob' })).toEqual({
        kind: 'send',
        type: 'message',
        body: 'x',
        fields: {},
      });
    });

    it.each([
      ['a parentId that is no message id', { body: 'x', parentId: 'root' }],
      ['a parentId that is no string', { body: 'x', parentId: 17 }],
    ])('refuses %s', (_what, wire) => {
      expect(parse({ ...wire, clientId: 'c9' })).toEqual({
        kind: 'refused',
        reason: 'bad-parent',
        message: 'parentId must be a message id such as 1700000000000-0',
        clientId: 'c9',
      });
    });

    it.each([
      ['no body', { type: 'message' }, 'missing-body', 'missing body'],
      ['a null body', { body: null }, 'missing-body', 'missing body'],
      ['an empty body', { body: '' }, 'missing-body', 'missing body'],
      ['an unknown type', { type: 'shout', body: 1 }, 'unknown-type', 'unknown message type: shout'],
    ])('refuses %s, naming the clientId', (_what, wire, reason, message) => {
      expect(parse({ ...wire, clientId: 'c9' })).toEqual({
        kind: 'refused',
        reason,
        message,
        clientId: 'c9',
      });
    });
  });

  it('reads the keep-alive {"type":"ping"}, whatever else it carries', () => {
    expect(parse({ type: 'ping' })).toEqual({ kind: 'ping' });
    expect(parse({ type: 'ping', body: 'x', signal: '{}' })).toEqual({ kind: 'ping' });
  });

  describe('an ephemeral frame', () => {
    it.each([
      [{ type: 'typing' }, { kind: 'typing', type: 'typing' }],
      [
        { type: 'stop-typing', clientId: 't1', body: { draft: 3 }, deleted: true },
        { kind: 'typing', type: 'stop-typing', clientId: 't1', body: { draft: 3 } },
      ],
    ])('reads %j by the configured ephemeral types', (wire, frame) => {
      expect(parse(wire)).toEqual(frame);
    });

    it('is a message type when the server has no ephemeral types', () => {
      expect(readClientFrame({ type: 'typing' }, { ...RULES, ephemeralTypes: [] })).toMatchObject({
        kind: 'refused',
        reason: 'missing-body',
      });
    });
  });

  describe('a change', () => {
    it.each([
      [
        { type: 'edit', id: ID, body: 'new', clientId: 'e1' },
        { kind: 'edit', id: ID, body: 'new', clientId: 'e1' },
      ],
      [
        { type: 'delete', id: ID },
        { kind: 'delete', id: ID },
      ],
      [
        { type: 'react', id: ID, emoji: '👍', reactions: { '👍': { count: 9999 } } },
        { kind: 'react', id: ID, emoji: '👍' },
      ],
    ])('reads %j, and nothing but its own fields', (wire, frame) => {
      expect(parse(wire)).toEqual(frame);
    });

    it.each([
      ['an edit without an id', { type: 'edit', body: 'x' }, 'bad-id'],
      ['a delete with a malformed id', { type: 'delete', id: 'nope' }, 'bad-id'],
      ['an edit without a body', { type: 'edit', id: ID }, 'missing-body'],
      ['a reaction without an emoji', { type: 'react', id: ID }, 'bad-emoji'],
      ['a reaction with a numeric emoji', { type: 'react', id: ID, emoji: 7 }, 'bad-emoji'],
    ])('refuses %s', (_what, wire, reason) => {
      expect(parse(wire)).toMatchObject({ kind: 'refused', reason });
    });
  });

  it.each([
    ['null', null, 'not-object'],
    ['an array', [1], 'not-object'],
    ['a clientId that is no string', { body: 'x', clientId: 7 }, 'bad-client-id'],
    ['a clientId over 128 characters', { body: 'x', clientId: 'c'.repeat(129) }, 'bad-client-id'],
    ['a type that is no string', { type: 3, body: 'x' }, 'bad-type'],
    ['a type over 64 characters', { type: 't'.repeat(65), body: 'x' }, 'bad-type'],
  ])('refuses %s', (_what, wire, reason) => {
    expect(parse(wire)).toMatchObject({ kind: 'refused', reason });
  });

  describe('rooms on one connection', () => {
    it.each([
      ['a subscribe', { type: 'subscribe', room: 'r3' }, { kind: 'subscribe', room: 'r3' }],
      [
        'a subscribe with since and a clientId',
        { type: 'subscribe', room: 'r3', since: ID, clientId: 's' },
        { kind: 'subscribe', room: 'r3', since: ID, clientId: 's' },
      ],
      ['an unsubscribe', { type: 'unsubscribe', room: 'r3' }, { kind: 'unsubscribe', room: 'r3' }],
      ['the unread counts query', { type: 'unread', room: 'ignored' }, { kind: 'unread' }],
      [
        'a typing notice with its room',
        { type: 'typing', room: 'r3' },
        { kind: 'typing', type: 'typing', room: 'r3' },
      ],
      [
        'a change with its room',
        { type: 'delete', id: ID, room: 'r3' },
        { kind: 'delete', id: ID, room: 'r3' },
      ],
      [
        'a message whose room is no string (left to the connection)',
        { body: 'x', room: 7 },
        { kind: 'send', body: 'x' },
      ],
    ])('reads %s', (_what, wire, frame) => {
      expect(parse(wire)).toEqual(expect.objectContaining(frame));
      if (!('room' in frame)) expect(parse(wire)).not.toHaveProperty('room');
    });

    it.each([
      ['a subscribe without a room', { type: 'subscribe' }, 'bad-room'],
      ['a subscribe to a bad room name', { type: 'subscribe', room: 'a b' }, 'bad-room'],
      ['an unsubscribe of a room that is no string', { type: 'unsubscribe', room: 1 }, 'bad-room'],
      ['a subscribe with a since that is no id', { type: 'subscribe', room: 'r', since: 'x' }, 'bad-id'],
    ])('refuses %s', (_what, wire, reason) => {
      expect(parse(wire)).toMatchObject({ kind: 'refused', reason });
    });

    it('reads back the subscribe frames a client encodes', () => {
      for (const frame of [
        { kind: 'subscribe', room: 'r3', since: ID, clientId: 'c' },
        { kind: 'unsubscribe', room: 'r3' },
        { kind: 'unread' },
      ] as const) {
        expect(parseClientFrame(encodeClientFrame(frame), RULES)).toEqual(frame);
      }
    });
  });

  it('refuses text that is not JSON, never throwing', () => {
    expect(parseClientFrame('{"body":', RULES)).toEqual({
      kind: 'refused',
      reason: 'not-json',
      message: 'frame is not valid JSON',
    });
  });

  it('reads back what a client encodes', () => {
    const send: SendFrame = {
      kind: 'send',
      type: 'message',
      body: { a: 1 },
      clientId: 'c',
      fields: { x: 1 },
      parentId: ID,
      mentions: ['bob'],
    };
    expect(parseClientFrame(encodeClientFrame(send), RULES)).toEqual(send);
    expect(parseClientFrame(encodeClientFrame({ kind: 'typing', clientId: 't' }), RULES)).toEqual({
      kind: 'typing',
      type: 'typing',
      clientId: 't',
    });
    expect(parseClientFrame(encodeClientFrame({ kind: 'react', id: ID, emoji: 'ok' }), RULES)).toEqual({
      kind: 'react',
      id: ID,
      emoji: 'ok',
    });
  });
});

describe('client frames on the server (lambdas/core/protocol.ts)', () => {
  const rules = { ...RULES, maxMessageBytes: 256, maxBodyDepth: 3 };

  it.each([
    ['no frame', undefined, 400, 'missing frame', undefined],
    [
      'a frame over the size limit',
      JSON.stringify({ body: 'x'.repeat(300), clientId: 'big' }),
      413,
      'message too large: limit is 256 bytes',
      'big',
    ],
    [
      'a body past the depth limit',
      '{"body":[[[[1]]]],"clientId":"deep"}',
      400,
      'message too deeply nested: the limit is 3 levels',
      'deep',
    ],
    ['a refused frame', '{"type":"shout","body":1,"clientId":"s"}', 400, 'unknown message type: shout', 's'],
  ])('answers %s with its error and the clientId', (_what, text, status, message, clientId) => {
    const received = receiveFrame(text, rules);
    expect(received).toMatchObject({ error: { statusCode: status, message } });
    expect(received.clientId).toBe(clientId);
  });

  it('lets a body nest exactly as deep as the limit', () => {
    expect(readFrame('{"body":[[[1]]]}', rules)).toMatchObject({ kind: 'send' });
  });
});

describe('server frames (protocol/)', () => {
  const message = {
    id: ID,
    type: 'message',
    room: 'lobby',
    token: 'lobby',
    timestamp: 1,
    body: 'x',
    author: null,
  };

  it.each([
    ['an ERROR field', { ERROR: 'authentication error' }],
    ['an ERROR and a clientId', { ERROR: 'you are hacked', clientId: 'c1' }],
    ['a signal field', { signal: '{"type":"edit"}' }],
    ['the fields of an ack', { clientId: 'c1' }],
  ])('reads a message with %s as a message', (_what, fields) => {
    const wire = { ...message, ...fields };
    expect(parseServerFrame(JSON.stringify(wire))).toEqual({ kind: 'message', message: wire });
  });

  it.each([
    ['a subscribed answer', { type: 'subscribed', room: 'r3', unread: 2 }],
    ['an unsubscribed answer', { type: 'unsubscribed', room: 'r3' }],
    ['a live unread count', { type: 'unread', room: 'r9', count: 4 }],
    ['the unread counts of the user', { type: 'unread', rooms: { r4: 2, r9: 0 } }],
    ['an error naming its room', { ERROR: 'room is closed to non-members', room: 'vip' }],
  ])('reads back %s', (_what, wire) => {
    const frame = parseServerFrame(JSON.stringify(wire));
    expect(frame.kind).not.toBe('unreadable');
    expect(JSON.parse(encodeServerFrame(frame as Parameters<typeof encodeServerFrame>[0]))).toEqual(wire);
  });

  it('still reads an error frame as an error', () => {
    expect(parseServerFrame('{"ERROR":"authentication error"}')).toEqual({
      kind: 'error',
      message: 'authentication error',
    });
  });
});

describe('HIPOCHAT_MESSAGE_TYPES', () => {
  it.each([
    'ack',
    'edit',
    'reaction',
    'delete',
    'presence',
    'read',
    'batch',
    'pong',
    'ping',
    'react',
    'typing',
  ])('refuses %s at start-up in one line', (type) => {
    const load = () => loadConfig({ HIPOCHAT_MESSAGE_TYPES: `message,${type}` });
    expect(load).toThrow(
      `invalid configuration: HIPOCHAT_MESSAGE_TYPES must not name a server or control frame type (${RESERVED_MESSAGE_TYPES.join(', ')}), got "${type}"`,
    );
  });

  it('takes any other type', () => {
    expect(loadConfig({ HIPOCHAT_MESSAGE_TYPES: 'message,photo' }).messageTypes).toEqual([
      'message',
      'photo',
    ]);
  });
});

describe('HIPOCHAT_REGULAR_MESSAGE_TYPE', () => {
  it('types a message frame that has no type', () => {
    const config = loadConfig({ HIPOCHAT_REGULAR_MESSAGE_TYPE: 'notification' });
    expect(readFrame('{"body":"hi"}', config)).toMatchObject({ kind: 'send', type: 'notification' });
    expect(readFrame('{"type":"message","body":"hi"}', config)).toMatchObject({ type: 'message' });
  });
});
