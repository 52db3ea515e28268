/**
 * SigV4 verification for the local `@connections` endpoint: the signature is recomputed over the
 * received request with the gateway's own credentials (`@smithy/signature-v4`, the signer the SDK
 * client and `SignedPostSender` use) and compared in constant time, as API Gateway does.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';

/** The access key pair requests must be signed with (the local runtime's `AWS_*` variables). */
export interface LocalCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** A request as it arrived: method, raw path and query, headers and body. */
export interface ReceivedRequest {
  method: string;
  /** The request target as sent (`/@connections/abc%3D?x=1`), not decoded. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Uint8Array;
}

/** Why a request is refused: API Gateway's error type (`x-amzn-errortype`) and message. */
export interface SignatureRefusal {
  type: string;
  message: string;
}

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/\s,]+)\/(\d{8})\/([^/\s,]+)\/([^/\s,]+)\/aws4_request,\s*SignedHeaders=([a-z0-9-]+(?:;[a-z0-9-]+)*),\s*Signature=([0-9a-f]{64})$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
/** API Gateway refuses signatures more than 15 minutes off. */
const MAX_SKEW_MS = 15 * 60 * 1000;
const SERVICE = 'execute-api';

const refusal = (type: string, message: string): SignatureRefusal => ({ type, message });
const MISMATCH = refusal(
  'InvalidSignatureException',
  'The request signature we calculated does not match the signature you provided.',
);

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function sameHex(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

function queryOf(search: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of new URLSearchParams(search)) {
    const previous = query[key];
    query[key] =
      previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  return query;
}

/**
 * Checks the `Authorization: AWS4-HMAC-SHA256 ...` signature of `request` against `credentials`.
 * Resolves undefined when it is valid, else why not: unsigned, an unknown key, a date over 15
 * minutes off, a body that is not the one signed, or a signature that does not match.
 */
export async function verifySignature(
  request: ReceivedRequest,
  credentials: LocalCredentials,
  now: Date = new Date(),
  /** Signing name of the emulated service (`lambda` for the local Invoke API). */
  expectedService = SERVICE,
): Promise<SignatureRefusal | undefined> {
  const authorization = headerValue(request.headers, 'authorization') ?? '';
  if (!authorization.startsWith('AWS4-HMAC-SHA256 ')) {
    return refusal('MissingAuthenticationTokenException', 'Missing Authentication Token');
  }
  const parsed = AUTHORIZATION.exec(authorization);
  if (!parsed)
    return refusal('IncompleteSignatureException', 'Authorization header is not a SigV4 signature.');
  const [, accessKeyId, scopeDate, region, service, signedList, signature] = parsed as unknown as string[];
  if (accessKeyId !== credentials.accessKeyId) {
    return refusal('UnrecognizedClientException', 'The security token included in the request is invalid.');
  }
  if (service !== expectedService) return MISMATCH;
  const amzDate = headerValue(request.headers, 'x-amz-date') ?? '';
  const date = AMZ_DATE.exec(amzDate);
  if (!date || !amzDate.startsWith(scopeDate!)) {
    return refusal(
      'IncompleteSignatureException',
      'X-Amz-Date must be signed and match the credential scope.',
    );
  }
  const signedAt = new Date(`${date[1]}-${date[2]}-${date[3]}T${date[4]}:${date[5]}:${date[6]}Z`);
  if (Math.abs(now.getTime() - signedAt.getTime()) > MAX_SKEW_MS) {
    return refusal('InvalidSignatureException', 'Signature expired: the date is more than 15 minutes off.');
  }
  const names = signedList!.split(';');
  if (!names.includes('host') || !names.includes('x-amz-date')) return MISMATCH;
  const headers: Record<string, string> = {};
  for (const name of names) {
    const value = headerValue(request.headers, name);
    if (value === undefined) return MISMATCH;
    headers[name] = value;
  }
  // A claimed body hash must be the body's: otherwise a captured signature would carry another body.
  const claimed = headerValue(request.headers, 'x-amz-content-sha256');
  if (claimed !== undefined && claimed !== createHash('sha256').update(request.body).digest('hex')) {
    return refusal(
      'InvalidSignatureException',
      "The provided 'x-amz-content-sha256' header does not match the body.",
    );
  }
  const questionMark = request.url.indexOf('?');
  const path = questionMark < 0 ? request.url : request.url.slice(0, questionMark);
  const search = questionMark < 0 ? '' : request.url.slice(questionMark + 1);
  const signer = new SignatureV4({
    service: expectedService,
    region: region!,
    credentials,
    sha256: Sha256,
    uriEscapePath: true,
    applyChecksum: false,
  });
  const expected = await signer.sign(
    {
      method: request.method,
      protocol: 'http:',
      hostname: headers.host!.replace(/:\d+$/, ''),
      path,
      query: queryOf(search),
      headers,
      body: request.body,
    },
    { signingDate: signedAt, signableHeaders: new Set(names) },
  );
  const recomputed = AUTHORIZATION.exec(String(expected.headers.authorization ?? ''));
  if (!recomputed || recomputed[5] !== signedList || !sameHex(recomputed[6]!, signature!)) return MISMATCH;
  return undefined;
}
