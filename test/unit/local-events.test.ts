import { httpEvent, requestTime } from '../../local/events.js';
import { rabbitMqEvent } from '../../local/mq-events.js';

describe('local gateway events', () => {
  it("stamps requests in API Gateway's time format", () => {
    expect(requestTime(Date.UTC(2026, 10, 26, 4, 28, 11))).toBe('26/Nov/2026:04:28:11 +0000');
    expect(requestTime(Date.UTC(2027, 0, 3, 23, 5, 9))).toBe('03/Jan/2027:23:05:09 +0000');
  });

  it('builds an HTTP API 2.0 event: route key, raw path, joined query, text or base64 body', () => {
    const base = {
      method: 'POST',
      routePath: '/talk/item/{room+}',
      url: new URL('http://127.0.0.1:8888/talk/item/lobby/?type=message&tag=a&tag=b'),
      pathParameters: { room: 'lobby/' },
      sourceIp: '127.0.0.1',
    };
    const json = httpEvent({
      ...base,
      headers: { 'content-type': 'application/json', host: 'h' },
      body: Buffer.from('{"a":1}'),
    });
    expect(json).toMatchObject({
      version: '2.0',
      routeKey: 'POST /talk/item/{room+}',
      rawPath: '/talk/item/lobby/',
      rawQueryString: 'type=message&tag=a&tag=b',
      queryStringParameters: { type: 'message', tag: 'a,b' },
      pathParameters: { room: 'lobby/' },
      body: '{"a":1}',
      isBase64Encoded: false,
      requestContext: {
        http: { method: 'POST', path: '/talk/item/lobby/' },
        routeKey: 'POST /talk/item/{room+}',
        stage: '$default',
      },
    });
    const binary = httpEvent({
      ...base,
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.from([1, 2, 255]),
    });
    expect(binary).toMatchObject({
      body: Buffer.from([1, 2, 255]).toString('base64'),
      isBase64Encoded: true,
    });
  });

  it('groups an Amazon MQ batch by queue::vhost, each body a base64 record', () => {
    // Prepare
    const body = Buffer.from('{"id":"1700000000001-0"}');

    // Act
    const event = rabbitMqEvent('hipochat.fanout.1::/', [
      { body, messageId: '1700000000001-0', redelivered: true },
    ]);

    // Assess
    expect(event).toEqual({
      eventSource: 'aws:rmq',
      eventSourceArn: 'arn:aws:mq:local:000000000000:broker:local:b-local',
      rmqMessagesByQueue: {
        'hipochat.fanout.1::/': [
          {
            basicProperties: {
              contentType: 'application/json',
              deliveryMode: 2,
              messageId: '1700000000001-0',
              bodySize: body.length,
            },
            redelivered: true,
            data: body.toString('base64'),
          },
        ],
      },
    });
  });

  it('hands a string header over as its UTF-8 bytes, as Amazon MQ does', () => {
    const event = rabbitMqEvent('hipochat.fanout.0::/', [
      { body: Buffer.from('{}'), redelivered: false, headers: { 'x-hipochat-targets': 'é1' } },
    ]);
    expect(event.rmqMessagesByQueue['hipochat.fanout.0::/']![0]!.basicProperties.headers).toEqual({
      'x-hipochat-targets': { bytes: [0xc3, 0xa9, 0x31] },
    });
  });
});
