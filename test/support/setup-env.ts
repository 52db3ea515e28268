// Tests assert on behaviour; expected warnings (failed batches, refused logins) would bury failures.
process.env.HIPOCHAT_LOG_LEVEL ??= 'error';
// Every handler invocation writes its EMF metrics to stdout; test/unit/metrics.test.ts turns them on.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
