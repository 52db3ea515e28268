import { CustomResource, Duration, Fn, Names, RemovalPolicy } from 'aws-cdk-lib';
import { CfnBroker } from 'aws-cdk-lib/aws-amazonmq';
import {
  type ISecurityGroup,
  type IVpc,
  Port,
  SecurityGroup,
  type SubnetSelection,
} from 'aws-cdk-lib/aws-ec2';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Provider } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type { BrokerDeploymentMode } from '../stack-config.js';
import { ChatFunction } from './chat-function.js';
import { acknowledge, managedPolicyFinding, wildcardResourceFinding } from './nag.js';

/** AMQP over TLS, the only listener the functions use. */
export const AMQPS_PORT = 5671;

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
}

/**
 * The RabbitMQ broker (Amazon MQ): private, reachable on AMQPS from the functions only, with
 * credentials generated into Secrets Manager and general logs in CloudWatch.
 */
export class Broker extends Construct {
  readonly broker: CfnBroker;
  /** JSON `{ "username", "password" }`, the shape event source mappings expect. */
  readonly credentials: Secret;
  readonly securityGroup: SecurityGroup;
  /** `amqps://host:5671`, without credentials. */
  readonly amqpsUrl: string;
  readonly arn: string;
  /** Broker name, the `Broker` dimension of its CloudWatch metrics. */
  readonly brokerName: string;

  constructor(scope: Construct, id: string, props: BrokerProps) {
    super(scope, id);
    const deploymentMode = props.deploymentMode ?? 'SINGLE_INSTANCE';
    this.credentials = new Secret(this, 'Credentials', {
      description: 'Hipochat broker user',
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ username: 'hipochat' }),
        generateStringKey: 'password',
        // Amazon MQ refuses commas, colons and equal signs; alphanumerics also keep URLs simple.
        excludePunctuation: true,
        passwordLength: 32,
      },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    acknowledge(
      this.credentials,
      'AwsSolutions-SMG4',
      'Amazon MQ changes RabbitMQ users through its own API (UpdateUser), which Secrets Manager rotation does not drive; rotation is the documented redeploy in docs/deploy.md.',
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
    this.brokerName = Names.uniqueResourceName(this, { maxLength: 50, separator: '-' });
    this.broker = new CfnBroker(this, 'Broker', {
      brokerName: this.brokerName,
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
          username: this.credentials.secretValueFromJson('username').unsafeUnwrap(),
          password: this.credentials.secretValueFromJson('password').unsafeUnwrap(),
        },
      ],
      logs: { general: true },
      maintenanceWindowStartTime: { dayOfWeek: 'SUNDAY', timeOfDay: '03:00', timeZone: 'UTC' },
    });
    this.arn = this.broker.attrArn;
    this.amqpsUrl = Fn.select(0, this.broker.attrAmqpEndpoints);
  }
}

/** Properties of {@link BrokerTopology}. */
export interface BrokerTopologyProps {
  readonly broker: Broker;
  readonly vpc: IVpc;
  readonly subnets: SubnetSelection;
  readonly securityGroup: ISecurityGroup;
  readonly logRetention: RetentionDays;
  /** Fan-out shard queues `hipochat.fanout.<n>`. */
  readonly shards: number;
  /** Deliveries before a message goes to `hipochat.dead`. */
  readonly deliveryLimit: number;
  /**
   * Repository root.
   * @default process.cwd()
   */
  readonly projectRoot?: string;
}

/**
 * Declares the exchange, the quorum shard queues and the dead-letter queue on the broker at deploy
 * time (a custom resource whose handler speaks AMQP), so the event source mappings find their
 * queues and nobody creates them by hand. Re-runs when the shard count or delivery limit changes.
 */
export class BrokerTopology extends Construct {
  readonly handler: ChatFunction;
  readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: BrokerTopologyProps) {
    super(scope, id);
    this.handler = new ChatFunction(this, 'Handler', {
      entry: 'lambdas/handlers/custom/topology.ts',
      projectRoot: props.projectRoot,
      description: 'Declares the Hipochat exchange and queues on the broker',
      vpc: props.vpc,
      vpcSubnets: props.subnets,
      securityGroup: props.securityGroup,
      logRetention: props.logRetention,
      timeout: Duration.minutes(2),
      memorySize: 256,
      secrets: { HIPOCHAT_RABBIT_SECRET_ARN: props.broker.credentials },
      environment: { HIPOCHAT_RABBIT_URL: props.broker.amqpsUrl },
    });
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
        // A new broker (replacement) must get its topology again.
        Broker: props.broker.arn,
      },
    });
  }
}
