/** An imp as the admin API reports it: defined with the rest of the admin API, in protocol/. */
export type { DeviceStatus, ImpStatus } from "../protocol/admin-api.ts";
