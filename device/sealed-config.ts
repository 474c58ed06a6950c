/** The `e2e` section of a device config: defined in protocol/sealed/config.ts, which the CLI shares. */
export { RecipientJwk, SealedDeviceConfig, SenderJwk } from "../protocol/sealed/config.ts";
