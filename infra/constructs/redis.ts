import { RemovalPolicy } from 'aws-cdk-lib';
import {
  type ISecurityGroup,
  type IVpc,
  Port,
  SecurityGroup,
  type SubnetSelection,
} from 'aws-cdk-lib/aws-ec2';
import { CfnReplicationGroup, CfnSubnetGroup } from 'aws-cdk-lib/aws-elasticache';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledge } from './nag.js';

/** Properties of {@link Redis}. */
export interface RedisProps {
  readonly vpc: IVpc;
  readonly subnets: SubnetSelection;
  /** The only security group admitted to the cache port. */
  readonly clients: ISecurityGroup;
  /**
   * Engine: `valkey` or `redis` (Redis OSS).
   * @default 'valkey'
   */
  readonly engine?: 'valkey' | 'redis';
  /**
   * Engine version (major.minor).
   * @default '8.0'
   */
  readonly engineVersion?: string;
  /**
   * Cache node type.
   * @default 'cache.t4g.micro'
   */
  readonly nodeType?: string;
  /**
   * Nodes per shard, primary included; 2 or more enables automatic failover.
   * @default 1
   */
  readonly nodesPerShard?: number;
  /**
   * Spread nodes over Availability Zones (needs `nodesPerShard` of 2 or more).
   * @default false
   */
  readonly multiAz?: boolean;
  /**
   * Cluster mode: the keyspace is split over `shards` shards. The store keeps each room in one hash
   * slot (`{room}`), and the functions switch to the cluster client (`HIPOCHAT_REDIS_CLUSTER=true`).
   * @default false
   */
  readonly clusterMode?: boolean;
  /**
   * Shards in cluster mode.
   * @default 2
   */
  readonly shards?: number;
  /**
   * TCP port.
   * @default 6380
   */
  readonly port?: number;
  /**
   * Keep data when the stack goes or the cache is replaced: a final snapshot of the cache and the
   * AUTH token secret stay. Without it both are deleted.
   * @default false
   */
  readonly retainData?: boolean;
}

/**
 * The hot store: an ElastiCache replication group with TLS in transit, encryption at rest and an AUTH
 * token generated into Secrets Manager, reachable only from the functions' security group.
 */
export class Redis extends Construct {
  readonly replicationGroup: CfnReplicationGroup;
  /** Plain-text AUTH token (the whole secret string). */
  readonly authSecret: Secret;
  readonly securityGroup: SecurityGroup;
  readonly port: number;
  readonly clusterMode: boolean;
  /** `rediss://host:port` of the primary (or configuration) endpoint, without credentials. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: RedisProps) {
    super(scope, id);
    const engine = props.engine ?? 'valkey';
    const engineVersion = props.engineVersion ?? '8.0';
    const nodesPerShard = props.nodesPerShard ?? 1;
    const multiAz = props.multiAz ?? false;
    this.clusterMode = props.clusterMode ?? false;
    this.port = props.port ?? 6380;
    if (multiAz && nodesPerShard < 2) throw new Error('a multi-AZ cache needs at least 2 nodes per shard');

    this.authSecret = new Secret(this, 'AuthToken', {
      description: 'Hipochat cache AUTH token',
      // ElastiCache accepts only a few punctuation characters in AUTH tokens.
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy: props.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    acknowledge(
      this.authSecret,
      'AwsSolutions-SMG4',
      'ElastiCache rotates AUTH tokens through ModifyReplicationGroup (ROTATE then SET), which Secrets Manager rotation does not drive; rotation is the documented redeploy in docs/deploy.md.',
    );
    this.securityGroup = new SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Hipochat cache: admits the functions only',
      allowAllOutbound: false,
    });
    props.clients.connections.allowTo(
      this.securityGroup,
      Port.tcp(this.port),
      'Hipochat functions to the cache',
    );

    const subnetGroup = new CfnSubnetGroup(this, 'Subnets', {
      description: 'Hipochat cache subnets',
      subnetIds: props.vpc.selectSubnets(props.subnets).subnetIds,
    });
    const major = engineVersion.split('.')[0];
    this.replicationGroup = new CfnReplicationGroup(this, 'ReplicationGroup', {
      replicationGroupDescription: 'Hipochat rooms, history and counters',
      engine,
      engineVersion,
      cacheNodeType: props.nodeType ?? 'cache.t4g.micro',
      cacheSubnetGroupName: subnetGroup.ref,
      securityGroupIds: [this.securityGroup.securityGroupId],
      port: this.port,
      transitEncryptionEnabled: true,
      atRestEncryptionEnabled: true,
      authToken: this.authSecret.secretValue.unsafeUnwrap(),
      multiAzEnabled: multiAz,
      automaticFailoverEnabled: nodesPerShard > 1 || this.clusterMode,
      autoMinorVersionUpgrade: true,
      ...(this.clusterMode
        ? {
            clusterMode: 'enabled',
            cacheParameterGroupName: `default.${engine}${major}.cluster.on`,
            numNodeGroups: props.shards ?? 2,
            replicasPerNodeGroup: nodesPerShard - 1,
          }
        : { clusterMode: 'disabled', numCacheClusters: nodesPerShard }),
    });
    // A final snapshot on delete and on replacement; restoring it needs the AUTH token, kept too.
    this.replicationGroup.applyRemovalPolicy(
      props.retainData ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY,
    );
    if (!multiAz) {
      acknowledge(
        this.replicationGroup,
        'AwsSolutions-AEC4',
        'The dev profile runs one cache node to keep the idle cost low; the prod profile is multi-AZ with automatic failover.',
      );
    }
    const host = this.clusterMode
      ? this.replicationGroup.attrConfigurationEndPointAddress
      : this.replicationGroup.attrPrimaryEndPointAddress;
    this.url = `rediss://${host}:${this.port}`;
  }
}
