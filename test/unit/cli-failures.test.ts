import { withBaseUrl } from '../../cli/failures.js';
import { refusalText } from '../../cli/node-websocket.js';

describe('hipochat failure messages', () => {
  describe('withBaseUrl', () => {
    it('names the full URL of a failed call, the base path of a stage kept', () => {
      expect(withBaseUrl('GET /talk/old/lobby/ → 404: Not Found', 'https://x.example/prod/')).toBe(
        'GET https://x.example/prod/talk/old/lobby/ → 404: Not Found',
      );
    });

    it('leaves a message that names no path, or already the full URL, as it is', () => {
      expect(withBaseUrl('timed out after 1000 ms', 'http://h:1/stage')).toBe('timed out after 1000 ms');
      expect(withBaseUrl('GET http://h:1/stage/talk/ → 500: boom', 'http://h:1/stage')).toBe(
        'GET http://h:1/stage/talk/ → 500: boom',
      );
      expect(withBaseUrl('POST /talk/item/a/ → 503: store unavailable', undefined)).toBe(
        'POST /talk/item/a/ → 503: store unavailable',
      );
    });
  });

  describe('refusalText', () => {
    it("tells a refused upgrade's status with the server's JSON error", () => {
      expect(refusalText(503, '{"error":"store unavailable"}')).toBe(
        'server answered 503: store unavailable',
      );
    });

    it('falls back to the first line of a body that is no JSON, and to the status alone', () => {
      expect(refusalText(502, 'Bad Gateway\n<html>')).toBe('server answered 502: Bad Gateway');
      expect(refusalText(401, '')).toBe('server answered 401');
    });
  });
});
