import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import {
  type BrokerUser,
  ManagementApi,
  managementUrlOf,
  namespacePattern,
  newPassword,
  provisionRuntimeUser,
  type UserSecrets,
} from '../../lambdas/core/bus/broker-users.js';

const ADMIN_ARN = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:admin';
const RUNTIME_ARN = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:runtime';
const AMQP_URL = 'amqps://b-1234.mq.eu-west-1.amazonaws.com:5671';

/** Secrets Manager with version stages, and a log of what happened in which order. */
function fakeSecrets(log: string[]): UserSecrets & { current: Map<string, BrokerUser> } {
  const current = new Map<string, BrokerUser>([
    [ADMIN_ARN, { username: 'hipochat', password: 'admin-pass' }],
    [RUNTIME_ARN, { username: 'hipochat-runtime', password: 'old-pass' }],
  ]);
  const pending = new Map<string, BrokerUser>();
  return {
    current,
    async read(arn) {
      return { user: current.get(arn)!, versionId: `v-${current.get(arn)!.password}` };
    },
    async stage(arn, user) {
      log.push(`stage ${user.password === 'old-pass' ? 'old' : 'new'}`);
      pending.set(arn, user);
      return 'v-next';
    },
    async promote(arn, next, previous) {
      log.push(`promote ${next} from ${previous}`);
      current.set(arn, pending.get(arn)!);
    },
  };
}

function fakeApi(log: string[], calls: BrokerUser[]) {
  return () => ({
    async putUser(user: BrokerUser) {
      log.push('putUser');
      calls.push(user);
    },
    async putPermissions(vhost: string, username: string, permissions: { configure: string }) {
      log.push(`putPermissions ${vhost} ${username} ${permissions.configure}`);
    },
  });
}

function event(
  requestType: 'Create' | 'Update' | 'Delete',
  revision: number,
  oldRevision?: number,
): CloudFormationCustomResourceEvent {
  const properties = {
    ServiceToken: 'token',
    RuntimeUser: RUNTIME_ARN,
    RuntimeUserRevision: String(revision),
  };
  return {
    RequestType: requestType,
    ResourceProperties: properties,
    ...(oldRevision === undefined
      ? {}
      : { OldResourceProperties: { ...properties, RuntimeUserRevision: String(oldRevision) } }),
    PhysicalResourceId: 'hipochat-topology',
  } as unknown as CloudFormationCustomResourceEvent;
}

describe('provisionRuntimeUser (topology custom resource)', () => {
  const options = (log: string[], calls: BrokerUser[]) => ({
    amqpUrl: AMQP_URL,
    adminSecretArn: ADMIN_ARN,
    secrets: fakeSecrets(log),
    managementApi: fakeApi(log, calls),
  });

  it('creates the runtime user with the secret password, limited to the hipochat names', async () => {
    // Prepare
    const log: string[] = [];
    const calls: BrokerUser[] = [];

    // Act
    await provisionRuntimeUser(event('Create', 0), options(log, calls));

    // Assess
    expect(calls).toEqual([{ username: 'hipochat-runtime', password: 'old-pass' }]);
    expect(log).toEqual(['putUser', 'putPermissions / hipochat-runtime ^hipochat(\\..*)?$']);
  });

  it('rotates when the revision goes up: stage, set on the broker, then promote', async () => {
    // Prepare
    const log: string[] = [];
    const calls: BrokerUser[] = [];
    const opts = options(log, calls);

    // Act
    await provisionRuntimeUser(event('Update', 2, 1), opts);

    // Assess
    expect(log.slice(0, 3)).toEqual(['stage new', 'putUser', 'promote v-next from v-old-pass']);
    expect(calls[0]!.password).not.toBe('old-pass');
    expect(opts.secrets.current.get(RUNTIME_ARN)).toEqual(calls[0]);
  });

  it('only re-applies the current password when the revision stays or goes down (a rollback)', async () => {
    for (const [revision, old] of [
      [1, 1],
      [1, 2],
    ] as const) {
      const log: string[] = [];
      const calls: BrokerUser[] = [];
      await provisionRuntimeUser(event('Update', revision, old), options(log, calls));
      expect(log[0]).toBe('putUser');
      expect(calls).toEqual([{ username: 'hipochat-runtime', password: 'old-pass' }]);
    }
  });

  it('leaves the user alone on Delete (it goes with the broker)', async () => {
    const log: string[] = [];
    await provisionRuntimeUser(event('Delete', 0), options(log, []));
    expect(log).toEqual([]);
  });

  it('refuses a runtime user that is the administrator', async () => {
    const log: string[] = [];
    const opts = options(log, []);
    opts.secrets.current.set(RUNTIME_ARN, { username: 'hipochat', password: 'x' });
    await expect(provisionRuntimeUser(event('Create', 0), opts)).rejects.toThrow(
      /must not be the broker administrator/,
    );
  });
});

describe('ManagementApi', () => {
  const admin = { username: 'hipochat', password: 'admin-pass' };

  it('PUTs JSON with basic auth of the administrator', async () => {
    // Prepare
    const requests: Array<{ url: string; init: RequestInit }> = [];
    const fetch = (async (url: string, init: RequestInit) => {
      requests.push({ url, init });
      return new Response(null, { status: 204 });
    }) as typeof globalThis.fetch;
    const api = new ManagementApi({ url: 'https://broker', admin, fetch });

    // Act
    await api.putUser({ username: 'hipochat-runtime', password: 'p' });

    // Assess
    expect(requests).toHaveLength(1);
    expect(requests[0]!.url).toBe('https://broker/api/users/hipochat-runtime');
    expect(requests[0]!.init.method).toBe('PUT');
    expect(JSON.parse(String(requests[0]!.init.body))).toEqual({ password: 'p', tags: '' });
    expect((requests[0]!.init.headers as Record<string, string>).authorization).toBe(
      `Basic ${Buffer.from('hipochat:admin-pass').toString('base64')}`,
    );
  });

  it('does not retry a 4xx, and never names the password in its error', async () => {
    let calls = 0;
    const fetch = (async () => {
      calls += 1;
      return new Response('{"error":"not_authorised"}', { status: 401 });
    }) as unknown as typeof globalThis.fetch;
    const api = new ManagementApi({ url: 'https://broker', admin, fetch, attempts: 3 });
    const failure = api.putUser({ username: 'hipochat-runtime', password: 'secret-p' });
    await expect(failure).rejects.toThrow(/PUT \/api\/users\/hipochat-runtime failed: HTTP 401/);
    await expect(failure).rejects.not.toThrow(/secret-p|admin-pass/);
    expect(calls).toBe(1);
  });

  it('encodes the default virtual host in the permissions path', async () => {
    const urls: string[] = [];
    const fetch = (async (url: string) => {
      urls.push(url);
      return new Response(null, { status: 201 });
    }) as unknown as typeof globalThis.fetch;
    await new ManagementApi({ url: 'https://broker', admin, fetch }).putPermissions('/', 'u', {
      configure: '',
      write: '',
      read: '',
    });
    expect(urls).toEqual(['https://broker/api/permissions/%2F/u']);
  });
});

describe('broker user helpers', () => {
  it.each([
    ['hipochat', true],
    ['hipochat.dlx', true],
    ['hipochat.fanout.3', true],
    ['hipochatx', false],
    ['other.hipochat', false],
    ['amq.default', false],
  ])('namespace pattern of hipochat matches %s: %s', (name, matches) => {
    expect(new RegExp(namespacePattern('hipochat')).test(name)).toBe(matches);
  });

  it('finds the management API on HTTPS of the AMQPS host', () => {
    expect(managementUrlOf(AMQP_URL)).toBe('https://b-1234.mq.eu-west-1.amazonaws.com');
    expect(managementUrlOf('amqp+ssl://b-1.mq.eu-west-1.amazonaws.com:5671')).toBe(
      'https://b-1.mq.eu-west-1.amazonaws.com',
    );
  });

  it('makes 32-character alphanumeric passwords', () => {
    const password = newPassword();
    expect(password).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(newPassword()).not.toBe(password);
  });
});
