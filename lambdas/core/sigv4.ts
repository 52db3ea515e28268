import { createHash, createHmac } from 'node:crypto';

/** AWS credentials as the SDK's credential providers return them. */
export interface SigningCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

/** A value or the SDK's async provider of it (`client.config.region`, `client.config.credentials`). */
export type Provided<T> = T | (() => Promise<T>);

/** Options of {@link LeanSigner}. */
export interface LeanSignerOptions {
  /** Signing name of the service: `execute-api`, `lambda`. */
  service: string;
  region: Provided<string>;
  credentials: Provided<SigningCredentials>;
  /** `host[:port]` of the endpoint, as sent in the `host` header. */
  host: string;
  /** `content-type` of every request. */
  contentType: string;
  /** Further headers sent and signed with every request (lowercase names). @default {} */
  headers?: Readonly<Record<string, string>>;
  /** Signing clock (tests pin it). @default Date.now */
  now?: () => number;
}

/** Credentials are asked for again this long before they expire, and at least this often. */
const CREDENTIAL_REFRESH_MS = 5 * 60_000;

/** `encodeURIComponent` plus `!'()*`, as the SDK's `escapeUri` and `extendedEncodeURIComponent` do. */
export function escapeUri(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * The canonical URI of a request path as the SDK signs it (`uriEscapePath`): every segment
 * escaped once more. Paths here never hold empty, `.` or `..` segments, so none is normalized away.
 */
export function canonicalPath(path: string): string {
  return escapeUri(path).replace(/%2F/g, '/');
}

const sha256Hex = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

/** What one body costs to sign once per second, whatever the number of requests that carry it. */
interface BodySigning {
  /** Payload hash (hex). */
  hash: string;
  /** The second and session token `block` and `headers` were made for. */
  second: number;
  token: string | undefined;
  /** Canonical request after the path: headers, signed header names, payload hash. */
  block: string;
  /** Every header but `authorization`, as a flat `[name, value, ...]` list for `http.request`. */
  headers: string[];
}

/** The state that changes once per day (signing key) or per credentials. */
interface DayKey {
  day: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Whether `x-amz-security-token` is among the signed headers. */
  withToken: boolean;
  key: Buffer;
  /** `<day>/<region>/<service>/aws4_request`. */
  scope: string;
  /** `AWS4-HMAC-SHA256 Credential=<id>/<scope>, SignedHeaders=<names>, Signature=`. */
  authorizationPrefix: string;
}

/**
 * SigV4 for many small requests to one endpoint (the fan-out's `PostToConnection`, the slices'
 * Lambda `Invoke`), byte-for-byte what `@smithy/signature-v4` produces for them, at a fraction of
 * its cost: the signing key is derived once per day and region, each body's hash and the fixed
 * part of its canonical request once per body and second, so a request costs one SHA-256 of its
 * canonical request and one HMAC. Credentials come from the SDK's providers, asked again before
 * they expire.
 */
export class LeanSigner {
  private readonly names: string[];
  private readonly bodies = new WeakMap<Uint8Array, BodySigning>();
  private readonly now: () => number;
  private region?: string;
  private credentials?: SigningCredentials;
  private credentialsCheckAt = 0;
  private resolving?: Promise<void>;
  private dayKey?: DayKey;
  private dateSecond = -1;
  private amzDate = '';

  constructor(private readonly options: LeanSignerOptions) {
    this.now = options.now ?? Date.now;
    this.names = [
      'content-length',
      'content-type',
      'host',
      'x-amz-content-sha256',
      'x-amz-date',
      ...Object.keys(options.headers ?? {}),
    ];
  }

  /**
   * Resolves the region and (again, when near expiry) the credentials. Returns `undefined` when
   * nothing needs resolving, so the hot path awaits nothing.
   */
  ready(): Promise<void> | undefined {
    if (this.region !== undefined && this.credentials && this.now() < this.credentialsCheckAt)
      return undefined;
    // Posts in flight that find the credentials due share one call to the provider.
    this.resolving ??= this.resolve().finally(() => {
      this.resolving = undefined;
    });
    return this.resolving;
  }

  private async resolve(): Promise<void> {
    const { region, credentials } = this.options;
    this.region ??= typeof region === 'function' ? await region() : region;
    const next = typeof credentials === 'function' ? await credentials() : credentials;
    const now = this.now();
    const expires = next.expiration ? next.expiration.getTime() - CREDENTIAL_REFRESH_MS : Infinity;
    this.credentialsCheckAt = Math.max(now + 1000, Math.min(now + CREDENTIAL_REFRESH_MS, expires));
    this.credentials = next;
  }

  /**
   * The headers of one request (`authorization` included) as a flat `[name, value, ...]` list, for
   * `http.request`. `path` is the request path as sent (segments already escaped once), and
   * `canonical` its {@link canonicalPath} if the caller built it cheaper; `body` is signed by hash,
   * computed once per body object. Call after {@link ready} has settled.
   */
  sign(path: string, body: Uint8Array, canonical = canonicalPath(path)): string[] {
    const credentials = this.credentials;
    const region = this.region;
    if (!credentials || region === undefined) throw new Error('LeanSigner.sign called before ready()');
    const nowMs = this.now();
    const second = Math.floor(nowMs / 1000);
    if (second !== this.dateSecond) {
      // 2026-01-02T03:04:05.000Z -> 20260102T030405Z
      const iso = new Date(second * 1000).toISOString();
      this.amzDate = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
      this.dateSecond = second;
    }
    const amzDate = this.amzDate;
    const day = this.keyFor(amzDate.slice(0, 8), region, credentials);
    const signing = this.bodySigning(body, second, amzDate, credentials);
    const request = `POST\n${canonical}\n\n${signing.block}`;
    const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${day.scope}\n${sha256Hex(request)}`;
    const signature = createHmac('sha256', day.key).update(stringToSign).digest('hex');
    const headers = signing.headers.slice();
    headers.push('authorization', day.authorizationPrefix + signature);
    return headers;
  }

  private keyFor(day: string, region: string, credentials: SigningCredentials): DayKey {
    const cached = this.dayKey;
    if (
      cached &&
      cached.day === day &&
      cached.accessKeyId === credentials.accessKeyId &&
      cached.secretAccessKey === credentials.secretAccessKey &&
      cached.withToken === Boolean(credentials.sessionToken)
    ) {
      return cached;
    }
    const { service } = this.options;
    let key: Buffer = Buffer.from(`AWS4${credentials.secretAccessKey}`);
    for (const part of [day, region, service, 'aws4_request']) {
      key = createHmac('sha256', key).update(part).digest();
    }
    const scope = `${day}/${region}/${service}/aws4_request`;
    const names = this.namesFor(credentials).join(';');
    this.dayKey = {
      day,
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      withToken: Boolean(credentials.sessionToken),
      key,
      scope,
      authorizationPrefix: `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${names}, Signature=`,
    };
    return this.dayKey;
  }

  private namesFor(credentials: SigningCredentials): string[] {
    const names = credentials.sessionToken ? [...this.names, 'x-amz-security-token'] : [...this.names];
    return names.sort();
  }

  private bodySigning(
    body: Uint8Array,
    second: number,
    amzDate: string,
    credentials: SigningCredentials,
  ): BodySigning {
    let signing = this.bodies.get(body);
    if (signing && signing.second === second && signing.token === credentials.sessionToken) {
      return signing;
    }
    const hash = signing?.hash ?? sha256Hex(body);
    const values: Record<string, string> = {
      'content-length': String(body.byteLength),
      'content-type': this.options.contentType,
      host: this.options.host,
      'x-amz-content-sha256': hash,
      'x-amz-date': amzDate,
      ...this.options.headers,
    };
    if (credentials.sessionToken) values['x-amz-security-token'] = credentials.sessionToken;
    const names = this.namesFor(credentials);
    const headers: string[] = [];
    let lines = '';
    for (const name of names) {
      const value = values[name]!;
      headers.push(name, value);
      lines += `${name}:${value.trim().replace(/\s+/g, ' ')}\n`;
    }
    signing = {
      hash,
      second,
      token: credentials.sessionToken,
      block: `${lines}\n${names.join(';')}\n${hash}`,
      headers,
    };
    this.bodies.set(body, signing);
    return signing;
  }
}
