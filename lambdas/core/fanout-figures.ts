import type { ChatMessage } from '../../protocol/index.js';
import { metrics } from './metrics.js';

/** Counts of one fan-out batch. */
export interface FanoutReport {
  messages: number;
  sent: number;
  gone: number;
  failed: number;
  pushed: number;
}

/**
 * Notes the lag of `messages` delivered at `at` (epoch ms) since their acceptance (`timestamp`,
 * seconds), keeping each message's largest.
 */
export function noteLags(lags: Map<ChatMessage, number>, messages: readonly ChatMessage[], at: number): void {
  for (const message of messages) {
    if (typeof message.timestamp !== 'number') continue;
    // Clocks of two machines: never below zero.
    const lag = Math.max(0, Math.round(at - message.timestamp * 1000));
    if (!((lags.get(message) ?? -1) >= lag)) lags.set(message, lag);
  }
}

/** Publishes a batch's figures: totals once, lags once per message, never a call per delivery. */
export function recordBatch(report: FanoutReport, lags: Map<ChatMessage, number>, durationMs: number): void {
  metrics.count('Deliveries', report.sent);
  metrics.count('DeliveriesGone', report.gone);
  metrics.count('DeliveriesFailed', report.failed);
  metrics.observe('FanoutBatchSize', report.messages);
  metrics.observe('FanoutDurationMs', Math.round(durationMs * 100) / 100);
  for (const lag of lags.values()) metrics.observe('DeliveryLagMs', lag);
}
