import { RemovalPolicy } from 'aws-cdk-lib';
import {
  FlowLogDestination,
  FlowLogTrafficType,
  InterfaceVpcEndpointAwsService,
  IpAddresses,
  Peer,
  Port,
  SecurityGroup,
  type SubnetSelection,
  SubnetType,
  Vpc,
} from 'aws-cdk-lib/aws-ec2';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledge } from './nag.js';

/** Properties of {@link Network}. */
export interface NetworkProps {
  /**
   * NAT gateways for the functions' egress to the profile and push endpoints; one per AZ survives
   * an AZ outage, one is the cheapest.
   * @default 1
   */
  readonly natGateways?: number;
  /** Retention of the VPC flow log (rejected traffic). */
  readonly logRetention: RetentionDays;
}

/**
 * The VPC of the chat: two Availability Zones, public subnets for the NAT gateways only, private
 * subnets for the functions, the cache and the broker, and a Secrets Manager endpoint so secret
 * reads at cold start never cross the NAT gateway.
 */
export class Network extends Construct {
  readonly vpc: Vpc;
  /** Where the functions, the cache and the broker live. */
  readonly privateSubnets: SubnetSelection = { subnetType: SubnetType.PRIVATE_WITH_EGRESS };
  /** The security group every chat function shares; data stores admit only this group. */
  readonly functionSecurityGroup: SecurityGroup;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    this.vpc = new Vpc(this, 'Vpc', {
      ipAddresses: IpAddresses.cidr('10.40.0.0/16'),
      maxAzs: 2,
      natGateways: props.natGateways ?? 1,
      subnetConfiguration: [
        { name: 'public', subnetType: SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'private', subnetType: SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
      ],
    });
    const flowLogGroup = new LogGroup(this, 'FlowLogs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.vpc.addFlowLog('RejectedTraffic', {
      destination: FlowLogDestination.toCloudWatchLogs(flowLogGroup),
      trafficType: FlowLogTrafficType.REJECT,
    });
    const secretsEndpoint = this.vpc.addInterfaceEndpoint('SecretsManager', {
      service: InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
      subnets: this.privateSubnets,
      privateDnsEnabled: true,
    });
    acknowledge(
      secretsEndpoint,
      'AwsSolutions-EC23',
      'The rule cannot evaluate the VPC CIDR token; the endpoint admits HTTPS from this VPC only, not 0.0.0.0/0.',
    );
    this.functionSecurityGroup = new SecurityGroup(this, 'Functions', {
      vpc: this.vpc,
      description: 'Hipochat functions: HTTPS out, Redis and AMQPS to the data stores',
      allowAllOutbound: false,
    });
    this.functionSecurityGroup.addEgressRule(
      Peer.anyIpv4(),
      Port.tcp(443),
      'HTTPS: profile and push endpoints, management API, AWS APIs',
    );
  }
}
