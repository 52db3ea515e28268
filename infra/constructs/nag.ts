import { Stack, Validations } from 'aws-cdk-lib';
import { ManagedPolicy } from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges one cdk-nag AwsSolutions finding on `scope` and everything below it. `finding` is
 * the rule id as synth prints it without the pack prefix, e.g. `AwsSolutions-APIG4` or
 * `AwsSolutions-IAM5[Resource::*]`.
 */
export function acknowledge(scope: IConstruct, finding: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: `AwsSolutions::${finding}`, reason });
}

/** Flattens a resolved CloudFormation value the way cdk-nag names findings (`<Logical.Attr>`). */
function flatten(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value.replace(/\$\{/g, '<').replace(/\}/g, '>');
  const node = value as Record<string, unknown>;
  if (Array.isArray(node['Fn::Join'])) {
    const [delimiter, items] = node['Fn::Join'] as [string, unknown[]];
    return items.map(flatten).join(delimiter);
  }
  if (node['Fn::Sub'] !== undefined) return flatten(node['Fn::Sub']);
  if (Array.isArray(node['Fn::GetAtt'])) {
    const [resource, attribute] = node['Fn::GetAtt'] as [unknown, unknown];
    return `<${flatten(resource)}.${flatten(attribute)}>`;
  }
  if (node.Ref !== undefined) return `<${flatten(node.Ref)}>`;
  return JSON.stringify(value);
}

/** The IAM5 finding of a wildcard resource ARN, e.g. `AwsSolutions-IAM5[Resource::arn:...:*]`. */
export function wildcardResourceFinding(scope: IConstruct, arn: string): string {
  return `AwsSolutions-IAM5[Resource::${flatten(Stack.of(scope).resolve(arn))}]`;
}

/** The IAM4 finding of an AWS managed policy, e.g. `service-role/AWSLambdaBasicExecutionRole`. */
export function managedPolicyFinding(scope: IConstruct, name: string): string {
  const arn = ManagedPolicy.fromAwsManagedPolicyName(name).managedPolicyArn;
  return `AwsSolutions-IAM4[Policy::${flatten(Stack.of(scope).resolve(arn))}]`;
}
