import { pageIsReading, READ_MARK_INTERVAL_MS, ReadMarker } from '@hipochat/client';

describe('ReadMarker', () => {
  let reading: boolean;
  let mark: jest.Mock<Promise<void>, []>;
  let marker: ReadMarker;

  beforeEach(() => {
    jest.useFakeTimers();
    reading = true;
    mark = jest.fn(async () => {});
    marker = new ReadMarker({ mark, isReading: () => reading });
  });

  afterEach(() => {
    marker.cancel();
    jest.useRealTimers();
  });

  /** A message of another user arrived: the reader owes a mark and asks for it. */
  const arrived = () => {
    marker.owe();
    marker.request();
  };

  it('marks at once, then at most once per 2 s however many messages arrive', () => {
    arrived();
    expect(mark).toHaveBeenCalledTimes(1);
    for (let n = 0; n < 10; n += 1) {
      jest.advanceTimersByTime(150);
      arrived();
    }
    expect(mark).toHaveBeenCalledTimes(1);
    // The requests inside the interval are served once, at its end.
    jest.advanceTimersByTime(READ_MARK_INTERVAL_MS);
    expect(mark).toHaveBeenCalledTimes(2);
    jest.advanceTimersByTime(10 * READ_MARK_INTERVAL_MS);
    expect(mark).toHaveBeenCalledTimes(2);
  });

  it('marks nothing when nothing arrived since the last mark', () => {
    marker.request();
    arrived();
    marker.request();
    jest.advanceTimersByTime(5 * READ_MARK_INTERVAL_MS);
    marker.request();
    expect(mark).toHaveBeenCalledTimes(1);
  });

  it('marks nothing while the reader is not looking, and marks on the next request once they look', () => {
    reading = false;
    arrived();
    jest.advanceTimersByTime(5 * READ_MARK_INTERVAL_MS);
    expect(mark).not.toHaveBeenCalled();
    reading = true;
    marker.request();
    expect(mark).toHaveBeenCalledTimes(1);
  });

  it('keeps a waiting mark owed when the reader looks away before the interval ends', () => {
    arrived();
    arrived();
    reading = false;
    jest.advanceTimersByTime(READ_MARK_INTERVAL_MS);
    expect(mark).toHaveBeenCalledTimes(1);
    reading = true;
    marker.request();
    expect(mark).toHaveBeenCalledTimes(2);
  });

  it('marks nothing after the room was marked unread, however many messages arrive, until released', () => {
    marker.hold();
    arrived();
    jest.advanceTimersByTime(5 * READ_MARK_INTERVAL_MS);
    arrived();
    expect(mark).not.toHaveBeenCalled();
    expect(marker.held).toBe(true);
    marker.release();
    marker.request();
    expect(mark).toHaveBeenCalledTimes(1);
    expect(marker.held).toBe(false);
  });

  it('counts every process without a document (Node) as reading: the explicit call decides', () => {
    expect(pageIsReading()).toBe(true);
  });
});
