/**
 * The deployment test: `test/infra/integ/run` (or integ-runner, see docs/deploy.md) deploys it to
 * the account of the current AWS credentials, runs the assertions and destroys it. `npm test`
 * checks it offline (test/infra/integ.test.ts).
 */
import { fileURLToPath } from 'node:url';
import { createIntegApp } from './chat-integ.js';

// integ-runner runs this file from its own directory; the repository root is three levels up.
const projectRoot = fileURLToPath(new URL('../../..', import.meta.url));
createIntegApp({ projectRoot }).app.synth();
