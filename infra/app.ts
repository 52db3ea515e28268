import { createChatApp } from './chat-stack.js';

// `npx cdk synth|deploy -c profile=prod -c stage=prod ...`; see docs/deploy.md for every key.
const { app } = createChatApp();
app.synth();
