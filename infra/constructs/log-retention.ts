import { AspectPriority, Aspects, CfnResource, type IAspect, RemovalPolicy } from 'aws-cdk-lib';
import { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { CfnLogGroup, LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IConstruct } from 'constructs';

/** The `LoggingConfig` a function resource already has, L1 class or raw `CfnResource`. */
function loggingConfigOf(resource: CfnResource): unknown {
  if (resource instanceof CfnFunction) return resource.loggingConfig;
  // CDK's stack-wide custom resource providers are raw CfnResources; their properties are internal.
  const raw = resource as unknown as { _cfnProperties?: Record<string, unknown> };
  return raw._cfnProperties?.LoggingConfig;
}

/**
 * Every log group gets a retention, also those nobody declares: a function without its own log
 * group (CDK's singleton custom-resource handlers: the VPC default security group restriction, S3
 * auto-delete, the integ-tests assertion provider) writes to `/aws/lambda/<name>`, created on first
 * use with no expiry. This aspect gives such a function a log group with `retention` (the function
 * waits for it, so no invocation can create the default one first), and sets `retention` on any
 * log group declared without one.
 */
export class LogRetentionAspect implements IAspect {
  constructor(private readonly retention: RetentionDays) {}

  /** Applies the aspect to `scope` and everything below it. */
  static applyTo(scope: IConstruct, retention: RetentionDays): void {
    Aspects.of(scope).add(new LogRetentionAspect(retention), { priority: AspectPriority.MUTATING });
  }

  visit(node: IConstruct): void {
    if (node instanceof CfnLogGroup) {
      if (node.retentionInDays === undefined) node.retentionInDays = this.retention;
      return;
    }
    if (!(node instanceof CfnResource) || node.cfnResourceType !== 'AWS::Lambda::Function') return;
    if (loggingConfigOf(node) !== undefined) return;
    const scope = node.node.scope;
    const id = `${node.node.id}Logs`;
    // Applied at app and stack level, the aspect visits some functions twice.
    if (!scope || scope.node.tryFindChild(id)) return;
    const logGroup = new LogGroup(scope, id, {
      retention: this.retention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    node.addPropertyOverride('LoggingConfig.LogGroup', logGroup.logGroupName);
    node.node.addDependency(logGroup);
  }
}
