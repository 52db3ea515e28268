/**
 * THE WIRE: everything a Hipochat client and server must agree on, and nothing else. It imports
 * no package and no file outside this folder, and uses only what browsers and Node both have, so
 * the server, the client library, the demo page and the CLI all share it.
 */
export * from './client-frame-encoder.js';
export * from './client-frames.js';
export * from './connection.js';
export * from './conversations.js';
export * from './frames.js';
export * from './http.js';
export * from './limits.js';
export * from './messages.js';
export * from './rooms.js';
export * from './server-fields.js';
export * from './server-frame-readers.js';
