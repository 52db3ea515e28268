import { Aws, type CfnCreationPolicy, Duration, Fn, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import {
  AmazonLinuxCpuType,
  CpuCredits,
  FlowLogDestination,
  FlowLogTrafficType,
  type Instance,
  InstanceType,
  type InterfaceVpcEndpoint,
  InterfaceVpcEndpointAwsService,
  IpAddresses,
  MachineImage,
  NatProvider,
  NatTrafficDirection,
  Peer,
  Port,
  SecurityGroup,
  type SubnetSelection,
  SubnetType,
  UserData,
  Vpc,
} from 'aws-cdk-lib/aws-ec2';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { NatProviderKind } from '../stack-config.js';
import { acknowledge } from './nag.js';

/** Address range of the VPC; a literal (not a token) so security group rules stay checkable. */
export const VPC_CIDR = '10.40.0.0/16';

/** Root volume of a NAT instance: the Amazon Linux 2023 image's 8 GiB, as encrypted gp3. */
export const NAT_INSTANCE_ROOT_GIB = 8;

/**
 * Boot script of a NAT instance. Installs nothing: Amazon Linux 2023 forwards with the kernel and
 * masquerades with nftables, so there is no package download to race (CDK's default user data runs
 * `yum install iptables-services` once, with no retry: aws-cdk issue 36717) and no `dnf` to run a
 * t4g.nano out of memory. A systemd unit applies it on every boot, not only the first. Only an
 * image without both `nft` and `iptables` falls back to installing iptables, with retries.
 */
export const NAT_BOOT_SCRIPT = `cat > /usr/local/sbin/hipochat-nat <<'SCRIPT'
#!/bin/bash
set -u
sysctl -q -w net.ipv4.ip_forward=1
iface=""
for attempt in $(seq 1 30); do
  iface=$(ip -o -4 route show to default | awk '{print $5; exit}')
  [ -n "$iface" ] && break
  sleep 2
done
if command -v nft >/dev/null 2>&1; then
  nft -f - <<RULES
table ip hipochat_nat
delete table ip hipochat_nat
table ip hipochat_nat {
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    oifname "$iface" masquerade
  }
}
RULES
elif command -v iptables >/dev/null 2>&1; then
  iptables -t nat -C POSTROUTING -o "$iface" -j MASQUERADE 2>/dev/null ||
    iptables -t nat -A POSTROUTING -o "$iface" -j MASQUERADE
else
  for attempt in $(seq 1 10); do
    dnf install -y iptables-nft && break
    sleep $((attempt * 5))
  done
  iptables -t nat -A POSTROUTING -o "$iface" -j MASQUERADE
fi
SCRIPT
chmod 755 /usr/local/sbin/hipochat-nat
echo 'net.ipv4.ip_forward=1' > /etc/sysctl.d/90-hipochat-nat.conf
cat > /etc/systemd/system/hipochat-nat.service <<'UNIT'
[Unit]
Description=Hipochat NAT: IP forwarding and masquerade
Wants=network-online.target
After=network-online.target
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/hipochat-nat
[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable --now hipochat-nat.service`;

/**
 * Tells CloudFormation whether the NAT instance forwards (the instance's creation policy waits for
 * it: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-creationpolicy.html): SUCCESS only when the unit ran, IP
 * forwarding is on and the masquerade rule is in place, FAILURE otherwise, so a broken boot fails
 * (and rolls back) the deploy instead of leaving the functions without egress. The AWS CLI ships
 * with Amazon Linux 2023; the instance role may signal this one resource only.
 */
export function natSignalScript(logicalId: string, stackName: string, region: string): string {
  return `status=FAILURE
if systemctl is-active --quiet hipochat-nat.service &&
  [ "$(sysctl -n net.ipv4.ip_forward)" = 1 ] &&
  { nft list table ip hipochat_nat 2>/dev/null | grep -q masquerade ||
    iptables -t nat -S POSTROUTING 2>/dev/null | grep -q MASQUERADE; }; then
  status=SUCCESS
fi
token=$(curl -sS -X PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')
instance=$(curl -sS -H "X-aws-ec2-metadata-token: $token" http://169.254.169.254/latest/meta-data/instance-id)
for attempt in $(seq 1 10); do
  aws cloudformation signal-resource --region ${region} --stack-name ${stackName} \
    --logical-resource-id ${logicalId} --unique-id "$instance" --status "$status" && break
  sleep $((attempt * 3))
done`;
}

/** How long CloudFormation waits for a NAT instance's signal before failing the deploy. */
export const NAT_SIGNAL_TIMEOUT = Duration.minutes(10);

/** Properties of {@link Network}. */
export interface NetworkProps {
  /**
   * NAT devices for the functions' egress to the profile and push endpoints and AWS APIs; one per AZ
   * survives an AZ outage, one is the cheapest.
   * @default 1
   */
  readonly natGateways?: number;
  /**
   * `gateway`: managed NAT gateways. `instance`: one EC2 NAT instance per NAT (Amazon Linux 2023,
   * nftables masquerade, nothing installed at boot), the lowest idle cost AWS allows, but self-managed and without automatic
   * recovery: the dev profile's choice.
   * @default 'gateway'
   */
  readonly natProvider?: NatProviderKind;
  /**
   * Instance type of NAT instances (`natProvider: 'instance'`); ARM types get the ARM image.
   * @default 't4g.nano'
   */
  readonly natInstanceType?: string;
  /**
   * A Secrets Manager interface endpoint in the private subnets (billed per AZ and hour), so secret
   * reads at cold start never cross the NAT; without it they go through the NAT.
   * @default true
   */
  readonly secretsEndpoint?: boolean;
  /** Retention of the VPC flow log (rejected traffic). */
  readonly logRetention: RetentionDays;
  /**
   * Resolve the latest Amazon Linux 2023 image at every deploy (a new release replaces the NAT
   * instance). Otherwise the image is looked up once and kept in `cdk.context.json`; a stack
   * without a concrete account and region (offline synth) cannot look up and resolves at deploy.
   * @default false
   */
  readonly natAmiRefresh?: boolean;
}

function natUserData(): UserData {
  const userData = UserData.forLinux();
  userData.addCommands(NAT_BOOT_SCRIPT);
  return userData;
}

/**
 * The VPC of the chat: two Availability Zones, public subnets for the NAT devices only, private
 * subnets for the functions, the cache and the broker, and optionally a Secrets Manager endpoint.
 */
export class Network extends Construct {
  readonly vpc: Vpc;
  /** Where the functions, the cache and the broker live. */
  readonly privateSubnets: SubnetSelection = { subnetType: SubnetType.PRIVATE_WITH_EGRESS };
  /** The security group every chat function shares; data stores admit only this group. */
  readonly functionSecurityGroup: SecurityGroup;
  /** The NAT instances (empty with NAT gateways). */
  readonly natInstances: readonly Instance[];
  /** The Secrets Manager endpoint, when there is one. */
  readonly secretsEndpoint?: InterfaceVpcEndpoint;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    const instanceType = new InstanceType(props.natInstanceType ?? 't4g.nano');
    const concreteEnv =
      !Token.isUnresolved(Stack.of(this).account) && !Token.isUnresolved(Stack.of(this).region);
    const natInstanceProvider =
      props.natProvider === 'instance'
        ? NatProvider.instanceV2({
            instanceType,
            machineImage: MachineImage.latestAmazonLinux2023({
              cpuType:
                instanceType.architecture === 'arm64' ? AmazonLinuxCpuType.ARM_64 : AmazonLinuxCpuType.X86_64,
              // Pinned: one lookup at synth, recorded in cdk.context.json, reused by every deploy.
              cachedInContext: !(props.natAmiRefresh ?? false) && concreteEnv,
            }),
            // No inbound rule from anywhere; the VPC is admitted below.
            defaultAllowedTraffic: NatTrafficDirection.OUTBOUND_ONLY,
            // Standard credits: an idle burstable instance can never run up surplus credit charges.
            creditSpecification: CpuCredits.STANDARD,
            userData: natUserData(),
          })
        : undefined;
    this.vpc = new Vpc(this, 'Vpc', {
      ipAddresses: IpAddresses.cidr(VPC_CIDR),
      maxAzs: 2,
      natGateways: props.natGateways ?? 1,
      natGatewayProvider: natInstanceProvider ?? NatProvider.gateway(),
      subnetConfiguration: [
        { name: 'public', subnetType: SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'private', subnetType: SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
      ],
    });
    this.natInstances = natInstanceProvider?.gatewayInstances ?? [];
    if (natInstanceProvider) {
      // Everything the VPC sends out is HTTPS (functions, event source pollers, custom resources).
      natInstanceProvider.connections.allowFrom(
        Peer.ipv4(VPC_CIDR),
        Port.tcp(443),
        'HTTPS from the private subnets, forwarded to the internet',
      );
    }
    for (const instance of this.natInstances) {
      // Its own user data: the signal names this instance (the provider shares one among all).
      const userData = natUserData();
      userData.addCommands(
        natSignalScript(Stack.of(this).getLogicalId(instance.instance), Aws.STACK_NAME, Aws.REGION),
      );
      instance.instance.userData = Fn.base64(userData.render());
      instance.instance.cfnOptions.creationPolicy = {
        resourceSignal: { count: 1, timeout: `PT${NAT_SIGNAL_TIMEOUT.toMinutes()}M` },
      } satisfies CfnCreationPolicy;
      instance.addToRolePolicy(
        new PolicyStatement({
          actions: ['cloudformation:SignalResource'],
          resources: [Stack.of(this).stackId],
        }),
      );
      instance.instance.blockDeviceMappings = [
        {
          deviceName: '/dev/xvda',
          ebs: {
            volumeSize: NAT_INSTANCE_ROOT_GIB,
            volumeType: 'gp3',
            encrypted: true,
            deleteOnTermination: true,
          },
        },
      ];
      acknowledge(
        instance,
        'AwsSolutions-EC28',
        'Detailed monitoring costs more per month than this dev NAT instance itself; the five-minute basic metrics and the status check suffice for a dev egress path.',
      );
      acknowledge(
        instance,
        'AwsSolutions-EC29',
        'The NAT instance holds no state and is replaced by redeploying; termination protection would only make cdk destroy of the dev stack fail.',
      );
    }
    const flowLogGroup = new LogGroup(this, 'FlowLogs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.vpc.addFlowLog('RejectedTraffic', {
      destination: FlowLogDestination.toCloudWatchLogs(flowLogGroup),
      trafficType: FlowLogTrafficType.REJECT,
    });
    if (props.secretsEndpoint ?? true) {
      this.secretsEndpoint = this.vpc.addInterfaceEndpoint('SecretsManager', {
        service: InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
        subnets: this.privateSubnets,
        privateDnsEnabled: true,
      });
      acknowledge(
        this.secretsEndpoint,
        'AwsSolutions-EC23',
        'The rule cannot evaluate the VPC CIDR token; the endpoint admits HTTPS from this VPC only, not 0.0.0.0/0.',
      );
    }
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
