import type { Template } from 'aws-cdk-lib/assertions';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { type Json, SYNTH_TIMEOUT_MS, type Synthesized, synth } from '../infra/synth.js';

/** CloudFormation resources of one type by logical id. */
export type Resources = Record<
  string,
  { Type: string; Properties: Record<string, Json>; DependsOn?: string[] }
>;

/** The resources of `template` of CloudFormation type `type`. */
export function resourcesOf(template: Template, type: string): Resources {
  return template.findResources(type) as Resources;
}

/** Logical id of the function that serves the route named `routeName`. */
export function functionLogicalId(deployment: Synthesized, routeName: string): string {
  const fn = deployment.stack.functions.get(routeName);
  if (!fn) throw new Error(`no function for route ${routeName}`);
  return deployment.stack.getLogicalId(fn.node.defaultChild as CfnFunction);
}

/** The actions of a policy statement, one or many. */
export function actionsOf(statement: Record<string, Json>): string[] {
  return [statement.Action].flat();
}

/**
 * The dev profile on the node-based cache (the serverless one: test/infra/upgrades.test.ts), for
 * use inside a `describe`: synthesized in its `beforeAll`, readable from its tests on.
 */
export function devStack(): Synthesized {
  let synthesized: Synthesized | undefined;
  const dev = (): Synthesized => {
    if (!synthesized) throw new Error('the stack is synthesized in beforeAll');
    return synthesized;
  };

  beforeAll(() => {
    synthesized = synth({ cache: 'nodes' });
  }, SYNTH_TIMEOUT_MS);

  return {
    get stack() {
      return dev().stack;
    },
    get config() {
      return dev().config;
    },
    get template() {
      return dev().template;
    },
    get assembly() {
      return dev().assembly;
    },
    get outdir() {
      return dev().outdir;
    },
  };
}
