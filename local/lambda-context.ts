import { randomBytes, randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { functionSize, type Route } from '../lambdas/routes.js';
import { LOCAL_ACCOUNT } from './events.js';

/** Region in the ARNs of local functions, like the other local ARNs (events.ts). */
const LOCAL_REGION = 'local';

/** The local name of a route's function: `hipochat-local-<route name>`. */
export function localFunctionName(routeName: string): string {
  return `hipochat-local-${routeName}`;
}

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

/** A route's function as the stack deploys it (`functionSize` of the routes table). */
export function localFunctionConfig(route: Route, now = new Date()): LocalFunctionConfig {
  const size = functionSize(route);
  const day = now.toISOString().slice(0, 10).replaceAll('-', '/');
  return {
    functionName: localFunctionName(route.name),
    timeoutMs: size.timeoutSeconds * 1000,
    memoryLimitInMB: size.memoryMb,
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
