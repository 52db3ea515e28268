/** The estimated AWS cost per million messages, from the measured write path and fan-out. */
import { AWS_PRICES, DEPLOYMENT } from './aws-prices.js';

export interface CostFigure {
  roomSize: number;
  /** Messages per outbound frame: 1, or the batch size for clients that take batch frames. */
  messagesPerFrame: number;
  usdPerMillionMessages: number;
  parts: Record<string, number>;
  assumptions: string;
}

/** Estimated AWS cost per million messages sent into a room of `roomSize` members. */
export function estimateCost(
  roomSize: number,
  messageHandlerMs: number,
  fanoutMsPerDelivery: number,
  messagesPerFrame = 1,
): CostFigure {
  const p = AWS_PRICES;
  const d = DEPLOYMENT;
  const million = 1e6;
  const messageLambda =
    million *
    (p.lambda.request + (messageHandlerMs / 1000) * (d.messageFunctionMb / 1024) * p.lambda.armGbSecond);
  const fanoutInvocations = million / d.messagesPerFanoutBatch;
  // Batch frames: one post (and one billed API Gateway message) carries messagesPerFrame messages.
  const framesPerMessage = 1 / messagesPerFrame;
  const fanoutSeconds = (million * roomSize * fanoutMsPerDelivery * framesPerMessage) / 1000;
  const fanoutLambda =
    fanoutInvocations * p.lambda.request + fanoutSeconds * (d.fanoutFunctionMb / 1024) * p.lambda.armGbSecond;
  const inbound = million * p.apiGatewayWebSocket.message;
  const outbound = million * roomSize * p.apiGatewayWebSocket.message * framesPerMessage;
  // Each member's socket stays open while the room produces roomMessagesPerMinute messages.
  const connectionMinutes = (million / d.roomMessagesPerMinute) * roomSize;
  const connections = connectionMinutes * p.apiGatewayWebSocket.connectionMinute;
  const parts = {
    messageLambda,
    fanoutLambda,
    apiGatewayInbound: inbound,
    apiGatewayOutbound: outbound,
    apiGatewayConnectionMinutes: connections,
  };
  return {
    roomSize,
    messagesPerFrame,
    usdPerMillionMessages: Object.values(parts).reduce((a, b) => a + b, 0),
    parts,
    assumptions:
      `message handler ${messageHandlerMs.toFixed(2)} ms at ${d.messageFunctionMb} MB; fan-out ${(fanoutMsPerDelivery * 1000).toFixed(0)} µs per delivery at ${d.fanoutFunctionMb} MB ` +
      `(local CPU time: AWS adds network wait), ${d.messagesPerFanoutBatch} messages per fan-out batch, ${d.roomMessagesPerMinute} messages per room-minute for connection minutes; ${p.region} prices of ${p.asOf}`,
  };
}
