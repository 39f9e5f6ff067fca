import { describe, expect } from "bun:test";
import type { NodeRow } from "../../../src/driver/types.ts";
import { expectFields } from "../../support/match.ts";
import { T0, at, claimParams, row } from "./factory.ts";
import type { Kit } from "./harness.ts";

function nodeRow(id: string, over: Partial<NodeRow> = {}): NodeRow {
  return { id, executorId: `exec-${id}`, host: "kit-host", pid: 4242, version: "0.0.0-kit", queues: ["default", "mail"], kinds: ["email", "report"], heartbeatMs: 10_000, startedAt: T0, ...over };
}

/** The node registry (nodeHeartbeat, nodeList, nodeRemove) and queue pause (queueSetPaused, queueList, the claim). */
export function clusterArea(kit: Kit): void {
  describe("nodes", () => {
    kit.test("nodeHeartbeat registers and refreshes a node; nodeList shows it with everything it wrote", async () => {
      const { driver } = await kit.open();
      expect(await driver.nodeHeartbeat({ node: nodeRow("a"), now: T0 })).toEqual({ removed: [] });
      await driver.nodeHeartbeat({ node: nodeRow("a", { queues: ["default"] }), now: at(10_000) });
      const [a, ...rest] = await driver.nodeList({ now: at(10_000) });
      expect(rest).toEqual([]);
      expectFields(a, { id: "a", executorId: "exec-a", host: "kit-host", pid: 4242, version: "0.0.0-kit", queues: ["default"], kinds: ["email", "report"], heartbeatMs: 10_000, startedAt: T0, heartbeatAt: at(10_000) });
    });

    kit.test("a node silent for five of its heartbeats drops out of nodeList and is removed by the next heartbeat of any node", async () => {
      const { driver } = await kit.open();
      await driver.nodeHeartbeat({ node: nodeRow("quiet", { heartbeatMs: 1_000 }), now: T0 });
      await driver.nodeHeartbeat({ node: nodeRow("slow", { heartbeatMs: 60_000 }), now: T0 });
      expect((await driver.nodeList({ now: at(5_000) })).map((n) => n.id)).toEqual(["quiet", "slow"]);
      expect((await driver.nodeList({ now: at(5_001) })).map((n) => n.id)).toEqual(["slow"]);
      expect(await driver.nodeHeartbeat({ node: nodeRow("other"), now: at(5_001) })).toEqual({ removed: ["quiet"] });
      expect(await driver.nodeRemove({ id: "slow" })).toBe(true);
      expect(await driver.nodeRemove({ id: "slow" })).toBe(false);
      expect((await driver.nodeList({ now: at(5_001) })).map((n) => n.id)).toEqual(["other"]);
    });
  });

  describe("queues", () => {
    kit.test("a paused queue is not claimed, by a claim of every queue, of its queue, or of its jobs' ids; resuming releases it", async () => {
      const { driver } = await kit.open();
      const held = row({ queue: "mail", priority: 1 });
      const free = row({ queue: "default", priority: 5 });
      await driver.jobInsert({ jobs: [held, free] });
      expect(await driver.queueSetPaused({ name: "mail", by: "operator", now: T0 })).toBe(true);
      expect(await driver.queueSetPaused({ name: "mail", by: "someone-else", now: at(1) })).toBe(false);
      expect(await driver.jobClaim(claimParams(T0, { queues: ["mail"] }))).toEqual([]);
      expect(await driver.jobClaim(claimParams(T0, { ids: [held.id] }))).toEqual([]);
      expect(await driver.jobClaim(claimParams(T0, { queues: ["mail", "other"] }))).toEqual([]);
      expect((await driver.jobClaim(claimParams(T0))).map((j) => j.id)).toEqual([free.id]);
      expect(await driver.queueSetPaused({ name: "mail", by: null, now: at(2) })).toBe(true);
      expect(await driver.queueSetPaused({ name: "mail", by: null, now: at(3) })).toBe(false);
      expect((await driver.jobClaim(claimParams(T0, { queues: ["mail", "other"] }))).map((j) => j.id)).toEqual([held.id]);
    });

    kit.test("pausing one of a claim's queues leaves the others claimable, in order", async () => {
      const { driver } = await kit.open();
      const a = row({ queue: "a", priority: 1 });
      const b = row({ queue: "b", priority: 2 });
      const c = row({ queue: "c", priority: 3 });
      await driver.jobInsert({ jobs: [a, b, c] });
      await driver.queueSetPaused({ name: "b", by: "operator", now: T0 });
      expect((await driver.jobClaim(claimParams(T0, { queues: ["a", "b", "c"] }))).map((j) => j.id)).toEqual([a.id, c.id]);
    });

    kit.test("queueList: every queue with jobs or a row, by name, with counts by state, the oldest ready time and who paused it", async () => {
      const { driver } = await kit.open();
      await driver.jobInsert({ jobs: [row({ queue: "mail", scheduledAt: at(-5_000) }), row({ queue: "mail", scheduledAt: at(-1_000) }), row({ queue: "mail", scheduledAt: at(60_000) }), row({ queue: "default" })] });
      await driver.jobClaim(claimParams(T0, { queues: ["default"] }));
      await driver.queueSetPaused({ name: "empty", by: "ann", now: at(7) });
      const queues = await driver.queueList({ now: T0 });
      expect(queues.map((q) => q.name)).toEqual(["default", "empty", "mail"]);
      const [def, empty, mail] = queues;
      expectFields(def, { pausedAt: null, pausedBy: null, oldestReadyAt: null });
      expect(def!.counts.running).toBe(1);
      expectFields(empty, { pausedAt: at(7), pausedBy: "ann", oldestReadyAt: null });
      expect(Object.values(empty!.counts).every((n) => n === 0)).toBe(true);
      expectFields(mail, { pausedAt: null, oldestReadyAt: at(-5_000) });
      expect(mail!.counts.available + mail!.counts.scheduled).toBe(3);
    });
  });
}
