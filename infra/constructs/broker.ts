import { CustomResource, Duration, Fn, Names, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { CfnBroker, type CfnBrokerProps } from 'aws-cdk-lib/aws-amazonmq';
import {
  type IConnectable,
  type ISecurityGroup,
  type IVpc,
  Peer,
  Port,
  SecurityGroup,
  type SubnetSelection,
} from 'aws-cdk-lib/aws-ec2';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup, LogRetention, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Provider } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type { BrokerDeploymentMode, QueueType } from '../stack-config.js';
import { ChatFunction } from './chat-function.js';
import { acknowledge, managedPolicyFinding, wildcardResourceFinding } from './nag.js';

/** AMQP over TLS, the only listener the functions use. */
export const AMQPS_PORT = 5671;

/** HTTPS of the broker console and the RabbitMQ management API. */
export const MANAGEMENT_PORT = 443;

/** Username of the non-administrator user the functions and event source mappings connect as. */
export const RUNTIME_USERNAME = 'hipochat-runtime';

/**
 * Properties of AWS::AmazonMQ::Broker whose change replaces the broker (CloudFormation resource
 * spec), its name included. Engine version and instance type change in place.
 */
export const BROKER_REPLACING_PROPERTIES = [
  'BrokerName',
  'AuthenticationStrategy',
  'DeploymentMode',
  'EncryptionOptions',
  'EngineType',
  'PubliclyAccessible',
  'StorageType',
  'SubnetIds',
] as const;

/** Longest broker name Amazon MQ accepts. */
const MAX_BROKER_NAME = 50;

/** Properties of {@link Broker}. */
export interface BrokerProps {
  readonly vpc: IVpc;
  readonly subnets: SubnetSelection;
  /** The functions' security group, admitted to the AMQPS port. */
  readonly clients: ISecurityGroup;
  /**
   * Broker instance type.
   * @default 'mq.t3.micro'
   */
  readonly instanceType?: string;
  /**
   * One node, or a three-node cluster over Availability Zones.
   * @default 'SINGLE_INSTANCE'
   */
  readonly deploymentMode?: BrokerDeploymentMode;
  /**
   * RabbitMQ version (major.minor; minor upgrades are automatic).
   * @default '3.13'
   */
  readonly engineVersion?: string;
  /**
   * What happens to the credentials secrets when the stack goes.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Raise only to replace the broker on purpose (a new name): 0 keeps the name it always had.
   * @default 0
   */
  readonly generation?: number;
  /**
   * Retention of the broker's general log group, which Amazon MQ creates without one.
   * @default RetentionDays.TWO_WEEKS
   */
  readonly logRetention?: RetentionDays;
}

/**
 * The RabbitMQ broker (Amazon MQ): private, reachable on AMQPS from the functions only, with general
 * logs in CloudWatch and two users in Secrets Manager: the administrator Amazon MQ creates (used
 * only by the topology custom resource at deploy time) and the runtime user that custom resource
 * creates through the management API, which everything else connects as.
 */
export class Broker extends Construct {
  readonly broker: CfnBroker;
  /** The administrator, `{ "username", "password" }`; only the topology custom resource reads it. */
  readonly adminCredentials: Secret;
  /**
   * The runtime user (`hipochat-runtime`), `{ "username", "password" }`, the shape event source
   * mappings expect; limited to the deployment's exchanges and queues.
   */
  readonly runtimeCredentials: Secret;
  readonly securityGroup: SecurityGroup;
  /** `amqps://host:5671`, without credentials. */
  readonly amqpsUrl: string;
  readonly arn: string;
  /** Broker name, the `Broker` dimension of its CloudWatch metrics. */
  readonly brokerName: string;
  /** Sets the retention of the broker's general log group. */
  readonly generalLogRetention: LogRetention;

  constructor(scope: Construct, id: string, props: BrokerProps) {
    super(scope, id);
    const deploymentMode = props.deploymentMode ?? 'SINGLE_INSTANCE';
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    const user = (secretId: string, description: string, username: string) =>
      new Secret(this, secretId, {
        description,
        generateSecretString: {
          secretStringTemplate: JSON.stringify({ username }),
          generateStringKey: 'password',
          // Amazon MQ refuses commas, colons and equal signs; alphanumerics also keep URLs simple.
          excludePunctuation: true,
          passwordLength: 32,
        },
        removalPolicy,
      });
    this.adminCredentials = user(
      'Credentials',
      'Hipochat broker administrator (deploy time only)',
      'hipochat',
    );
    acknowledge(
      this.adminCredentials,
      'AwsSolutions-SMG4',
      'RabbitMQ users are changed through the RabbitMQ management API, which Secrets Manager rotation does not drive; only the deploy-time custom resource reads this administrator, and docs/deploy.md gives its rotation.',
    );
    this.runtimeCredentials = user('RuntimeCredentials', 'Hipochat broker runtime user', RUNTIME_USERNAME);
    acknowledge(
      this.runtimeCredentials,
      'AwsSolutions-SMG4',
      'Rotated by the topology custom resource through the RabbitMQ management API when -c brokerUserRevision goes up (docs/deploy.md); Secrets Manager rotation cannot reach a private broker API.',
    );
    this.securityGroup = new SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Hipochat broker: AMQPS from the functions and the event source pollers',
      // Event source pollers run in the broker's subnets with this group and call AWS APIs.
      allowAllOutbound: true,
    });
    props.clients.connections.allowTo(
      this.securityGroup,
      Port.tcp(AMQPS_PORT),
      'Hipochat functions to the broker',
    );
    // Ingress only: the group already allows all egress.
    this.securityGroup.addIngressRule(
      this.securityGroup,
      Port.tcp(AMQPS_PORT),
      'Event source pollers to the broker',
    );

    const subnetIds = props.vpc.selectSubnets(props.subnets).subnetIds;
    const properties: Omit<CfnBrokerProps, 'brokerName'> = {
      engineType: 'RABBITMQ',
      engineVersion: props.engineVersion ?? '3.13',
      hostInstanceType: props.instanceType ?? 'mq.t3.micro',
      deploymentMode,
      publiclyAccessible: false,
      autoMinorVersionUpgrade: true,
      subnetIds: deploymentMode === 'SINGLE_INSTANCE' ? subnetIds.slice(0, 1) : subnetIds,
      securityGroups: [this.securityGroup.securityGroupId],
      users: [
        {
          username: this.adminCredentials.secretValueFromJson('username').unsafeUnwrap(),
          password: this.adminCredentials.secretValueFromJson('password').unsafeUnwrap(),
        },
      ],
      logs: { general: true },
      maintenanceWindowStartTime: { dayOfWeek: 'SUNDAY', timeOfDay: '03:00', timeZone: 'UTC' },
    };
    this.brokerName = this.nameFor(props.generation ?? 0);
    this.broker = new CfnBroker(this, 'Broker', { brokerName: this.brokerName, ...properties });
    this.arn = this.broker.attrArn;
    this.amqpsUrl = Fn.select(0, this.broker.attrAmqpEndpoints);
    // Amazon MQ creates /aws/amazonmq/broker/<id>/general itself, with no retention: set it on the
    // group whether it exists yet or not (CDK's LogRetention creates or adopts it).
    this.generalLogRetention = new LogRetention(this, 'GeneralLogRetention', {
      logGroupName: Fn.join('', ['/aws/amazonmq/broker/', this.broker.attrId, '/general']),
      retention: props.logRetention ?? (14 as RetentionDays),
    });
    // CDK's stack-wide singleton function behind LogRetention.
    for (const handler of Stack.of(this).node.children.filter((child) =>
      child.node.id.startsWith('LogRetention'),
    )) {
      acknowledge(
        handler,
        managedPolicyFinding(this, 'service-role/AWSLambdaBasicExecutionRole'),
        'CDK’s log retention function only writes its own logs with the AWS-maintained baseline.',
      );
      acknowledge(
        handler,
        'AwsSolutions-IAM5[Resource::*]',
        'logs:PutRetentionPolicy and logs:DeleteRetentionPolicy on a log group Amazon MQ names after the broker id, known only after creation; CDK’s LogRetention grants them on *.',
      );
    }
  }

  /** Lets `other` reach the management API (HTTPS); only the topology custom resource needs it. */
  allowManagementFrom(other: IConnectable, description: string): void {
    this.securityGroup.connections.allowFrom(other, Port.tcp(MANAGEMENT_PORT), description);
  }

  /**
   * CloudFormation requires a broker name, which is part of the broker's identity: a new name is a
   * new broker, and the old one (with its queued messages) is deleted. So the name depends on the
   * construct path only, never on properties; a property change that does need a new broker
   * (deployment mode, subnets) fails safely, since CloudFormation does not replace a custom-named
   * resource under the same name, until the operator drains the queues and raises the generation
   * (docs/operations.md).
   */
  private nameFor(generation: number): string {
    if (generation === 0)
      return Names.uniqueResourceName(this, { maxLength: MAX_BROKER_NAME, separator: '-' });
    const suffix = `-g${generation}`;
    return `${Names.uniqueResourceName(this, { maxLength: MAX_BROKER_NAME - suffix.length, separator: '-' })}${suffix}`;
  }
}

/** Properties of {@link BrokerTopology}. */
export interface BrokerTopologyProps {
  readonly broker: Broker;
  readonly vpc: IVpc;
  readonly subnets: SubnetSelection;
  readonly logRetention: RetentionDays;
  /** Fan-out shard queues `hipochat.fanout.<n>`. */
  readonly shards: number;
  /** Deliveries before a message goes to `hipochat.dead`. */
  readonly deliveryLimit: number;
  /**
   * Type of the shard queues.
   * @default 'quorum'
   */
  readonly queueType?: QueueType;
  /**
   * Raise to rotate the runtime user's password (new one on the broker and in its secret).
   * @default 0
   */
  readonly runtimeUserRevision?: number;
  /**
   * Stage name (`HIPOCHAT_STAGE` of the handler).
   * @default - none
   */
  readonly stage?: string;
  /**
   * Repository root.
   * @default process.cwd()
   */
  readonly projectRoot?: string;
}

/**
 * Declares the exchange, the shard queues and the dead-letter queue on the broker at deploy time (a
 * custom resource whose handler speaks AMQP as the administrator), then creates the runtime user
 * through the RabbitMQ management API and limits it to those names, so the event source mappings
 * find their queues and nobody touches the broker by hand. Re-runs when the shard count, delivery
 * limit, queue type or runtime user revision changes. Its function is the only one with the
 * administrator secret and the only one admitted to the management port.
 */
export class BrokerTopology extends Construct {
  readonly handler: ChatFunction;
  readonly resource: CustomResource;
  /** The handler's own group: AMQPS and HTTPS to the broker, HTTPS out for Secrets Manager. */
  readonly securityGroup: SecurityGroup;

  constructor(scope: Construct, id: string, props: BrokerTopologyProps) {
    super(scope, id);
    const { broker } = props;
    this.securityGroup = new SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description:
        'Hipochat topology custom resource: the broker (AMQPS, management API) and HTTPS to AWS APIs',
      allowAllOutbound: false,
    });
    this.securityGroup.addEgressRule(
      Peer.anyIpv4(),
      Port.tcp(443),
      'HTTPS: Secrets Manager, broker management API',
    );
    this.securityGroup.connections.allowTo(
      broker.securityGroup,
      Port.tcp(AMQPS_PORT),
      'Topology custom resource to the broker (AMQPS)',
    );
    broker.allowManagementFrom(this.securityGroup, 'Topology custom resource to the RabbitMQ management API');
    this.handler = new ChatFunction(this, 'Handler', {
      entry: 'lambdas/handlers/custom/topology.ts',
      projectRoot: props.projectRoot,
      description: 'Declares the Hipochat exchange and queues and the runtime user on the broker',
      vpc: props.vpc,
      vpcSubnets: props.subnets,
      securityGroup: this.securityGroup,
      logRetention: props.logRetention,
      timeout: Duration.minutes(2),
      memorySize: 256,
      secrets: { HIPOCHAT_RABBIT_SECRET_ARN: broker.adminCredentials },
      environment: {
        HIPOCHAT_RABBIT_URL: broker.amqpsUrl,
        ...(props.stage ? { HIPOCHAT_STAGE: props.stage } : {}),
      },
    });
    // Reads the runtime user; rotation stages a new value and promotes it.
    broker.runtimeCredentials.grantRead(this.handler);
    this.handler.addToRolePolicy(
      new PolicyStatement({
        actions: ['secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
        resources: [broker.runtimeCredentials.secretArn],
      }),
    );
    const provider = new Provider(this, 'Provider', {
      onEventHandler: this.handler,
      logGroup: new LogGroup(this, 'ProviderLogs', {
        retention: props.logRetention,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
    });
    acknowledge(
      provider,
      managedPolicyFinding(this, 'service-role/AWSLambdaBasicExecutionRole'),
      'The custom resource framework function only writes its own logs with the AWS-maintained baseline.',
    );
    acknowledge(
      provider,
      wildcardResourceFinding(this, `${this.handler.functionArn}:*`),
      'The framework invokes any version of the topology handler; the wildcard covers versions of that one function.',
    );
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::HipochatTopology',
      properties: {
        Shards: props.shards,
        DeliveryLimit: props.deliveryLimit,
        QueueType: props.queueType ?? 'quorum',
        // A new broker (replacement) must get its topology and user again.
        Broker: broker.arn,
        RuntimeUser: broker.runtimeCredentials.secretArn,
        RuntimeUserRevision: props.runtimeUserRevision ?? 0,
      },
    });
  }
}
