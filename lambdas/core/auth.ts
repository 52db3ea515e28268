import { createHash, randomBytes } from 'node:crypto';
import { MAX_USER_ID_BYTES, type Profile, utf8Length } from '../../protocol/index.js';
import { BadRequestError, ServiceUnavailableError, UnauthorizedError } from './errors.js';
import { logger } from './logger.js';
import { defaultPublicFields, type Identity, profileIdFields, publicProfile } from './protocol.js';
import type { ChatStore } from './store/chat-store.js';

/** SHA-256 hex of a secret, so raw tokens never become keys or log fields. */
export function digest(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Options of the profile-endpoint authenticator. */
export interface AuthenticatorOptions {
  /** Asked with `Authorization: Token <token>`; 200 + JSON object means authenticated. */
  profileUrl?: string;
  /** Profile field holding the user id. @default 'id' */
  idField: string;
  /** Seconds a profile stays cached. 0 disables the cache. */
  cacheSeconds: number;
  /** Milliseconds before the profile endpoint counts as down. @default 5000 */
  timeoutMs?: number;
  /**
   * Top-level profile fields that leave the server, besides the one the user id was read from.
   * @default the id fields (`idField`, `id`, `user_id`), `username`, names, avatars
   */
  publicFields?: readonly string[];
}

const TOKEN_PATTERN = /^[\x21-\x7e]{1,4096}$/;
const TICKET_TTL_SECONDS = 30;

/** Turns a token into an identity through the customer's profile endpoint, with a short cache. */
export class Authenticator {
  private readonly publicFields: readonly string[];
  private readonly idFields: readonly string[];

  constructor(
    private readonly store: ChatStore,
    private readonly options: AuthenticatorOptions,
  ) {
    this.idFields = profileIdFields(options.idField);
    this.publicFields = options.publicFields ?? defaultPublicFields(options.idField);
  }

  /** The profile field the user id was read from, if any (none for an id hashed from the token). */
  private idFieldOf(profile: Profile, userId: string): string | undefined {
    return this.idFields.find((field) => {
      const value = profile[field];
      return (typeof value === 'string' || typeof value === 'number') && String(value) === userId;
    });
  }

  /**
   * The identity with only the public part of its profile (cached and ticket identities included),
   * which always keeps the field the user id was read from: old clients find their own messages by it.
   */
  private published(identity: Identity): Identity {
    const idField = this.idFieldOf(identity.profile, identity.userId);
    const fields =
      idField === undefined || this.publicFields.includes(idField)
        ? this.publicFields
        : [idField, ...this.publicFields];
    return { userId: identity.userId, profile: publicProfile(identity.profile, fields) };
  }

  /**
   * @throws UnauthorizedError when the token is missing or refused
   * @throws ServiceUnavailableError when the profile endpoint cannot answer
   */
  async authenticate(token: string | undefined | null): Promise<Identity> {
    if (!token || !TOKEN_PATTERN.test(token)) throw new UnauthorizedError();
    const tokenHash = digest(token);
    if (this.options.cacheSeconds > 0) {
      const cached = await this.store.cachedIdentity(tokenHash).catch(() => null);
      // Filtered again: an entry cached before the allowlist was narrowed must not leak.
      if (cached) return this.published(cached);
    }
    const profile = await this.fetchProfile(token);
    const identity = this.published({ userId: this.userIdOf(profile, token), profile });
    if (this.options.cacheSeconds > 0) {
      await this.store.cacheIdentity(tokenHash, identity, this.options.cacheSeconds).catch(() => {});
    }
    return identity;
  }

  private userIdOf(profile: Profile, token: string): string {
    for (const field of this.idFields) {
      const value = profile[field];
      if ((typeof value === 'string' && value.length > 0) || typeof value === 'number') {
        // Bounded, so every outbound frame (its senderId) fits API Gateway's 32 KB.
        if (utf8Length(String(value)) > MAX_USER_ID_BYTES) {
          throw new UnauthorizedError(`the profile's user id is over ${MAX_USER_ID_BYTES} bytes`);
        }
        return String(value);
      }
    }
    return `t-${digest(token).slice(0, 32)}`;
  }

  private async fetchProfile(token: string): Promise<Profile> {
    if (!this.options.profileUrl) throw new ServiceUnavailableError('profile endpoint not configured');
    let response: Response;
    try {
      response = await fetch(this.options.profileUrl, {
        headers: { authorization: `Token ${token}`, accept: 'application/json' },
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 5000),
      });
    } catch (error) {
      logger.warn('profile endpoint unreachable', { error });
      throw new ServiceUnavailableError('profile endpoint unavailable', { cause: error });
    }
    if (response.status === 200) {
      const profile = (await response.json().catch(() => null)) as unknown;
      if (profile && typeof profile === 'object' && !Array.isArray(profile)) return profile as Profile;
      throw new UnauthorizedError();
    }
    await response.body?.cancel();
    if (response.status >= 500 || response.status === 429) {
      throw new ServiceUnavailableError(`profile endpoint answered ${response.status}`);
    }
    throw new UnauthorizedError();
  }

  /** Issues a single-use connect ticket for `room`, valid 30 seconds. */
  async issueTicket(room: string, identity: Identity): Promise<{ ticket: string; expiresIn: number }> {
    const ticket = randomBytes(24).toString('base64url');
    await this.store.saveTicket(digest(ticket), { room, identity }, TICKET_TTL_SECONDS);
    return { ticket, expiresIn: TICKET_TTL_SECONDS };
  }

  /**
   * Redeems a ticket once.
   *
   * @throws UnauthorizedError when the ticket is unknown, used or for another room
   */
  async redeemTicket(ticket: string, room: string): Promise<Identity> {
    if (!/^[A-Za-z0-9_-]{16,64}$/.test(ticket)) throw new UnauthorizedError();
    const grant = await this.store.takeTicket(digest(ticket));
    if (!grant || grant.room !== room) throw new UnauthorizedError();
    return this.published(grant.identity);
  }
}

/** An `Authorization` credential: a user's token (`Token`) or a backend's service key (`Bearer`). */
export interface HeaderCredential {
  scheme: 'token' | 'bearer';
  value: string;
}

/**
 * Reads `Token <token>` (Hipochat's users) or `Bearer <service key>` (backends) from an
 * Authorization header. The two never mix: only a `Token` goes to the profile endpoint, only a
 * `Bearer` is compared with the service key.
 *
 * @throws BadRequestError when the header has another form
 */
export function credentialFromHeader(header: string | undefined): HeaderCredential | undefined {
  if (!header) return undefined;
  const match = /^(Token|Bearer)\s+(\S+)\s*$/i.exec(header);
  if (!match) {
    throw new BadRequestError(
      'Authorization header must be "Token <token>" (a user) or "Bearer <service key>" (a backend)',
    );
  }
  return { scheme: match[1]!.toLowerCase() === 'bearer' ? 'bearer' : 'token', value: match[2]! };
}
