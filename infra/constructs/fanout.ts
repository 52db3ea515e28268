import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { CfnEventSourceMapping, type IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct, type IDependable } from 'constructs';
import { shardQueue } from '../../lambdas/core/bus/topology.js';
import type { Broker } from './broker.js';
import { acknowledge } from './nag.js';

/** Properties of {@link Fanout}. */
export interface FanoutProps {
  /** The fan-out consumer. */
  readonly handler: IFunction;
  readonly broker: Broker;
  /** Shard queues `hipochat.fanout.0` … `hipochat.fanout.<shards-1>`. */
  readonly shards: number;
  /**
   * Records per invocation.
   * @default 100
   */
  readonly batchSize?: number;
  /**
   * Seconds Lambda gathers records before invoking.
   * @default - the service default, 500 ms
   */
  readonly batchWindowSeconds?: number;
  /**
   * RabbitMQ virtual host of the queues.
   * @default '/'
   */
  readonly virtualHost?: string;
  /** What must exist before the mappings (the queues, declared by the topology resource). */
  readonly after?: IDependable;
}

/**
 * One Amazon MQ event source mapping per shard queue. A RabbitMQ mapping runs one invocation at a
 * time, so fan-out throughput grows with the shard count; a room always lands on one shard, which
 * keeps its order.
 */
export class Fanout extends Construct {
  readonly mappings: CfnEventSourceMapping[] = [];

  constructor(scope: Construct, id: string, props: FanoutProps) {
    super(scope, id);
    const { handler, broker } = props;
    // What Lambda needs to poll an Amazon MQ broker with the function's role
    // (https://docs.aws.amazon.com/lambda/latest/dg/with-mq.html#events-mq-permissions).
    handler.addToRolePolicy(new PolicyStatement({ actions: ['mq:DescribeBroker'], resources: [broker.arn] }));
    // The mappings connect as the runtime user, never the administrator.
    broker.runtimeCredentials.grantRead(handler);
    handler.addToRolePolicy(
      new PolicyStatement({
        actions: [
          'ec2:CreateNetworkInterface',
          'ec2:DeleteNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeSecurityGroups',
          'ec2:DescribeSubnets',
          'ec2:DescribeVpcs',
        ],
        resources: ['*'],
      }),
    );
    acknowledge(
      handler,
      'AwsSolutions-IAM5[Resource::*]',
      'Amazon MQ event sources need ec2 Describe*/network interface actions and active tracing needs xray writes; none of them support resource-level permissions.',
    );
    for (let shard = 0; shard < props.shards; shard += 1) {
      const mapping = new CfnEventSourceMapping(this, `Shard${shard}`, {
        functionName: handler.functionName,
        eventSourceArn: broker.arn,
        queues: [shardQueue(shard)],
        batchSize: props.batchSize ?? 100,
        maximumBatchingWindowInSeconds: props.batchWindowSeconds,
        sourceAccessConfigurations: [
          { type: 'BASIC_AUTH', uri: broker.runtimeCredentials.secretArn },
          { type: 'VIRTUAL_HOST', uri: props.virtualHost ?? '/' },
        ],
      });
      // The role's policy must be in place before Lambda validates the mapping.
      mapping.node.addDependency(handler);
      if (props.after) mapping.node.addDependency(props.after);
      this.mappings.push(mapping);
    }
  }
}
