/**
 * What the edge keeps about one imp, in its object's storage: the device's public key
 * (never a private one), the current agent URL secret and per-imp settings.
 */
import type { JWK } from "jose";
import type { E2eMode } from "../protocol/admin-api.ts";

export interface ImpRecord {
  impId: string;
  label: string;
  createdAt: number;
  /** Public half of the device key; null once revoked. */
  devicePublicJwk: JWK | null;
  /** The per-rotation part of the current agent id. */
  urlSecret: string;
  /** Overrides the edge default for how long a request waits for the device. */
  requestTimeoutMs?: number;
  /** Bumped when the agent URL rotates: access tokens carry it and die with it. */
  authEpoch: number;
  /** The operator opted this agent in to plain HTTP (audited, warned about). */
  allowHttp: boolean;
  /** The operator opened the relay (requests to the device, or to agent code) to unauthenticated callers. */
  public: boolean;
  /** The operator opened the agent's own APIs (`_messages`, `_events`, `_state`) to unauthenticated callers: a separate opt-in. */
  publicApis: boolean;
  /** Seconds of silence after which the device is offline (absent: DEFAULT_PRESENCE_TIMEOUT_S; 0: checks off). */
  presenceTimeoutS?: number;
  /** Overrides DEFAULT_QUEUE_LIMIT: how many undelivered messages may wait for the device. */
  queueLimit?: number;
  /** The operator's tags (lower case), for finding imps in the fleet: `impgate imp tag`. */
  tags?: string[];
  /** The kill switch (`impgate imp disable`): set, every caller gets 423 and nothing reaches the device or agent code. */
  disabled?: ImpDisabled | null;
  /** Relayed replies carry `Content-Security-Policy: sandbox` (`impgate imp set --csp-sandbox`). */
  cspSandbox?: boolean;
  /** End-to-end sealing (durable-objects/e2e-policy.ts); absent: off. */
  e2e?: E2eMode;
}

export interface ImpDisabled {
  at: number;
  /** Who disabled it, as the admin API was told (`impgate-operator`), and from where. */
  by: string;
  client: string;
  reason: string | null;
  /** The device's socket was closed, and the device is refused until the imp is enabled again. */
  dropDevice: boolean;
}

const KEY = "imp";

export class ImpStore {
  private cached: ImpRecord | null | undefined;
  private readonly storage: DurableObjectStorage;
  constructor(storage: DurableObjectStorage) {
    this.storage = storage;
  }

  async get(): Promise<ImpRecord | null> {
    if (this.cached === undefined) {
      const stored = await this.storage.get<Partial<ImpRecord>>(KEY);
      this.cached = stored ? ({ authEpoch: 0, allowHttp: false, public: false, publicApis: false, ...stored } as ImpRecord) : null;
    }
    return this.cached;
  }

  async put(record: ImpRecord): Promise<void> {
    await this.storage.put(KEY, record);
    this.cached = record;
  }

  /** After the object's storage was deleted: no imp here any more, without reading storage again. */
  forget(): void {
    this.cached = null;
  }
}
