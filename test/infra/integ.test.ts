import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { createIntegApp, INTEG_STAGE, type IntegApp } from './integ/chat-integ.js';
import { projectRoot, SYNTH_TIMEOUT_MS } from './synth.js';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation template JSON is untyped; tests index into it.
type Json = any;

/**
 * Asset hashes change with every handler edit and each synth salts the assertions (so they run on
 * every deploy); the snapshot is about the test's shape.
 */
function normalized(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value)
      .replace(/[0-9a-f]{64}/g, '<hash>')
      .replace(/"salt":"\d+"/g, '"salt":"<salt>"'),
  );
}

describe('integ test (deploy, assert through the APIs, destroy)', () => {
  let integ: IntegApp;
  let assembly: CloudAssembly;
  let manifest: Json;
  let assertions: Template;

  beforeAll(() => {
    integ = createIntegApp({ projectRoot, context: { 'aws:cdk:bundling-stacks': [] } });
    assembly = integ.app.synth();
    manifest = JSON.parse(readFileSync(join(assembly.directory, 'integ.json'), 'utf8'));
    const [testCase] = Object.values(manifest.testCases) as Json[];
    assertions = Template.fromJSON(assembly.getStackByName(testCase.assertionStackName).template);
  }, SYNTH_TIMEOUT_MS);

  it('deploys the identity endpoint, the chat stack and the smoke function, and destroys them after', () => {
    expect(Object.values(manifest.testCases)).toEqual([
      expect.objectContaining({
        stacks: ['HipochatIntegIdentity', `Hipochat-${INTEG_STAGE}`, 'HipochatIntegSmoke'],
        stackUpdateWorkflow: false,
        cdkCommandOptions: { destroy: { args: { force: true } } },
      }),
    ]);
  });

  it('deploys the dev profile as stage integ with its data destroyed on delete', () => {
    const chat = Template.fromJSON(assembly.getStackByName(integ.chat.stackName).template);
    chat.hasResourceProperties('AWS::ApiGatewayV2::Stage', { StageName: INTEG_STAGE });
    for (const secret of Object.values(chat.findResources('AWS::SecretsManager::Secret')) as Json[]) {
      expect(secret.DeletionPolicy).toBe('Delete');
    }
    chat.hasResource('AWS::ElastiCache::ServerlessCache', { DeletionPolicy: 'Delete' });
    // The chat authenticates its test users against the dev identity endpoint.
    chat.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ HIPOCHAT_PROFILE_URL: Match.anyValue() }) },
    });
  });

  it('asserts that every fan-out event source mapping is enabled', () => {
    const [call] = Object.values(
      assertions.findResources('Custom::DeployAssert@SdkCallLambdalistEventSourceMappings'),
    ) as Json[];
    expect(JSON.parse(call.Properties.expected)).toEqual({
      $ObjectLike: {
        EventSourceMappings: Array.from({ length: integ.chat.fanout.mappings.length }, () => ({
          $ObjectLike: { State: 'Enabled' },
        })),
      },
    });
  });

  it('runs hipochat smoke against the stack URLs and expects exit code 0', () => {
    const [call] = Object.values(
      assertions.findResources('Custom::DeployAssert@SdkCallLambdainvoke'),
    ) as Json[];
    expect(JSON.parse(call.Properties.expected)).toEqual({
      $ObjectLike: { Payload: { $SerializedJson: { $ObjectLike: { exitCode: 0 } } } },
    });
    const smoke = Template.fromJSON(assembly.getStackByName(integ.smoke.stackName).template);
    smoke.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: {
          HIPOCHAT_SMOKE_WS_URL: Match.anyValue(),
          HIPOCHAT_SMOKE_HTTP_URL: Match.anyValue(),
          HIPOCHAT_SERVICE_KEY_SECRET_ARN: Match.anyValue(),
        },
      },
    });
  });

  it('keeps the service key out of templates and assertion responses', () => {
    const templates = assembly.stacks.map((stack) => JSON.stringify(stack.template));
    for (const template of templates) expect(template).not.toContain('getSecretValue');
  });

  it('gives every log group of every stack, the assertion providers included, a retention', () => {
    for (const stack of assembly.stacks) {
      for (const group of Object.values(
        Template.fromJSON(stack.template).findResources('AWS::Logs::LogGroup'),
      ) as Json[]) {
        expect(group.Properties.RetentionInDays).toEqual(expect.any(Number));
      }
    }
  });

  it('matches the committed snapshot of its manifest and assertions', () => {
    expect(normalized({ manifest, assertions: assertions.toJSON() })).toMatchSnapshot();
  });
});
