/**
 * allegro: what `window.allegro` is before and after the SDK's script has loaded.
 *
 * Before: the page's own array of queued functions (`window.allegro = window.allegro || []`).
 * After: the API object, whose `push(fn)` runs `fn` at once. Either way `allegro.push(fn)` works,
 * and `fn` receives the API object. Add this file to a TypeScript project (`"files"` or
 * `/// <reference path="allegro.d.ts" />`) for completion and checks of every call.
 */

declare namespace Allegro {
  /** A value `JSON.stringify` keeps as it is: what custom `data` may hold. */
  type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

  /** Custom values of an event: a plain object, at most 16 KiB as JSON. */
  type CustomData = { [key: string]: JsonValue };

  /**
   * The fields `track()` takes. Each string is trimmed and cut to 2,048 characters; a value
   * given here wins over what the SDK reads from the page. Custom values go inside `data`.
   */
  interface TrackFields {
    url?: string | null;
    canonical_url?: string | null;
    referer?: string | null;
    page_title?: string | null;
    content_type?: string | null;
    content_id?: string | null;
    publisher?: string | null;
    object_type?: string | null;
    object_id?: string | null;
    context?: string | null;
    conversion_pv_id?: string | null;
    url_in_click?: string | null;
    data?: CustomData | null;
  }

  /**
   * What `track()` resolves with: once the collector has stored the event (`stored: true`), or
   * at once when the visitor's consent keeps it from being sent (`stored: false`: consent is
   * `'denied'`, or was denied while the event waited, or more than 100 events were waiting).
   */
  interface TrackResult {
    /**
     * A UUID v7 made in the browser (the call's time, then random bits); the same id however
     * often the event is sent.
     */
    readonly event_id: string;
    /** `false`: nothing of the event was sent or kept, because of the visitor's choice. */
    readonly stored: boolean;
  }

  /**
   * `'pending'`: opt-in mode (`data-consent="opt-in"`) before the visitor chose; nothing is
   * stored or sent, tracked events wait in memory. `'denied'`: nothing is stored or sent.
   */
  type ConsentStatus = 'granted' | 'denied' | 'pending';

  /** The visitor's choice, kept in the first-party cookie `allegro_consent` for 180 days. */
  interface ConsentApi {
    /** The visitor agreed: events tracked while pending are sent, tracking goes on. */
    grant(): void;
    /** The visitor said no: the SDK's cookies and stored data are deleted, nothing is sent. */
    deny(): void;
    status(): ConsentStatus;
  }

  /** What `member.login()` takes: the member's id and the token the site's backend signed. */
  interface MemberCredentials {
    customer_id: string;
    /** An HS256 JWT (`sub`: the customer id, `aud`: the site) signed with the member secret. */
    token: string;
  }

  interface Member {
    readonly customer_id: string;
  }

  interface MemberApi {
    /** Log a member in; every later event carries the `customer_id`. */
    login(credentials: MemberCredentials): Promise<Member>;
    /** Log out: a new, anonymous session starts. */
    logout(): Promise<void>;
    /** The logged-in member, or `null`. */
    current(): Member | null;
  }

  /** A function queued with `push`; it receives the API object once the SDK has loaded. */
  type Command = (allegro: Api) => void;

  /** `window.allegro` once the SDK has loaded. Its methods never throw: a wrong call rejects. */
  interface Api {
    /**
     * Track an event. Resolves with `{ event_id, stored: true }` once the collector has stored
     * it, or `{ event_id, stored: false }` when the visitor's consent keeps it from the collector
     * (never a rejection); rejects with an `Error` saying what was wrong with the call (also
     * logged with an `allegro:` prefix).
     * @param eventName 1 to 128 characters, e.g. `'page_view'` or `'purchase'`.
     */
    track(eventName: string, fields?: TrackFields): Promise<TrackResult>;
    readonly member: MemberApi;
    /** The visitor's consent (docs/privacy.md). `member.login()` needs it granted. */
    readonly consent: ConsentApi;
    /** Runs each function at once with this object (a value that is not a function is skipped). */
    push(...commands: Command[]): void;
    /** The SDK's version. */
    readonly version: string;
  }

  /** `window.allegro` before the SDK has loaded: the page's queue of functions. */
  type Queue = Command[];
}

interface Window {
  /** The command queue until the SDK has loaded, then the API object. */
  allegro: Allegro.Api | Allegro.Queue;
}

/** The command queue until the SDK has loaded, then the API object. */
declare var allegro: Allegro.Api | Allegro.Queue;
