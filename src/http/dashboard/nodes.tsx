import type { RegistryNodeJson } from "../wire.ts";
import { TableHead, When } from "./ui.tsx";

/** The live nodes of the registry: where each runs, what it serves, when it last reported. */
export function NodeTable({ nodes }: { nodes: RegistryNodeJson[] }) {
  if (nodes.length === 0) return <p class="muted bad">No live node: nothing is claiming jobs or firing schedules.</p>;
  return (
    <table class="nodes">
      <TableHead columns={["Node", "Host", "PID", "Version", "Queues", "Kinds", "Started", "Last heartbeat"]} />
      <tbody>
        {nodes.map((n) => (
          <tr key={n.id} data-node={n.executor_id}>
            <td>
              <code>{n.executor_id}</code>
              {n.self && <span class="muted"> (this one)</span>}
            </td>
            <td>{n.host}</td>
            <td>{n.pid}</td>
            <td>{n.version}</td>
            <td>{n.queues.join(", ")}</td>
            <td class="message" title={n.kinds.join(", ")}>
              {n.kinds.length}
            </td>
            <td>
              <When at={n.started_at} />
            </td>
            <td>
              <When at={n.heartbeat_at} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
