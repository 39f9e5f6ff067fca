import { describe, expect } from "bun:test";
import type { BreakerRule, ClaimedJob, FinalizeItem } from "../../../src/driver/types.ts";
import { expectFields } from "../../support/match.ts";
import { T0, at, claimParams, discardItem, row, successItem } from "./factory.ts";
import type { Kit } from "./harness.ts";

const RULE: BreakerRule = { kind: "flaky", failures: 2, openForMs: 30_000 };

/** `item` counted against {@link RULE}. */
const ruled = (item: FinalizeItem, rule = RULE): FinalizeItem => ({ ...item, breaker: rule });
const fail = (job: ClaimedJob, ms: number) => ruled(discardItem(job, at(ms)));
const ok = (job: ClaimedJob, ms: number) => ruled(successItem(job, at(ms)));

/** Circuit breakers: the finalize moving them (breakerList), the claim keeping to them (SPEC §18). */
export function breakersArea(kit: Kit): void {
  describe("breakers", () => {
    kit.test("consecutive failed attempts open the breaker; a success before that resets the streak; other kinds are unaffected", async () => {
      const { driver } = await kit.open();
      await driver.jobInsert({ jobs: Array.from({ length: 6 }, (_, n) => row({ kind: "flaky", priority: n })) });
      const [a, b, c, d] = await driver.jobClaim(claimParams(T0, { limit: 4 }));
      expect((await driver.jobFinalize({ items: [fail(a!, 1)], now: at(1) }))[0]!.breaker).toBeUndefined();
      await driver.jobFinalize({ items: [ok(b!, 2)], now: at(2) });
      expectFields((await driver.breakerList({}))[0], { kind: "flaky", failures: 0, openUntil: null });
      await driver.jobFinalize({ items: [fail(c!, 3)], now: at(3) });
      const [opened] = await driver.jobFinalize({ items: [fail(d!, 4)], now: at(4) });
      expect(opened!.breaker).toEqual({ kind: "flaky", to: "opened", failures: 2, openUntil: at(30_004) });
      expectFields((await driver.breakerList({}))[0], { kind: "flaky", failures: 2, openedAt: at(4), openUntil: at(30_004), probeJobId: null, updatedAt: at(4) });
    });

    kit.test("an open breaker's kind is not claimed until it half-opens; then one probe, on one driver only; its success closes it", async () => {
      const { driver, openPeer } = await kit.open();
      const peer = await openPeer();
      const other = row({ kind: "steady", priority: 50 });
      await driver.jobInsert({ jobs: [...Array.from({ length: 5 }, (_, n) => row({ kind: "flaky", priority: n })), other] });
      const [a, b] = await driver.jobClaim(claimParams(T0, { limit: 2 }));
      await driver.jobFinalize({ items: [fail(a!, 1), fail(b!, 2)], now: at(2) });
      // Open: the kind is left out, the others are claimed in order.
      expect((await driver.jobClaim(claimParams(at(30_001)))).map((j) => j.id)).toEqual([other.id]);
      expect(await driver.jobClaim(claimParams(at(30_001)))).toEqual([]);
      // Half-open: racing claims on two drivers take one probe between them.
      const claims = await Promise.all([driver, peer, driver, peer].map((d) => d.jobClaim(claimParams(at(30_002), { limit: 3 }))));
      const probes = claims.flat();
      expect(probes.length).toBe(1);
      expectFields((await driver.breakerList({}))[0], { probeJobId: probes[0]!.id });
      const [closed] = await driver.jobFinalize({ items: [ok(probes[0]!, 30_010)], now: at(30_010) });
      expect(closed!.breaker).toEqual({ kind: "flaky", to: "closed" });
      expectFields((await driver.breakerList({}))[0], { failures: 0, openedAt: null, openUntil: null, probeJobId: null });
      expect((await driver.jobClaim(claimParams(at(30_011)))).length).toBe(2);
    });

    kit.test("a failed probe opens the breaker again from its end; a straggler's outcome while open changes nothing", async () => {
      const { driver } = await kit.open();
      await driver.jobInsert({ jobs: Array.from({ length: 5 }, (_, n) => row({ kind: "flaky", priority: n })) });
      const [a, b, straggler] = await driver.jobClaim(claimParams(T0, { limit: 3 }));
      await driver.jobFinalize({ items: [fail(a!, 1), fail(b!, 2)], now: at(2) });
      expect((await driver.jobFinalize({ items: [ok(straggler!, 3)], now: at(3) }))[0]!.breaker).toBeUndefined();
      expectFields((await driver.breakerList({}))[0], { failures: 2, openUntil: at(30_002) });
      const [probe] = await driver.jobClaim(claimParams(at(30_002)));
      const [reopened] = await driver.jobFinalize({ items: [fail(probe!, 30_050)], now: at(30_050) });
      expect(reopened!.breaker).toEqual({ kind: "flaky", to: "opened", failures: 3, openUntil: at(60_050) });
      expect(await driver.jobClaim(claimParams(at(60_049)))).toEqual([]);
      expect((await driver.jobClaim(claimParams(at(60_050)))).length).toBe(1);
    });

    kit.test("a probe that stops running without an outcome that counts (snoozed back) lets the next claim take another probe", async () => {
      const { driver } = await kit.open();
      await driver.jobInsert({ jobs: Array.from({ length: 4 }, (_, n) => row({ kind: "flaky", priority: n })) });
      const [a, b] = await driver.jobClaim(claimParams(T0, { limit: 2 }));
      await driver.jobFinalize({ items: [fail(a!, 1), fail(b!, 2)], now: at(2) });
      const [probe] = await driver.jobClaim(claimParams(at(30_002)));
      expect(await driver.jobClaim(claimParams(at(30_003)))).toEqual([]);
      // An operator cancels the probe: the finalize never counts it, but it no longer runs.
      await driver.jobCancel({ id: probe!.id, now: at(30_004) });
      expect((await driver.jobClaim(claimParams(at(30_005)))).length).toBe(1);
    });

    kit.test("finalizing the same breaker items twice counts them once", async () => {
      const { driver } = await kit.open();
      await driver.jobInsert({ jobs: Array.from({ length: 2 }, () => row({ kind: "flaky" })) });
      const [a] = await driver.jobClaim(claimParams(T0, { limit: 1 }));
      const items = [ruled(discardItem(a!, at(1)), { ...RULE, failures: 3 })];
      await driver.jobFinalize({ items, now: at(1) });
      await driver.jobFinalize({ items, now: at(1) });
      expectFields((await driver.breakerList({}))[0], { failures: 1, openUntil: null });
    });
  });
}
