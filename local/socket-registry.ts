import type { WebSocket } from 'ws';
import type { SocketInfo } from './events.js';

/** What `GET /@connections/{id}` reports. */
export interface ConnectionDescription {
  connectedAt: string;
  identity: { sourceIp: string; userAgent: string };
  lastActiveAt: string;
}

interface Client {
  ws: WebSocket;
  info: SocketInfo;
  lastActiveAt: number;
}

/**
 * The open websocket connections by connection id: what API Gateway keeps so `@connections`
 * calls reach a socket. A closed or unknown id is gone (API Gateway's 410).
 */
export class SocketRegistry {
  private readonly clients = new Map<string, Client>();

  add(ws: WebSocket, info: SocketInfo): void {
    this.clients.set(info.connectionId, { ws, info, lastActiveAt: Date.now() });
  }

  remove(connectionId: string): void {
    this.clients.delete(connectionId);
  }

  /** Whether the connection is open, so a frame sent to it can still arrive. */
  isOpen(connectionId: string): boolean {
    return this.open(connectionId) !== undefined;
  }

  /** Records client activity (a frame in or out), which `describe` reports. */
  touch(connectionId: string): void {
    const client = this.clients.get(connectionId);
    if (client) client.lastActiveAt = Date.now();
  }

  /** Sends one text frame; false when the connection is gone. */
  send(connectionId: string, data: string): boolean {
    const client = this.open(connectionId);
    if (!client) return false;
    client.ws.send(data);
    client.lastActiveAt = Date.now();
    return true;
  }

  /** Closes the connection as the server (code 1000); false when it is gone. */
  close(connectionId: string): boolean {
    const client = this.open(connectionId);
    if (!client) return false;
    client.ws.close(1000, 'closed by server');
    return true;
  }

  describe(connectionId: string): ConnectionDescription | undefined {
    const client = this.open(connectionId);
    if (!client) return undefined;
    return {
      connectedAt: new Date(client.info.connectedAt).toISOString(),
      identity: { sourceIp: client.info.sourceIp, userAgent: client.info.userAgent },
      lastActiveAt: new Date(client.lastActiveAt).toISOString(),
    };
  }

  /** Drops every connection at once (each still fires its `$disconnect`). */
  terminateAll(): void {
    for (const client of this.clients.values()) client.ws.terminate();
  }

  private open(connectionId: string): Client | undefined {
    const client = this.clients.get(connectionId);
    return client && client.ws.readyState === client.ws.OPEN ? client : undefined;
  }
}
