import { describe, expect } from "bun:test";
import type { NodeRow } from "../../../src/driver/types.ts";
import { expectFields } from "../../support/match.ts";
import { T0, at, claimParams, row } from "./factory.ts";
import type { Kit } from "./harness.ts";

function nodeRow(id: string, over: Partial<NodeRow> = {}): NodeRow {
  return { id, executorId: `exec-${id}`, host: "kit-host", pid: 4242, version: "0.0.0-kit", queues: ["default", "mail"], kinds: ["email", "report"], heartbeatMs: 10_000, startedAt: T0, ...over };
}

/** The node registry (nodeHeartbeat, nodeList, nodeRemove) and queue pause (queueSetPaused, queueList, queuePausedList, the claim). */
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

    kit.test("queuePausedList: only the paused queues, by name, with when and by whom; a resumed one leaves it", async () => {
      const { driver } = await kit.open();
      await driver.jobInsert({ jobs: [row({ queue: "mail" })] });
      expect(await driver.queuePausedList({})).toEqual([]);
      await driver.queueSetPaused({ name: "zeta", by: "ann", now: at(1) });
      await driver.queueSetPaused({ name: "Mail", by: null, now: at(2) });
      await driver.queueSetPaused({ name: "alpha", by: "config:a", now: at(3) });
      await driver.queueSetPaused({ name: "beta", by: "bob", now: at(4) });
      await driver.queueSetPaused({ name: "beta", by: null, now: at(5) });
      expect(await driver.queuePausedList({})).toEqual([
        { name: "alpha", pausedAt: at(3), pausedBy: "config:a" },
        { name: "zeta", pausedAt: at(1), pausedBy: "ann" },
      ]);
    });
  });
}

/** Topic bindings (bindingSave, bindingDelete, bindingList, bindingMatch) and job history. */
export function topicsArea(kit: Kit): void {
  describe("bindings", () => {
    kit.test("bindingSave creates and replaces; bindingList orders by pattern then kind; bindingDelete says whether it existed", async () => {
      const { driver } = await kit.open();
      const saved = await driver.bindingSave({ pattern: "orders.#", prefix: "orders", kind: "audit", queue: null, argsJson: null, source: "api", now: T0 });
      expectFields(saved, { pattern: "orders.#", kind: "audit", queue: null, args: null, source: "api", createdAt: T0, updatedAt: T0 });
      await driver.bindingSave({ pattern: "orders.*.paid", prefix: "orders", kind: "ship", queue: "shipping", argsJson: '{"fast":true}', source: "cli", now: at(1) });
      // Saving again takes the binding over: a config that now defines it owns it.
      const replaced = await driver.bindingSave({ pattern: "orders.#", prefix: "orders", kind: "audit", queue: "audit", argsJson: null, source: "config:a", now: at(2) });
      expectFields(replaced, { queue: "audit", source: "config:a", createdAt: T0, updatedAt: at(2) });
      expect((await driver.bindingList({})).map((b) => [b.pattern, b.kind, b.queue, b.args, b.source])).toEqual([
        ["orders.#", "audit", "audit", null, "config:a"],
        ["orders.*.paid", "ship", "shipping", { fast: true }, "cli"],
      ]);
      expect(await driver.bindingDelete({ pattern: "orders.#", kind: "audit" })).toBe(true);
      expect(await driver.bindingDelete({ pattern: "orders.#", kind: "audit" })).toBe(false);
      expect((await driver.bindingList({})).map((b) => b.kind)).toEqual(["ship"]);
    });

    kit.test("bindingMatch returns exactly the bindings whose prefix is among the given ones", async () => {
      const { driver } = await kit.open();
      const save = (pattern: string, prefix: string, kind: string) => driver.bindingSave({ pattern, prefix, kind, queue: null, argsJson: null, source: "api", now: T0 });
      await save("#", "", "all");
      await save("orders.#", "orders", "audit");
      await save("orders.eu.paid", "orders.eu.paid", "eu");
      await save("users.*", "users", "users");
      const matched = await driver.bindingMatch({ prefixes: ["", "orders", "orders.eu", "orders.eu.paid"] });
      expect(matched.map((b) => b.kind).sort()).toEqual(["all", "audit", "eu"]);
    });
  });

  describe("history", () => {
    kit.test("cancel, retry and an emitted event with an actor each leave a history row; without an actor, none", async () => {
      const { driver } = await kit.open();
      const job = row();
      await driver.jobInsert({ jobs: [job] });
      await driver.eventEmit({ jobId: job.id, name: "approved", payloadJson: "true", now: at(1), actor: "api" });
      await driver.eventEmit({ jobId: job.id, name: "quiet", payloadJson: null, now: at(2) });
      await driver.jobCancel({ id: job.id, now: at(3), actor: "cli" });
      await driver.jobRetry({ id: job.id, now: at(4), actor: "ann" });
      await driver.jobRetry({ id: job.id, now: at(5) });
      const history = await driver.historyList({ jobId: job.id });
      expect(history.map((h) => [h.action, h.actor, h.at, h.detail])).toEqual([
        ["event", "api", at(1), { name: "approved" }],
        ["cancelled", "cli", at(3), null],
        ["retried", "ann", at(4), null],
      ]);
    });

    kit.test("a cascading cancel records each descendant it ended, with the job the cascade came from", async () => {
      const { driver } = await kit.open();
      const parent = row();
      const child = row({ parentJobId: parent.id });
      await driver.jobInsert({ jobs: [parent, child] });
      await driver.jobCancel({ id: parent.id, now: at(1), cascade: true, actor: "operator" });
      expect((await driver.historyList({ jobId: child.id })).map((h) => [h.action, h.actor, h.detail])).toEqual([["cancelled", "operator", { cascade_from: parent.id }]]);
      expect((await driver.historyList({ jobId: parent.id })).map((h) => h.detail)).toEqual([null]);
    });

    kit.test("retention deletes a job's history with the job", async () => {
      const { driver } = await kit.open();
      const job = row();
      await driver.jobInsert({ jobs: [job] });
      await driver.jobCancel({ id: job.id, now: at(1), actor: "cli" });
      expect(await driver.jobDeleteFinished({ before: at(10), limit: 10 })).toBe(1);
      expect(await driver.historyList({ jobId: job.id })).toEqual([]);
    });
  });
}
