import { Cluster } from 'ioredis';
import { NotAcknowledgedError } from '../errors.js';
import type { ScriptClient } from './redis-client.js';
import { keys } from './redis-keys.js';
import { type ArgsOf, type KeysOf, scriptArguments } from './redis-script-spec.js';
import { type ScriptName, scripts } from './redis-scripts.js';

/** How many replicas must confirm a write, and for how long the store waits for them. */
export interface ReplicaWaitOptions {
  /** Replicas that must confirm; 0 turns waiting off. @default 0 */
  replicas?: number;
  /** Milliseconds `WAIT` waits for them. @default 100 */
  timeoutMs?: number;
}

/** What a write answered, and whether enough replicas confirmed it. */
export interface WaitedAnswer {
  answer: unknown;
  replicated: boolean;
}

// The fence outlives any WAIT by far; it is only there to be written.
const FENCE_TTL_MS = 60_000;

/**
 * Acknowledged means replicated: after a write the store sends `WAIT replicas timeout` on the same
 * connection, in one pipeline with the write, so the answer says whether the replicas hold it.
 * Every wait first sets the room's fence key: `WAIT` covers the connection's writes up to its
 * latest one, and a retry answered from an idempotency record (or a no-op) writes nothing itself,
 * while the write it acknowledges may still be unreplicated.
 *
 * The script goes first in the pipeline. ioredis sends a script's body (EVAL) the first time on
 * each socket, so a new primary after a failover loads it; a NOSCRIPT on a live socket (a
 * `SCRIPT FLUSH`) is resent after the pipeline, which the fence and `WAIT` then would not cover:
 * ElastiCache never flushes scripts under a live connection.
 */
export class ReplicaWait {
  readonly replicas: number;
  readonly timeoutMs: number;

  constructor(
    private readonly redis: ScriptClient,
    options: ReplicaWaitOptions = {},
  ) {
    this.replicas = options.replicas ?? 0;
    this.timeoutMs = options.timeoutMs ?? 100;
  }

  /** Whether writes wait for replicas. */
  get on(): boolean {
    return this.replicas > 0;
  }

  /**
   * Runs write script `name` of `room` and, when waiting is on, the fence and `WAIT` in the same
   * pipeline; `replicated` is always true when waiting is off.
   */
  async script<N extends ScriptName>(
    room: string,
    name: N,
    scriptKeys: KeysOf<(typeof scripts)[N]>,
    args: ArgsOf<(typeof scripts)[N]>,
    rest: readonly (string | number)[] = [],
  ): Promise<WaitedAnswer> {
    const list = scriptArguments(scripts[name], scriptKeys, args, rest);
    const command = this.redis[name] as (...values: (string | number)[]) => Promise<unknown>;
    if (!this.on) return { answer: await command.apply(this.redis, list), replicated: true };
    if (this.redis instanceof Cluster) {
      // ioredis connects cluster nodes lazily, and a pipeline sent to a node not connected yet can
      // stall: the script goes first as a routed command, then the fence and WAIT to the same
      // node (the room's slot), on the connection the script used.
      const answer = await command.apply(this.redis, list);
      const [, confirmed] = await this.fenced(room, this.redis.pipeline());
      return { answer, replicated: confirmed };
    }
    const pipeline = this.redis.pipeline();
    (pipeline as unknown as Record<N, (...values: (string | number)[]) => unknown>)[name](...list);
    const [answer, confirmed] = await this.fenced(room, pipeline);
    return { answer, replicated: confirmed };
  }

  /**
   * Waits until the replicas hold every write of `room` made so far (for an answer that
   * acknowledges a write it did not make: a duplicate, a message already deleted).
   *
   * @throws NotAcknowledgedError when fewer replicas confirm in time
   */
  async confirm(room: string): Promise<void> {
    if (!this.on) return;
    const [, confirmed] = await this.fenced(room, this.redis.pipeline());
    if (!confirmed) throw new NotAcknowledgedError();
  }

  /**
   * Adds the fence and `WAIT` to `pipeline` and runs it: the first command's answer, and whether
   * enough replicas confirmed. The first error thrown is the earliest command's (a `READONLY` of
   * the script, not the `WAIT` a replica refuses after it).
   */
  private async fenced(
    room: string,
    pipeline: ReturnType<ScriptClient['pipeline']>,
  ): Promise<[unknown, boolean]> {
    pipeline.set(keys.fence(room), '1', 'PX', FENCE_TTL_MS);
    pipeline.call('WAIT', this.replicas, this.timeoutMs);
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([error]) => error)?.[0];
    if (failed) throw failed;
    const waited = results.at(-1);
    if (!waited) throw new Error('WAIT has no answer');
    return [results[0]?.[1], Number(waited[1]) >= this.replicas];
  }
}

/** @throws NotAcknowledgedError unless `waited` was replicated; else its answer */
export function acknowledged<T>(waited: WaitedAnswer): T {
  if (!waited.replicated) throw new NotAcknowledgedError();
  return waited.answer as T;
}
