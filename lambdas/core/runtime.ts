import { createBus, createStore } from './adapters.js';
import { Authenticator } from './auth.js';
import type { ChatBus } from './bus/chat-bus.js';
import { ChatService } from './chat-service.js';
import { type ChatConfig, loadConfig } from './config.js';
import { awsIdentity, type ConnectionSender, SignedPostSender } from './connections.js';
import { EditsService } from './edits-service.js';
import { ConfigError } from './errors.js';
import { FanoutService } from './fanout.js';
import { type SliceInvoker, slicesInFlight } from './fanout-slices.js';
import { LambdaInvoker } from './lambda-invoker.js';
import { ModerationGate } from './moderation-gate.js';
import { ModerationHook } from './moderation-hook.js';
import { ModerationService } from './moderation-service.js';
import { PushNotifier } from './push.js';
import { RoomsService } from './rooms-service.js';
import { withSecrets } from './secrets.js';
import { foldingOf } from './signals.js';
import { SignalsService } from './signals-service.js';
import type { ChatStore } from './store/chat-store.js';
import { ThreadsService } from './threads-service.js';
import { UnreadService } from './unread-service.js';

/** Everything a handler needs, created once per process (Lambda container). */
export interface Runtime {
  config: ChatConfig;
  store: ChatStore;
  bus: ChatBus;
  sender: ConnectionSender;
  chat: ChatService;
  /** Typing, presence, receipts, and the backend calls across rooms. */
  signals: SignalsService;
  /** Edits, deletes and reactions. */
  edits: EditsService;
  /** Connections that follow many rooms (subscribe, unsubscribe, unread counts). */
  rooms: RoomsService;
  /** Unread and mention counts, and mark unread. */
  unread: UnreadService;
  /** Mutes, bans and the list of them (the pre-publish hook is the chat's: `chat.moderation`). */
  moderation: ModerationService;
  /** Threads: a root's replies and the room's threads. */
  threads: ThreadsService;
  fanout: FanoutService;
  close(): Promise<void>;
}

/** Parts a caller may supply instead of the ones built from config. */
export interface RuntimeParts {
  store?: ChatStore;
  bus?: ChatBus;
  sender?: ConnectionSender;
  /** Runs the slices of big rooms (else the delivery function named by the config, if any). */
  slices?: SliceInvoker;
}

/** A sender for processes that have no management endpoint configured. */
const missingSender: ConnectionSender = {
  post: () => Promise.reject(new ConfigError('HIPOCHAT_CONNECTIONS_URL is not set')),
  disconnect: () => Promise.reject(new ConfigError('HIPOCHAT_CONNECTIONS_URL is not set')),
};

/**
 * Builds the runtime: Redis and RabbitMQ when their URLs are set, the in-memory twins otherwise
 * (refused inside Lambda, where memory does not outlive an invocation).
 */
export function createRuntime(config: ChatConfig, parts: RuntimeParts = {}): Runtime {
  if (process.env.AWS_LAMBDA_FUNCTION_NAME && (!config.redisUrl || !config.amqpUrl)) {
    throw new ConfigError('HIPOCHAT_REDIS_URL and HIPOCHAT_AMQP_URL are required in Lambda');
  }
  const store = parts.store ?? createStore(config);
  const bus = parts.bus ?? createBus(config);
  const sender =
    parts.sender ??
    (config.connectionsUrl
      ? new SignedPostSender({ endpoint: config.connectionsUrl, maxSockets: config.fanoutConcurrency })
      : missingSender);
  const slices =
    parts.slices ??
    (config.deliveryFunction
      ? new LambdaInvoker({
          functionName: config.deliveryFunction,
          endpoint: config.lambdaEndpoint,
          ...awsIdentity(),
        })
      : undefined);
  const auth = new Authenticator(store, {
    profileUrl: config.profileUrl,
    idField: config.profileIdField,
    cacheSeconds: config.profileCacheSeconds,
    publicFields: config.profilePublicFields,
  });
  const push = new PushNotifier({ url: config.pushUrl, secret: config.pushSecret });
  const hook = new ModerationHook({
    url: config.moderationUrl,
    secret: config.pushSecret,
    timeoutMs: config.moderationTimeoutMs,
    failure: config.moderationFailure,
    maxBodyBytes: config.maxMessageBytes,
    maxBodyDepth: config.maxBodyDepth,
  });
  const chat = new ChatService(config, store, bus, auth, new ModerationGate(store, hook), sender);
  return {
    config,
    store,
    bus,
    sender,
    chat,
    signals: new SignalsService(config, store, chat, sender),
    edits: new EditsService(config, store, chat),
    rooms: new RoomsService(config, store, chat),
    unread: new UnreadService(store, chat),
    moderation: new ModerationService(store, chat, sender),
    threads: new ThreadsService(config, store, chat),
    fanout: new FanoutService(
      store,
      sender,
      push,
      {
        concurrency: config.fanoutConcurrency,
        notifiableTypes: config.notifiableTypes,
        pushMode: config.pushMode,
        deliveryLimit: config.deliveryLimit,
        slicing: slices
          ? {
              size: config.fanoutSliceSize,
              invoker: slices,
              inFlight: slicesInFlight(config.deliveryConcurrency, config.fanoutShards),
            }
          : undefined,
        signals: foldingOf(config),
      },
      bus,
    ),
    async close() {
      await Promise.all([store.close(), bus.close()]);
    },
  };
}

let current: Promise<Runtime> | undefined;

/**
 * The process's runtime, built on first use from the environment and the secrets it names
 * (once per Lambda container; a failed start is retried on the next invocation).
 */
export function runtime(): Promise<Runtime> {
  if (!current) {
    const starting = withSecrets(process.env).then((env) => createRuntime(loadConfig(env)));
    starting.catch(() => {
      if (current === starting) current = undefined;
    });
    current = starting;
  }
  return current;
}

/** Installs a runtime (the local gateway and tests share one across handler modules). */
export function setRuntime(next: Runtime | undefined): void {
  current = next ? Promise.resolve(next) : undefined;
}
