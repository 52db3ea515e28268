import { roomsCostMarkdown, sidebarCost, unreadCost } from '../../bench/rooms-cost.js';

describe('the bench cost of many rooms on one connection', () => {
  it('counts one unread frame per other member of a room of 10 where each watches elsewhere', () => {
    const cost = unreadCost(10, 0.05);
    expect(cost.framesPerMessage).toBe(9);
    expect(cost.redisRoundTripsPerMessage).toBe(19);
    // Nine outbound API Gateway messages at 1 USD per million dominate.
    expect(cost.parts.apiGatewayOutbound).toBeCloseTo(9);
    expect(cost.usdPerMillionMessages).toBeGreaterThan(9);
  });

  it('gives a user with 10 rooms open a tenth of the connection minutes and authorizer runs on one connection', () => {
    const ten = sidebarCost(10, false);
    const one = sidebarCost(10, true);
    expect(ten.connections).toBe(10);
    expect(one.connections).toBe(1);
    expect(one.connectionMinutes * 10).toBe(ten.connectionMinutes);
    expect(one.authorizerRuns * 10).toBe(ten.authorizerRuns);
    // Every room is joined either way.
    expect(one.roomJoins).toBe(ten.roomJoins);
    expect(one.usdPerMillionUsers).toBeLessThan(ten.usdPerMillionUsers);
  });

  it('prints both tables for the report', () => {
    const lines = roomsCostMarkdown(0.05);
    expect(lines.filter((line) => line.startsWith('| room of 10'))).toHaveLength(1);
    expect(lines.filter((line) => line.startsWith('| one connection'))).toHaveLength(2);
  });
});
