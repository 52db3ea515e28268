import { RedisStore } from '../../lambdas/core/store/redis-store.js';
import { startRedisCluster } from '../support/faults.js';
import { uniqueRoom } from '../support/rooms.js';
it('cluster', async () => {
  const cluster = await startRedisCluster();
  for (let k = 0; k < 3; k += 1) {
    const store = new RedisStore({ url: cluster.url, cluster: true, waitReplicas: 1, waitMs: 20 });
    for (const room of [uniqueRoom('slot-a'), uniqueRoom('slot-b'), uniqueRoom('slot-c')]) {
      const t = Date.now();
      const msg = { type: 'message', room, token: room, timestamp: 1, body: 'x', author: null };
      const r = await Promise.race([store.append(msg).then(() => 'ok', (e) => String(e)), new Promise((d) => setTimeout(() => d('HANG'), 5000))]);
      console.log(k, room, r, Date.now() - t, store.client.status);
      const r2 = await Promise.race([store.addMembers(room, ['ann']).then(() => 'ok', (e) => String(e)), new Promise((d) => setTimeout(() => d('HANG'), 5000))]);
      console.log(k, 'members', r2);
      const r3 = await Promise.race([store.page(room, 'ann', { limit: 10 }).then((p) => p.messages.length, (e) => String(e)), new Promise((d) => setTimeout(() => d('HANG'), 5000))]);
      console.log(k, 'page', r3);
    }
    await store.close();
  }
  await cluster.stop();
}, 120000);
