import { LEGACY_REWRITE_CODE } from '../../infra/constructs/legacy-domain.js';
import { httpRoutes, routes, webSocketRoutes } from '../../lambdas/routes.js';
import { devStack, functionLogicalId, resourcesOf } from '../support/stack-template.js';
import { type Json, SYNTH_TIMEOUT_MS, type Synthesized, synth } from './synth.js';

describe('ChatStack (dev profile)', () => {
  const dev = devStack();

  it.each(httpRoutes.map((route) => [route.method, route.path, route.name]))(
    'routes %s %s of the HTTP API to the %s function',
    (method, path, name) => {
      // Prepare
      const integrations = resourcesOf(dev.template, 'AWS::ApiGatewayV2::Integration');
      const functionId = functionLogicalId(dev, name);

      // Act
      const route = Object.values(resourcesOf(dev.template, 'AWS::ApiGatewayV2::Route')).find(
        (candidate) => candidate.Properties.RouteKey === `${method} ${path}`,
      );

      // Assess
      expect(route).toBeDefined();
      const integrationId = route!.Properties.Target['Fn::Join'][1][1].Ref;
      expect(integrations[integrationId]!.Properties).toMatchObject({
        IntegrationType: 'AWS_PROXY',
        PayloadFormatVersion: '2.0',
        IntegrationUri: { 'Fn::GetAtt': [functionId, 'Arn'] },
      });
    },
  );

  it('serves the live-signal routes, and lets only /talk/disconnect among them close connections', () => {
    const keys = Object.values(resourcesOf(dev.template, 'AWS::ApiGatewayV2::Route')).map(
      (route) => route.Properties.RouteKey,
    );
    expect(keys).toEqual(
      expect.arrayContaining([
        'GET /talk/presence/{room+}',
        'GET /talk/receipts/{room+}',
        'POST /talk/broadcast',
        'POST /talk/disconnect/{user+}',
      ]),
    );
    const managing = httpRoutes.filter((route) => route.managesConnections).map((route) => route.name);
    expect(managing).toEqual(['unsubscribe', 'disconnect-user', 'ban']);
  });

  it('serves mute, ban and the moderation list on the service key; only ban closes connections', () => {
    const keys = Object.values(resourcesOf(dev.template, 'AWS::ApiGatewayV2::Route')).map(
      (route) => route.Properties.RouteKey,
    );
    expect(keys).toEqual(
      expect.arrayContaining([
        'POST /talk/mute/{path+}',
        'POST /talk/ban/{path+}',
        'GET /talk/moderation/{room+}',
      ]),
    );
    const secrets = (name: string) => httpRoutes.find((route) => route.name === name)?.secrets;
    expect(secrets('mute')).toEqual(['cache', 'serviceKey']);
    expect(secrets('ban')).toEqual(['cache', 'broker', 'serviceKey']);
    expect(secrets('moderation')).toEqual(['cache', 'serviceKey']);
  });

  it('serves the moderation routes that edit and delete messages, on the service key', () => {
    const keys = Object.values(resourcesOf(dev.template, 'AWS::ApiGatewayV2::Route')).map(
      (route) => route.Properties.RouteKey,
    );
    expect(keys).toEqual(expect.arrayContaining(['POST /talk/edit/{room+}', 'POST /talk/delete/{room+}']));
    for (const name of ['edit', 'delete']) {
      expect(httpRoutes.find((route) => route.name === name)?.secrets).toEqual([
        'cache',
        'broker',
        'serviceKey',
      ]);
    }
  });

  it.each(webSocketRoutes.map((route) => [route.routeKey, route.name, route.returnResponse]))(
    'routes %s of the WebSocket API to the %s function (route response: %s)',
    (routeKey, name, returnResponse) => {
      const route = Object.entries(resourcesOf(dev.template, 'AWS::ApiGatewayV2::Route')).find(
        ([, candidate]) => candidate.Properties.RouteKey === routeKey,
      );
      expect(route).toBeDefined();
      const [routeId, { Properties: properties }] = route!;
      const integrationId = properties.Target['Fn::Join'][1][1].Ref;
      expect(dev.template.toJSON().Resources[integrationId].Properties.IntegrationUri).toEqual(
        expect.objectContaining({
          'Fn::Join': expect.arrayContaining([
            expect.arrayContaining([{ 'Fn::GetAtt': [functionLogicalId(dev, name), 'Arn'] }]),
          ]),
        }),
      );
      const responses = Object.values(resourcesOf(dev.template, 'AWS::ApiGatewayV2::RouteResponse')).filter(
        (response) => response.Properties.RouteId.Ref === routeId,
      );
      expect(responses).toHaveLength(returnResponse ? 1 : 0);
    },
  );

  it('puts the REQUEST authorizer of the routes table on $connect only', () => {
    const authorizerRoute = routes.find((route) => route.kind === 'authorizer')!;
    const authorizers = resourcesOf(dev.template, 'AWS::ApiGatewayV2::Authorizer');
    expect(Object.keys(authorizers)).toHaveLength(1);
    const [authorizerId, authorizer] = Object.entries(authorizers)[0]!;
    // No identity source: a connection may name `?room=`, `?rooms=` or neither.
    expect(authorizerRoute.identitySource).toEqual([]);
    expect(authorizer.Properties).toMatchObject({ AuthorizerType: 'REQUEST' });
    expect(authorizer.Properties.IdentitySource).toBeUndefined();
    expect(authorizer.Properties.AuthorizerResultTtlInSeconds).toBeUndefined();
    expect(JSON.stringify(authorizer.Properties.AuthorizerUri)).toContain(
      functionLogicalId(dev, authorizerRoute.name),
    );
    const authorized = Object.values(resourcesOf(dev.template, 'AWS::ApiGatewayV2::Route')).filter(
      (route) => route.Properties.AuthorizerId !== undefined,
    );
    expect(authorized.map((route) => route.Properties.RouteKey)).toEqual(['$connect']);
    expect(authorized[0]!.Properties).toMatchObject({
      AuthorizationType: 'CUSTOM',
      AuthorizerId: { Ref: authorizerId },
    });
  });

  it.each([
    ['WebSocketUrl', 'wss://', `/${'dev'}`],
    ['HttpUrl', 'https://', '/'],
    ['ConnectionsUrl', 'https://', `/${'dev'}`],
  ])('outputs %s', (name, scheme, suffix) => {
    const output = dev.template.findOutputs(name)[name];
    const parts = output.Value['Fn::Join'][1] as unknown[];
    expect(parts[0]).toBe(scheme);
    expect(parts.at(-1)).toBe(suffix);
  });

  it('has no legacy CloudFront domain unless asked', () => {
    dev.template.resourceCountIs('AWS::CloudFront::Distribution', 0);
  });
});

describe('LegacyDomain', () => {
  let legacy: Synthesized;
  beforeAll(() => {
    legacy = synth({ legacyDomain: 'true' });
  }, SYNTH_TIMEOUT_MS);

  it('sends /talk/chat/* to the WebSocket stage through the rewrite function and /talk/* to the HTTP API', () => {
    const distribution = Object.values(resourcesOf(legacy.template, 'AWS::CloudFront::Distribution'))[0]!;
    const config = distribution.Properties.DistributionConfig;
    const behaviors = config.CacheBehaviors as Array<Record<string, Json>>;
    expect(behaviors.map((behavior) => behavior.PathPattern)).toEqual(['/talk/chat/*', '/talk/*']);
    expect(behaviors[0]!.FunctionAssociations).toEqual([
      { EventType: 'viewer-request', FunctionARN: expect.anything() },
    ]);
    const socketOrigin = config.Origins.find((origin: Json) => origin.Id === behaviors[0]!.TargetOriginId);
    expect(socketOrigin.OriginPath).toBe(`/${legacy.config.stageName}`);
    legacy.template.hasOutput('LegacyUrl', {});
  });

  it.each([
    ['/talk/chat/lobby/', { room: { value: 'lobby' }, token: { value: 'T' } }],
    ['/talk/chat/lobby', { room: { value: 'lobby' }, token: { value: 'T' } }],
  ])('rewrites %s to the stage root with ?room=', (uri, querystring) => {
    // Prepare
    const handler = new Function(`${LEGACY_REWRITE_CODE}; return handler;`)() as (event: unknown) => Json;

    // Act
    const request = handler({ request: { uri, querystring: { token: { value: 'T' } } } });

    // Assess
    expect(request).toEqual({ uri: '/', querystring });
  });

  it.each(['/talk/chat/a/b/', '/talk/chat/'])('answers 404 for %s', (uri) => {
    const handler = new Function(`${LEGACY_REWRITE_CODE}; return handler;`)() as (event: unknown) => Json;
    expect(handler({ request: { uri, querystring: {} } })).toMatchObject({ statusCode: 404 });
  });
});
