import {
  AWS_MODEL_ASSUMPTIONS,
  awsModel,
  awsModelRow,
  executionMs,
  localModelMs,
  throttledModel,
  throttledRow,
} from '../../bench/aws-model.js';
import { throttleFloorMs } from '../../bench/big-room.js';

const measured = { cpuUsPerDelivery: 45, sliceSetupUsPerConnection: 2 };
const assumptions = { ...AWS_MODEL_ASSUMPTIONS, postsInFlight: 128, sliceSize: 1000, fanoutVcpu: 0.58 };

describe('the bench AWS model', () => {
  it('gives one row per room size of 20, 1,000, 10,000 and 100,000 members, in the JSON shape', () => {
    const rows = awsModel(measured);
    expect(rows.map((row) => row.members)).toEqual([20, 1000, 10_000, 100_000]);
    for (const row of rows) {
      expect(Object.keys(row).sort()).toEqual(
        ['cpuUsPerDelivery', 'lastDeliveryMs', 'members', 'postLatencyMs', 'slices', 'throttleRps'].sort(),
      );
    }
  });

  it('paces an execution by its CPU or by latency over the posts in flight, whichever is slower', () => {
    // 1,000 posts of 45 µs on a full vCPU: 45 ms of CPU, but 20 ms / 128 in flight = 156 µs each.
    expect(executionMs(1000, 45, 1, 20, 128)).toBeCloseTo(1000 * 0.15625 + 20);
    // 400 µs of CPU a post is slower than the wait.
    expect(executionMs(1000, 400, 1, 20, 128)).toBeCloseTo(400 + 20);
  });

  it.each([
    [20, 1],
    [1000, 1],
    [1001, 2],
    [10_000, 10],
    [100_000, 100],
  ])('delivers a room of %i members in %i slice(s)', (members, slices) => {
    expect(awsModelRow(members, measured, assumptions).slices).toBe(slices);
  });

  it('never beats the account throttle: 100,000 deliveries take at least 10 s at 10,000/s', () => {
    expect(awsModelRow(100_000, measured, assumptions).lastDeliveryMs).toBeGreaterThanOrEqual(10_000);
  });

  it('lets the slices of a local room share one core while their waits overlap', () => {
    // 2,000 deliveries at 150 µs of gateway CPU: 300 ms of CPU whatever the slices.
    expect(localModelMs(2000, 1, 150, 20, 32)).toBe(Math.round((2000 * 20) / 32 + 20));
    expect(localModelMs(2000, 8, 150, 20, 32)).toBe(300 + 20);
  });

  it('drains a burst at the account throttle after its burst credit, within the slices deadline', () => {
    // 100,000 posts: 5,000 at once, then 10,000 a second; the last post waits half a backoff more.
    const row = throttledRow(10_000, 10, measured, assumptions);
    expect(row).toMatchObject({ posts: 100_000, drainMs: 9500, requeuedPosts: 0, requeueRounds: 0 });
    expect(row.lastDeliveryMs).toBe(10_000);
  });

  it('requeues what the slices left at their deadline for those connections only, where a whole-room retry copied', () => {
    // 500,000 posts; 205,000 go through in the first 20 s: two messages reached everyone, the third 5,000.
    const row = throttledRow(100_000, 5, measured, assumptions);
    expect(row).toMatchObject({
      requeuedPosts: 295_000,
      requeueRounds: 2,
      wholeRoomRetryPosts: 300_000,
      wholeRoomDuplicates: 5_000,
    });
  });

  it('models the bursts 10,000 × 1 and × 10, 100,000 × 1 and × 5', () => {
    expect(throttledModel(measured).map((row) => [row.members, row.messages])).toEqual([
      [10_000, 1],
      [10_000, 10],
      [100_000, 1],
      [100_000, 5],
    ]);
  });

  it("floors the local check under a throttle of 1,000 posts a second by the bucket's drain", () => {
    expect(throttleFloorMs(2000, 1000)).toBe(1500);
    expect(throttleFloorMs(2000, 0)).toBe(0);
  });
});
