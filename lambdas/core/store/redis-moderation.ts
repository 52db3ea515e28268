import type { RestrictionKind } from '../../../protocol/index.js';
import {
  type ModerationStore,
  restrictionField,
  restrictionOf,
  type StoredRestriction,
} from './moderation-store.js';
import type { StoreRun } from './redis-changes.js';
import { runScript, type ScriptClient } from './redis-client.js';
import { keys } from './redis-keys.js';
import { acknowledged, type ReplicaWait } from './redis-wait.js';

/** The live restrictions of a flat `field, until` list. */
function restrictionsOfFlat(flat: readonly string[]): StoredRestriction[] {
  const found: StoredRestriction[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const restriction = restrictionOf(flat[i]!, Number(flat[i + 1]));
    if (restriction) found.push(restriction);
  }
  return found;
}

/** A room's restrictions on Redis: one hash in the room's slot, one command per call. */
export class RedisModeration implements ModerationStore {
  constructor(
    private readonly redis: ScriptClient,
    private readonly run: StoreRun,
    private readonly wait: ReplicaWait,
  ) {}

  async restrict(
    room: string,
    userId: string,
    kind: RestrictionKind,
    untilMs: number,
    nowMs: number,
  ): Promise<void> {
    await this.run(async () =>
      acknowledged(
        await this.wait.script(
          room,
          'hcRestrict',
          { moderation: keys.moderation(room) },
          { field: restrictionField(kind, userId), untilMs, nowMs },
        ),
      ),
    );
  }

  restrictions(room: string, nowMs: number): Promise<StoredRestriction[]> {
    return this.run(async () =>
      restrictionsOfFlat(
        (await runScript(
          this.redis,
          'hcRestrictions',
          { moderation: keys.moderation(room) },
          { nowMs },
        )) as string[],
      ),
    );
  }

  restrictionsOf(room: string, userId: string, nowMs: number): Promise<StoredRestriction[]> {
    const kinds: RestrictionKind[] = ['mute', 'ban'];
    return this.run(async () => {
      const held = await this.redis.hmget(
        keys.moderation(room),
        ...kinds.map((kind) => restrictionField(kind, userId)),
      );
      return kinds.flatMap((kind, index) => {
        const untilMs = Number(held[index] ?? 0);
        return untilMs > nowMs ? [{ userId, kind, untilMs }] : [];
      });
    });
  }
}
