/** Log levels in order of severity. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function serialise(value: unknown): unknown {
  if (value instanceof Error) {
    return {
      name: value.name,
      message: value.message,
      ...(value.cause ? { cause: serialise(value.cause) } : {}),
    };
  }
  return value;
}

/**
 * Structured JSON logger, one line per entry as CloudWatch expects. Callers never pass tokens;
 * profiles are logged by user id only.
 */
export class Logger {
  private readonly threshold: number;

  constructor(
    private readonly service = 'hipochat',
    level: LogLevel = (process.env.HIPOCHAT_LOG_LEVEL as LogLevel | undefined) ?? 'info',
  ) {
    this.threshold = order[level] ?? order.info;
  }

  private write(level: LogLevel, message: string, extra?: Record<string, unknown>): void {
    if (order[level] < this.threshold) return;
    const entry: Record<string, unknown> = {
      level,
      service: this.service,
      message,
      timestamp: new Date().toISOString(),
    };
    for (const [key, value] of Object.entries(extra ?? {})) entry[key] = serialise(value);
    const line = JSON.stringify(entry);
    if (level === 'error' || level === 'warn') process.stderr.write(`${line}\n`);
    else process.stdout.write(`${line}\n`);
  }

  debug(message: string, extra?: Record<string, unknown>): void {
    this.write('debug', message, extra);
  }
  info(message: string, extra?: Record<string, unknown>): void {
    this.write('info', message, extra);
  }
  warn(message: string, extra?: Record<string, unknown>): void {
    this.write('warn', message, extra);
  }
  error(message: string, extra?: Record<string, unknown>): void {
    this.write('error', message, extra);
  }
}

/** The process-wide logger. */
export const logger = new Logger();
