// Tests assert on behaviour; expected warnings (failed batches, refused logins) would bury failures.
process.env.HIPOCHAT_LOG_LEVEL ??= 'error';
