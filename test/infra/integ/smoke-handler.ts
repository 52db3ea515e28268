import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { main } from '../../../cli/hipochat.js';

/** What the integ test's assertion reads back from the smoke function. */
export interface SmokeResult {
  /** The CLI's exit code: 0 when every step passed. */
  exitCode: number;
  /** The CLI's PASS/FAIL lines. */
  output: string;
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set`);
  return value;
}

/**
 * Runs `hipochat smoke` (two users, messages both ways, history, an injection with the service
 * key, unread counts, reconnect) against the deployed stack, from inside AWS, and returns its
 * report for the integ test to assert on. The service key comes from Secrets Manager, so it never
 * shows in a template or an assertion response.
 */
export const handler = async (): Promise<SmokeResult> => {
  const secret = await new SecretsManagerClient({}).send(
    new GetSecretValueCommand({ SecretId: required('HIPOCHAT_SERVICE_KEY_SECRET_ARN') }),
  );
  let output = '';
  const write = (text: string) => {
    output += text;
  };
  const exitCode = await main(
    [
      'smoke',
      '--ws',
      required('HIPOCHAT_SMOKE_WS_URL'),
      '--http',
      required('HIPOCHAT_SMOKE_HTTP_URL'),
      '--service-key',
      secret.SecretString ?? '',
      '--timeout',
      '90',
    ],
    { out: write, err: write, stdin: process.stdin, env: {} },
  );
  console.log(output);
  return { exitCode, output };
};
