/**
 * Agent code hears the device come and go: onDeviceConnect, and onDeviceDisconnect with
 * why (closed, silent, replaced, revoked), once per transition, in order; the audit log
 * tells a silent device from a clean disconnect.
 */
import { describe, expect, it } from "vitest";
import { CloseCode } from "../../protocol/index.ts";
import { admin, auditEvents, callerFetch, connectedDevices, createImp, deployAgent, eventually, TestDevice, within } from "./helpers.ts";

const AGENT = `export default {
  async onDeviceConnect(env) {
    await env.state.put("log", [...((await env.state.get("log")) ?? []), "connect"]);
  },
  async onDeviceDisconnect({ reason }, env) {
    await env.state.put("log", [...((await env.state.get("log")) ?? []), "disconnect:" + reason]);
  },
};`;

describe("the device coming and going, as agent code and the audit log see it", () => {
  const devices = connectedDevices();

  it("calls onDeviceConnect and onDeviceDisconnect once per transition, with the reason", async () => {
    const imp = await createImp();
    const deployed = await deployAgent(imp, AGENT);
    expect(deployed.handlers).toEqual(["onDeviceConnect", "onDeviceDisconnect"]);
    const log = async () => (await (await callerFetch(imp, "/_state/log")).json<{ value?: string[] }>()).value ?? [];
    const until = (want: string[]) =>
      eventually(`agent log ${want.join(",")}`, async () => JSON.stringify(await log()) === JSON.stringify(want));
    const expected: string[] = [];
    const step = async (...entries: string[]) => {
      expected.push(...entries);
      await until(expected);
    };

    const first = devices.track(await TestDevice.connect(imp, { heartbeatMs: 500 }));
    await step("connect");
    // The same device again before the first connection ended: replaced, then connected.
    const second = devices.track(await TestDevice.connect(imp, { heartbeatMs: 500 }));
    expect((await within(2000, first.closed)).code).toBe(CloseCode.replaced);
    await step("disconnect:replaced", "connect");
    // Silent past the presence timeout.
    await admin(`/imps/${imp.impId}`, { method: "PATCH", body: JSON.stringify({ presenceTimeoutS: 1 }) });
    expect((await within(4000, second.closed)).code).toBe(CloseCode.silent);
    await step("disconnect:silent");
    // A clean close by the device.
    const third = devices.track(await TestDevice.connect(imp, { heartbeatMs: 500 }));
    await step("connect");
    third.close();
    await step("disconnect:closed");
    // The device key revoked.
    const fourth = devices.track(await TestDevice.connect(imp, { heartbeatMs: 500 }));
    await step("connect");
    expect((await admin(`/imps/${imp.impId}/device-key`, { method: "DELETE" })).status).toBe(200);
    expect((await within(2000, fourth.closed)).code).toBe(CloseCode.deviceRevoked);
    await step("disconnect:revoked");
    // Nothing more came (each transition once).
    await new Promise((r) => setTimeout(r, 300));
    expect(await log()).toEqual(expected);

    const audit = (await auditEvents(imp)).reverse().filter((e) => e.event.startsWith("device_"));
    expect(audit.map((e) => (e.event === "device_disconnected" ? `${e.event}:${e.detail.reason}` : e.event))).toEqual([
      "device_connected",
      "device_disconnected:replaced",
      "device_connected",
      "device_silent",
      "device_connected",
      "device_disconnected:closed",
      "device_connected",
      "device_disconnected:revoked",
      "device_key_changed",
    ]);
  });
});
