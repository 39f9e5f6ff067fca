/**
 * The README's workflow example, runnable as written: `bun examples/workflow.ts`.
 * An order saga with a human approval: reserve stock, wait (up to two days, holding no worker) for someone to
 * approve, charge the card in a child job, ship, and release the stock again if anything says no.
 */
import * as v from "valibot";
import { ChildFailedError, connect, defineWorker, defineWorkflow } from "flywheel";

// Stand-ins for your own services. Each step below runs once per order, however often the workflow replays.
const reserveStock = async (orderId: string) => ({ reservation: `res-${orderId}` });
const releaseStock = async (reservation: string) => ({ released: reservation });
const ship = async (orderId: string) => ({ tracking: `TRK-${orderId}` });

const chargeCard = defineWorker({
  kind: "charge_card",
  args: v.object({ orderId: v.string(), amount: v.number() }),
  maxAttempts: 3,
  async work(job) {
    // job.runId is this attempt's id: pass it to the payment provider as the idempotency key.
    return { output: { receipt: `rcpt-${job.args.orderId}`, amount: job.args.amount, idempotencyKey: job.runId } };
  },
});

const placeOrder = defineWorkflow({
  kind: "place_order",
  args: v.object({ orderId: v.string(), amount: v.number() }),
  async run(ctx, { orderId, amount }) {
    const { reservation } = await ctx.step("reserve-stock", () => reserveStock(orderId));
    const approval = await ctx.waitForEvent<{ by: string; approved: boolean }>("approval", { timeout: "2d" });
    if (!approval?.approved) {
      await ctx.step("release-stock", () => releaseStock(reservation));
      return { output: { orderId, status: "rejected", by: approval?.by ?? "timeout" } };
    }
    const charge = await ctx.spawn("charge", chargeCard, { orderId, amount });
    let receipt: unknown;
    try {
      receipt = await ctx.join(charge);
    } catch (error) {
      if (!(error instanceof ChildFailedError)) throw error;
      await ctx.step("release-stock", () => releaseStock(reservation));
      return { output: { orderId, status: "payment failed" } };
    }
    const shipment = await ctx.step("ship", () => ship(orderId));
    return { output: { orderId, status: "shipped", approvedBy: approval.by, receipt, shipment } };
  },
});

const fw = await connect(process.env.FLYWHEEL_DB ?? "sqlite:./app.db");
await fw.migrate();
fw.register(chargeCard, placeOrder);

const stop = new AbortController();
const running = fw.node({ runners: [{ queues: ["default"], concurrency: 4 }], scheduler: {} }).run(stop.signal);

const orderId = `o-${Date.now()}`;
const id = await fw.insert(placeOrder, { orderId, amount: 42 });
// Somebody approves, later, from anywhere (an HTTP handler, `flywheel emit`, another service): the event waits
// for the workflow if it comes first, and wakes it if it comes after.
await fw.events.once("job:finished", (e) => e.job.id === id && e.outcome === "suspended");
await fw.emit(id, "approval", { by: "ann", approved: true });

const output = await fw.result<{ status: string }>(id, { timeout: "30s" });
stop.abort();
await running;
console.log(JSON.stringify({ status: output.status, steps: (await fw.listSteps(id)).map((s) => s.key) }));
await fw.close();
