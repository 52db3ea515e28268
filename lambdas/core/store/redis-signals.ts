import type { WindowCount } from './chat-store.js';
import type { StoreRun } from './redis-changes.js';
import { runScript, type ScriptClient } from './redis-client.js';
import { keys } from './redis-keys.js';
import {
  DIGEST_TTL_MS,
  digestField,
  digestValue,
  type FoldedChange,
  type FoldedSignals,
  type FoldOutcome,
  readDigest,
  type SignalStore,
} from './signal-store.js';

/** Folded signals on Redis: one script per call, in the room's slot. */
export class RedisSignals implements SignalStore {
  constructor(
    private readonly redis: ScriptClient,
    private readonly run: StoreRun,
  ) {}

  fold(room: string, change: FoldedChange, gateMs: number, maxMembers: number): Promise<FoldOutcome> {
    return this.run(
      async () =>
        (await runScript(
          this.redis,
          'hcFold',
          { members: keys.members(room), digest: keys.digest(room), gate: keys.digestGate(room) },
          {
            field: digestField(change),
            value: digestValue(change),
            gateMs,
            maxMembers,
            digestTtlMs: DIGEST_TTL_MS,
            presence: change.kind === 'presence' ? '1' : '0',
          },
        )) as FoldOutcome,
    );
  }

  take(room: string): Promise<FoldedSignals> {
    return this.run(async () => {
      const flat = (await runScript(
        this.redis,
        'hcTakeDigest',
        { digest: keys.digest(room), gate: keys.digestGate(room) },
        {},
      )) as string[];
      const entries: [string, string][] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) entries.push([flat[i]!, flat[i + 1]!]);
      return readDigest(entries);
    });
  }

  countConnect(userId: string, windowSeconds: number): Promise<WindowCount> {
    return this.run(async () => {
      const [count, ttl] = (await runScript(
        this.redis,
        'hcCount',
        { counter: keys.connects(userId) },
        { ttlSeconds: windowSeconds, slide: '0' },
      )) as [number, number];
      return { count: Number(count), ttlSeconds: Math.max(1, Number(ttl)) };
    });
  }
}
