import { createChatApp } from './chat-stack.js';
import { ContextError } from './context-schema.js';

// `npx cdk synth|deploy -c profile=prod -c stage=prod ...`; see docs/deploy.md for every key.
try {
  const { app } = createChatApp();
  app.synth();
} catch (error) {
  // A wrong `-c` value is the operator's to fix: say which key and what it takes, no stack trace.
  if (!(error instanceof ContextError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exitCode = 1;
}
