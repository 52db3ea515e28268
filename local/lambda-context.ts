import { randomBytes, randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import type { Route } from '../lambdas/routes.js';
import { LOCAL_ACCOUNT } from './events.js';

/** Region in the ARNs of local functions, like the other local ARNs (events.ts). */
const LOCAL_REGION = 'local';

/** How a function is configured: what its `context` reports. */
export interface LocalFunctionConfig {
  /** `hipochat-local-<route name>`. */
  functionName: string;
  /** Invocation timeout, which `getRemainingTimeInMillis()` counts down from. */
  timeoutMs: number;
  memoryLimitInMB: number;
  /** One per function, as one warm container writes one stream. */
  logStreamName: string;
}

/**
 * A route's function as the stack deploys it (infra/chat-stack.ts): the fan-out gets 60 s and
 * 1024 MB, every API function 10 s and 512 MB.
 */
export function localFunctionConfig(route: Route, now = new Date()): LocalFunctionConfig {
  const fanout = route.kind === 'queue';
  const day = now.toISOString().slice(0, 10).replaceAll('-', '/');
  return {
    functionName: `hipochat-local-${route.name}`,
    timeoutMs: fanout ? 60_000 : 10_000,
    memoryLimitInMB: fanout ? 1024 : 512,
    logStreamName: `${day}/[$LATEST]${randomBytes(16).toString('hex')}`,
  };
}

/**
 * Builds the `context` Lambda passes as a handler's second argument, so handlers that log the
 * request id or watch their remaining time behave locally as deployed. One per invocation: a
 * fresh `awsRequestId`, and a deadline `timeoutMs` after `now()`.
 */
export function lambdaContext(config: LocalFunctionConfig, now: () => number = Date.now): Context {
  const deadline = now() + config.timeoutMs;
  const noop = () => {};
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: config.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${config.functionName}`,
    memoryLimitInMB: String(config.memoryLimitInMB),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${config.functionName}`,
    logStreamName: config.logStreamName,
    getRemainingTimeInMillis: () => Math.max(0, deadline - now()),
    // The deprecated callback-era completions: handlers here return promises.
    done: noop,
    fail: noop,
    succeed: noop,
  };
}
