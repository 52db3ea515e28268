import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { type ChatStack, createChatApp } from '../../infra/chat-stack.js';
import type { StackConfig } from '../../infra/stack-config.js';

/** One synthesized deployment. */
export interface Synthesized {
  stack: ChatStack;
  config: StackConfig;
  template: Template;
  assembly: CloudAssembly;
  outdir: string;
}

/** Synthesis reads handler modules and package-lock.json from the repository root. */
export const projectRoot = join(__dirname, '..', '..');

/**
 * The `context` block of cdk.json (the feature flags): `cdk synth` hands it to the app, so tests
 * synthesize with it too.
 */
export const cdkJsonContext = (
  JSON.parse(readFileSync(join(projectRoot, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }
).context;

/**
 * Synthesizes the app as `cdk synth -c ...` would, cdk-nag and strict template validation included.
 * Without `bundle`, functions are not bundled (`aws:cdk:bundling-stacks` empty) so template tests
 * stay fast; the bundle test bundles for real.
 */
export function synth(
  context: Record<string, unknown> = {},
  options: { bundle?: boolean } = {},
): Synthesized {
  const outdir = mkdtempSync(join(tmpdir(), 'hipochat-cdk-'));
  const { app, stack, config } = createChatApp({
    outdir,
    projectRoot,
    context: {
      ...cdkJsonContext,
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
      ...context,
    },
  });
  const assembly = app.synth();
  // Read the template already synthesized: Template.fromStack would synthesize again.
  const template = Template.fromJSON(assembly.getStackByName(stack.stackName).template);
  return { stack, config, template, assembly, outdir };
}

/** Seconds a test file may spend synthesizing (2 cores, esbuild for every handler). */
export const SYNTH_TIMEOUT_MS = 240_000;

/**
 * Size budget of one handler bundle (minified `index.mjs`, AWS SDK left to the runtime), stated in
 * docs/deploy.md; a bundle above it means a heavy dependency slipped in.
 */
export const BUNDLE_BUDGET_BYTES = 1024 * 1024;

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation template JSON is untyped; tests index into it.
export type Json = any;

/** The template's resources by logical id. */
export function resources(deployment: Synthesized): Record<string, Json> {
  return deployment.template.toJSON().Resources;
}

/** Logical id of a construct's default child (its CloudFormation resource). */
export function logicalId(deployment: Synthesized, construct: { node: { defaultChild?: unknown } }): string {
  return deployment.stack.getLogicalId(construct.node.defaultChild as CfnElement);
}

/** Statements of the inline policies of the role of the function with logical id `functionId`. */
export function roleStatements(deployment: Synthesized, functionId: string): Json[] {
  const all = resources(deployment);
  const roleId = all[functionId].Properties.Role['Fn::GetAtt'][0];
  return Object.values(all)
    .filter(
      (resource) =>
        resource.Type === 'AWS::IAM::Policy' &&
        resource.Properties.Roles.some((role: Json) => role.Ref === roleId),
    )
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement);
}
