import { loadConfig } from '../../lambdas/core/config.js';
import type { Identity } from '../../lambdas/core/protocol.js';
import { createRuntime, type Runtime } from '../../lambdas/core/runtime.js';
import { MemoryStore } from '../../lambdas/core/store/memory-store.js';
import { RecordingBus } from './recording-bus.js';
import { RecordingSender } from './recording-sender.js';

/** The identity of a dev token: the user id, as the profile's id and username too. */
export const who = (userId: string): Identity => ({ userId, profile: { id: userId, username: userId } });

/** A runtime of its own: the config of `env`, a memory store, a recording bus and sender. */
export interface RecordingRuntime {
  store: MemoryStore;
  bus: RecordingBus;
  sender: RecordingSender;
  rt: Runtime;
}

/** A fresh {@link RecordingRuntime} with the config of `env` (a suite's `beforeEach`). */
export function recordingRuntime(env: Record<string, string> = {}): RecordingRuntime {
  const store = new MemoryStore();
  const bus = new RecordingBus();
  const sender = new RecordingSender();
  return { store, bus, sender, rt: createRuntime(loadConfig(env), { store, bus, sender }) };
}
