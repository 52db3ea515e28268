import { RemovalPolicy } from 'aws-cdk-lib';
import {
  CpuCredits,
  FlowLogDestination,
  FlowLogTrafficType,
  type Instance,
  InstanceType,
  type InterfaceVpcEndpoint,
  InterfaceVpcEndpointAwsService,
  IpAddresses,
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
    const natInstanceProvider =
      props.natProvider === 'instance'
        ? NatProvider.instanceV2({
            instanceType: new InstanceType(props.natInstanceType ?? 't4g.nano'),
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
