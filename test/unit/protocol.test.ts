import { BadRequestError, PayloadTooLargeError } from '../../lambdas/core/errors.js';
import { compareIds, parseClientFrame, parseRoom, publicProfile } from '../../lambdas/core/protocol.js';

const TYPES = ['message', 'notification'];

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
    expect(parseClientFrame('{"type":"message","body":"hi","clientId":"c1"}', 1024, TYPES)).toMatchObject({
      type: 'message',
      body: 'hi',
      clientId: 'c1',
    });
  });

  it('defaults the type to message and takes Hipochat\'s "message" field as the body', () => {
    expect(parseClientFrame('{"message":"hi"}', 1024, TYPES)).toMatchObject({ type: 'message', body: 'hi' });
  });

  it.each([
    ['not json', 'frame is not valid JSON'],
    ['[]', 'frame must be a JSON object with a body'],
    ['{"type":"message"}', 'missing body'],
    ['{"type":"nope","body":1}', 'unknown message type: nope'],
    ['', 'missing frame'],
  ])('refuses %j: %s', (frame, message) => {
    expect(() => parseClientFrame(frame, 1024, TYPES)).toThrow(message);
  });

  it('refuses a frame over the size limit with a 413', () => {
    expect(() => parseClientFrame(JSON.stringify({ body: 'x'.repeat(2000) }), 1024, TYPES)).toThrow(
      PayloadTooLargeError,
    );
  });
});

describe('public profile', () => {
  it('drops credential fields and values equal to a secret token', () => {
    const token = 'a'.repeat(40);
    expect(publicProfile({ id: 7, name: 'ann', token, key: 'k', mirror: token }, token)).toEqual({
      id: 7,
      name: 'ann',
    });
  });

  it('keeps a short dev name that equals the token', () => {
    expect(publicProfile({ id: 'alice', username: 'alice' }, 'alice')).toEqual({
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
