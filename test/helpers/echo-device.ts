/**
 * A device written with the daemon library, as a user would write one: every agent
 * message is answered with an event named "echo" carrying the message's name and text.
 *   node test/helpers/echo-device.ts <device.json>
 */
import { connect, jsonLogger, loadConfig } from "../../device/index.ts";

const config = await loadConfig(process.argv[2]!);
const log = jsonLogger();
const link = connect(
  config,
  {
    message: async (msg) => {
      await link.send("echo", { name: msg.name, text: new TextDecoder().decode(msg.data), redelivered: msg.redelivered });
      log("info", "echoed", { id: msg.id });
    },
  },
  { log },
);
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void link.close().then(() => process.exit(0)));
