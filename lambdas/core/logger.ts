import { Logger, LogLevelThreshold } from '@aws-lambda-powertools/logger';
import type { ConstructorOptions } from '@aws-lambda-powertools/logger/types';
import type { Context } from 'aws-lambda';
import { logSettings } from './config.js';
import { InvocationSlot } from './invocation-scope.js';

/** Keys every line of an invocation carries: route, connection id, room, user id... */
export type LogKeys = Record<string, unknown>;

type Level = 'debug' | 'info' | 'warn' | 'error';

const THRESHOLDS: Record<Level, number> = {
  debug: LogLevelThreshold.DEBUG,
  info: LogLevelThreshold.INFO,
  warn: LogLevelThreshold.WARN,
  error: LogLevelThreshold.ERROR,
};

const settings = logSettings();

const options = (sampleRateValue: number): ConstructorOptions => ({
  serviceName: 'hipochat',
  logLevel: settings.logLevel,
  sampleRateValue,
  persistentKeys: settings.stage ? { stage: settings.stage } : {},
});

/**
 * Powertools' Logger reporting the cold start of the invocation it serves (a logger instance per
 * invocation would otherwise report a cold start every time).
 */
class InvocationLogger extends Logger {
  constructor(
    options: ConstructorOptions,
    private readonly coldStartOfInvocation: boolean,
  ) {
    super(options);
  }

  protected override getColdStart(): boolean {
    return this.coldStartOfInvocation;
  }
}

/** Lines written outside any invocation (start-up, the local gateway). Never sampled. */
const base = new Logger(options(0));
/** The level in effect, Lambda's log level control included; read once, as it cannot change. */
const baseThreshold = base.level;
// Powertools' rule: only on-demand containers start cold.
let coldStart = process.env.AWS_LAMBDA_INITIALIZATION_TYPE === 'on-demand';

interface Invocation {
  readonly context: Context | undefined;
  readonly keys: LogKeys;
  readonly coldStart: boolean;
  /** Level of the invocation: the configured one, or debug when sampled. */
  threshold: number;
  /** Made on the first line written (most invocations write none), or up front to sample. */
  logger?: Logger;
}

const invocations = new InvocationSlot<Invocation>();

function loggerOf(invocation: Invocation): Logger {
  if (!invocation.logger) {
    const child = new InvocationLogger(options(settings.logSampleRate), invocation.coldStart);
    if (invocation.context) child.addContext(invocation.context);
    child.appendKeys(invocation.keys);
    invocation.logger = child;
  }
  return invocation.logger;
}

/**
 * Runs `work` as one invocation: every line logged inside it, by a handler or a core module,
 * carries the Lambda context (request id, cold start, function name) and `keys`. The keys end
 * with the invocation, so none reaches the next one, even when invocations overlap (the local
 * gateway runs many at once). With `HIPOCHAT_LOG_SAMPLE_RATE` each invocation is sampled anew.
 */
export function withInvocationLog<T>(context: Context | undefined, keys: LogKeys, work: () => T): T {
  const invocation: Invocation = { context, keys: { ...keys }, coldStart, threshold: baseThreshold };
  coldStart = false;
  if (settings.logSampleRate > 0) invocation.threshold = loggerOf(invocation).level;
  return invocations.run(invocation, work);
}

/** Adds keys to the remaining lines of the current invocation (a room or user id learnt on the way). */
export function appendLogKeys(keys: LogKeys): void {
  const invocation = invocations.getStore();
  if (!invocation) return;
  Object.assign(invocation.keys, keys);
  invocation.logger?.appendKeys(keys);
}

/** The Lambda request id of the current invocation (what its lines carry); undefined outside one. */
export function invocationRequestId(): string | undefined {
  return invocations.getStore()?.context?.awsRequestId;
}

/**
 * An error as a plain object: `JSON.stringify` would otherwise call `HttpError.toJSON()` (the
 * response body) and lose the name, stack and cause.
 */
function describeError(error: Error): Record<string, unknown> {
  return {
    name: error.name,
    message: error.message,
    stack: error.stack,
    ...(error.cause instanceof Error ? { cause: describeError(error.cause) } : {}),
    ...(error.cause !== undefined && !(error.cause instanceof Error) ? { cause: error.cause } : {}),
  };
}

function plain(extra: LogKeys): LogKeys {
  let copy: LogKeys | undefined;
  for (const [key, value] of Object.entries(extra)) {
    if (value instanceof Error) {
      copy ??= { ...extra };
      copy[key] = describeError(value);
    }
  }
  return copy ?? extra;
}

function write(level: Level, message: string, extra?: LogKeys): void {
  const invocation = invocations.getStore();
  // Below the level a call costs this check only: no Powertools call, no child logger.
  if (THRESHOLDS[level] < (invocation?.threshold ?? baseThreshold)) return;
  const target = invocation ? loggerOf(invocation) : base;
  if (extra) target[level](message, plain(extra));
  else target[level](message);
}

/**
 * The process logger: JSON lines through Powertools for AWS Lambda, service `hipochat`, level
 * `HIPOCHAT_LOG_LEVEL`, key `stage` from `HIPOCHAT_STAGE`. Inside an invocation it writes that
 * invocation's lines. Callers never pass tokens; profiles are logged by user id only.
 */
export const logger = {
  debug: (message: string, extra?: LogKeys): void => write('debug', message, extra),
  info: (message: string, extra?: LogKeys): void => write('info', message, extra),
  warn: (message: string, extra?: LogKeys): void => write('warn', message, extra),
  error: (message: string, extra?: LogKeys): void => write('error', message, extra),
};
