/** Properties Amazon MQ copies from the AMQP message into the Lambda event. */
export interface RabbitMqBasicProperties {
  contentType?: string | null;
  contentEncoding?: string | null;
  headers?: Record<string, unknown> | null;
  deliveryMode?: number | null;
  priority?: number | null;
  correlationId?: string | null;
  replyTo?: string | null;
  expiration?: string | null;
  messageId?: string | null;
  timestamp?: string | null;
  type?: string | null;
  userId?: string | null;
  appId?: string | null;
  clusterId?: string | null;
  bodySize: number;
}

/** One message of an `aws:rmq` batch; `data` is the base64 body. */
export interface RabbitMqRecord {
  basicProperties: RabbitMqBasicProperties;
  redelivered: boolean;
  data: string;
}

/**
 * The event an Amazon MQ (RabbitMQ) event source mapping sends to Lambda. Messages are grouped by
 * `<queue>::<virtual host>`. @types/aws-lambda has no type for it.
 */
export interface RabbitMqEvent {
  eventSource: 'aws:rmq';
  eventSourceArn: string;
  rmqMessagesByQueue: Record<string, RabbitMqRecord[]>;
}
