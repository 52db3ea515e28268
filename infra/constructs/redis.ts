import { Names, RemovalPolicy } from 'aws-cdk-lib';
import {
  type ISecurityGroup,
  type IVpc,
  Port,
  SecurityGroup,
  type SubnetSelection,
} from 'aws-cdk-lib/aws-ec2';
import {
  CfnReplicationGroup,
  CfnServerlessCache,
  CfnSubnetGroup,
  CfnUser,
  CfnUserGroup,
} from 'aws-cdk-lib/aws-elasticache';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledge } from './nag.js';

/** Username the functions authenticate as on a serverless cache (RBAC). */
export const CACHE_USERNAME = 'hipochat';

/** Port of a serverless cache's endpoint (reads and writes). */
export const SERVERLESS_CACHE_PORT = 6379;

/** Properties of {@link Redis}. */
export interface RedisProps {
  /**
   * `serverless`: ElastiCache Serverless for Valkey, which spans the subnets' Availability Zones,
   * speaks cluster mode and authenticates users through RBAC. `nodes`: a replication group.
   * @default 'nodes'
   */
  readonly kind?: 'serverless' | 'nodes';
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
 * The hot store: ElastiCache Serverless for Valkey (a `hipochat` RBAC user whose password is
 * generated into Secrets Manager) or a replication group (an AUTH token there), always with TLS in
 * transit and encryption at rest, reachable only from the functions' security group.
 */
export class Redis extends Construct {
  /** The replication group (`kind: 'nodes'`). */
  readonly replicationGroup?: CfnReplicationGroup;
  /** The serverless cache (`kind: 'serverless'`). */
  readonly serverlessCache?: CfnServerlessCache;
  readonly kind: 'serverless' | 'nodes';
  /** Plain-text AUTH token or RBAC password (the whole secret string). */
  readonly authSecret: Secret;
  readonly securityGroup: SecurityGroup;
  readonly port: number;
  readonly clusterMode: boolean;
  /** `rediss://[user@]host:port` of the primary, configuration or serverless endpoint, without password. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: RedisProps) {
    super(scope, id);
    const engine = props.engine ?? 'valkey';
    const engineVersion = props.engineVersion ?? '8.0';
    const nodesPerShard = props.nodesPerShard ?? 1;
    const multiAz = props.multiAz ?? false;
    this.kind = props.kind ?? 'nodes';
    const serverless = this.kind === 'serverless';
    // Every serverless cache is cluster mode enabled
    // (https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/RedisConfiguration.html).
    this.clusterMode = serverless || (props.clusterMode ?? false);
    this.port = serverless ? SERVERLESS_CACHE_PORT : (props.port ?? 6380);
    if (!serverless && multiAz && nodesPerShard < 2)
      throw new Error('a multi-AZ cache needs at least 2 nodes per shard');
    if (serverless && engine !== 'valkey') throw new Error('the serverless cache runs Valkey only');

    this.authSecret = new Secret(this, 'AuthToken', {
      description: serverless ? 'Hipochat cache password of the hipochat user' : 'Hipochat cache AUTH token',
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

    const subnetIds = props.vpc.selectSubnets(props.subnets).subnetIds;
    const major = engineVersion.split('.')[0]!;
    if (serverless) {
      this.serverlessCache = this.createServerless(subnetIds, major, props.retainData ?? false);
      this.url = `rediss://${CACHE_USERNAME}@${this.serverlessCache.attrEndpointAddress}:${this.port}`;
      return;
    }
    const subnetGroup = new CfnSubnetGroup(this, 'Subnets', {
      description: 'Hipochat cache subnets',
      subnetIds,
    });
    const replicationGroup = new CfnReplicationGroup(this, 'ReplicationGroup', {
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
    this.replicationGroup = replicationGroup;
    // A final snapshot on delete and on replacement; restoring it needs the AUTH token, kept too.
    replicationGroup.applyRemovalPolicy(props.retainData ? RemovalPolicy.SNAPSHOT : RemovalPolicy.DESTROY);
    if (!multiAz) {
      acknowledge(
        replicationGroup,
        'AwsSolutions-AEC4',
        'The dev profile runs one cache node to keep the idle cost low; the prod profile is multi-AZ with automatic failover.',
      );
    }
    const host = this.clusterMode
      ? replicationGroup.attrConfigurationEndPointAddress
      : replicationGroup.attrPrimaryEndPointAddress;
    this.url = `rediss://${host}:${this.port}`;
  }

  /**
   * A serverless Valkey cache over `subnetIds` (one per Availability Zone), TLS always on, with a
   * user group of two users: `default`, switched off (Redis-compatible engines require it in every
   * group), and `hipochat` with every command on every key.
   */
  private createServerless(subnetIds: string[], major: string, retainData: boolean): CfnServerlessCache {
    const stackUnique = Names.uniqueResourceName(this, { maxLength: 30, separator: '-' }).toLowerCase();
    const defaultUser = new CfnUser(this, 'DefaultUser', {
      engine: 'valkey',
      userId: `${stackUnique}-default`,
      userName: 'default',
      accessString: 'off -@all',
      authenticationMode: { Type: 'no-password-required' },
    });
    const user = new CfnUser(this, 'User', {
      engine: 'valkey',
      userId: `${stackUnique}-hipochat`,
      userName: CACHE_USERNAME,
      accessString: 'on ~* &* +@all',
      authenticationMode: { Type: 'password', Passwords: [this.authSecret.secretValue.unsafeUnwrap()] },
    });
    const userGroup = new CfnUserGroup(this, 'UserGroup', {
      engine: 'valkey',
      userGroupId: `${stackUnique}-users`,
      userIds: [defaultUser.userId, user.userId],
    });
    userGroup.node.addDependency(defaultUser, user);
    const cache = new CfnServerlessCache(this, 'ServerlessCache', {
      serverlessCacheName: stackUnique,
      description: 'Hipochat rooms, history and counters',
      engine: 'valkey',
      majorEngineVersion: major,
      subnetIds,
      securityGroupIds: [this.securityGroup.securityGroupId],
      userGroupId: userGroup.userGroupId,
    });
    cache.node.addDependency(userGroup);
    // Deleted with the stack; retained data keeps a final snapshot (and the password secret).
    cache.applyRemovalPolicy(RemovalPolicy.DESTROY);
    if (retainData) cache.finalSnapshotName = `${stackUnique}-final`;
    return cache;
  }
}
