import { SYNTH_TIMEOUT_MS, type Synthesized, synth } from './synth.js';

type FunctionResource = { Properties: { Environment?: { Variables?: Record<string, unknown> } } };

describe('-c chatEnv (chat behaviour variables)', () => {
  let tuned: Synthesized;

  beforeAll(() => {
    tuned = synth({
      chatEnv: '{"HIPOCHAT_MAX_MESSAGE_BYTES":"29696","HIPOCHAT_USER_RATE_LIMIT_PER_MINUTE":600}',
    });
  }, SYNTH_TIMEOUT_MS);

  it('reaches the environment of every chat function', () => {
    const functions = Object.values(
      tuned.template.findResources('AWS::Lambda::Function'),
    ) as FunctionResource[];
    const chat = functions.filter(
      (f) => f.Properties.Environment?.Variables?.HIPOCHAT_REDIS_URL !== undefined,
    );
    expect(chat.length).toBeGreaterThan(10);
    for (const fn of chat) {
      expect(fn.Properties.Environment!.Variables).toMatchObject({
        HIPOCHAT_MAX_MESSAGE_BYTES: '29696',
        HIPOCHAT_USER_RATE_LIMIT_PER_MINUTE: '600',
      });
    }
  });

  it.each([
    ['{"HIPOCHAT_MAX_MESSAGE_BYTES":"huge"}', /HIPOCHAT_MAX_MESSAGE_BYTES/],
    ['{"HIPOCHAT_MAX_MESSAGE_BYTES":"65536"}', /API Gateway closes a websocket on frames over 32 KB/],
    ['{"HIPOCHAT_REDIS_URL":"redis://elsewhere"}', /HIPOCHAT_REDIS_URL cannot be set here/],
    ['not json', /must be a JSON object/],
  ])('stops synth for %s, naming the problem', (chatEnv, problem) => {
    expect(() => synth({ chatEnv })).toThrow(problem);
  });
});
