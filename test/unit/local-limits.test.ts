import { PostLimits } from '../../local/connections-endpoint.js';
import { InvokeConcurrency } from '../../local/invoke-endpoint.js';

describe('HIPOCHAT_LOCAL_POST_RPS', () => {
  it('admits a burst of half the rate, then the rate per second, like API Gateway', () => {
    // Prepare: 100 posts a second, the clock pinned.
    let now = 0;
    const limits = new PostLimits({ rps: 100, now: () => now });

    // Act: 80 posts at once, then 80 more a second later.
    const first = Array.from({ length: 80 }, () => limits.admit()).filter(Boolean).length;
    now += 1000;
    const second = Array.from({ length: 80 }, () => limits.admit()).filter(Boolean).length;

    // Assess: the bucket holds 50; a second refills it (never above the burst).
    expect(first).toBe(50);
    expect(second).toBe(50);
  });

  it('admits every post when unset', () => {
    const limits = new PostLimits();
    expect(Array.from({ length: 10_000 }, () => limits.admit()).every(Boolean)).toBe(true);
  });
});

describe('HIPOCHAT_LOCAL_POST_FAIL_RATE', () => {
  it.each([
    [0, 0.0, false],
    [0.1, 0.05, true],
    [0.1, 0.5, false],
    [1, 0.99, true],
  ])('with a rate of %d fails a post drawn at %d: %s', (failRate, draw, fails) => {
    expect(new PostLimits({ failRate, random: () => draw }).fails()).toBe(fails);
  });
});

describe('HIPOCHAT_LOCAL_INVOKE_CONCURRENCY', () => {
  it('runs at most that many invocations at once, and frees a slot when one ends', () => {
    const concurrency = new InvokeConcurrency(2);
    expect([concurrency.take(), concurrency.take(), concurrency.take()]).toEqual([true, true, false]);
    concurrency.release();
    expect(concurrency.take()).toBe(true);
  });

  it('does not limit when 0', () => {
    const concurrency = new InvokeConcurrency(0);
    expect(Array.from({ length: 1000 }, () => concurrency.take()).every(Boolean)).toBe(true);
  });
});
