import { randomBytes, randomUUID } from 'node:crypto';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';

/**
 * The RabbitMQ user the functions and the event source mappings connect as: not an administrator,
 * allowed to configure, write and read only the exchanges and queues of one namespace, through the
 * RabbitMQ management API (Amazon MQ's own Users API does not manage RabbitMQ users). The broker's
 * administrator is used for this and for declaring the topology, at deploy time only.
 */

/** A RabbitMQ user as Secrets Manager holds it (`{"username","password"}`, what Lambda expects). */
export interface BrokerUser {
  username: string;
  password: string;
}

/** The three RabbitMQ permission patterns of a user on one virtual host. */
export interface Permissions {
  configure: string;
  write: string;
  read: string;
}

/** Regex matching `namespace` and every `namespace.<anything>`: the exchanges and queues of one deployment. */
export function namespacePattern(namespace: string): string {
  return `^${namespace.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\..*)?$`;
}

/** The same pattern for configure, write and read: declare, publish/bind, consume within the namespace. */
export function namespacePermissions(namespace: string): Permissions {
  const pattern = namespacePattern(namespace);
  return { configure: pattern, write: pattern, read: pattern };
}

/**
 * `https://<host>` of the RabbitMQ management API from the broker's AMQPS endpoint: an Amazon MQ
 * broker serves its console and the management API on HTTPS (443) of the same host.
 */
export function managementUrlOf(amqpUrl: string): string {
  const url = new URL(amqpUrl.replace(/^amqps?(\+ssl)?:/, 'https:'));
  return `https://${url.hostname}`;
}

/** A password of letters and digits: safe in AMQP URLs, Amazon MQ and the management API. */
export function newPassword(length = 32): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(length * 2);
  let password = '';
  // Rejection sampling keeps every character equally likely.
  for (const byte of bytes) {
    if (byte < 248 && password.length < length) password += alphabet[byte % alphabet.length];
  }
  return password.length === length ? password : newPassword(length);
}

/** Options of {@link ManagementApi}. */
export interface ManagementApiOptions {
  /** `https://<broker host>`. */
  url: string;
  /** Who calls the API: an administrator. */
  admin: BrokerUser;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Milliseconds per request. @default 10000 */
  timeoutMs?: number;
  /** Attempts per request on network errors and 5xx. @default 3 */
  attempts?: number;
}

/** The few RabbitMQ management API calls the deployment needs. */
export class ManagementApi {
  private readonly fetch: typeof fetch;

  constructor(private readonly options: ManagementApiOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  /** Creates the user or sets its password; no tags, so no management or administrator rights. */
  async putUser(user: BrokerUser): Promise<void> {
    await this.put(`/api/users/${encodeURIComponent(user.username)}`, { password: user.password, tags: '' });
  }

  /** Sets the user's permissions on `vhost`. */
  async putPermissions(vhost: string, username: string, permissions: Permissions): Promise<void> {
    await this.put(
      `/api/permissions/${encodeURIComponent(vhost)}/${encodeURIComponent(username)}`,
      permissions,
    );
  }

  private async put(path: string, body: unknown): Promise<void> {
    const { admin } = this.options;
    const attempts = this.options.attempts ?? 3;
    const authorization = `Basic ${Buffer.from(`${admin.username}:${admin.password}`).toString('base64')}`;
    for (let attempt = 1; ; attempt += 1) {
      let problem: string;
      try {
        const response = await this.fetch(`${this.options.url}${path}`, {
          method: 'PUT',
          headers: { authorization, 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
        });
        if (response.ok) return;
        const text = (await response.text().catch(() => '')).slice(0, 200);
        problem = `HTTP ${response.status} ${text}`.trim();
        // 4xx will not change on a retry (wrong admin password, bad vhost).
        if (response.status < 500) attempt = attempts;
      } catch (error) {
        problem = (error as Error).message;
      }
      if (attempt >= attempts) {
        // The path names the user, never the password.
        throw new Error(`RabbitMQ management API PUT ${path} failed: ${problem}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 1000 * 2 ** attempt));
    }
  }
}

/** The Secrets Manager calls the runtime user needs, so tests can stand in. */
export interface UserSecrets {
  /** The current value and its version id. */
  read(arn: string): Promise<{ user: BrokerUser; versionId?: string }>;
  /** Stores `user` as a new version staged `AWSPENDING`; returns its version id. */
  stage(arn: string, user: BrokerUser): Promise<string>;
  /** Makes version `next` the `AWSCURRENT` one (taking the stage from `previous`). */
  promote(arn: string, next: string, previous?: string): Promise<void>;
}

function parseUser(arn: string, text: string | undefined): BrokerUser {
  const value = JSON.parse(text ?? '{}') as Partial<BrokerUser>;
  if (!value.username || !value.password) throw new Error(`secret ${arn} must hold {"username","password"}`);
  return { username: value.username, password: value.password };
}

/** {@link UserSecrets} on Secrets Manager. */
export function secretsManagerUsers(client = new SecretsManagerClient({})): UserSecrets {
  return {
    async read(arn) {
      const secret = await client.send(new GetSecretValueCommand({ SecretId: arn }));
      return { user: parseUser(arn, secret.SecretString), versionId: secret.VersionId };
    },
    async stage(arn, user) {
      const token = randomUUID();
      await client.send(
        new PutSecretValueCommand({
          SecretId: arn,
          SecretString: JSON.stringify(user),
          VersionStages: ['AWSPENDING'],
          ClientRequestToken: token,
        }),
      );
      return token;
    },
    async promote(arn, next, previous) {
      await client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: arn,
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: next,
          RemoveFromVersionId: previous,
        }),
      );
    },
  };
}

/** What {@link provisionRuntimeUser} works with; defaults come from the environment. */
export interface ProvisionOptions {
  /** AMQPS endpoint of the broker. @default process.env.HIPOCHAT_RABBIT_URL */
  amqpUrl?: string;
  /** The administrator's secret. @default process.env.HIPOCHAT_RABBIT_SECRET_ARN */
  adminSecretArn?: string;
  /** Exchange and queue prefix the user is limited to. @default 'hipochat' */
  namespace?: string;
  /** @default '/' */
  vhost?: string;
  secrets?: UserSecrets;
  /** Builds the management API client (tests pass a fake). */
  managementApi?: (options: ManagementApiOptions) => Pick<ManagementApi, 'putUser' | 'putPermissions'>;
}

function revision(properties: Record<string, unknown> | undefined): number {
  const value = Number(properties?.RuntimeUserRevision ?? 0);
  return Number.isFinite(value) ? value : 0;
}

/**
 * The topology custom resource's step for the runtime user (resource property `RuntimeUser`: the
 * ARN of its `{"username","password"}` secret). Creates the user, or sets its password to the
 * secret's, and limits it to the namespace. When `RuntimeUserRevision` goes up, rotates the
 * password: a new one is staged in the secret (`AWSPENDING`), set on the broker, then made
 * `AWSCURRENT`. A failure on the way leaves the old value current, and the rollback sets it again.
 * Does nothing on Delete (the user goes with the broker) or without `RuntimeUser`.
 */
export async function provisionRuntimeUser(
  event: CloudFormationCustomResourceEvent,
  options: ProvisionOptions = {},
): Promise<void> {
  const arn = event.ResourceProperties.RuntimeUser as string | undefined;
  if (event.RequestType === 'Delete' || !arn) return;
  const amqpUrl = options.amqpUrl ?? process.env.HIPOCHAT_RABBIT_URL;
  const adminArn = options.adminSecretArn ?? process.env.HIPOCHAT_RABBIT_SECRET_ARN;
  if (!amqpUrl || !adminArn)
    throw new Error('HIPOCHAT_RABBIT_URL and HIPOCHAT_RABBIT_SECRET_ARN must be set');
  const secrets = options.secrets ?? secretsManagerUsers();
  const { user: admin } = await secrets.read(adminArn);
  const current = await secrets.read(arn);
  if (current.user.username === admin.username) {
    throw new Error('the runtime user must not be the broker administrator');
  }
  const api = (options.managementApi ?? ((o) => new ManagementApi(o)))({
    url: managementUrlOf(amqpUrl),
    admin,
  });
  // Only a higher revision rotates: the rollback of a failed rotation comes back with a lower one.
  const rotate =
    event.RequestType === 'Update' &&
    revision(event.ResourceProperties) > revision(event.OldResourceProperties);
  if (rotate) {
    const next: BrokerUser = { username: current.user.username, password: newPassword() };
    const version = await secrets.stage(arn, next);
    await api.putUser(next);
    await secrets.promote(arn, version, current.versionId);
  } else {
    await api.putUser(current.user);
  }
  await api.putPermissions(
    options.vhost ?? '/',
    current.user.username,
    namespacePermissions(options.namespace ?? 'hipochat'),
  );
}
