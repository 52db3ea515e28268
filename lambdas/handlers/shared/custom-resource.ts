import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { type LambdaHandler, lambdaHandler } from './invocation.js';

/**
 * Wraps a custom resource's `onEvent` (CDK provider framework). It builds no chat runtime: a
 * deploy-time function reaches only what it provisions. A failure is logged and thrown again, so
 * the framework reports it to CloudFormation.
 */
export function customResource<R>(
  work: (event: CloudFormationCustomResourceEvent) => Promise<R>,
): LambdaHandler<CloudFormationCustomResourceEvent, R> {
  return lambdaHandler({
    keys: (event) => ({
      route: `custom-resource ${event.RequestType}`,
      resource: event.LogicalResourceId,
    }),
    run: work,
    fail: (_failure, _event, error) => {
      throw error;
    },
  });
}
