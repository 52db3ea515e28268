import { createRedisClient, StoreDownError, whenReady } from '../../lambdas/core/store/redis-client.js';
import { freePort } from '../support/net.js';

describe('the Redis client while Redis is down', () => {
  it('refuses a request at once after a connection attempt failed, instead of waiting out the connect timeout', async () => {
    // Prepare: nothing listens on the port, so each connection attempt is refused.
    const client = createRedisClient({
      url: `redis://127.0.0.1:${await freePort()}/0`,
      cluster: false,
      connectTimeoutMs: 60_000,
    });
    try {
      // Act
      const first = whenReady(client, 60_000);
      await expect(first).rejects.toThrow(/ECONNREFUSED|Connection is closed/);

      // Assess: the next request is refused as known down, not held for the 60 s timeout (the
      // test's own timeout is 5 s).
      await expect(whenReady(client, 60_000)).rejects.toBeInstanceOf(StoreDownError);
    } finally {
      client.disconnect();
    }
  });
});
