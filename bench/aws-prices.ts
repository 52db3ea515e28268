/**
 * Published AWS prices the bench's cost estimate uses: us-east-1, on-demand, first pricing tier,
 * no free tier. Check them against the sources before quoting a bill; AWS changes them.
 */
export const AWS_PRICES = {
  /** When these figures were read from the sources below. */
  asOf: '2026-11-26',
  region: 'us-east-1',
  sources: [
    'https://aws.amazon.com/lambda/pricing/',
    'https://aws.amazon.com/api-gateway/pricing/',
    'https://cloudchipr.com/blog/aws-lambda-pricing (Arm tiers, us-east-1)',
    'https://c3x.dev/resources/aws/aws_apigatewayv2_api (WebSocket message and connection-minute prices)',
  ],
  lambda: {
    /** Arm (Graviton) duration, first 7.5 billion GB-s per month, USD per GB-second. */
    armGbSecond: 0.0000133334,
    /** USD per request (0.20 per million). */
    request: 0.2 / 1e6,
  },
  apiGatewayHttp: {
    /** USD per HTTP API request, first 300 million per month (1.00 per million). */
    request: 1.0 / 1e6,
  },
  apiGatewayWebSocket: {
    /** USD per message, first billion per month; billed in 32 KB increments, both directions. */
    message: 1.0 / 1e6,
    /** USD per connection minute (0.25 per million). */
    connectionMinute: 0.25 / 1e6,
  },
} as const;

/** Deployment figures the estimate assumes (from infra/chat-stack.ts). */
export const DEPLOYMENT = {
  /** Memory of the `$default` message function, MB. */
  messageFunctionMb: 512,
  /** Memory of the fan-out function, MB. */
  fanoutFunctionMb: 1024,
  /** Messages per fan-out invocation (one event source mapping batch). */
  messagesPerFanoutBatch: 10,
  /**
   * Assumed chat activity: messages per minute in a room, which turns connection minutes into a
   * cost per message (each member's socket is open the whole time).
   */
  roomMessagesPerMinute: 10,
} as const;
